"""Check primitives for lab requirements, and the PASS/FAIL table graders read.

    at_least("test accuracy >= 0.99", 0.9934, 0.99)          -> Check(passed=True, detail="0.9934 >= 0.9900")
    losses_every_batch(history.frame)                        -> passes only when every mini-batch has both losses
    set_composition(train_pool.class_counts(), [600] * 10)   -> passes when every class count is as expected
    styled(table)                                            -> the table coloured for a notebook

Which checks a notebook must pass, with which thresholds, is `labkit.course.requirements`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

STATUSES = ("PASS", "FAIL", "n/a", "not done")
COLOURS = {"PASS": "color: #1a7f37; font-weight: bold", "FAIL": "color: #cf222e; font-weight: bold",
           "n/a": "color: #6e7781", "not done": "color: #9a6700; font-weight: bold"}


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
    """A table with a `result` column, PASS in green, FAIL in red, n/a grey, not done amber, for a notebook."""
    return table.style.map(lambda result: COLOURS.get(result, ""), subset=["result"]).hide(axis="index")


def as_records(checks: list[Check]) -> list[dict]:
    """The checks as {"requirement", "passed", "detail"} dicts."""
    return [asdict(c) for c in checks]


def _first_steps(steps: np.ndarray, bad: np.ndarray, shown: int = 3) -> str:
    listed = ", ".join(str(int(s)) for s in steps[bad][:shown])
    return listed + (", ..." if bad.sum() > shown else "")


def losses_every_batch(history: pd.DataFrame,
                       requirement: str = "train and test loss recorded after every mini-batch") -> Check:
    """Passes when every mini-batch (one row each) has a finite train_loss and a finite test_loss.

    Fails on an empty history and on any row lacking either loss; the detail names the first such steps.
    """
    missing = {"train_loss", "test_loss"} - set(history.columns)
    if missing:
        raise ValueError(f"history lacks columns {sorted(missing)}; it has {list(history.columns)}")
    n = len(history)
    if n == 0:
        return Check(requirement, False, "the history is empty: no mini-batch recorded")
    steps = history["step"].to_numpy() if "step" in history.columns else np.arange(1, n + 1)
    problems = []
    for column in ("train_loss", "test_loss"):
        bad = ~np.isfinite(pd.to_numeric(history[column], errors="coerce").to_numpy(dtype=float))
        if bad.any():
            problems.append(f"{int(bad.sum())} without a finite {column.replace('_', ' ')} "
                            f"(steps {_first_steps(steps, bad)})")
    if problems:
        return Check(requirement, False, f"{n} mini-batches; " + "; ".join(problems))
    return Check(requirement, True, f"{n} mini-batches, train and test loss after every one")


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
