import numpy as np
import pandas as pd
import torch

from labkit import checks


def history(steps: int, every: int, bad_train_loss: bool = False) -> pd.DataFrame:
    step = np.arange(1, steps + 1)
    evaluated = (step % every == 0) | (step == steps)
    train_loss = np.linspace(2, 0.1, steps)
    if bad_train_loss:
        train_loss[3] = np.nan
    return pd.DataFrame({
        "step": step, "epoch": (step - 1) // 10, "train_loss": train_loss,
        "test_loss": np.where(evaluated, 0.5, np.nan), "test_accuracy": np.where(evaluated, 0.9, np.nan),
    })


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
    assert "PASS" in checks.styled(table).to_html()


def test_losses_every_batch_states_the_cadence():
    check = checks.losses_every_batch(history(105, 10))
    assert check.passed
    assert check.detail == "105 mini-batches, test loss at 11 of them (every 10)"
    assert checks.losses_every_batch(history(20, 1)).detail == "20 mini-batches, test loss at 20 of them (every 1)"


def test_losses_every_batch_fails_on_gaps_missing_last_step_and_bad_train_loss():
    assert not checks.losses_every_batch(history(50, 10, bad_train_loss=True)).passed
    gap = history(100, 10)
    gap.loc[gap["step"].isin([40, 50]), "test_loss"] = np.nan
    assert "a stretch of 30 mini-batches" in checks.losses_every_batch(gap).detail
    last = history(100, 10)
    last.loc[last.index[-1], "test_loss"] = np.nan
    last_check = checks.losses_every_batch(last)
    assert not last_check.passed and "last mini-batch" in last_check.detail
    none = history(10, 5).assign(test_loss=np.nan)
    assert not checks.losses_every_batch(none).passed


def test_set_composition():
    check = checks.set_composition(torch.tensor([600] * 10), [600] * 10)
    assert check.passed and check.detail == "6000 images, 600 per class"
    wrong = checks.set_composition([600, 599], [600, 600])
    assert not wrong.passed and wrong.detail == "class 1: 599 (expected 600)"
    assert not checks.set_composition([600], [600, 600]).passed
