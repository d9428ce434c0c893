import json

import matplotlib.pyplot as plt
import torch
from torch import nn

import labkit as lk
from labkit import checks


class Linear(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(28 * 28, 10)

    def forward(self, x):
        return self.fc(x.flatten(1))


def test_report_saves_figures_runs_and_checks(tiny_digits, tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_FIGURES", str(tmp_path))
    torch.manual_seed(0)
    history = lk.fit(Linear(), tiny_digits, tiny_digits, epochs=1, lr=1e-2, batch_size=50, live=False)
    report = lk.Report("99_example", seed=0, device="cpu")
    fig, ax = plt.subplots()
    report.figure(fig, "empty")
    report.add_run("linear", history)
    table = report.finish([checks.at_least("accuracy >= 0", history.final["test_accuracy"], 0.0),
                           checks.holds("never", False, "on purpose")])
    assert table["result"].tolist() == ["PASS", "FAIL"]
    assert (tmp_path / "99_example" / "empty.png").stat().st_size > 0
    saved = json.loads((tmp_path / "99_example" / "metrics.json").read_text())
    assert saved["runs"]["linear"]["model"] == "Linear"
    assert saved["runs"]["linear"]["test_accuracy"] == round(history.final["test_accuracy"], 6)
    assert [c["passed"] for c in saved["checks"]] == [True, False]


def test_compare_names_rows_by_run(tiny_digits):
    torch.manual_seed(0)
    history = lk.fit(Linear(), tiny_digits, tiny_digits, epochs=1, lr=1e-2, batch_size=50, live=False)
    table = lk.compare({"first": history, "second": history})
    assert table.index.tolist() == ["first", "second"]
    assert {"test_accuracy", "train_accuracy", "parameters", "train_seconds"} <= set(table.columns)
