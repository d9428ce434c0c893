"""Label audit by confident learning: on synthetic probabilities of a clean labelling, labels flipped on purpose are
the candidates, at the top, with the true class suggested; clean data yields no candidate and scores that rank every
clean item above the flipped ones; thresholds and the confident joint match a hand count; bad input is refused."""

import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from labkit import labels

CLASSES = 5


def synthetic(items: int = 500, seed: int = 0, networks: int = 1):
    """True labels and, per network, probabilities that put 0.6-0.99 on the true class, the rest spread at random."""
    rng = np.random.default_rng(seed)
    truth = np.arange(items) % CLASSES
    rng.shuffle(truth)
    runs = []
    for _ in range(networks):
        own = rng.uniform(0.6, 0.99, items)
        rest = rng.dirichlet(np.ones(CLASSES - 1), items) * (1 - own)[:, None]
        probabilities = np.empty((items, CLASSES))
        for i, label in enumerate(truth):
            probabilities[i] = np.insert(rest[i], label, own[i])
        runs.append(probabilities)
    return truth, runs


def flip(truth, runs, count: int = 12, seed: int = 1, sure: float = 0.9):
    """The labels with `count` of them moved to another class, chosen among the items every network puts at least
    `sure` on (a mislabelled image that plainly shows its digit); the flipped items' indices."""
    rng = np.random.default_rng(seed)
    own = np.min([p[np.arange(len(truth)), truth] for p in runs], axis=0)
    flipped = rng.choice(np.flatnonzero(own >= sure), count, replace=False)
    given = truth.copy()
    given[flipped] = (truth[flipped] + rng.integers(1, CLASSES, count)) % CLASSES
    return given, flipped


def test_flipped_labels_are_the_top_candidates_with_the_true_class_suggested():
    truth, runs = synthetic()
    given, flipped = flip(truth, runs)
    frame = labels.audit(runs[0], given)
    assert frame.columns.tolist() == ["index", "given", "suggested", "score", "flagged", "agreement"]
    assert set(frame["index"]) == set(flipped.tolist())  # every flip found, nothing clean flagged
    assert (frame["suggested"].to_numpy() == truth[frame["index"]]).all()
    assert (frame["given"].to_numpy() == given[frame["index"]]).all()
    assert frame["score"].is_monotonic_increasing
    assert (frame["agreement"] == 1).all() and (frame["flagged"] == 1).all()


def test_clean_items_score_above_every_planted_flip():
    truth, runs = synthetic(seed=3)
    given, flipped = flip(truth, runs, 20, seed=4, sure=0)  # sure or not
    for by in labels.SCORES:
        score = labels.scores(runs[0], given, by)
        clean = np.setdiff1d(np.arange(len(given)), flipped)
        assert score[flipped].max() < score[clean].min(), by


def test_clean_data_yields_no_candidate():
    truth, runs = synthetic(seed=5)
    frame = labels.audit(runs[0], truth)
    assert frame.empty and frame.columns.tolist() == labels.COLUMNS
    assert labels.audit_record(frame)["candidates"] == 0


def test_a_flip_the_networks_are_unsure_of_is_no_candidate_yet_scores_below_every_clean_item():
    """Confident learning counts only confident labels: a flip whose probabilities are split (0.55 on the true
    class, below its threshold) is left out of the candidates, but its score still ranks it below the clean items."""
    truth, runs = synthetic(seed=6)
    given, flipped = flip(truth, runs, 5, seed=7)
    hard = flipped[0]
    runs[0][hard] = 0.0
    runs[0][hard, truth[hard]], runs[0][hard, given[hard]] = 0.55, 0.45
    frame = labels.audit(runs[0], given)
    assert set(frame["index"]) == set(flipped[1:].tolist())
    score = labels.scores(runs[0], given)
    clean = np.setdiff1d(np.arange(len(given)), flipped)
    assert score[hard] < score[clean].min()


def test_each_network_is_audited_on_its_own_and_the_flags_and_agreement_counted():
    truth, runs = synthetic(2000, networks=3, seed=8)
    given, flipped = flip(truth, runs, 10, seed=9)
    doubter = flipped[0]
    # two networks are sure of the true class, the third leans to the given (wrong) label: no confident label there
    runs[0][doubter] = runs[1][doubter] = np.eye(CLASSES)[truth[doubter]] * 0.99 + 0.01 / CLASSES
    runs[2][doubter] = 0.0
    runs[2][doubter, given[doubter]], runs[2][doubter, truth[doubter]] = 0.52, 0.48
    assert labels.confident_labels(runs, given)[:, doubter].tolist() == [truth[doubter]] * 2 + [labels.NO_LABEL]
    assert labels.thresholds(runs, given).shape == (3, CLASSES)
    frame = labels.audit([torch.tensor(p, dtype=torch.float32) for p in runs], torch.tensor(given))
    assert set(frame["index"]) == set(flipped.tolist())
    assert (frame["suggested"].to_numpy() == truth[frame["index"]]).all()
    flagged = dict(zip(frame["index"], frame["flagged"]))
    agreement = dict(zip(frame["index"], frame["agreement"]))
    assert flagged.pop(doubter) == 2 and set(flagged.values()) == {3}
    assert agreement.pop(doubter) == 2 and set(agreement.values()) == {3}
    assert frame.attrs["networks"] == 3 and frame.attrs["items"] == len(given)
    np.testing.assert_allclose(labels.scores(runs, given), labels.scores(np.mean(runs, axis=0), given))
    assert labels.stack(np.stack(runs)).shape == (3, len(given), CLASSES)
    assert labels.confident_joint(runs, given).to_numpy().sum() == labels.confident_labels(runs, given).__ne__(
        labels.NO_LABEL).sum()


def test_a_mislabel_the_strong_networks_dispute_is_found_beside_hesitant_ones():
    """Two sharp networks put a flipped label's true class at 0.99; five hesitant ones at 0.5, as a network
    trained for one epoch may. Averaged, the item's 0.64 stays below the average's threshold of that class and
    would be missed; audited network by network, the two sharp ones flag it, and it is the top candidate."""
    truth, runs = synthetic(2000, networks=7, seed=14)
    for hesitant in runs[2:]:  # the hesitant networks are less sure of every item
        hesitant *= 0.7
        hesitant[np.arange(len(truth)), truth] += 0.3
    given = truth.copy()
    item = int(np.flatnonzero(truth == 1)[0])
    given[item] = 0
    for sharp in runs[:2]:
        sharp[item] = np.eye(CLASSES)[1] * 0.99 + 0.01 / CLASSES
    for hesitant in runs[2:]:
        hesitant[item] = [0.5, 0.5, 0, 0, 0]
    mean = np.mean(runs, axis=0)
    assert mean[item, 1] < labels.thresholds(mean, given)[1]  # the average would not flag it
    frame = labels.audit(runs, given)
    assert frame.iloc[0][["index", "given", "suggested", "flagged"]].tolist() == [item, 0, 1, 2]


def test_thresholds_and_confident_joint_by_hand():
    probabilities = np.array([[0.9, 0.1, 0.0], [0.7, 0.3, 0.0], [0.2, 0.8, 0.0], [0.6, 0.4, 0.0],
                              [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]])
    given = np.array([0, 0, 1, 1, 2, 2])
    np.testing.assert_allclose(labels.thresholds(probabilities, given), [0.8, 0.6, 0.6])
    # item 0: 0.9 >= 0.8 -> 0; item 1: 0.7 < 0.8, 0.3 < 0.6 -> none; item 2: 1; item 3: 0.6 < 0.8, 0.4 < 0.6 -> none;
    # item 4: 2; item 5: none
    assert labels.confident_labels(probabilities, given).tolist() == [0, -1, 1, -1, 2, -1]
    joint = labels.confident_joint(probabilities, given)
    assert joint.to_numpy().tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    given[2] = 0  # item 2 (0.8 on class 1) now labelled 0: the thresholds become 0.6, 0.4 and 0.6, so item 2 is
    # confidently 1 and item 3 (0.6, 0.4; labelled 1) confidently 0; item 2's given label is the less believed
    np.testing.assert_allclose(labels.thresholds(probabilities, given), [0.6, 0.4, 0.6])
    frame = labels.audit(probabilities, given)
    assert frame[["index", "given", "suggested"]].to_numpy().tolist() == [[2, 0, 1], [3, 1, 0]]
    np.testing.assert_allclose(frame["score"], [0.2, 0.4])
    np.testing.assert_allclose(labels.scores(probabilities, given, "normalized_margin")[2], 0.2 - 0.8)


def test_audit_record_is_plain_data_and_disputed_marks_the_top():
    truth, runs = synthetic(seed=10)
    given, flipped = flip(truth, runs, 8, seed=11)
    frame = labels.audit(runs[0], given)
    record = labels.audit_record(frame, top=3)
    json.dumps(record)
    assert record["candidates"] == 8 and record["networks"] == 1 and record["items"] == len(given)
    assert [r["index"] for r in record["top"]] == frame["index"].head(3).tolist()
    assert set(record["top"][0]) == {"index", "given", "suggested", "score", "flagged", "agreement"}
    top3 = frame["index"].head(3).tolist()
    others = [i for i in range(len(given)) if i not in flipped][:4]
    mask = labels.disputed(torch.tensor(top3 + others + [frame["index"].iloc[5]]), frame, top=3)
    assert mask.tolist() == [True] * 3 + [False] * 4 + [False]
    assert labels.disputed([frame["index"].iloc[5]], frame).tolist() == [True]  # top None: every candidate


def test_the_gallery_shows_the_top_candidates():
    truth, runs = synthetic(seed=12)
    given, _ = flip(truth, runs, 9, seed=13)
    frame = labels.audit(runs, given)
    images = torch.randint(0, 255, (len(given), 28, 28), dtype=torch.uint8)
    fig = labels.label_issue_gallery(images, frame, classes="abcde", n=6, columns=4)
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert len(titled) == 6
    index, given_label, suggested = (int(frame[column].iloc[0]) for column in ("index", "given", "suggested"))
    assert titled[0].get_title().startswith(f"#{index}  {'abcde'[given_label]} → {'abcde'[suggested]}?")
    assert not plt.get_fignums()  # closed in pyplot: shown once by the notebook
    empty = labels.label_issue_gallery(images, frame.iloc[:0], n=6)
    assert "no candidate" in empty.axes[0].texts[0].get_text()


@pytest.mark.parametrize("probabilities, given, message", [
    (np.array([[2.0, -1.0], [0.5, 0.5]]), [0, 1], r"not logits\): network 0, row 0"),
    (np.array([[0.5, 0.4], [0.5, 0.5]]), [0, 1], r"row 0 .*sum 0.9000"),
    (np.array([[np.nan, 1.0], [0.5, 0.5]]), [0, 1], "must be finite"),
    (np.array([0.5, 0.5]), [0], r"must be \(N, K\)"),
    (np.array([[0.5, 0.5], [0.5, 0.5]]), [0, 1, 1], "labels must be 2 integer class indices"),
    (np.array([[0.5, 0.5], [0.5, 0.5]]), [0.0, 1.0], "of float64"),
    (np.array([[0.5, 0.5], [0.5, 0.5]]), [0, 2], r"labels must lie in \[0, 2\); item 1 is 2"),
    (np.array([[0.5, 0.5], [0.5, 0.5]]), [0, 0], r"no item is labelled \[1\]"),
    ([np.full((2, 2), 0.5), np.full((3, 2), 0.5)], [0, 1], "one shape"),
    ([], [0, 1], "empty list"),
])
def test_bad_input_is_refused_naming_the_value(probabilities, given, message):
    with pytest.raises(ValueError, match=message):
        labels.audit(probabilities, np.array(given))


def test_bad_options_are_refused():
    truth, runs = synthetic(items=50)
    frame = labels.audit(runs[0], truth)
    with pytest.raises(ValueError, match="by must be one of"):
        labels.scores(runs[0], truth, "margin")
    with pytest.raises(ValueError, match=r"top must be a whole number >= 0 .*got -1"):
        labels.audit_record(frame, top=-1)
    with pytest.raises(ValueError, match="lacks"):
        labels.disputed([0], pd.DataFrame({"index": [0]}))
