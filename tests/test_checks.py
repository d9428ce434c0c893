import numpy as np
import pandas as pd
import pytest
import torch

from labkit import checks


def history(steps: int = 20) -> pd.DataFrame:
    """A history with both losses after every mini-batch."""
    step = np.arange(1, steps + 1)
    return pd.DataFrame({"step": step, "epoch": (step - 1) // 10 + 1, "train_loss": np.linspace(2, 0.1, steps),
                         "test_loss": np.linspace(2.1, 0.2, steps), "test_accuracy": np.linspace(0.1, 0.9, steps)})


def test_at_least_passes_and_fails_with_both_numbers():
    assert checks.at_least("test accuracy >= 0.993", 0.9934, 0.993) == checks.Check(
        "test accuracy >= 0.993", True, "0.9934 >= 0.9930"
    )
    failed = checks.at_least("test accuracy >= 0.993", torch.tensor(0.95), 0.993)
    assert not failed.passed and failed.detail == "0.9500 < 0.9930"
    assert not checks.at_least("nan fails", float("nan"), 0.5).passed


def test_holds():
    balanced = checks.holds("pairs balanced", np.bool_(True), "500 + 500")
    assert balanced == checks.Check("pairs balanced", True, "500 + 500")
    assert not checks.holds("never an image with itself", 0).passed


def test_report_table_and_records():
    results = [checks.at_least("a", 1, 0.5), checks.holds("b", False, "why")]
    table = checks.report(results)
    assert list(table.columns) == ["requirement", "result", "detail"]
    assert table["result"].tolist() == ["PASS", "FAIL"]
    assert table.loc[1, "detail"] == "why"
    assert checks.as_records(results) == [
        {"requirement": "a", "passed": True, "detail": "1.0000 >= 0.5000"},
        {"requirement": "b", "passed": False, "detail": "why"},
    ]
    html = checks.styled(pd.DataFrame({"result": ["PASS", "n/a", "not done"]})).to_html()
    assert "PASS" in html and "not done" in html


def test_losses_every_batch_passes_when_every_mini_batch_has_both_losses():
    check = checks.losses_every_batch(history(20))
    assert check.passed and check.detail == "20 mini-batches, train and test loss after every one"


def test_losses_every_batch_fails_on_one_missing_test_loss():
    one_missing = history(20)
    one_missing.loc[6, "test_loss"] = np.nan
    check = checks.losses_every_batch(one_missing)
    assert not check.passed
    assert check.detail == "20 mini-batches; 1 without a finite test loss (steps 7)"


def test_losses_every_batch_fails_on_a_regular_cadence():
    """The old check passed a test loss every 10 mini-batches; every mini-batch is the requirement."""
    cadence = history(100)
    cadence.loc[cadence["step"] % 10 != 0, "test_loss"] = np.nan
    check = checks.losses_every_batch(cadence)
    assert not check.passed and "90 without a finite test loss (steps 1, 2, 3, ...)" in check.detail


def test_losses_every_batch_fails_on_bad_train_loss_and_empty_history():
    bad = history(10)
    bad.loc[3, "train_loss"] = np.inf
    assert "1 without a finite train loss (steps 4)" in checks.losses_every_batch(bad).detail
    assert not checks.losses_every_batch(history(0)).passed
    with pytest.raises(ValueError, match="lacks columns \\['test_loss'\\]"):
        checks.losses_every_batch(history(5).drop(columns="test_loss"))


def test_set_composition():
    check = checks.set_composition(torch.tensor([600] * 10), [600] * 10)
    assert check.passed and check.detail == "6000 images, 600 per class"
    wrong = checks.set_composition([600, 599], [600, 600])
    assert not wrong.passed and wrong.detail == "class 1: 599 (expected 600)"
    assert not checks.set_composition([600], [600, 600]).passed
