"""labkit.prose: analysis text from numbers, with the checks that keep a template and its values in step."""

import numpy as np
import pytest

from labkit import prose


def test_show_fills_a_template_and_rejects_missing_or_unused_values():
    shown = prose.show("""
        It reaches {acc}, {gap} {direction}.
    """, acc=prose.percent(0.99431), gap=prose.points(0.9943, 0.9869), direction="ahead")
    assert shown.data == "It reaches 99.43%, 0.74 points ahead."
    with pytest.raises(ValueError, match=r"missing \['gap'\]"):
        prose.show("{acc} {gap}", acc=1)
    with pytest.raises(ValueError, match=r"unused \['extra'\]"):
        prose.show("{acc}", acc=1, extra=2)


def test_words_follow_the_numbers():
    assert prose.compare(0.99, 0.98, "higher", "lower") == "higher"
    assert prose.compare(0.98, 0.99, "higher", "lower") == "lower"
    assert prose.compare(0.981, 0.98, "higher", "lower", "level", tolerance=0.002) == "level"
    assert prose.times(0.0131, 0.0057) == "2.3 times"
    assert prose.points(0.5, 0.49) == "1.00 point"
    assert prose.count(np.int64(3), "error") == "3 errors" and prose.count(1, "error") == "1 error"
    assert prose.listing(["a", "b", "c"]) == "a, b and c" and prose.listing([]) == "none"
    assert prose.ordered({"a": 0.2, "b": 0.9, "c": 0.5}) == ["b", "c", "a"]
    assert prose.percent(np.float32(0.5), 0) == "50%"
    assert prose.seconds(42) == "42 s" and prose.seconds(210) == "3.5 min"
    assert prose.either(1 > 0, "yes", "no") == "yes"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "0.9", None, True])
def test_numbers_must_be_finite_numbers(bad):
    with pytest.raises(ValueError, match="finite number"):
        prose.percent(bad)
    with pytest.raises(ValueError, match="b != 0"):
        prose.times(1, 0)
