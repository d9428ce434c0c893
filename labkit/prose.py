"""Analysis text rendered from the run's own numbers, so every sentence describes what is on the screen.

    prose.show('''The Siamese net reaches {siamese}, the two-channel net {two_channel}.''',
               siamese=prose.percent(0.9943), two_channel=prose.percent(0.9869))

A notebook's analysis is a code cell that fills a template with values computed in the notebook (accuracies,
gaps, rankings, times, parameters) and shows it as Markdown; a re-run on another machine rewrites it. The
helpers turn numbers into words: percentages, differences in points, ratios, comparisons, lists. A claim that
a different run could falsify is chosen from the data (`compare`, `ordered`), never typed.
"""

from __future__ import annotations

import math
import numbers
import string

from IPython.display import Markdown


def show(template: str, **values) -> Markdown:
    """`template` with `values` filled in (str.format fields), as Markdown: a cell's last value renders it.

    Every field must be given and every value used, so a renamed variable cannot leave a stale sentence.
    """
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    roots = {name.split(".")[0].split("[")[0] for name in fields}
    missing, unused = sorted(roots - set(values)), sorted(set(values) - roots)
    if missing or unused:
        raise ValueError(f"the template's fields and the values differ: missing {missing}, unused {unused}")
    return Markdown(_unwrap(template).format(**values))


def _unwrap(template: str) -> str:
    """Dedent a triple-quoted template (leading blank line and common indentation removed)."""
    import textwrap

    return textwrap.dedent(template).strip("\n")


def _finite(value, name: str = "value") -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def percent(fraction, digits: int = 2) -> str:
    """0.9943 -> '99.43%'."""
    return f"{_finite(fraction, 'fraction') * 100:.{digits}f}%"


def points(a, b, digits: int = 2) -> str:
    """The absolute difference of two fractions in percentage points: (0.9943, 0.9869) -> '0.74 points'."""
    gap = abs(_finite(a, "a") - _finite(b, "b")) * 100
    return f"{gap:.{digits}f} point{'' if round(gap, digits) == 1 else 's'}"


def times(a, b, digits: int = 1) -> str:
    """How many times `a` is `b`: (12.0, 4.0) -> '3.0 times'. `b` must not be 0."""
    a, b = _finite(a, "a"), _finite(b, "b")
    if b == 0:
        raise ValueError("times(a, b) needs b != 0")
    return f"{a / b:.{digits}f} times"


def count(n, noun: str, plural: str | None = None) -> str:
    """(3, 'error') -> '3 errors'; (1, 'error') -> '1 error'; thousands separated."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise ValueError(f"count needs an int, got {n!r}")
    n = int(n)
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


def compare(a, b, more: str, less: str, same: str = "the same as", tolerance: float = 0.0) -> str:
    """The word for how `a` stands to `b`: `more` if a > b + tolerance, `less` if a < b - tolerance, else `same`."""
    a, b = _finite(a, "a"), _finite(b, "b")
    if a > b + tolerance:
        return more
    if a < b - tolerance:
        return less
    return same


def either(condition: bool, yes: str, no: str) -> str:
    """`yes` if condition else `no`: a sentence chosen by the data."""
    if not isinstance(condition, bool):
        condition = bool(condition)
    return yes if condition else no


def listing(items, last: str = "and") -> str:
    """['a', 'b', 'c'] -> 'a, b and c'."""
    items = [str(item) for item in items]
    if not items:
        return "none"
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def ordered(values: dict, descending: bool = True) -> list:
    """The keys of `values` sorted by their value (largest first unless descending=False)."""
    return sorted(values, key=lambda key: _finite(values[key], str(key)), reverse=descending)


def seconds(value) -> str:
    """A duration: '42 s', '3.5 min'."""
    value = _finite(value, "seconds")
    return f"{value:.0f} s" if value < 90 else f"{value / 60:.1f} min"
