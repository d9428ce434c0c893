"""Lab requirement checks for graders: each a Check, together a PASS/FAIL table and metrics.json records.

    checks = [at_least("test accuracy >= 0.99", final["test_accuracy"], 0.99),
              losses_every_batch(history),
              set_composition(train.class_counts(), [600] * 10)]
    report(checks)                 # a DataFrame to display; styled(report(checks)) colours it
    as_records(checks)             # the "checks" list of metrics.json
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Check:
    requirement: str
    passed: bool
    detail: str = ""


def at_least(requirement: str, value: float, threshold: float) -> Check:
    """Passes when value >= threshold; the detail shows both, e.g. "0.9934 >= 0.9930"."""
    value, threshold = float(value), float(threshold)
    passed = value >= threshold  # False for NaN
    return Check(requirement, passed, f"{value:.4f} {'>=' if passed else '<'} {threshold:.4f}")


def holds(requirement: str, condition, detail: str = "") -> Check:
    return Check(requirement, bool(condition), detail)


def report(checks: list[Check]) -> pd.DataFrame:
    """A table with columns requirement, result ("PASS" or "FAIL"), detail: one row per check."""
    return pd.DataFrame(
        [(c.requirement, "PASS" if c.passed else "FAIL", c.detail) for c in checks],
        columns=["requirement", "result", "detail"],
    )


def styled(table: pd.DataFrame):
    """The report table with PASS in green and FAIL in red, for display in a notebook."""
    colours = {"PASS": "color: #1a7f37; font-weight: bold", "FAIL": "color: #cf222e; font-weight: bold"}
    return table.style.map(lambda result: colours.get(result, ""), subset=["result"]).hide(axis="index")


def as_records(checks: list[Check]) -> list[dict]:
    """The checks as {"requirement", "passed", "detail"} dicts for metrics.json."""
    return [asdict(c) for c in checks]


def losses_every_batch(
    history: pd.DataFrame,
    requirement: str = "train loss after every mini-batch, test loss at a regular cadence",
) -> Check:
    """Passes when every row has a finite train_loss and test loss was recorded at least every k mini-batches,
    k being the usual interval between evaluations, including at the last mini-batch.

    `history` has one row per mini-batch with columns step, train_loss and test_loss (NaN where not evaluated).
    """
    missing = {"train_loss", "test_loss"} - set(history.columns)
    if missing:
        raise ValueError(f"history lacks columns {sorted(missing)}; it has {list(history.columns)}")
    steps = history["step"].to_numpy() if "step" in history.columns else np.arange(1, len(history) + 1)
    train_loss = history["train_loss"].to_numpy(dtype=float)
    test_loss = history["test_loss"].to_numpy(dtype=float)
    n = len(history)
    if n == 0:
        return Check(requirement, False, "the history is empty")
    evaluated = steps[np.isfinite(test_loss)]
    problems = []
    bad_train = int((~np.isfinite(train_loss)).sum())
    if bad_train:
        problems.append(f"{bad_train} rows without a finite train loss")
    if len(evaluated) == 0:
        return Check(requirement, False, "; ".join([f"{n} mini-batches, test loss at none of them", *problems]))
    gaps = np.diff(np.concatenate([[steps[0] - 1], evaluated]))
    values, counts = np.unique(gaps, return_counts=True)
    every = int(values[np.argmax(counts)])  # the usual interval; ties go to the shorter one
    if gaps.max() > every:
        problems.append(f"a stretch of {int(gaps.max())} mini-batches without test loss")
    if evaluated[-1] != steps[-1]:
        problems.append("no test loss at the last mini-batch")
    detail = f"{n} mini-batches, test loss at {len(evaluated)} of them (every {every})"
    return Check(requirement, not problems, "; ".join([detail, *problems]))


def set_composition(counts, expected, requirement: str = "set composition as specified") -> Check:
    """Passes when the per-class counts equal the expected ones; the detail lists the classes that differ."""
    counts = [int(c) for c in (counts.tolist() if hasattr(counts, "tolist") else counts)]
    expected = [int(c) for c in (expected.tolist() if hasattr(expected, "tolist") else expected)]
    if len(counts) != len(expected):
        return Check(requirement, False, f"{len(counts)} classes, expected {len(expected)}")
    wrong = [f"class {i}: {c} (expected {e})" for i, (c, e) in enumerate(zip(counts, expected)) if c != e]
    if wrong:
        return Check(requirement, False, "; ".join(wrong))
    per_class = f"{counts[0]} per class" if len(set(counts)) == 1 else f"{min(counts)}-{max(counts)} per class"
    return Check(requirement, True, f"{sum(counts)} images, {per_class}")

