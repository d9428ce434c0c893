"""The student edition of the real notebooks, graded by `labkit grade` on the smoke profile (CI):
the unchanged edition reports every exercise as not done and fails; the edition filled with the reference
solutions passes like the reference; an edition whose student tampered with the requirements (a threshold
monkeypatched, the final check cell deleted) grades exactly as the untampered one."""

from pathlib import Path

import nbformat
import pytest

from labkit.course import grade as grading
from labkit.course.student import build_student_edition, is_answer_cell, is_exercise_cell
from labkit.records import REPOSITORY

NOTEBOOKS = sorted((REPOSITORY / "notebooks").glob("[0-9]*.ipynb"))
TIMEOUT = 300
TAMPERING = """import labkit.course.requirements as requirements_module

requirements_module.REQUIREMENTS[report.notebook] = ()  # a student removing every requirement in the kernel
report.finish()
"""


@pytest.fixture(scope="module")
def edition(tmp_path_factory, real_mnist_root) -> Path:
    out = tmp_path_factory.mktemp("student") / "edition"
    build_student_edition(REPOSITORY / "notebooks", out)
    return out


@pytest.fixture
def clean_environment(monkeypatch):
    for name in ("LABKIT_STRICT", "LABKIT_FIGURES", "CI"):
        monkeypatch.delenv(name, raising=False)


def fill_with_reference(student_path: Path, reference_path: Path, out: Path) -> Path:
    """The student notebook with every exercise and answer cell replaced by the reference's cell."""
    student = nbformat.read(student_path, as_version=4)
    reference = nbformat.read(reference_path, as_version=4)
    for index, cell in enumerate(student.cells):
        if is_exercise_cell(cell) or is_answer_cell(cell):
            assert reference.cells[index].id == cell.id, f"{student_path.name}: cell {index} moved"
            cell.source = reference.cells[index].source
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(student, out)
    return out


def graded(path: Path):
    return grading.grade(path, execute_it=True, profile="smoke", timeout=TIMEOUT)


def test_every_notebook_has_exercises():
    for path in NOTEBOOKS:
        cells = nbformat.read(path, as_version=4).cells
        assert any(c.cell_type == "code" and is_exercise_cell(c) for c in cells), f"{path.name} has no exercise"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_unchanged_edition_reports_every_exercise_not_done(edition, path, clean_environment):
    result = graded(edition / path.name)
    assert not result.ok
    assert result.exercises, f"{path.name}: no exercise found in the student edition"
    for exercise in result.exercises:
        assert exercise["status"] == "not done", exercise
    assert "NotImplementedError" in result.error and result.error.startswith("cell ")  # the cell, in one line
    assert "\n" not in result.error


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_edition_filled_with_the_reference_solutions_passes(edition, path, tmp_path, clean_environment):
    filled = fill_with_reference(edition / path.name, path, tmp_path / path.name)
    result = graded(filled)
    assert result.ok, grading.summary(result)
    assert all(e["status"] == "done" for e in result.exercises)


def test_tampered_requirements_grade_as_the_untampered_edition(edition, tmp_path, clean_environment):
    path = REPOSITORY / "notebooks" / "01_cnn.ipynb"
    filled = fill_with_reference(edition / path.name, path, tmp_path / "filled" / path.name)
    tampered_notebook = nbformat.read(filled, as_version=4)
    assert "report.finish()" in tampered_notebook.cells[-1].source
    tampered_notebook.cells[-1].source = TAMPERING
    deleted = nbformat.read(filled, as_version=4)
    deleted.cells.pop()  # the check cell deleted
    paths = {"tampered": tmp_path / "tampered" / path.name, "deleted": tmp_path / "deleted" / path.name}
    for name, notebook in (("tampered", tampered_notebook), ("deleted", deleted)):
        paths[name].parent.mkdir(parents=True)
        nbformat.write(notebook, paths[name])
    expected = graded(filled)
    for name, tampered_path in paths.items():
        result = graded(tampered_path)
        assert [(o.id, o.status, o.points) for o in result.outcomes] == \
               [(o.id, o.status, o.points) for o in expected.outcomes], name
        assert result.row()["points"] == expected.row()["points"], name
