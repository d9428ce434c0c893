"""The committed results (figures/*/metrics.json and the history files beside them) are complete, passing
and fresh: every requirement re-evaluated by labkit from the files PASSes in the full profile, the provenance
is recorded, and the labkit code hash they were made with is the current one (else: run `make run`).

The last tests prove the audit on temporary copies: it fails on a stored failed check, on a changed code
hash, on a missing history file, on a smoke run."""

import json
import shutil
from pathlib import Path

import pytest
from conftest import FakeHistory

from labkit.course.audit import problems
from labkit.course.requirements import accuracy_target
from labkit.records import code_hash

ROOT = Path(__file__).resolve().parent.parent
LAB_NOTEBOOKS = sorted(path.stem for path in (ROOT / "notebooks").glob("[0-9]*.ipynb"))


@pytest.mark.parametrize("notebook", LAB_NOTEBOOKS)
def test_committed_results_pass_and_are_fresh(notebook):
    found = problems(ROOT / "figures" / notebook, notebook, code_hash())
    assert not found, "\n".join(found)


@pytest.mark.parametrize("notebook", LAB_NOTEBOOKS)
def test_committed_accuracies_clear_their_targets_by_a_margin(notebook):
    """The reference run of each accuracy target passes by at least MARGIN, not by luck of a few images."""
    from labkit.course.requirements import MARGIN, clears_margin, requirements_for

    runs = json.loads((ROOT / "figures" / notebook / "metrics.json").read_text())["runs"]
    short = [f"{r.run}: {runs[r.run]['test_accuracy']:.4f} < {r.threshold} + {MARGIN}"
             for r in requirements_for(notebook) if r.kind == "accuracy" and r.run is not None
             and not clears_margin(runs[r.run]["test_accuracy"], r.threshold)]
    assert not short, "targets met without the margin: " + "; ".join(short)


@pytest.fixture
def good_results(tmp_path, monkeypatch):
    """figures/01_cnn as a complete, passing, fresh full run would leave it (written by labkit's Report)."""
    from labkit.course.report import Report

    monkeypatch.setenv("LABKIT_FIGURES", str(tmp_path))
    monkeypatch.delenv("LABKIT_STRICT", raising=False)
    monkeypatch.delenv("CI", raising=False)
    report = Report("01_cnn", seed=0, device="cpu", profile="full", parameters={"EPOCHS": 6})
    report.add_run("plain_cnn", FakeHistory(0.9925))
    report.add_run("plain_cnn_rotation", FakeHistory(0.9935))
    report.finish()
    return tmp_path / "01_cnn"


def edit(folder: Path, change) -> None:
    path = folder / "metrics.json"
    metrics = json.loads(path.read_text())
    change(metrics)
    path.write_text(json.dumps(metrics))


def test_the_audit_passes_complete_fresh_results(good_results):
    assert problems(good_results, "01_cnn") == []


def test_the_audit_fails_a_stored_failed_check(good_results):
    edit(good_results, lambda m: m["checks"][0].update(passed=False))
    assert any("stored checks not passed: ['losses_every_batch']" in p for p in problems(good_results, "01_cnn"))


def test_the_audit_re_evaluates_from_the_files(good_results):
    edit(good_results, lambda m: m["runs"]["plain_cnn_rotation"].update(test_accuracy=0.99))
    found = problems(good_results, "01_cnn")
    target = accuracy_target("01_cnn", "plain_cnn_rotation")
    assert len(found) == 1 and f"rotation_accuracy [FAIL]: 0.9900 < {target:.4f}" in found[0]


def test_the_audit_fails_stale_results_saying_to_run_make_run(good_results):
    edit(good_results, lambda m: m.update(labkit_code_hash="0" * 64))
    found = problems(good_results, "01_cnn")
    assert len(found) == 1 and "is stale" in found[0] and "run `make run`" in found[0]
    assert problems(good_results, "01_cnn", current_hash="f" * 64)  # a code change also makes them stale


def test_the_audit_fails_missing_history_files_and_provenance(good_results):
    (good_results / "history_plain_cnn.csv").unlink()
    edit(good_results, lambda m: m["machine"].pop("cpu"))
    found = "\n".join(problems(good_results, "01_cnn"))
    assert "run 'plain_cnn' has no history file history_plain_cnn.csv" in found
    assert "lacks provenance ['machine.cpu']" in found
    assert "losses_every_batch [not done]" in found


def test_the_audit_fails_smoke_results_and_a_missing_file(good_results, tmp_path):
    edit(good_results, lambda m: m.update(profile="smoke"))
    assert any("comes from a smoke run" in p for p in problems(good_results, "01_cnn"))
    shutil.rmtree(good_results)
    assert problems(good_results, "01_cnn") == [f"{good_results / 'metrics.json'} is missing: run `make run`"]
