"""The grader on tiny synthetic notebooks (built here with nbformat, each runs in seconds): it executes them
with papermill, evaluates labkit's requirements from the run's own files, names the cell a notebook stopped
at, and ignores thresholds typed into a notebook. Strict mode makes nbval fail on a failed requirement."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from labkit.__main__ import main
from labkit.course import grade as grading
from labkit.course import requirements
from labkit.course.identify import notebook_id

SETUP = '''from labkit import checks
from labkit.course import Report


class Pool:
    def __init__(self, per_class):
        self.counts = [per_class] * 10

    def class_counts(self):
        return self.counts

    def __len__(self):
        return sum(self.counts)


report = Report("00_setup_and_data", seed=SEED, device="cpu", profile=PROFILE, parameters={"MEAN": MEAN})'''
POOLS = 'report.add_set("train_pool", Pool(600))\nreport.add_set("test_pool", Pool(100))'
VALUES = 'report.add_value("pixel_mean", MEAN)\nreport.add_value("pixel_std", 0.3081)'
FINISH = "report.finish()"


def tiny_notebook(mean: float = 0.1307, last: str = FINISH, raise_before_values: bool = False):
    """A stand-in for 00_setup_and_data: fake pools, a pixel mean given as a parameter, labkit's Report."""
    parameters = new_code_cell(f"SEED = 0\nPROFILE = 'full'\nMEAN = {mean}")
    parameters.metadata["tags"] = ["parameters"]
    answer = new_markdown_cell("Why do we normalise the images?")
    answer.metadata.update(tags=["answer"], points=3, labkit={"answer": "why-normalise"})
    cells = [new_markdown_cell("# tiny lab"), parameters, new_code_cell(SETUP), new_code_cell(POOLS)]
    if raise_before_values:
        cells.append(new_code_cell('raise NotImplementedError("compute the pixel statistics")'))
    cells += [new_code_cell(VALUES), answer, new_code_cell(last)]
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["labkit"] = {"notebook": "00_setup_and_data"}
    return notebook


def write(notebook, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def statuses(result) -> dict:
    return {o.id: (o.status, o.earned) for o in result.outcomes}


@pytest.fixture
def clean_environment(monkeypatch, tmp_path):
    # the stand-in's rubric: no code exercise, the one answer cell it holds
    monkeypatch.setitem(requirements.EXERCISES, "00_setup_and_data", {})
    monkeypatch.setitem(requirements.ANSWERS, "00_setup_and_data", {"why-normalise": 3})
    monkeypatch.delenv("LABKIT_STRICT", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("LABKIT_FIGURES", str(tmp_path / "never_used"))  # the grader points the run elsewhere


def test_an_edited_threshold_in_the_notebook_changes_nothing(tmp_path, clean_environment):
    original = write(tiny_notebook(mean=0.1309), tmp_path / "original" / "alice_00_setup_and_data.ipynb")
    lenient = ('lenient = checks.holds("mean within 0.01", abs(MEAN - 0.1307) < 0.01)  # a threshold typed here\n'
               'assert lenient.passed\n' + FINISH)
    edited = write(tiny_notebook(mean=0.1309, last=lenient), tmp_path / "edited" / "alice_00_setup_and_data.ipynb")
    graded = [grading.grade(path, execute_it=True, profile="smoke", timeout=300) for path in (original, edited)]
    for result in graded:
        assert result.notebook == "00_setup_and_data" and result.error == ""
        assert statuses(result) == {"train_pool_composition": ("PASS", 1), "test_pool_composition": ("PASS", 1),
                                    "normalisation_statistics": ("FAIL", 0)}
        assert not result.ok
    assert [o.detail for o in graded[0].outcomes] == [o.detail for o in graded[1].outcomes]
    assert not (tmp_path / "never_used").exists()  # figures went to the grader's temporary folder


def test_a_notebook_that_raises_is_graded_up_to_where_it_stopped(tmp_path, clean_environment, capsys):
    path = write(tiny_notebook(raise_before_values=True), tmp_path / "00_setup_and_data.ipynb")
    out = tmp_path / "grades.csv"
    assert main(["grade", str(path), "--execute", "--profile", "smoke", "--out", str(out), "--timeout", "300"]) == 1
    printed = capsys.readouterr().out
    assert "error: cell 4 (raise NotImplementedError(\"compute the pixel statistics\")): " \
           "NotImplementedError: compute the pixel statistics" in printed
    assert "Traceback" not in printed
    assert "manual    answer in cell 6: 0..3 points -- Why do we normalise the images?" in printed
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 1
    row = rows[0]
    assert (row["notebook"], row["profile"], row["points"], row["max points"]) == ("00_setup_and_data", "smoke",
                                                                                  "2", "3")
    assert (row["passed"], row["failed"], row["not done"], row["manual points"]) == ("2", "0", "1", "3")
    assert row["error"].startswith("cell 4 (raise NotImplementedError")


def test_a_good_notebook_passes_and_exits_zero(tmp_path, clean_environment, capsys):
    path = write(tiny_notebook(), tmp_path / "00_setup_and_data.ipynb")
    assert main(["grade", str(path), "--execute", "--profile", "smoke", "--timeout", "300"]) == 0
    assert "3/3 points; 3 passed, 0 failed, 0 not done" in capsys.readouterr().out


def test_a_notebook_past_its_time_limit_is_stopped(tmp_path, clean_environment):
    path = write(tiny_notebook(last="import time\ntime.sleep(600)"), tmp_path / "00_setup_and_data.ipynb")
    result = grading.grade(path, execute_it=True, profile="smoke", timeout=12)
    assert result.error.startswith("timed out after 12 s")
    assert statuses(result)["normalisation_statistics"][0] in ("PASS", "not done")


def run_nbval(path: Path, strict: str, figures: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "LABKIT_STRICT": strict, "LABKIT_FIGURES": str(figures)}
    environment.pop("CI", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "--nbval-lax", "-p", "no:cacheprovider", path.name],
                          cwd=path.parent, env=environment, capture_output=True, text=True, timeout=300)


def test_strict_mode_fails_nbval_naming_the_requirement(tmp_path):
    path = write(tiny_notebook(mean=0.1309), tmp_path / "lab" / "00_setup_and_data.ipynb")
    strict = run_nbval(path, "1", tmp_path / "figures")
    assert strict.returncode == 1, strict.stdout[-2000:]
    assert "RequirementsFailed" in strict.stdout and "normalisation_statistics [FAIL]" in strict.stdout
    lenient = run_nbval(path, "0", tmp_path / "figures")
    assert lenient.returncode == 0, lenient.stdout[-2000:]


def test_submission_state_order_errors_and_unexecuted_cells():
    notebook = tiny_notebook()
    assert grading.submission_state(notebook) == (False, "cell 1 (SEED = 0) was not executed")
    for count, cell in enumerate([c for c in grading.own_cells(notebook) if c.cell_type == "code"], 1):
        cell.execution_count = count
    assert grading.submission_state(notebook) == (True, "executed top to bottom, no error outputs")
    notebook.cells[3].execution_count = 7
    assert "ran out of order (execution count 7, expected 3)" in grading.submission_state(notebook)[1]
    notebook.cells[3].execution_count = 3
    notebook.cells[3].outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="bad\nvalue",
                                                        traceback=[])]
    assert grading.submission_state(notebook) == (False, "cell 3 (report.add_set(\"train_pool\", Pool(600))) "
                                                         "has an error output: ValueError: bad value")


def test_a_cell_papermill_injected_counts_in_the_order_only_when_it_ran():
    """papermill leaves its injected cell unnumbered; nbgrader's autograde runs it and numbers it."""
    notebook = tiny_notebook()
    injected = nbformat.v4.new_code_cell("# Parameters\nPROFILE = \"smoke\"")
    injected.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(2, injected)
    own = [c for c in grading.own_cells(notebook) if c.cell_type == "code"]
    for count, cell in enumerate(own, 1):
        cell.execution_count = count
    assert grading.submission_state(notebook) == (True, "executed top to bottom, no error outputs")
    for count, cell in enumerate([c for c in notebook.cells if c.cell_type == "code"], 1):
        cell.execution_count = count
    assert grading.submission_state(notebook) == (True, "executed top to bottom, no error outputs")
    own[-1].execution_count = 99
    assert "ran out of order (execution count 99" in grading.submission_state(notebook)[1]


def test_grading_recorded_results_without_executing(tmp_path, monkeypatch, capsys):
    """Without --execute the facts come from the figures folder; the submission must be executed in order."""
    monkeypatch.setenv("LABKIT_FIGURES", str(tmp_path / "figures"))
    monkeypatch.delenv("LABKIT_STRICT", raising=False)
    from labkit.course import Report

    class Pool:
        def __init__(self, per_class):
            self.per_class = per_class

        def class_counts(self):
            return [self.per_class] * 10

        def __len__(self):
            return 10 * self.per_class

    report = Report("00_setup_and_data", seed=0, device="cpu", profile="quick")
    report.add_set("train_pool", Pool(600))
    report.add_set("test_pool", Pool(99))
    path = write(tiny_notebook(), tmp_path / "00_setup_and_data.ipynb")
    result = grading.grade(path, figures=tmp_path / "figures")
    assert result.profile == "quick"
    assert statuses(result) == {"train_pool_composition": ("PASS", 1), "test_pool_composition": ("FAIL", 0),
                                "normalisation_statistics": ("not done", 0)}
    assert not result.submission_ok and not result.ok


def test_notebook_identity_from_metadata_then_name(tmp_path):
    renamed = write(tiny_notebook(), tmp_path / "alice_lab.ipynb")
    assert notebook_id(renamed) == "00_setup_and_data"
    plain = tiny_notebook()
    del plain.metadata["labkit"]
    assert notebook_id(write(plain, tmp_path / "bob_01_cnn.ipynb")) == "01_cnn"
    with pytest.raises(ValueError, match="not a known lab notebook"):
        notebook_id(write(plain, tmp_path / "homework.ipynb"))
    plain.metadata["labkit"] = {"notebook": "07_gan"}
    with pytest.raises(ValueError, match="metadata labkit.notebook is '07_gan'"):
        notebook_id(write(plain, tmp_path / "x.ipynb"))
    result = grading.grade(tmp_path / "homework.ipynb")
    assert not result.ok and "not a known lab notebook" in result.error
