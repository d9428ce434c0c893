"""The student edition (labkit.course.student): solution regions stripped, answers emptied, outputs cleared,
the reference notebooks never overwritten; and what labkit.course.submissions reads in a notebook: exercise_report's
statuses, the graded cells, the exercise classes. Synthetic notebooks in tmp_path, plus one build over the real
notebooks/."""

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from labkit.course import student, submissions
from labkit.course.student import build_student_edition, replace_solutions
from labkit.course.submissions import DONE, ERROR, NOT_DONE, USES_LABKIT, exercise_report
from labkit.records import REPOSITORY

MODEL_SOLUTION = """\
import torch.nn as nn

class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        ### BEGIN SOLUTION
        self.features = nn.Sequential(nn.Conv2d(1, 6, 5), nn.Tanh())
        ### END SOLUTION

model = LeNet5()"""

MODEL_STUDENT = """\
import torch.nn as nn

class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        # YOUR CODE HERE
        raise NotImplementedError()

model = LeNet5()"""


def executed(cell, count, outputs=()):
    cell.execution_count = count
    cell.outputs = list(outputs)
    cell.metadata["execution"] = {"iopub.status.busy": "2026-11-25T14:23:08.397141Z"}
    return cell


def exercise_cell(source, exercise="lenet5-model", forbid=("models.build", "LeNet5"), **metadata):
    cell = new_code_cell(source)
    cell.metadata["labkit"] = {"exercise": exercise, "forbid": list(forbid)}
    cell.metadata.update(metadata)
    return cell


def answer_cell(source="The learning rate was too small.", points=2):
    cell = new_markdown_cell(source)
    cell.metadata["nbgrader"] = {"solution": True, "grade": True, "points": points, "grade_id": "why-slow"}
    return cell


def reference_notebook():
    """Setup, a model exercise, an answer cell (nbgrader), an answer cell (tag), an ordinary code cell."""
    tagged = new_markdown_cell("Tagged answer.")
    tagged.metadata.update({"tags": ["answer"], "points": 1})
    cells = [
        executed(new_code_cell("import labkit as lk\nfrom labkit import models"), 1),
        executed(exercise_cell(MODEL_SOLUTION, tags=["exercise"]), 2,
                 [new_output("stream", name="stdout", text="built\n")]),
        answer_cell(),
        tagged,
        executed(new_code_cell("print(model)"), 3, [new_output("execute_result", data={"text/plain": "LeNet5()"},
                                                               execution_count=3)]),
    ]
    notebook = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                  "language": "python"},
                                                   "labkit": {"notebook": "02_lenet5"}})
    return notebook


def write(folder, name, notebook):
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / name)
    return folder / name


@pytest.fixture
def source(tmp_path):
    folder = tmp_path / "reference"
    write(folder, "02_lenet5.ipynb", reference_notebook())
    write(folder, "notes.ipynb", new_notebook())  # not numbered: not part of the edition
    return folder


# ---------------------------------------------------------------- regions


def test_region_becomes_the_stub_indented_like_its_begin_line():
    replaced, regions = replace_solutions(MODEL_SOLUTION, student.CODE_STUB)
    assert regions == 1
    assert replaced == MODEL_STUDENT


def test_several_regions_and_text_around_them_are_kept():
    source = "a = 1\n### BEGIN SOLUTION\nb = 2\n### END SOLUTION\nc = 3\n  ### BEGIN SOLUTION  \n  d = 4\n" \
             "  ### END SOLUTION\n"
    replaced, regions = replace_solutions(source, ("STUB",))
    assert (replaced, regions) == ("a = 1\nSTUB\nc = 3\n  STUB\n", 2)


@pytest.mark.parametrize("source, line, words", [
    ("x = 1\n### BEGIN SOLUTION\ny = 2", 2, "never closed"),
    ("x = 1\n### END SOLUTION", 2, "without a ### BEGIN SOLUTION"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n### END SOLUTION", 2, "cannot nest"),
    ("# BEGIN SOLUTION\nx = 1\n# END SOLUTION", 1, "is not a solution marker"),
])
def test_unbalanced_or_misspelt_markers_are_refused_with_their_line(source, line, words):
    with pytest.raises(submissions.MarkerError, match=words) as caught:
        replace_solutions(source, student.CODE_STUB)
    assert caught.value.line == line


def test_unbalanced_markers_name_the_notebook_cell_and_line_and_nothing_is_written(source, tmp_path):
    notebook = reference_notebook()
    notebook.cells.append(exercise_cell("x = 1\n### BEGIN SOLUTION\ny = 2", exercise="second"))
    write(source, "03_resnet.ipynb", notebook)
    out = tmp_path / "student"
    with pytest.raises(ValueError, match=r"03_resnet\.ipynb: cell 5, line 2: ### BEGIN SOLUTION is never closed"):
        build_student_edition(source, out)
    assert not out.exists()


# ---------------------------------------------------------------- the edition


def test_student_edition_strips_solutions_answers_and_outputs(source, tmp_path):
    out = tmp_path / "student"
    written = build_student_edition(source, out)
    assert [p.name for p in written] == ["02_lenet5.ipynb", "README.md", "labkit-edition.json"]
    reference = nbformat.read(source / "02_lenet5.ipynb", as_version=4)
    edition = nbformat.read(out / "02_lenet5.ipynb", as_version=4)
    nbformat.validate(edition)

    assert edition.cells[1].source == MODEL_STUDENT
    assert edition.cells[2].source == "YOUR ANSWER HERE"
    assert edition.cells[3].source == "YOUR ANSWER HERE"
    for cell in edition.cells:
        assert "execution" not in cell.metadata
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert edition.metadata["labkit"] == {"notebook": "02_lenet5", "edition": "student"}
    assert edition.metadata["kernelspec"] == reference.metadata["kernelspec"]
    # everything else as in the reference: ids, other metadata, sources outside the regions
    assert [c.id for c in edition.cells] == [c.id for c in reference.cells]
    assert edition.cells[1].metadata["labkit"] == reference.cells[1].metadata["labkit"]
    assert edition.cells[1].metadata["tags"] == ["exercise"]
    assert edition.cells[2].metadata["nbgrader"] == reference.cells[2].metadata["nbgrader"]
    assert [edition.cells[i].source for i in (0, 4)] == [reference.cells[i].source for i in (0, 4)]
    assert not (out / "notes.ipynb").exists()
    assert json.loads((out / "labkit-edition.json").read_text())["edition"] == "student"
    assert "LABKIT_FIGURES" in (out / "README.md").read_text()


def test_notebook_id_defaults_to_the_file_stem(tmp_path):
    folder = tmp_path / "reference"
    write(folder, "01_cnn.ipynb", new_notebook(cells=[new_code_cell("x = 1")]))
    build_student_edition(folder, tmp_path / "student")
    edition = nbformat.read(tmp_path / "student" / "01_cnn.ipynb", as_version=4)
    assert edition.metadata["labkit"] == {"edition": "student", "notebook": "01_cnn"}


def test_answer_region_keeps_the_prompt_around_it(tmp_path):
    cell = answer_cell("**Why?** Explain.\n\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION")
    write(tmp_path / "reference", "01_cnn.ipynb", new_notebook(cells=[cell]))
    build_student_edition(tmp_path / "reference", tmp_path / "student")
    edition = nbformat.read(tmp_path / "student" / "01_cnn.ipynb", as_version=4)
    assert edition.cells[0].source == "**Why?** Explain.\n\nYOUR ANSWER HERE"


def test_exercise_metadata_without_a_region_is_refused(tmp_path):
    write(tmp_path / "reference", "01_cnn.ipynb", new_notebook(cells=[exercise_cell("model = build()")]))
    with pytest.raises(ValueError, match=r"cell 0: metadata labkit.exercise is set but the cell has no"):
        build_student_edition(tmp_path / "reference", tmp_path / "student")


def test_scaffold_that_uses_a_forbidden_name_is_refused(tmp_path):
    source = "from labkit import models\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\nnet = models.build('lenet5')"
    write(tmp_path / "reference", "01_cnn.ipynb", new_notebook(cells=[exercise_cell(source)]))
    with pytest.raises(ValueError, match=r"outside the solution region uses models.build"):
        build_student_edition(tmp_path / "reference", tmp_path / "student")


def test_bad_forbid_metadata_is_refused(tmp_path):
    write(tmp_path / "reference", "01_cnn.ipynb",
          new_notebook(cells=[exercise_cell("### BEGIN SOLUTION\n### END SOLUTION", forbid=("ok", 3))]))
    with pytest.raises(ValueError, match=r"labkit.forbid must be a list of names.*got \['ok', 3\]"):
        build_student_edition(tmp_path / "reference", tmp_path / "student")


def test_existing_files_are_not_replaced_without_force(source, tmp_path):
    out = tmp_path / "student"
    out.mkdir()
    (out / "02_lenet5.ipynb").write_text("a student's work")
    with pytest.raises(FileExistsError, match=r"02_lenet5\.ipynb.*force"):
        build_student_edition(source, out)
    assert (out / "02_lenet5.ipynb").read_text() == "a student's work"
    assert not (out / "README.md").exists()
    build_student_edition(source, out, force=True)
    assert nbformat.read(out / "02_lenet5.ipynb", as_version=4).metadata["labkit"]["edition"] == "student"
    assert not list(out.glob(".*.tmp"))


def test_the_reference_notebooks_folder_is_never_the_destination(source, tmp_path):
    reference = REPOSITORY / "notebooks"
    before = {p.name: p.stat().st_mtime_ns for p in reference.iterdir()}
    for out in (reference, reference / "student", reference / ".." / "notebooks"):
        with pytest.raises(ValueError, match="reference notebooks folder"):
            build_student_edition(source, out, force=True)
    assert {p.name: p.stat().st_mtime_ns for p in reference.iterdir()} == before


def test_the_source_folder_is_never_the_destination(source):
    with pytest.raises(ValueError, match="is the source folder"):
        build_student_edition(source, source / ".", force=True)


def test_a_student_edition_is_not_a_source(source, tmp_path):
    build_student_edition(source, tmp_path / "student")
    with pytest.raises(ValueError, match="already a student edition"):
        build_student_edition(tmp_path / "student", tmp_path / "again")


def test_missing_or_empty_source_folder_is_named(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        build_student_edition(tmp_path / "nowhere", tmp_path / "student")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"no numbered notebooks"):
        build_student_edition(tmp_path / "empty", tmp_path / "student")


def test_command_line_writes_the_edition_and_reports_refusals(source, tmp_path, capsys):
    out = tmp_path / "student"
    assert student.main([str(out), "--source", str(source)]) == 0
    assert str(out / "02_lenet5.ipynb") in capsys.readouterr().out
    assert student.main([str(out), "--source", str(source)]) == 1
    assert "would be replaced" in capsys.readouterr().err
    assert student.main([str(out), "--source", str(source), "--force"]) == 0


def outside_regions(source):
    """The lines of `source` outside its solution regions, markers dropped (independent of student.py)."""
    kept, inside = [], False
    for line in source.split("\n"):
        if line.strip() in ("### BEGIN SOLUTION", "### END SOLUTION"):
            inside = line.strip() == "### BEGIN SOLUTION"
        elif not inside:
            kept.append(line)
    return kept


def test_real_notebooks_give_a_clean_student_edition(tmp_path):
    reference_paths = sorted((REPOSITORY / "notebooks").glob("[0-9]*.ipynb"))
    assert reference_paths, "the repository has no notebooks/[0-9]*.ipynb"
    build_student_edition(REPOSITORY / "notebooks", tmp_path)
    stub_lines = {"# YOUR CODE HERE", "raise NotImplementedError()", "YOUR ANSWER HERE"}
    for path in reference_paths:
        reference = nbformat.read(path, as_version=4)
        edition = nbformat.read(tmp_path / path.name, as_version=4)
        assert edition.metadata["labkit"]["edition"] == "student"
        assert [c.get("id") for c in edition.cells] == [c.get("id") for c in reference.cells], path.name
        for before, after in zip(reference.cells, edition.cells):
            where = f"{path.name} cell {after.get('id')}"
            assert "### BEGIN SOLUTION" not in after.source and "### END SOLUTION" not in after.source, where
            assert "execution" not in after.metadata, where
            if after.cell_type == "code":
                assert after.outputs == [] and after.execution_count is None, where
            if student.is_answer_cell(before) and "### BEGIN SOLUTION" not in before.source:
                assert after.source == "YOUR ANSWER HERE", where
            else:
                kept = [line for line in after.source.split("\n") if line.strip() not in stub_lines]
                assert kept == outside_regions(before.source), where


# ---------------------------------------------------------------- exercise_report


def report_of(*cells):
    entries = exercise_report(new_notebook(cells=[new_code_cell("import labkit as lk\nfrom labkit import models"),
                                                  *cells]))
    return [(e["id"], e["kind"], e["cell"], e["status"], e["detail"]) for e in entries]


def test_report_on_the_untouched_student_edition_is_all_not_done(source, tmp_path):
    build_student_edition(source, tmp_path / "student")
    entries = exercise_report(nbformat.read(tmp_path / "student" / "02_lenet5.ipynb", as_version=4))
    assert [(e["id"], e["kind"], e["cell"], e["points"], e["status"]) for e in entries] == [
        ("lenet5-model", "code", 1, 0, NOT_DONE), ("why-slow", "answer", 2, 2, NOT_DONE),
        (entries[2]["id"], "answer", 3, 1, NOT_DONE)]


def test_report_on_the_reference_is_all_done():
    entries = exercise_report(reference_notebook())
    assert [e["status"] for e in entries] == [DONE, DONE, DONE]


def test_report_done_when_the_student_wrote_their_own_class():
    solved = MODEL_STUDENT.replace("# YOUR CODE HERE\n        raise NotImplementedError()",
                                   "self.conv = nn.Conv2d(1, 6, 5)")
    assert report_of(exercise_cell(solved)) == [("lenet5-model", "code", 1, DONE, "")]


@pytest.mark.parametrize("solution, used", [
    ("model = models.build('lenet5')", "models.build"),
    ("model = lk.models.build('lenet5')", "models.build"),
    ("from labkit.models import build\nmodel = build('lenet5')", "models.build"),
    ("import labkit.models as m\nmodel = m.build('lenet5')", "models.build"),
    ("model = models.LeNet5()", "LeNet5"),
    ("from labkit.models import LeNet5 as Net\nmodel = Net()", "LeNet5"),
    ("model = LeNet5()", "LeNet5"),  # not defined here: an earlier `from labkit.models import *`
    ("%time model = models.build('lenet5')", "models.build"),  # a magic: the rest still parsed
    ("model = models . build('lenet5'", "models.build"),  # does not parse: searched as text
])
def test_report_names_labkit_implementation_used(solution, used):
    [(_, _, _, status, detail)] = report_of(exercise_cell(solution))
    assert (status, detail) == (USES_LABKIT, f"uses {used}")


def test_forbidden_name_outside_the_region_of_a_marked_cell_is_not_counted():
    source = "### BEGIN SOLUTION\nnet = make()\n### END SOLUTION\nprint(models.build)"
    assert report_of(exercise_cell(source))[0][3] == DONE


def test_forbidden_name_inside_the_region_of_a_marked_cell_is_counted():
    source = "x = 0\n### BEGIN SOLUTION\nnet = models.build('lenet5')\n### END SOLUTION"
    assert report_of(exercise_cell(source))[0][3] == USES_LABKIT


def test_report_error_output_in_one_line():
    error = new_output("error", ename="RuntimeError", evalue="mat1 and mat2 shapes\ncannot be multiplied",
                       traceback=["..."])
    cell = executed(exercise_cell("x = torch.zeros(3) @ torch.zeros(4)"), 2, [error])
    assert report_of(cell) == [("lenet5-model", "code", 1, ERROR,
                                "RuntimeError: mat1 and mat2 shapes cannot be multiplied")]


def test_not_done_wins_over_the_not_implemented_error_it_raises():
    error = new_output("error", ename="NotImplementedError", evalue="", traceback=[])
    cell = executed(exercise_cell("\n".join(student.CODE_STUB)), 2, [error])
    assert report_of(cell)[0][3:] == (NOT_DONE, "still raises NotImplementedError")


def test_report_answers_done_and_not_done():
    assert [entry[3] for entry in report_of(answer_cell("Because."), answer_cell(""),
                                            answer_cell("YOUR ANSWER HERE"))] == [DONE, NOT_DONE, NOT_DONE]


def test_report_skips_papermill_cells_in_cell_indexes():
    injected = new_code_cell("PROFILE = 'smoke'")
    injected.metadata["tags"] = ["injected-parameters"]
    notebook = new_notebook(cells=[injected, new_code_cell("x = 1"), answer_cell("Because.")])
    assert [e["cell"] for e in exercise_report(notebook)] == [1]


def test_report_refuses_bad_points():
    with pytest.raises(ValueError, match=r"cell 1: points must be a number >= 0, got -1"):
        report_of(answer_cell("Because.", points=-1))


def test_scaffold_that_raises_not_implemented_error_is_refused(tmp_path):
    source = "def f():\n    raise NotImplementedError\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION"
    write(tmp_path / "reference", "01_cnn.ipynb", new_notebook(cells=[exercise_cell(source)]))
    with pytest.raises(ValueError, match=r"cell 0: the code outside the solution region raises NotImplementedError"):
        build_student_edition(tmp_path / "reference", tmp_path / "student")
