import json

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch
from conftest import FakeHistory
from torch import nn

import labkit as lk
from labkit.course.facts import pair_set_facts
from labkit.course.report import Report, RequirementsFailed, strict_default
from labkit.course.requirements import accuracy_target
from labkit.records import code_hash


class Pool:
    def __init__(self, per_class):
        self.counts = [per_class] * 10

    def class_counts(self):
        return self.counts

    def __len__(self):
        return sum(self.counts)


def saved(tmp_path, notebook="01_cnn") -> dict:
    return json.loads((tmp_path / notebook / "metrics.json").read_text())


@pytest.fixture
def figures(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_FIGURES", str(tmp_path))
    monkeypatch.delenv("LABKIT_STRICT", raising=False)
    monkeypatch.delenv("CI", raising=False)
    return tmp_path


def test_report_writes_metrics_after_every_add_and_the_history_file(figures):
    report = Report("01_cnn", seed=0, device="cpu", profile="smoke", parameters={"EPOCHS": 1, "PROFILE": "smoke"})
    first = saved(figures)
    assert first["finished"] is False and first["runs"] == {} and first["parameters"]["EPOCHS"] == 1
    report.add_run("plain_cnn", FakeHistory(0.9925))
    after_one = saved(figures)
    assert after_one["runs"]["plain_cnn"]["precision"] == "fp32"
    assert after_one["runs"]["plain_cnn"]["history"] == "history_plain_cnn.csv"
    history = pd.read_csv(figures / "01_cnn" / "history_plain_cnn.csv")
    assert len(history) == 8 and history["test_loss"].notna().all()
    fig, _ = plt.subplots()
    report.figure(fig, "empty")
    assert (figures / "01_cnn" / "empty.png").stat().st_size > 0
    assert not list((figures / "01_cnn").glob(".*.tmp"))


def test_report_records_provenance(figures):
    Report("01_cnn", seed=3, device="cpu", parameters={"SEED": 3})
    metrics = saved(figures)
    assert metrics["labkit_version"] == lk.__version__ and metrics["labkit_code_hash"] == code_hash()
    assert {"cpu", "cpu_capability", "cpu_native_bf16", "gpu", "gpu_memory_gib"} <= metrics["machine"].keys()
    assert metrics["torch"] == torch.__version__ and metrics["profile"] == "full" and metrics["seed"] == 3
    assert {"git_commit", "git_dirty", "date", "wall_seconds", "deterministic"} <= metrics.keys()


def test_finish_evaluates_labkits_requirements_from_what_was_recorded(figures):
    report = Report("01_cnn", seed=0, device="cpu")
    report.add_run("plain_cnn", FakeHistory(accuracy_target("01_cnn", "plain_cnn") + 0.001))
    report.add_run("plain_cnn_rotation", FakeHistory(accuracy_target("01_cnn", "plain_cnn_rotation") - 0.001))
    table = report.finish()
    assert dict(zip(table["id"], table["result"])) == {
        "losses_every_batch": "PASS", "plain_cnn_accuracy": "PASS", "rotation_accuracy": "FAIL"}
    metrics = saved(figures)
    assert metrics["finished"] is True and (metrics["points"], metrics["max_points"]) == (4, 6)
    assert [c["passed"] for c in metrics["checks"]] == [True, True, False]


def test_finish_in_smoke_marks_accuracy_na_and_takes_no_thresholds(figures):
    report = Report("01_cnn", seed=0, device="cpu", profile="smoke")
    report.add_run("plain_cnn", FakeHistory(0.3))
    report.add_run("plain_cnn_rotation", FakeHistory(0.3))
    assert report.finish()["result"].tolist() == ["PASS", "n/a", "n/a"]
    assert [c["passed"] for c in saved(figures)["checks"]] == [True, None, None]
    with pytest.raises(TypeError):
        report.finish([lk.checks.at_least("lowered", 0.3, 0.0)])


def test_strict_finish_raises_naming_failed_and_missing_requirements(figures, monkeypatch):
    monkeypatch.setenv("LABKIT_STRICT", "1")
    report = Report("01_cnn", seed=0, device="cpu")
    report.add_run("plain_cnn", FakeHistory(0.95))
    with pytest.raises(RequirementsFailed) as failed:
        report.finish()
    message = str(failed.value)
    target = accuracy_target("01_cnn", "plain_cnn")
    assert "plain_cnn_accuracy [FAIL]" in message and f"0.9500 < {target:.4f}" in message
    assert "rotation_accuracy [not done]" in message and "losses_every_batch [not done]" in message
    assert saved(figures)["finished"] is True  # the record is written before raising


def test_strictness_from_the_environment(monkeypatch):
    monkeypatch.delenv("LABKIT_STRICT", raising=False)
    monkeypatch.delenv("CI", raising=False)
    assert not strict_default("full") and not strict_default("smoke")
    monkeypatch.setenv("CI", "true")
    assert strict_default("smoke") and strict_default("full") and not strict_default("quick")
    monkeypatch.setenv("LABKIT_STRICT", "0")
    assert not strict_default("smoke")
    monkeypatch.setenv("LABKIT_STRICT", "maybe")
    with pytest.raises(ValueError, match="LABKIT_STRICT must be one of"):
        strict_default("full")


def test_report_refuses_unknown_notebooks_and_profiles(figures):
    with pytest.raises(ValueError, match="no requirements for notebook '01_cnnn'"):
        Report("01_cnnn", seed=0, device="cpu")
    with pytest.raises(ValueError, match="profile must be one of"):
        Report("01_cnn", seed=0, device="cpu", profile="fast")
    with pytest.raises(ValueError, match="non-empty string"):
        Report("00_setup_and_data", seed=0, device="cpu").add_value("", 1)


def test_add_set_pairs_value_and_model_record_the_facts(figures, tiny_digits):
    report = Report("05_pair_data_study", seed=0, device="cpu", profile="smoke")
    report.add_set("train_pool", Pool(600))
    sorted_pairs = lk.PairSet.build(tiny_digits, count=200, order="sorted", seed=0)
    report.add_pairs("sorted", sorted_pairs)
    report.add_value("pixel_mean", torch.tensor(0.5))
    report.add_model("net", nn.Linear(2, 2))
    metrics = saved(figures, "05_pair_data_study")
    assert metrics["sets"]["train_pool"] == {"size": 6000, "class_counts": [600] * 10}
    assert metrics["pair_sets"]["sorted"] == {"size": 200, "same": 100, "different": 100, "fraction_same": 0.5,
                                              "self_pairs": 0, "duplicates": 0, "targets_match_labels": True,
                                              "sorted": True}
    assert metrics["values"]["pixel_mean"] == 0.5
    assert metrics["models"]["net"]["parameter_names"] == ["weight", "bias"]


def test_pair_set_facts_see_self_pairs_wrong_targets_and_disorder(tiny_digits):
    good = lk.PairSet.build(tiny_digits, count=100, seed=0)
    pairs, targets = good.pairs.clone(), good.targets.clone()
    pairs[0, 1] = pairs[0, 0]
    pairs[1] = pairs[2]
    targets[3] = 1 - targets[3]
    facts = pair_set_facts(lk.PairSet(tiny_digits, pairs, targets))
    assert facts["self_pairs"] == 1 and facts["duplicates"] >= 1 and facts["targets_match_labels"] is False
    assert facts["sorted"] is False


def test_compare_names_rows_by_run(tiny_digits):
    class Linear(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(28 * 28, 10)

        def forward(self, x):
            return self.fc(x.flatten(1))

    torch.manual_seed(0)
    history = lk.fit(Linear(), tiny_digits, tiny_digits, lk.Recipe(epochs=1, lr=1e-2, batch_size=50), live=False)
    table = lk.runs_table({"first": history, "second": history})
    assert table.index.tolist() == ["first", "second"]
    assert {"test_accuracy", "train_accuracy", "parameters", "train_seconds"} <= set(table.columns)


def test_code_hash_ignores_comments_docstrings_and_layout_but_not_code(tmp_path):
    package = tmp_path / "pkg"
    (package / "course").mkdir(parents=True)
    (package / "course" / "rules.py").write_text('"""Rules."""\nTHRESHOLD = 0.99\n')
    (package / "train.py").write_text('def fit(x):\n    """Train."""\n    return x + 1\n')
    before = code_hash(package)
    (package / "train.py").write_text('def fit(x):  # a comment\n    """Train, reworded."""\n\n    return (x + 1)\n')
    assert code_hash(package) == before
    (package / "course" / "rules.py").write_text('"""Rules."""\nTHRESHOLD = 0.98\n')
    assert code_hash(package) != before
