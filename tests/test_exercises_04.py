"""Notebook 04's exercises: balanced pairs built by hand, and the Siamese forward with one shared encoder.

The balanced_pairs function read from the notebook builds what the task asks (checked with labkit's own pair
checks, and by the self-check); the MySiamese class read from the notebook is labkit's SiameseNet: the same
parameters (so a seed gives the same initial weights as models.build("siamese", seed=...), and the notebook's
results are labkit's) and the same outputs for the same weights. The self-checks name the classic mistakes."""

import re

import pandas as pd
import pytest
import torch
from notebook_cells import (
    assert_check_says,
    assert_keeps_random_state,
    assert_same_outputs,
    code_sources,
    exec_cell,
    exercise_cells,
    mine_and_labkits,
    run_solution,
)

import labkit as lk
from labkit.course.selfcheck import SelfCheckFailed
from labkit.course.selfcheck import pairs as selfcheck
from labkit.course.student import solution_regions
from labkit.pairs import duplicate_pairs, is_balanced, self_pairs, targets_match_labels
from labkit.records import REPOSITORY

NOTEBOOK = REPOSITORY / "notebooks" / "04_pairs.ipynb"
SEED = 0


def notebook_namespace(**more) -> dict:
    """The names the notebook's imports cell binds."""
    return {"torch": torch, "pd": pd, "lk": lk, "selfcheck": selfcheck, "self_pairs": self_pairs,
            "duplicate_pairs": duplicate_pairs, "is_balanced": is_balanced,
            "targets_match_labels": targets_match_labels, **more}


@pytest.fixture(scope="module")
def notebook_balanced_pairs():
    return run_solution(NOTEBOOK, "balanced-pairs", notebook_namespace())["balanced_pairs"]


@pytest.fixture(scope="module")
def notebook_siamese():
    return run_solution(NOTEBOOK, "siamese-forward", notebook_namespace())["MySiamese"]


def test_the_exercise_cells_are_marked_and_checked_at_once():
    cell, check = exercise_cells(NOTEBOOK, "balanced-pairs")
    assert {"make_pairs", "PairSet", "RandomPairs"} <= set(cell.metadata["labkit"]["forbid"])
    assert len(solution_regions(cell.source)) == 1
    assert check.source.strip() == "selfcheck.check_balanced_pairs(balanced_pairs, test_pool.labels)"
    cell, check = exercise_cells(NOTEBOOK, "siamese-forward")
    assert {"SiameseNet.forward", "super"} <= set(cell.metadata["labkit"]["forbid"])
    assert len(solution_regions(cell.source)) == 1
    assert check.source.strip() == "selfcheck.check_siamese(MySiamese)"


def test_the_notebook_trains_its_siamese_class_and_keeps_labkits_test_pairs():
    code = code_sources(NOTEBOOK)
    assert not any(re.search(r"^\w+ = (lk\.)?models\.build\(\"siamese\"", source, re.M) for source in code)
    training = next(source for source in code if re.search(r"^siamese = MySiamese\(\)", source, re.M))
    assert re.search(r"^torch.manual_seed\(SEED\).*\nsiamese = MySiamese\(\).to\(device\)", training, re.M)
    # the committed accuracies were measured on labkit's test pairs: the student's function builds a demo set only
    assert any('test_pairs = lk.PairSet.build(test_pool, count=TEST_PAIRS, seed=SEED, name="test pairs")' in source
               for source in code)
    assert any("balanced_pairs(test_pool.labels, DEMO_PAIRS, generator)" in source for source in code)


# ---------------------------------------------------------------- balanced pairs


def test_the_notebooks_balanced_pairs_builds_what_the_task_asks(notebook_balanced_pairs, tiny_digits):
    labels = tiny_digits.labels
    pairs, targets = notebook_balanced_pairs(labels, 400, torch.Generator().manual_seed(SEED))
    assert pairs.shape == (400, 2) and targets.shape == (400,) and targets.dtype == torch.int64
    assert is_balanced(targets) and self_pairs(pairs) == 0 and duplicate_pairs(pairs) == 0
    assert targets_match_labels(pairs, targets, labels)
    assert 0 < int(targets[:100].sum()) < 100  # shuffled
    lk.PairSet(tiny_digits, pairs, targets)  # a valid pair set


def test_the_self_check_passes_the_reference_and_keeps_the_random_state(notebook_balanced_pairs, tiny_digits,
                                                                          capsys):
    assert_keeps_random_state(selfcheck.check_balanced_pairs, notebook_balanced_pairs, tiny_digits.labels, count=400)
    assert capsys.readouterr().out.startswith("OK: balanced_pairs: 400 pairs, 200 same and 200 different")


def labkit_pairs(labels, count, generator):
    """labkit's own construction, as a correct answer written differently."""
    return lk.make_pairs(labels, count=count, seed=int(torch.randint(2**31, (1,), generator=generator)))


def test_the_self_check_passes_another_correct_answer(tiny_digits):
    def answer(labels, count, generator):
        pairs, targets = labkit_pairs(labels, count, generator)
        return pairs.long(), targets
    selfcheck.check_balanced_pairs(answer, tiny_digits.labels, count=400)


def variant(change):
    """A balanced_pairs answer that `change(pairs, targets, labels)` spoils."""
    def answer(labels, count, generator):
        pairs, targets = labkit_pairs(labels, count, generator)
        return change(pairs.long(), targets, labels)
    return answer


def with_self_pair(pairs, targets, labels):
    same = int(torch.nonzero(targets == 1)[0])
    pairs[same, 1] = pairs[same, 0]  # an image with itself, as a "same" pair: what a loop from j = i builds
    return pairs, targets


def with_wrong_target(pairs, targets, labels):
    targets = targets.clone()
    position = int(torch.nonzero(targets == 0)[0])
    other = int(torch.nonzero(targets == 1)[0])
    targets[position], targets[other] = 1, 0  # still balanced, two targets wrong
    return pairs, targets


def with_duplicate(pairs, targets, labels):
    same = torch.nonzero(targets == 1).flatten()
    pairs[same[1]] = pairs[same[0]].flip(0)  # {j, i}: the same pair
    return pairs, targets


def unshuffled(pairs, targets, labels):
    order = torch.argsort(targets, stable=True)
    return pairs[order], targets[order]


def of_one_kind(pairs, targets, labels):
    keep = torch.cat([torch.nonzero(targets == 0).flatten()] * 2)[:len(targets)]
    return pairs[keep], targets[keep]


@pytest.mark.parametrize("answer, message", [
    (variant(with_self_pair), "1 pair holds one image twice, the first at position"),
    (variant(with_wrong_target), "2 targets do not match the digits, the first at position"),
    (variant(with_duplicate), "1 pair repeats an earlier pair, the first at position"),
    (variant(unshuffled), "the pairs are not shuffled"),
    (variant(of_one_kind), "0 pairs have target 1 and 400 target 0, expected exactly 200 of each"),
    (variant(lambda pairs, targets, labels: (pairs.float(), targets)), "make it an integer tensor"),
    (variant(lambda pairs, targets, labels: (pairs, targets.float())), "expected torch.int64 (long)"),
    (variant(lambda pairs, targets, labels: (pairs.T, targets)), "expected (400, 2)"),
    (variant(lambda pairs, targets, labels: (labels[pairs], targets)), None),  # digits, not indices: caught somehow
    (lambda labels, count, generator: labkit_pairs(labels, 400, generator), "expected (10, 2)"),
    (lambda labels, count, generator: labkit_pairs(labels, count, torch.Generator().manual_seed(0)),
     "generators of different seeds gave the same pairs"),
    (lambda labels, count, generator: labkit_pairs(labels, count, torch.default_generator), "same seed gave different"),
    (lambda labels, count, generator: labkit_pairs(labels, count, generator)[0], "must return a tuple"),
    (lambda labels, count, generator: (_ for _ in ()).throw(NotImplementedError()), "is not written yet"),
])
def test_the_balanced_pairs_self_check_names_the_mistake(tiny_digits, answer, message):
    with pytest.raises(SelfCheckFailed, match=re.escape(message) if message else None):
        selfcheck.check_balanced_pairs(answer, tiny_digits.labels, count=400)


# ---------------------------------------------------------------- the Siamese forward


def test_the_notebooks_siamese_is_labkits(notebook_siamese):
    # the same seed gives the same initial weights
    mine, other = mine_and_labkits(notebook_siamese, "siamese", SEED, 122_050)
    # the same weights give the same outputs, in training and evaluation mode (no batch norm, no dropout: the
    # order of the calls does not matter)
    x1, x2 = torch.randn(8, 1, 28, 28), torch.randn(8, 1, 28, 28)
    assert_same_outputs(mine, other, (x1, x2))
    assert_same_outputs(mine, other, (x2, x1), (x1, x2), atol=1e-6)  # symmetric
    with pytest.raises(ValueError, match="pair batches must have the same size"):  # labkit's input check
        mine(x1, x2[:3])


def test_the_siamese_self_check_passes_the_reference_and_keeps_the_random_state(notebook_siamese, capsys):
    assert_keeps_random_state(selfcheck.check_siamese, notebook_siamese)
    assert capsys.readouterr().out.startswith("OK: MySiamese: 122,050 parameters, one shared encoder")


def siamese(forward: str, init: str = ""):
    source = f"""
class MySiamese(lk.models.SiameseNet):
{init}
    def forward(self, x1, x2):
        {forward}
"""
    return exec_cell(source, notebook_namespace())["MySiamese"]


SECOND_ENCODER = """
    def __init__(self):
        super().__init__()
        self.other = lk.models.build("plain_cnn", num_classes=64)
"""


@pytest.mark.parametrize("cls, message", [
    (siamese("return self.compare(self.embed(x1), self.embed(x2))"), None),  # correct, written differently
    (siamese("return super().forward(x1, x2)"), "your forward calls labkit's forward"),
    (siamese("return lk.models.SiameseNet.forward(self, x1, x2)"), "your forward calls labkit's forward"),
    (siamese("return self.compare(self.embed(x1), self.other(x2))", SECOND_ENCODER),
     "has 235,714 parameters, expected 122,050"),
    (siamese("return self.compare(self.embed(x1), self.embed(x1))"), "yours compares x1 with itself"),
    (siamese("return self.compare(self.embed(x1), self.embed(x2)).softmax(1)"), "yours returns probabilities"),
    (siamese("return self.compare(self.embed(x1), self.embed(x2))[:, :1]"), "expected (4, 2)"),
    (siamese("return self.head(torch.cat([self.embed(x1), self.embed(x2)], 1))"),
     "differs from self.compare(self.embed(x1), self.embed(x2))"),
    (siamese("raise NotImplementedError()"), "forward(x1, x2) is not written yet"),
])
def test_the_siamese_self_check_names_the_mistake(cls, message):
    assert_check_says(message, selfcheck.check_siamese, cls)  # None: it passes


def test_the_siamese_self_check_wants_a_subclass_that_writes_forward():
    with pytest.raises(SelfCheckFailed, match="must subclass labkit's SiameseNet"):
        selfcheck.check_siamese(torch.nn.Linear)
    namespace = exec_cell("class MySiamese(lk.models.SiameseNet):\n    pass\n", notebook_namespace())
    with pytest.raises(SelfCheckFailed, match="does not define forward"):
        selfcheck.check_siamese(namespace["MySiamese"])
