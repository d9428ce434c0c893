"""Claims: an interpretation stated together with the predicate that makes it true of this run.

    claims.make("augmentation lowers the train-test gap", gap_aug < gap_plain, gap_aug=gap_aug, gap_plain=gap_plain)
    claims.difference("rotation beats plain", acc_rot, acc_plain, n=10_000)        # holds / not established / ...
    claims.difference("rotation beats plain", acc_rot, acc_plain, n=10_000, seed_std=0.0007)
    claims.verdict(record)           # "inside the 95% sampling interval of the difference (...), so not established"
    claims.add(records, record)      # the list metrics.json keeps under "claims" (a re-run cell replaces its claim)
    claims.contradicted(records)     # the records whose predicate is false on this run
    claims.table(records)            # one row per claim for display, contradicted rows marked
    claims.check(records)            # a Check: passes when no claim is contradicted (the claims_hold requirement)

A record is plain data: {"text", "values", "holds", "status", "detail", "test"}. `status` is "holds",
"contradicted" or "not established" (a difference inside the sampling interval: the run cannot tell; `holds` is
then None). A difference claim is re-tested from its recorded values when it is checked, so a grader reading
metrics.json re-derives its status; a plain claim's predicate ran in the notebook, its values are kept beside it.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
import pandas as pd

from ..checks import Check

STATUSES = ("holds", "contradicted", "not established")
DIFFERENCE = "difference"  # the `test` of a claim made by difference(): a > b beyond the sampling interval
MARKS = {"holds": "", "contradicted": "✗ contradicted", "not established": "?"}
COLOURS = {"holds": "", "contradicted": "color: #cf222e; font-weight: bold", "not established": "color: #6e7781"}


@dataclass(frozen=True)
class Claim:
    text: str
    values: dict = field(default_factory=dict)
    holds: bool | None = None  # None: not established
    detail: str = ""
    test: str | None = None  # None for a predicate the notebook computed; DIFFERENCE for difference()

    def __post_init__(self):
        if self.holds is not None and not isinstance(self.holds, bool):
            raise TypeError(f"claim {self.text!r}: holds must be True, False or None, got {self.holds!r}")

    @property
    def status(self) -> str:
        return "not established" if self.holds is None else ("holds" if self.holds else "contradicted")

    def record(self) -> dict:
        """The claim as one entry of metrics.json's "claims"."""
        return {"text": self.text, "values": dict(self.values), "holds": self.holds, "status": self.status,
                "detail": self.detail, "test": self.test}


# ---------------------------------------------------------------- validation


def _text(text) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"a claim's text must be a non-empty string saying what is claimed, got {text!r}")
    return text.strip()


def _holds(text: str, holds) -> bool:
    if isinstance(holds, (bool, np.bool_)):
        return bool(holds)
    hint = " (a tensor: take .item() of the comparison)" if hasattr(holds, "item") else ""
    raise TypeError(f"claim {text!r}: holds must be a bool computed from the values, e.g. gap_aug < gap_plain; "
                    f"got {holds!r} of type {type(holds).__name__}{hint}")


def _number(text: str, name: str, value) -> float | int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        hint = " (a tensor: pass .item())" if hasattr(value, "item") else ""
        raise TypeError(f"claim {text!r}: value {name} must be a number, got {value!r} of type "
                        f"{type(value).__name__}{hint}")
    if not math.isfinite(value):
        raise ValueError(f"claim {text!r}: value {name} must be finite, got {value!r}")
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def _values(text: str, values: dict) -> dict:
    if not values:
        raise ValueError(f"claim {text!r}: give the values its predicate used, e.g. make(text, a < b, a=a, b=b)")
    return {name: _number(text, name, value) for name, value in values.items()}


def _fraction(text: str, name: str, value) -> float:
    value = _number(text, name, value)
    if not 0 <= value <= 1:
        raise ValueError(f"claim {text!r}: {name} must be an accuracy, a fraction in [0, 1], got {value!r}")
    return float(value)


def _count(text: str, name: str, value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"claim {text!r}: {name} must be a positive whole number of test items, got {value!r}")
    return int(value)


# ---------------------------------------------------------------- making claims


def make(text: str, holds, **values) -> dict:
    """The record of a claim whose predicate the notebook computed: `holds` a bool, `values` the numbers it used."""
    text = _text(text)
    holds = _holds(text, holds)
    values = _values(text, values)
    shown = ", ".join(f"{name} = {_show(value)}" for name, value in values.items())
    return Claim(text, values, holds, shown).record()


def z_value(confidence: float = 0.95) -> float:
    """The two-sided normal quantile of `confidence` (1.96 for 0.95)."""
    if not isinstance(confidence, numbers.Real) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be a number in (0, 1), e.g. 0.95, got {confidence!r}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(p: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a proportion `p` observed on `n` items."""
    z = z_value(confidence)
    scale = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / scale
    half = z / scale * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def difference_interval(a: float, b: float, n: int, n_b: int | None = None,
                        confidence: float = 0.95) -> tuple[float, float]:
    """Newcombe's interval for a - b (two proportions on n and n_b items), built from their Wilson intervals.

    It treats the two accuracies as independent. Measured on the same test items, two networks' errors are
    positively correlated, which narrows the true interval: this one errs toward "not established".
    """
    n_b = n if n_b is None else n_b
    (low_a, high_a), (low_b, high_b) = wilson(a, n, confidence), wilson(b, n_b, confidence)
    d = a - b
    return d - math.hypot(a - low_a, high_b - b), d + math.hypot(high_a - a, b - low_b)


def difference(text: str, a, b, n, n_b=None, seed_std=None, confidence: float = 0.95) -> dict:
    """The record of the claim "a is greater than b" for two accuracies measured on `n` (and `n_b`) test items.

    holds: the `confidence` interval of a - b (difference_interval) lies above 0; contradicted: it lies below 0;
    otherwise not established. With `seed_std`, the standard deviation of one run's test accuracy across seeds,
    the difference must also exceed z·√2·seed_std (the spread of a difference of two such runs), else it is
    not established either.
    """
    text = _text(text)
    values = _difference_values(text, a, b, n, n_b, seed_std, confidence)
    return _difference_claim(text, values).record()


def _difference_values(text: str, a, b, n, n_b, seed_std, confidence) -> dict:
    values = {"a": _fraction(text, "a", a), "b": _fraction(text, "b", b), "n": _count(text, "n", n)}
    if n_b is not None:
        values["n_b"] = _count(text, "n_b", n_b)
    if seed_std is not None:
        values["seed_std"] = _number(text, "seed_std", seed_std)
        if values["seed_std"] < 0:
            raise ValueError(f"claim {text!r}: seed_std must be >= 0, got {seed_std!r}")
    values["confidence"] = _number(text, "confidence", confidence)
    z_value(values["confidence"])
    return values


def _difference_claim(text: str, values: dict) -> Claim:
    a, b, n, confidence = values["a"], values["b"], values["n"], values["confidence"]
    low, high = difference_interval(a, b, n, values.get("n_b"), confidence)
    d = a - b
    holds = True if low > 0 else False if high < 0 else None
    items = f"n = {n:,}" + (f" and {values['n_b']:,}" if "n_b" in values else "")
    detail = f"a - b = {d:+.4f}, {confidence:.0%} interval [{low:+.4f}, {high:+.4f}] ({items})"
    if "seed_std" in values:
        spread = z_value(confidence) * math.sqrt(2) * values["seed_std"]
        detail += f"; seed spread ±{spread:.4f}"
        if abs(d) <= spread:
            holds = None
    if holds is None:
        detail += ": not established"
    return Claim(text, {**values, "difference": d, "low": low, "high": high}, holds, detail, DIFFERENCE)


def verdict(record: dict) -> str:
    """Where a difference claim's verdict comes from, for a sentence: 'beyond the 95% sampling interval of the
    difference (+0.12 to +0.41 points) and the seed spread (±0.17 points)', or 'inside the 95% sampling interval
    of the difference (-0.09 to +0.39 points), though beyond the seed spread (±0.06 points), so not established
    by this run'; a contradicted claim's starts 'the other way round: '. `record` is what difference() (or
    Report.claim_difference) returned."""
    if record.get("test") != DIFFERENCE:
        raise ValueError(f"claim {record.get('text')!r}: a verdict needs a claim made by difference(), "
                         f"got test {record.get('test')!r}")
    values = record["values"]
    d, low, high = values["difference"], values["low"], values["high"]
    interval = (f"the {values['confidence']:.0%} sampling interval of the difference "
                f"({low * 100:+.2f} to {high * 100:+.2f} points)")
    inside, beyond = ([interval], []) if low <= 0 <= high else ([], [interval])
    if "seed_std" in values:
        spread = z_value(values["confidence"]) * math.sqrt(2) * values["seed_std"]
        (inside if abs(d) <= spread else beyond).append(f"the seed spread (±{spread * 100:.2f} points)")
    if record["status"] != "not established":
        way = "the other way round: " if record["status"] == "contradicted" else ""
        return f"{way}beyond {' and '.join(beyond)}"
    return f"inside {' and '.join(inside)}" + (f", though beyond {' and '.join(beyond)}" if beyond else "") + \
        ", so not established by this run"


def _show(value) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:.4f}"


# ---------------------------------------------------------------- the records


def add(records: list, record: dict) -> list:
    """`records` with `record` appended, or in place of the record with the same text (a cell run again)."""
    kept = [r for r in records if r.get("text") != record["text"]]
    return [*kept, record]


def contradicted(records: list) -> list:
    """The records whose status is "contradicted"."""
    return [r for r in records if r.get("status") == "contradicted"]


def summary(records: list) -> str:
    """'3 claims: 2 hold, 1 not established, 0 contradicted'."""
    counts = {status: sum(r.get("status") == status for r in records) for status in STATUSES}
    return (f"{len(records)} claim{'' if len(records) == 1 else 's'}: {counts['holds']} hold, "
            f"{counts['not established']} not established, {counts['contradicted']} contradicted")


def table(records: list) -> pd.DataFrame:
    """One row per claim: mark (✗ for a contradicted one), claim, status, detail (the values it used)."""
    rows = [{"mark": MARKS.get(r.get("status"), "?"), "claim": r.get("text"), "status": r.get("status"),
             "detail": r.get("detail", "")} for r in records]
    return pd.DataFrame(rows, columns=["mark", "claim", "status", "detail"])


def styled(frame: pd.DataFrame):
    """The table of claims for a notebook: contradicted rows in red, claims not established grey."""
    return frame.style.apply(lambda row: [COLOURS.get(row["status"], "")] * len(row), axis=1).hide(axis="index")


# ---------------------------------------------------------------- checking what was recorded


def _recorded(record) -> Claim:
    """The Claim a metrics.json record holds, its status re-derived; ValueError naming what is malformed."""
    if not isinstance(record, dict) or not {"text", "values", "holds", "status"} <= set(record):
        raise ValueError(f"a claim record needs text, values, holds and status, got {record!r}")
    text, values = _text(record["text"]), record["values"]
    if not isinstance(values, dict):
        raise ValueError(f"claim {text!r}: values must be a dict of named numbers, got {values!r}")
    if record["status"] not in STATUSES:
        raise ValueError(f"claim {text!r}: status must be one of {STATUSES}, got {record['status']!r}")
    if record.get("test") == DIFFERENCE:
        given = (values.get(key) for key in ("a", "b", "n", "n_b", "seed_std"))
        return _difference_claim(text, _difference_values(text, *given, values.get("confidence", 0.95)))
    return Claim(text, _values(text, values), _holds(text, record["holds"]), record.get("detail", ""))


def check(records: list, requirement: str = "claims_hold") -> Check:
    """Passes when no recorded claim is contradicted, each status re-derived from the record where it can be.

    A difference claim is tested again from its values; a record whose stored status differs from what its
    values give fails, naming both. A malformed record raises ValueError or TypeError naming what is wrong
    (a requirement grades that FAIL).
    """
    problems = []
    for record in records:
        claim = _recorded(record)
        if claim.status != record["status"] or claim.holds is not record["holds"]:
            problems.append(f"{claim.text!r} recorded as {record['status']} (holds {record['holds']!r}), "
                            f"its values give {claim.status}")
        elif claim.status == "contradicted":
            problems.append(f"contradicted: {claim.text!r} ({claim.detail})")
    detail = summary(records) + ("; " + "; ".join(problems) if problems else "")
    return Check(requirement, not problems, detail)
