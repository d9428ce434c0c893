"""nbgrader's metadata from labkit's rubric (labkit.course.nbgrader), checked against nbgrader's own schema and
run through nbgrader itself: `generate_assignment` in its default metadata-enforcing mode on all six notebooks,
`autograde` on the smoke profile of 01_cnn and 04_pairs for three submissions (the reference solutions, the
untouched release, a release with a wrong answer and its locked self-check cell edited), each graded by `labkit
grade` too: the same exercise points. Everything on copies in tmp_path."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from labkit.__main__ import main
from labkit.course import grade as grading
from labkit.course import nbgrader as metadata
from labkit.course.profiles import prepare
from labkit.course.requirements import ANSWERS, EXERCISES
from labkit.course.submissions import ANSWER, EXERCISE, SELF_CHECK, graded_cells
from labkit.records import REPOSITORY

NOTEBOOKS = sorted((REPOSITORY / "notebooks").glob("[0-9]*.ipynb"))
AUTOGRADED = ("01_cnn", "04_pairs")
CONFIG = """c = get_config()
c.CourseDirectory.course_id = "labkit"
c.Execute.timeout = 300
"""
WRONG_CNN = """class PlainCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.classifier = nn.Linear(28 * 28, 10)  # no convolutions: not the network asked for

    def forward(self, x):
        return self.classifier(x.flatten(1))"""
FORGED_CHECK = 'print("OK: PlainCNN has the layers asked for")  # the check, replaced'


def synced_copy(path: Path, folder: Path) -> Path:
    """A copy of the notebook at `path` in `folder`, its metadata written from the rubric."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    target.write_bytes(path.read_bytes())
    metadata.sync(target)
    return target


def nbgrader_validator():
    from nbgrader.nbgraderformat import MetadataValidator

    return MetadataValidator()


# ---------------------------------------------------------------- the metadata


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_generated_metadata_passes_nbgrader_schema_and_carries_the_rubric(path, tmp_path):
    copy = synced_copy(path, tmp_path)
    notebook = nbformat.read(copy, as_version=4)
    nbgrader_validator().validate_nb(notebook)  # jsonschema of schema v3, ids, points, markdown rules
    roles = {(g.role, g.id): g.cell.metadata["nbgrader"] for g in graded_cells(notebook)}
    exercises, answers = EXERCISES[path.stem], ANSWERS[path.stem]
    for exercise, points in exercises.items():
        assert roles[(EXERCISE, exercise)] == {"grade": False, "solution": True, "locked": False,
                                               "grade_id": exercise, "schema_version": 3}
        assert roles[(SELF_CHECK, exercise)] == {"grade": True, "solution": False, "locked": True, "points": points,
                                                 "grade_id": f"{exercise}-check", "schema_version": 3}
    for answer, points in answers.items():
        assert roles[(ANSWER, answer)] == {"grade": True, "solution": True, "locked": False, "points": points,
                                           "grade_id": answer, "schema_version": 3}
    flagged = [cell for cell in notebook.cells if "nbgrader" in cell.metadata]
    assert len(flagged) == 2 * len(exercises) + len(answers)
    nbgrader_points = sum(c.metadata["nbgrader"].get("points", 0) for c in flagged)
    assert nbgrader_points == sum(exercises.values()) + sum(answers.values())


def test_nbgraders_metadata_is_written_anew_from_labkits_and_nothing_else_changes(tmp_path, capsys):
    copy = synced_copy(REPOSITORY / "notebooks" / "01_cnn.ipynb", tmp_path)
    stripped = nbformat.read(copy, as_version=4)
    for cell in stripped.cells:
        cell.metadata.pop("nbgrader", None)  # what is left: labkit's ids and the rubric
    nbformat.write(stripped, copy)
    assert main(["nbgrader-metadata", "--check", str(copy)]) == 1
    printed = capsys.readouterr()
    assert "metadata nbgrader is None, expected {'grade': True, 'grade_id': 'plain-cnn-check'" in printed.out
    assert "nbgrader-metadata" in printed.err
    assert nbformat.read(copy, as_version=4) == stripped  # --check changes nothing
    assert main(["nbgrader-metadata", str(copy)]) == 0
    written = nbformat.read(copy, as_version=4)
    for before, after in zip(stripped.cells, written.cells):
        assert (before.source, before.get("outputs"), before.get("id")) == \
               (after.source, after.get("outputs"), after.get("id"))
        assert {k: v for k, v in after.metadata.items() if k != "nbgrader"} == before.metadata
    assert main(["nbgrader-metadata", "--check", str(copy)]) == 0
    assert capsys.readouterr().out.strip().endswith("in sync")
    nbgrader_validator().validate_nb(written)


def test_a_stale_nbgrader_flag_on_an_ordinary_cell_is_removed(tmp_path):
    copy = synced_copy(REPOSITORY / "notebooks" / "00_setup_and_data.ipynb", tmp_path)
    notebook = nbformat.read(copy, as_version=4)
    notebook.cells[0].metadata["nbgrader"] = {"grade": True, "grade_id": "extra", "locked": True, "points": 5,
                                              "schema_version": 3, "solution": False}
    nbformat.write(notebook, copy)
    assert metadata.sync(copy, check=True) == [f"cell 0 ({notebook.cells[0].id}): metadata nbgrader is "
                                               f"{notebook.cells[0].metadata['nbgrader']!r}, expected None"]
    metadata.sync(copy)
    assert "nbgrader" not in nbformat.read(copy, as_version=4).cells[0].metadata


def tiny(cells, name="01_cnn"):
    return new_notebook(cells=cells, metadata={"labkit": {"notebook": name}})


def exercise(source="### BEGIN SOLUTION\nx = 1\n### END SOLUTION", exercise_id="plain-cnn"):
    cell = new_code_cell(source)
    cell.metadata["labkit"] = {"exercise": exercise_id, "forbid": []}
    return cell


def test_the_rubric_and_the_notebook_must_agree():
    loop = exercise(exercise_id="training-loop")
    answers = [new_markdown_cell("a", metadata={"tags": ["answer"], "nbgrader": {"grade_id": i}})
               for i in ANSWERS["01_cnn"]]
    def check():
        return new_code_cell("selfcheck.check_plain_cnn(PlainCNN)")

    no_check = tiny([exercise(), check(), loop, *answers])
    with pytest.raises(ValueError, match=r"exercise 'training-loop' \(cell 2\) has no self-check after it"):
        metadata.expected_metadata(no_check, "01_cnn")
    unknown = tiny([exercise(), check(), exercise(exercise_id="bonus"), check(), loop, check(), *answers])
    with pytest.raises(ValueError, match=r"exercise id\(s\) 'bonus' \(cell 2\) are not in labkit's rubric"):
        metadata.expected_metadata(unknown, "01_cnn")
    missing = tiny([exercise(), check(), *answers])
    with pytest.raises(ValueError, match=r"the rubric's exercise id\(s\) 'training-loop' have no cell"):
        metadata.expected_metadata(missing, "01_cnn")
    with pytest.raises(ValueError, match=r"no exercises or answers for notebook '07_gan'"):
        metadata.expected_metadata(tiny([]), "07_gan")


def test_the_committed_notebooks_carry_the_rubrics_metadata():
    """Fails until `python -m labkit nbgrader-metadata notebooks/*.ipynb` has been run and committed."""
    out_of_date = {path.name: metadata.sync(path, check=True) for path in NOTEBOOKS}
    assert not any(out_of_date.values()), json.dumps(out_of_date, indent=1)[:3000]


# ---------------------------------------------------------------- nbgrader itself


def nbgrader(course: Path, *arguments: str, figures: Path | None = None) -> subprocess.CompletedProcess:
    """`nbgrader ARGUMENTS` in the course folder: its tools (alembic) on PATH, the notebooks' figures in `figures`."""
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    environment.pop("LABKIT_STRICT", None)
    environment.pop("CI", None)
    if figures is not None:
        environment["LABKIT_FIGURES"] = str(figures)
    process = subprocess.run([sys.executable, "-m", "nbgrader", *arguments], cwd=course, env=environment,
                             capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    return process


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A course folder with the six notebooks (metadata from the rubric) as assignment `lab`, released."""
    root = tmp_path_factory.mktemp("course")
    (root / "nbgrader_config.py").write_text(CONFIG)
    for path in NOTEBOOKS:
        synced_copy(path, root / "source" / "lab")
    nbgrader(root, "generate_assignment", "lab")  # enforce_metadata is on by default
    return root


def test_generate_assignment_releases_all_six(course):
    assert sorted(p.name for p in (course / "release" / "lab").glob("*.ipynb")) == [p.name for p in NOTEBOOKS]


def test_the_student_edition_is_nbgraders_release(course, tmp_path):
    from labkit.course.student import build_student_edition

    build_student_edition(course / "source" / "lab", tmp_path / "edition")
    for path in NOTEBOOKS:
        ours = nbformat.read(tmp_path / "edition" / path.name, as_version=4)
        theirs = nbformat.read(course / "release" / "lab" / path.name, as_version=4)
        assert [c.cell_type for c in ours.cells] == [c.cell_type for c in theirs.cells], path.name
        differ = [i for i, (a, b) in enumerate(zip(ours.cells, theirs.cells)) if a.source != b.source]
        assert not differ, f"{path.name}: cells {differ} differ from nbgrader's release"


def forged(release: Path) -> nbformat.NotebookNode:
    """The release of 01_cnn with a wrong PlainCNN and its locked self-check replaced by a print."""
    notebook = nbformat.read(release, as_version=4)
    cells = {(g.role, g.id): g.cell for g in graded_cells(notebook)}
    cells[(EXERCISE, "plain-cnn")].source = WRONG_CNN
    cells[(SELF_CHECK, "plain-cnn")].source = FORGED_CHECK
    return notebook


SUBMISSIONS = {  # student: (what is handed in, expected exercise points per notebook)
    "alice": "the reference solutions",
    "bob": "the untouched release",
    "carol": "01_cnn: a wrong PlainCNN, its self-check edited to pass; 04_pairs as released",
}


@pytest.fixture(scope="module")
def autograded(course, real_mnist_root, tmp_path_factory):
    """Each submission (smoke profile injected) autograded by nbgrader, each student's figures in a folder of
    their own; {student: figures folder}."""
    figures = {}
    for student in SUBMISSIONS:
        folder = course / "submitted" / student / "lab"
        for name in AUTOGRADED:
            source = course / ("source" if student == "alice" else "release") / "lab" / f"{name}.ipynb"
            if student == "carol" and name == "01_cnn":
                handed_in = tmp_path_factory.mktemp("carol") / source.name
                nbformat.write(forged(source), handed_in)
                source = handed_in
            prepare(source, "smoke", folder)
        figures[student] = tmp_path_factory.mktemp(f"figures-{student}")
        figures[student, "log"] = nbgrader(course, "autograde", "lab", "--student", student,
                                           figures=figures[student]).stderr
    return figures


def nbgrader_exercise_points(course: Path, student: str, notebook: str) -> tuple[float, float]:
    """(points, max points) of the autograded test cells (the self-checks) in nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        grades = gradebook.find_submission_notebook(notebook, "lab", student).grades
        tests = [g for g in grades if g.cell_type == "code"]
        return sum(g.auto_score or 0 for g in tests), sum(g.max_score for g in tests)


EXPECTED = {("alice", "01_cnn"): 5, ("alice", "04_pairs"): 4, ("bob", "01_cnn"): 0, ("bob", "04_pairs"): 0,
            ("carol", "01_cnn"): 0, ("carol", "04_pairs"): 0}


@pytest.mark.parametrize("student, notebook", sorted(EXPECTED))
def test_nbgrader_and_labkit_give_the_same_exercise_points(course, autograded, student, notebook):
    points, possible = nbgrader_exercise_points(course, student, notebook)
    assert (points, possible) == (EXPECTED[student, notebook], sum(EXERCISES[notebook].values()))
    submitted = course / "submitted" / student / "lab" / f"{notebook}.ipynb"
    ran = course / "autograded" / student / "lab" / f"{notebook}.ipynb"
    as_handed_in = grading.grade(submitted, figures=autograded[student])
    as_autograded = grading.grade(ran, figures=autograded[student])
    for result in (as_handed_in, as_autograded):
        assert result.row()["exercise points"] == points, grading.summary(result)
        assert result.row()["exercise max points"] == possible
    if student == "alice":  # the reference's runs, measured again from their saved weights
        assert as_autograded.ok, grading.summary(as_autograded)
        assert as_autograded.runs and all(check.status == grading.VERIFIED for check in as_autograded.runs), \
            grading.summary(as_autograded)


def test_an_edited_self_check_is_flagged_by_both(course, autograded):
    assert "Attribute 'checksum' for cell plain-cnn-check has changed!" in autograded["carol", "log"]
    submitted = course / "submitted" / "carol" / "lab" / "01_cnn.ipynb"
    statuses = {e["id"]: e["status"] for e in grading.grade(submitted).exercises}
    assert statuses == {"plain-cnn": grading.SELF_CHECK_EDITED, "training-loop": "not done"}
    ran = course / "autograded" / "carol" / "lab" / "01_cnn.ipynb"
    [plain_cnn] = [e for e in grading.grade(ran).exercises if e["id"] == "plain-cnn"]
    assert plain_cnn["status"] == "error" and "its self-check failed: SelfCheckFailed" in plain_cnn["detail"]
