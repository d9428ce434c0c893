"""Notebook 05's exercise: a pair set sorted by target, and an imbalanced set drawn from it, written by hand.

The functions read from the notebook give what the task asks; labkit's sorted set holds the same pairs as its
shuffled one but not in the order a stable sort of the shuffled set gives (so the notebook trains on labkit's
sets, whose results are committed); the self-check passes the reference and names the classic mistakes."""


import pandas as pd
import pytest
import torch
from notebook_cells import (
    assert_check_says,
    assert_keeps_random_state,
    code_sources,
    exec_cell,
    exercise_cells,
    run_solution,
)

import labkit as lk
from labkit.course.selfcheck import pairs as selfcheck
from labkit.course.student import solution_regions
from labkit.records import REPOSITORY

NOTEBOOK = REPOSITORY / "notebooks" / "05_pair_data_study.ipynb"
SEED = 0


def notebook_functions(source: str | None = None):
    """The two functions the reference solution defines, or `source` when given."""
    namespace = {"torch": torch, "pd": pd, "lk": lk, "selfcheck": selfcheck}
    if source is None:
        run_solution(NOTEBOOK, "sorted-and-imbalanced", namespace)
    else:
        exec_cell(source, namespace)
    return namespace["sorted_by_target"], namespace["imbalanced"]


@pytest.fixture
def shuffled(tiny_digits):
    return lk.PairSet.build(tiny_digits, count=400, seed=SEED, name="tiny pairs")


def test_the_exercise_cell_is_marked_and_checked_at_once():
    cell, check = exercise_cells(NOTEBOOK, "sorted-and-imbalanced")
    assert {"PairSet.build", "make_pairs"} <= set(cell.metadata["labkit"]["forbid"])
    assert len(solution_regions(cell.source)) == 2  # one per function
    assert check.source.strip() == ('selfcheck.check_sorted_and_imbalanced(sorted_by_target, imbalanced, '
                                    'train_sets["balanced, shuffled"])')


def test_the_notebook_trains_on_labkits_sets():
    """A stable sort of the shuffled set has labkit's sorted pairs, but not its order nor its left/right sides:
    the committed results were measured on labkit's sets, so the runs keep them."""
    code = "\n".join(code_sources(NOTEBOOK))
    assert 'pairs(order="sorted")' in code and "pairs(positive_fraction=0.9)" in code
    assert 'train("siamese_sorted_pairs", train_sets["balanced, sorted"], shuffle=False)' in code
    labels = torch.arange(10).repeat_interleave(60)
    shuffled, targets = lk.make_pairs(labels, count=2_000, seed=SEED)
    ordered, _ = lk.make_pairs(labels, count=2_000, seed=SEED, order="sorted")
    assert set(map(tuple, shuffled.sort(1).values.tolist())) == set(map(tuple, ordered.sort(1).values.tolist()))
    assert not torch.equal(shuffled[torch.argsort(targets, stable=True)], ordered)


def test_the_notebooks_functions_build_what_the_task_asks(shuffled, capsys):
    sorted_by_target, imbalanced = notebook_functions()
    mine = sorted_by_target(shuffled)
    assert mine.images is shuffled.images and len(mine) == len(shuffled)
    assert torch.equal(mine.targets, torch.arange(2).repeat_interleave(200))
    order = torch.argsort(shuffled.targets, stable=True)
    assert torch.equal(mine.pairs, shuffled.pairs[order])
    few = imbalanced(shuffled, 200, generator=torch.Generator().manual_seed(SEED))
    assert len(few) == 200 and int(few.targets.sum()) == 180
    rows = set(map(tuple, torch.cat([shuffled.pairs, shuffled.targets[:, None]], 1).tolist()))
    assert set(map(tuple, torch.cat([few.pairs, few.targets[:, None]], 1).tolist())) <= rows
    assert lk.pairs.duplicate_pairs(few.pairs) == 0
    with pytest.raises(ValueError, match="asked for 360 pairs of target 1, the set holds 200"):
        imbalanced(shuffled, 400)
    selfcheck.check_sorted_and_imbalanced(sorted_by_target, imbalanced, shuffled)
    assert capsys.readouterr().out.startswith("OK: sorted_by_target: the same 400 pairs")


def test_the_self_check_keeps_the_random_state(shuffled):
    assert_keeps_random_state(lambda: selfcheck.check_sorted_and_imbalanced(*notebook_functions(), shuffled))


SORTED = """
    order = torch.argsort(pair_set.targets, stable=True)
    return lk.PairSet(pair_set.images, pair_set.pairs[order], pair_set.targets[order])
"""
IMBALANCED = """
    same = torch.nonzero(pair_set.targets == 1).flatten()
    different = torch.nonzero(pair_set.targets == 0).flatten()
    k = round(count * positive_fraction)
    chosen = torch.cat([same[torch.randperm(len(same), generator=generator)[:k]],
                        different[torch.randperm(len(different), generator=generator)[:count - k]]])
    chosen = chosen[torch.randperm(count, generator=generator)]
    return lk.PairSet(pair_set.images, pair_set.pairs[chosen], pair_set.targets[chosen])
"""


def answer(sorted_body: str = SORTED, imbalanced_body: str = IMBALANCED):
    return notebook_functions(f"""
def sorted_by_target(pair_set):
{sorted_body}

def imbalanced(pair_set, count, positive_fraction=0.9, generator=None):
{imbalanced_body}
""")


@pytest.mark.parametrize("functions, message", [
    (answer(), None),  # correct, written differently
    (answer(SORTED.replace("stable=True", "descending=True, stable=True")), "the targets are not sorted"),
    (answer(SORTED.replace("pair_set.pairs[order]", "pair_set.pairs")), "does not hold the same pairs"),
    (answer(SORTED.replace("pair_set.pairs[order]", "pair_set.pairs[order].flip(1)")), "does not hold the same pairs"),
    (answer(SORTED.replace("order = torch.argsort(pair_set.targets, stable=True)",
                           "order = torch.argsort(pair_set.targets * 1000 + torch.arange(len(pair_set)).flip(0))")),
     "not in the order of the given set: sort stably"),
    (answer(SORTED.replace("lk.PairSet(pair_set.images,", "(")), "must return a PairSet"),
    (answer(SORTED.replace("pair_set.images", "lk.data.ImageSet(pair_set.images.images, pair_set.images.labels)")),
     "returned pairs over other images"),
    (answer("    pair_set.pairs[:] = pair_set.pairs.flip(0)\n    pair_set.targets[:] = pair_set.targets.flip(0)\n"
            + SORTED), "changed the pair set it was given"),
    (answer(imbalanced_body=IMBALANCED.replace("k = round(count * positive_fraction)", "k = round(count * 0.9)")),
     "holds 180 \"same\" and 20 \"different\" pairs, expected 140 and 60"),
    (answer(imbalanced_body=IMBALANCED.replace("chosen = chosen[torch.randperm(count, generator=generator)]", "")),
     "shuffle the chosen pairs"),
    (answer(imbalanced_body=IMBALANCED.replace("[:count - k]", "[:1].repeat(count - k)")), "taken twice"),
    (answer(imbalanced_body=IMBALANCED.replace("pair_set.targets[chosen])", "1 - pair_set.targets[chosen])")),
     "expected 180 and 20"),
    (answer(imbalanced_body=IMBALANCED.replace("pair_set.pairs[chosen]", "pair_set.pairs[chosen].roll(1, 0)")),
     "not pairs of the given set"),
    (answer(imbalanced_body=IMBALANCED.replace("generator=generator", "generator=None")),
     "generators of the same seed chose different pairs"),
    (answer(imbalanced_body="    raise NotImplementedError()"), "imbalanced(pair_set, 200, positive_fraction=0.9"),
    (answer(imbalanced_body="    raise NotImplementedError()"), "is not written yet"),
])
def test_the_self_check_names_the_mistake(shuffled, functions, message):
    assert_check_says(message, selfcheck.check_sorted_and_imbalanced, *functions, shuffled)  # None: it passes
