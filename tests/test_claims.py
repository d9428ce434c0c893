"""Claims: a record holds or is contradicted by its predicate; a difference of two accuracies is established only
outside its sampling interval; the claims_hold requirement FAILS a metrics.json that holds a contradicted claim and
PASSes one whose claims hold; bad input is refused naming the value."""

import json
import math

import numpy as np
import pytest

from labkit.course import claims
from labkit.course.facts import Facts
from labkit.course.requirements import CLAIMS_HOLD, check_requirement, check_requirements


def test_a_claim_records_its_text_values_and_status():
    gap_aug, gap_plain = np.float64(0.0012), np.float64(0.0031)
    record = claims.make("augmentation lowers the train-test gap", gap_aug < gap_plain, gap_aug=gap_aug,
                         gap_plain=gap_plain)
    assert record["text"] == "augmentation lowers the train-test gap"
    assert record["values"] == {"gap_aug": 0.0012, "gap_plain": 0.0031}
    assert record["holds"] is True and record["status"] == "holds"
    assert "gap_aug = 0.0012" in record["detail"]
    json.dumps(record)  # plain data for metrics.json
    wrong = claims.make("augmentation lowers the train-test gap", gap_aug > gap_plain, gap_aug=gap_aug,
                        gap_plain=gap_plain)
    assert wrong["holds"] is False and wrong["status"] == "contradicted"


def test_wilson_interval_matches_the_textbook_value():
    low, high = claims.wilson(0.5, 100)  # 50 of 100: [0.4038, 0.5962]
    assert (round(low, 4), round(high, 4)) == (0.4038, 0.5962)
    assert claims.wilson(1.0, 10_000)[1] == 1.0 and claims.wilson(1.0, 10_000)[0] < 1.0


@pytest.mark.parametrize("a, b, status", [
    (0.9950, 0.9900, "holds"),  # 50 test images of 10,000: outside the interval
    (0.9935, 0.9925, "not established"),  # 10 images: inside it
    (0.9900, 0.9950, "contradicted"),
    (0.9930, 0.9930, "not established"),
])
def test_a_difference_is_established_only_outside_the_sampling_interval(a, b, status):
    record = claims.difference("rotation beats plain", a, b, n=10_000)
    assert record["status"] == status, record["detail"]
    assert record["holds"] is {"holds": True, "contradicted": False, "not established": None}[status]
    values = record["values"]
    assert values["low"] < values["difference"] < values["high"] or values["difference"] == 0
    assert math.isclose(values["difference"], a - b)


def test_fewer_test_items_widen_the_interval():
    assert claims.difference("a beats b", 0.99, 0.98, n=10_000)["status"] == "holds"
    assert claims.difference("a beats b", 0.99, 0.98, n=500)["status"] == "not established"
    assert claims.difference("a beats b", 0.99, 0.98, n=10_000, n_b=200)["status"] == "not established"


def test_a_seed_spread_larger_than_the_difference_leaves_it_not_established():
    clear = claims.difference("rotation beats plain", 0.9950, 0.9900, n=10_000)
    assert clear["status"] == "holds"
    spread = claims.difference("rotation beats plain", 0.9950, 0.9900, n=10_000, seed_std=0.002)
    assert spread["status"] == "not established" and "seed spread" in spread["detail"]
    tight = claims.difference("rotation beats plain", 0.9950, 0.9900, n=10_000, seed_std=0.0005)
    assert tight["status"] == "holds"


def test_the_verdict_names_what_the_difference_is_inside_or_beyond():
    holds = claims.difference("rotation beats plain", 0.9950, 0.9900, n=10_000, seed_std=0.0005)
    assert claims.verdict(holds).startswith("beyond the 95% sampling interval of the difference (+")
    assert "and the seed spread (±0.14 points)" in claims.verdict(holds)
    noisy = claims.difference("rotation beats plain", 0.9950, 0.9900, n=10_000, seed_std=0.002)
    assert claims.verdict(noisy) == ("inside the seed spread (±0.55 points), though beyond the 95% sampling interval "
                                    f"of the difference ({noisy['values']['low'] * 100:+.2f} to "
                                    f"{noisy['values']['high'] * 100:+.2f} points), so not established by this run")
    close = claims.difference("rotation beats plain", 0.9931, 0.9930, n=10_000)
    assert claims.verdict(close).startswith("inside the 95% sampling interval of the difference (-")
    assert claims.verdict(close).endswith("points), so not established by this run")
    worse = claims.difference("rotation beats plain", 0.9800, 0.9950, n=10_000)
    assert claims.verdict(worse).startswith("the other way round: beyond the 95% sampling interval")
    with pytest.raises(ValueError, match="a verdict needs a claim made by difference"):
        claims.verdict(claims.make("augmentation lowers the gap", True, gap=0.1))


def test_records_table_and_contradicted():
    records = []
    records = claims.add(records, claims.make("a is small", False, a=3.0))
    records = claims.add(records, claims.difference("rotation beats plain", 0.9935, 0.9925, n=10_000))
    records = claims.add(records, claims.make("a is small", True, a=0.5))  # the cell run again replaces it
    records = claims.add(records, claims.make("b is large", False, b=0.1))
    assert [r["text"] for r in records] == ["rotation beats plain", "a is small", "b is large"]
    assert [r["text"] for r in claims.contradicted(records)] == ["b is large"]
    table = claims.table(records)
    assert table.columns.tolist() == ["mark", "claim", "status", "detail"]
    assert table["status"].tolist() == ["not established", "holds", "contradicted"]
    assert table["mark"].tolist()[2].startswith("✗") and table["mark"].tolist()[1] == ""
    assert claims.summary(records) == "3 claims: 1 hold, 1 not established, 1 contradicted"
    claims.styled(table).to_html()


def metrics_with(tmp_path, records) -> Facts:
    """A metrics.json holding `records` under "claims", read back as a grader reads it."""
    (tmp_path / "metrics.json").write_text(json.dumps({"notebook": "01_cnn", "runs": {}, "claims": records}))
    return Facts.load(tmp_path)


def test_a_planted_contradicted_claim_fails_the_requirement(tmp_path):
    records = [claims.make("augmentation lowers the gap", True, gap_aug=0.001, gap_plain=0.003),
               claims.make("rotation helps every digit", False, worst_gain=-0.004)]
    facts = metrics_with(tmp_path, records)
    outcome = check_requirement(CLAIMS_HOLD, facts, "full")
    assert outcome.status == "FAIL"
    assert "contradicted: 'rotation helps every digit'" in outcome.detail and "worst_gain = -0.0040" in outcome.detail
    assert "augmentation lowers the gap" not in outcome.detail.split(";", 1)[1]


def test_claims_that_hold_pass_and_not_established_is_no_failure(tmp_path):
    records = [claims.make("augmentation lowers the gap", True, gap_aug=0.001, gap_plain=0.003),
               claims.difference("rotation beats plain", 0.9935, 0.9925, n=10_000)]
    outcome = check_requirement(CLAIMS_HOLD, metrics_with(tmp_path, records), "full")
    assert outcome.status == "PASS", outcome.detail
    assert outcome.detail == "2 claims: 1 hold, 1 not established, 0 contradicted"


def test_the_requirement_is_na_without_claims_and_outside_the_full_profile(tmp_path):
    assert check_requirement(CLAIMS_HOLD, metrics_with(tmp_path, []), "full").status == "n/a"
    contradicted = metrics_with(tmp_path, [claims.make("x is small", False, x=9.0)])
    assert check_requirement(CLAIMS_HOLD, contradicted, "smoke").status == "n/a"


def test_evaluate_judges_the_claims_of_any_notebook_that_records_them(tmp_path):
    assert "claims_hold" not in {o.id for o in check_requirements("01_cnn", Facts(), "full")}
    facts = metrics_with(tmp_path, [claims.make("x is small", False, x=9.0)])
    outcomes = {o.id: o.status for o in check_requirements("01_cnn", facts, "full")}
    assert outcomes["claims_hold"] == "FAIL"


def test_a_difference_claim_is_retested_from_its_recorded_values(tmp_path):
    record = claims.difference("rotation beats plain", 0.9935, 0.9925, n=10_000)
    forged = {**record, "holds": True, "status": "holds"}  # the status edited, the numbers not
    outcome = check_requirement(CLAIMS_HOLD, metrics_with(tmp_path, [forged]), "full")
    assert outcome.status == "FAIL" and "recorded as holds" in outcome.detail and "not established" in outcome.detail


def test_a_malformed_record_fails_naming_what_is_wrong(tmp_path):
    outcome = check_requirement(CLAIMS_HOLD, metrics_with(tmp_path, [{"text": "x", "values": {}}]), "full")
    assert outcome.status == "FAIL" and "needs text, values, holds and status" in outcome.detail
    bad = {**claims.make("x is small", True, x=0.1), "values": {"x": "small"}}
    outcome = check_requirement(CLAIMS_HOLD, metrics_with(tmp_path, [bad]), "full")
    assert outcome.status == "FAIL" and "value x must be a number, got 'small'" in outcome.detail


@pytest.mark.parametrize("call, message", [
    (lambda: claims.make("", True, a=1.0), "non-empty string"),
    (lambda: claims.make("   ", True, a=1.0), "non-empty string"),
    (lambda: claims.make(None, True, a=1.0), "got None"),
    (lambda: claims.make("a is small", 1, a=1.0), "holds must be a bool.*got 1 of type int"),
    (lambda: claims.make("a is small", "yes", a=1.0), "got 'yes' of type str"),
    (lambda: claims.make("a is small", True), "give the values its predicate used"),
    (lambda: claims.make("a is small", True, a=float("nan")), "value a must be finite, got nan"),
    (lambda: claims.make("a is small", True, a=float("inf")), "value a must be finite, got inf"),
    (lambda: claims.make("a is small", True, a="0.3"), "value a must be a number, got '0.3'"),
    (lambda: claims.make("a is small", True, a=True), "value a must be a number, got True"),
    (lambda: claims.difference("a beats b", 1.2, 0.9, n=100), r"a must be an accuracy.*got 1.2"),
    (lambda: claims.difference("a beats b", 0.9, float("nan"), n=100), "value b must be finite, got nan"),
    (lambda: claims.difference("a beats b", 0.9, 0.8, n=0), "n must be a positive whole number.*got 0"),
    (lambda: claims.difference("a beats b", 0.9, 0.8, n=100.0), "got 100.0"),
    (lambda: claims.difference("a beats b", 0.9, 0.8, n=100, seed_std=-0.1), "seed_std must be >= 0, got -0.1"),
    (lambda: claims.difference("a beats b", 0.9, 0.8, n=100, confidence=95), "confidence must be.*got 95"),
])
def test_bad_input_is_refused_naming_the_value(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()


def test_a_tensor_predicate_is_refused_saying_to_take_item():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"take \.item\(\)"):
        claims.make("a is small", torch.tensor(0.1) < 0.2, a=0.1)
