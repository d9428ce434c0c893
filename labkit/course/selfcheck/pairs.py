"""Self-checks for notebooks 04 and 05 (lab B, pairs): building pairs, the Siamese forward, reordering pair sets.

    from labkit.course.selfcheck import pairs as selfcheck
    selfcheck.check_balanced_pairs(balanced_pairs, test_pool.labels)        # 04: balanced, shuffled, no self-pair
    selfcheck.check_siamese(MySiamese)                                       # 04: one shared encoder, logits (B, 2)
    selfcheck.check_sorted_and_imbalanced(sorted_by_target, imbalanced, shuffled_set)   # 05

Each prints one "OK: ..." line or raises SelfCheckFailed saying what is wrong and what to change. The checks
draw their own random numbers from their own generators: the notebook's random state is left alone.
"""

from __future__ import annotations

import torch

from ...models import SiameseNet, count_parameters
from ...pairs import PairSet, duplicate_pairs
from .common import SelfCheckFailed, expect, expect_class, keep_random_state, passed, run

SIAMESE_PARAMETERS = 122_050  # labkit's default SiameseNet: plain_cnn encoder, 64-d embedding, 64 hidden


def _is_integer(tensor: torch.Tensor) -> bool:
    return not (tensor.dtype.is_floating_point or tensor.dtype.is_complex or tensor.dtype == torch.bool)


def _pairs(k: int, singular: str, plural: str) -> str:
    """"1 pair holds", "3 pairs hold": the count and its verb."""
    return f"{k:,} {singular if k == 1 else plural}"


def _first(mask: torch.Tensor) -> int:
    return int(torch.nonzero(mask).flatten()[0])


def _unordered(pairs: torch.Tensor, n: int) -> torch.Tensor:
    """One number per pair, the same for (i, j) and (j, i)."""
    pairs = pairs.long().cpu()
    return torch.minimum(pairs[:, 0], pairs[:, 1]) * n + torch.maximum(pairs[:, 0], pairs[:, 1])


def _first_duplicate(pairs: torch.Tensor, n: int) -> tuple[int, int]:
    """(earlier, later) positions of the first pair that repeats an earlier unordered pair."""
    seen = {}
    for position, key in enumerate(_unordered(pairs, n).tolist()):
        if key in seen:
            return seen[key], position
        seen[key] = position
    raise AssertionError("no duplicate")


# ---------------------------------------------------------------- 04: balanced pairs


def _check_pairs(pairs, targets, labels: torch.Tensor, count: int, call: str) -> None:
    """The structure and content of one (pairs, targets) answer for `count` pairs over a pool with `labels`."""
    expect(isinstance(pairs, torch.Tensor) and isinstance(targets, torch.Tensor),
           f"{call} must return two tensors (pairs, targets), got ({type(pairs).__name__}, "
           f"{type(targets).__name__})")
    expect(tuple(pairs.shape) == (count, 2),
           f"{call}: pairs has shape {tuple(pairs.shape)}, expected ({count}, 2): one row (left image, right "
           "image) per pair")
    expect(tuple(targets.shape) == (count,),
           f"{call}: targets has shape {tuple(targets.shape)}, expected ({count},): one 0 or 1 per pair")
    expect(_is_integer(pairs), f"{call}: pairs is a {pairs.dtype} tensor: it holds image indices, so make it an "
                               "integer tensor (torch.long)")
    expect(targets.dtype == torch.int64,
           f"{call}: targets is a {targets.dtype} tensor, expected torch.int64 (long): cross-entropy takes class "
           "indices as long integers")
    pairs, targets, labels = pairs.long().cpu(), targets.cpu(), labels.long().cpu()
    n = len(labels)
    expect(bool(((pairs >= 0) & (pairs < n)).all()),
           f"{call}: pairs holds indices outside 0..{n - 1}: each entry is the index of an image in the pool of "
           f"{n} images (an index into labels), not a digit")
    expect(bool(((targets == 0) | (targets == 1)).all()),
           f"{call}: targets holds values other than 0 and 1: {sorted(set(targets.tolist()))[:5]}")
    same = int(targets.sum())
    expect(same == count // 2,
           f"{call}: {same} pairs have target 1 and {count - same} target 0, expected exactly {count // 2} of each: "
           "draw half the pairs from two images of one digit and half from two different digits")
    selves = pairs[:, 0] == pairs[:, 1]
    if selves.any():
        at = _first(selves)
        held = _pairs(int(selves.sum()), "pair holds", "pairs hold")
        raise SelfCheckFailed(f"{call}: {held} one image twice, the first at position {at} "
                              f"(image {int(pairs[at, 0])} with itself): a \"same\" pair is two different images of "
                              "one digit, never an image with itself")
    digits = labels[pairs]
    wrong = (digits[:, 0] == digits[:, 1]).long() != targets
    if wrong.any():
        at = _first(wrong)
        i, j = pairs[at].tolist()
        wrong_targets = _pairs(int(wrong.sum()), "target does", "targets do")
        raise SelfCheckFailed(f"{call}: {wrong_targets} not match the digits, the first at position "
                              f"{at}: images {i} and {j} show digits {int(labels[i])} and {int(labels[j])} but the "
                              f"target is {int(targets[at])}; the target is 1 exactly when both images show the "
                              "same digit")
    head = targets[:min(100, count)]
    expect(len(head) < 2 or bool((head == 0).any() and (head == 1).any()),
           f"{call}: the first {len(head)} pairs all have target {int(head[0])}: the pairs are not shuffled. Put the "
           "pairs in a random order (torch.randperm with the generator), so every mini-batch holds both kinds")
    duplicates = duplicate_pairs(pairs)
    if duplicates:
        earlier, later = _first_duplicate(pairs, n)
        i, j = pairs[later].tolist()
        repeating = _pairs(duplicates, "pair repeats", "pairs repeat")
        raise SelfCheckFailed(f"{call}: {repeating} an earlier pair, the first at position {later} "
                              f"(images {i} and {j}, already at position {earlier}; {{i, j}} and {{j, i}} are the "
                              "same pair): keep a set of the pairs drawn so far and draw again on a repeat")


def check_balanced_pairs(balanced_pairs, labels: torch.Tensor, count: int = 2_000) -> None:
    """`balanced_pairs(labels, count, generator)` -> (pairs (count, 2) int, targets (count,) long): exactly half of
    them same-digit pairs, no image with itself, targets true to the digits, shuffled, no pair twice, and every
    random draw from `generator` (the same seed gives the same pairs)."""
    expect(callable(balanced_pairs), f"pass the function itself (check_balanced_pairs(balanced_pairs, labels)), not "
                                     f"{type(balanced_pairs).__name__}")
    labels = labels.detach()
    for size in (count, 10):  # a small count too: the count is an argument, not a constant
        call = f"balanced_pairs(labels, {size}, generator)"
        answer = run(balanced_pairs, call, labels, size, torch.Generator().manual_seed(0))
        expect(isinstance(answer, tuple) and len(answer) == 2,
               f"{call} must return a tuple (pairs, targets), got {type(answer).__name__}")
        _check_pairs(*answer, labels, size, call)
        if size == count:
            pairs, targets = answer
    again = run(balanced_pairs, "balanced_pairs", labels, count, torch.Generator().manual_seed(0))
    expect(torch.equal(again[0].cpu(), pairs.cpu()) and torch.equal(again[1].cpu(), targets.cpu()),
           "two calls with generators of the same seed gave different pairs: draw every random number from "
           "`generator` (torch.randint(..., generator=generator), torch.randperm(..., generator=generator)), not "
           "from torch's global generator or Python's random module")
    other = run(balanced_pairs, "balanced_pairs", labels, count, torch.Generator().manual_seed(1))
    expect(not torch.equal(other[0].cpu(), pairs.cpu()),
           "generators of different seeds gave the same pairs: the pairs must be drawn at random from `generator`")
    passed(f"balanced_pairs: {count:,} pairs, {count // 2:,} same and {count // 2:,} different, shuffled, targets "
           "true to the digits, no image with itself, no pair twice, reproducible from the generator")


# ---------------------------------------------------------------- 04: the Siamese forward


def check_siamese(cls) -> None:
    """`cls` subclasses labkit's SiameseNet and writes forward(x1, x2) with the one shared encoder: equal to
    compare(embed(x1), embed(x2)), logits (B, 2), symmetric, 122,050 parameters, labkit's outputs for the same
    weights."""
    expect_class(cls, "check_siamese(MySiamese)")
    expect(issubclass(cls, SiameseNet), f"{cls.__name__} must subclass labkit's SiameseNet "
                                        f"(class {cls.__name__}(lk.models.SiameseNet)), so it has embed and compare")
    expect("forward" in cls.__dict__, f"{cls.__name__} does not define forward(self, x1, x2): write it in the class")
    names = cls.__dict__["forward"].__code__.co_names
    expect("super" not in names and "SiameseNet" not in names,
           "your forward calls labkit's forward (super().forward or SiameseNet.forward): write it yourself with "
           "self.embed and self.compare")
    with keep_random_state():
        torch.manual_seed(0)
        model = run(cls, f"{cls.__name__}()")
        torch.manual_seed(0)
        reference = SiameseNet()
        count = count_parameters(model)
        expect(count == SIAMESE_PARAMETERS,
               f"{cls.__name__}() has {count:,} parameters, expected {SIAMESE_PARAMETERS:,} (labkit's SiameseNet): "
               "override forward only; one encoder serves both images, so no second encoder and no new layers")
        same_init = all(torch.equal(a, b) for a, b in zip(model.parameters(), reference.parameters()))
        expect(same_init, f"{cls.__name__}() starts from other weights than SiameseNet() on the same seed: leave "
                          "__init__ to SiameseNet (no extra layers, no random draws in the constructor)")

        x1, x2 = torch.randn(4, 1, 28, 28), torch.randn(4, 1, 28, 28)
        model.eval()
        with torch.no_grad():
            out = run(model, "forward(x1, x2)", x1, x2)
            expect(isinstance(out, torch.Tensor), f"forward must return a tensor of logits, got {type(out).__name__}")
            expect(tuple(out.shape) == (4, 2),
                   f"for two batches of shape (4, 1, 28, 28) forward returned shape {tuple(out.shape)}, expected "
                   "(4, 2): two logits per pair (different, same), from self.compare")
            e1, e2 = model.embed(x1), model.embed(x2)
            expected = model.compare(e1, e2)
            if not torch.allclose(out, expected, atol=1e-5):
                hint = ""
                if torch.allclose(out, model.compare(e1, e1), atol=1e-5):
                    hint = " (yours compares x1 with itself: embed x2 too)"
                elif torch.allclose(out, model.compare(e2, e2), atol=1e-5):
                    hint = " (yours compares x2 with itself: embed x1 too)"
                elif torch.allclose(out, expected.softmax(1), atol=1e-5):
                    hint = " (yours returns probabilities: return the logits; cross-entropy applies the softmax)"
                raise SelfCheckFailed(
                    f"forward(x1, x2) differs from self.compare(self.embed(x1), self.embed(x2)){hint}: embed both "
                    "images with self.embed, the one shared encoder, and pass the two embeddings to self.compare")
            swapped = model(x2, x1)
            expect(torch.allclose(swapped, out, atol=1e-5),
                   "forward(x2, x1) differs from forward(x1, x2): both images must go through the same encoder "
                   "and the symmetric head, so swapping them changes nothing")
            for mode in (True, False):  # labkit's outputs for the same weights, in both modes
                model.train(mode), reference.train(mode)
                expect(torch.allclose(model(x1, x2), reference(x1, x2), atol=1e-5),
                       f"with the same weights your network computes other logits than SiameseNet in "
                       f"{'training' if mode else 'evaluation'} mode")
    passed(f"{cls.__name__}: {SIAMESE_PARAMETERS:,} parameters, one shared encoder for both images, logits (B, 2), "
           "symmetric in its two inputs, the same outputs as labkit's SiameseNet")


# ---------------------------------------------------------------- 05: sorted and imbalanced sets


def _rows(pair_set: PairSet) -> torch.Tensor:
    """One number per (left, right, target) row."""
    pairs, n = pair_set.pairs.long().cpu(), len(pair_set.images)
    return (pairs[:, 0] * n + pairs[:, 1]) * 2 + pair_set.targets.cpu().long()


def _returned_pair_set(result, call: str, pair_set: PairSet) -> PairSet:
    expect(isinstance(result, PairSet), f"{call} must return a PairSet (lk.PairSet(images, pairs, targets, name)), "
                                        f"got {type(result).__name__}")
    expect(result.images is pair_set.images, f"{call} returned pairs over other images: build the new PairSet on "
                                             "pair_set.images, the same pool")
    return result


def _unchanged(pair_set: PairSet, pairs: torch.Tensor, targets: torch.Tensor, call: str) -> None:
    expect(torch.equal(pair_set.pairs, pairs) and torch.equal(pair_set.targets, targets),
           f"{call} changed the pair set it was given: build a new PairSet from reordered copies "
           "(pair_set.pairs[order]) and leave the given one as it is")


def _check_sorted(sorted_by_target, pair_set: PairSet) -> None:
    call = "sorted_by_target(pair_set)"
    pairs, targets = pair_set.pairs.clone(), pair_set.targets.clone()
    result = _returned_pair_set(run(sorted_by_target, call, pair_set), call, pair_set)
    _unchanged(pair_set, pairs, targets, call)
    expect(len(result) == len(pair_set), f"{call} returned {len(result):,} pairs, expected all {len(pair_set):,}")
    mine = result.targets.cpu()
    falls = mine[1:] < mine[:-1]
    if falls.any():
        at = _first(falls) + 1
        raise SelfCheckFailed(f"{call}: the targets are not sorted: a \"different\" pair (0) at position {at} follows "
                              f"a \"same\" pair (1): put every target-0 pair first, then every target-1 pair")
    expect(torch.equal(_rows(result).sort().values, _rows(pair_set).sort().values),
           f"{call} does not hold the same pairs as the given set: reorder its rows, keep each pair with its target "
           "(one order applied to pairs and targets alike), change nothing else")
    order = torch.cat([torch.nonzero(targets.cpu() == t).flatten() for t in (0, 1)])
    expect(torch.equal(result.pairs.cpu(), pair_set.pairs.cpu()[order]),
           f"{call} holds the right pairs, sorted, but within each class not in the order of the given set: sort "
           "stably (torch.argsort(targets, stable=True)), so the \"different\" pairs keep their order, and so do "
           "the \"same\" pairs")


def _check_imbalanced(imbalanced, pair_set: PairSet, count: int, fraction: float) -> PairSet:
    call = f"imbalanced(pair_set, {count}, positive_fraction={fraction}, generator=generator)"
    pairs, targets = pair_set.pairs.clone(), pair_set.targets.clone()
    result = _returned_pair_set(run(imbalanced, call, pair_set, count, positive_fraction=fraction,
                                      generator=torch.Generator().manual_seed(0)), call, pair_set)
    _unchanged(pair_set, pairs, targets, call)
    expect(len(result) == count, f"{call} returned {len(result):,} pairs, expected {count:,}")
    same = int(result.targets.sum())
    expected = round(count * fraction)
    expect(same == expected,
           f"{call} holds {same:,} \"same\" and {count - same:,} \"different\" pairs, expected {expected:,} and "
           f"{count - expected:,}: round(count * positive_fraction) pairs of target 1, the rest of target 0")
    rows = _rows(result)
    foreign = ~torch.isin(rows, _rows(pair_set))
    if foreign.any():
        at = _first(foreign)
        i, j = result.pairs[at].tolist()
        outside = _pairs(int(foreign.sum()), "pair is not a pair", "pairs are not pairs")
        raise SelfCheckFailed(f"{call}: {outside} of the given set (with their "
                              f"targets), the first at position {at} (images {i} and {j}, target "
                              f"{int(result.targets[at])}): choose rows of pair_set, keep each with its target")
    repeats = len(rows) - len(torch.unique(rows))
    expect(repeats == 0, f"{call}: {_pairs(repeats, 'pair is', 'pairs are')} taken twice: choose without replacement "
                         "(torch.randperm of "
                         "each class's positions, then the first k)")
    head = result.targets.cpu()[:min(100, count)]
    expect(bool((head == 0).any() and (head == 1).any()),
           f"{call}: the first {len(head)} pairs all have target {int(head[0])}: shuffle the chosen pairs "
           "(torch.randperm(count, generator=generator))")
    return result


def check_sorted_and_imbalanced(sorted_by_target, imbalanced, pair_set: PairSet) -> None:
    """`sorted_by_target(pair_set)`: the same pairs, all "different" then all "same", each class in its given order.
    `imbalanced(pair_set, count, positive_fraction=0.9, generator=None)`: `count` pairs of the given set, chosen at
    random without repeats, round(count * positive_fraction) of them "same", shuffled, from `generator`."""
    expect(callable(sorted_by_target) and callable(imbalanced),
           "pass the two functions themselves: check_sorted_and_imbalanced(sorted_by_target, imbalanced, pair_set)")
    _check_sorted(sorted_by_target, pair_set)
    count = len(pair_set) // 2
    for fraction in (0.9, 0.7):  # the fraction is an argument, not a constant
        result = _check_imbalanced(imbalanced, pair_set, count, fraction)
    again = run(imbalanced, "imbalanced", pair_set, count, positive_fraction=0.7,
                  generator=torch.Generator().manual_seed(0))
    expect(torch.equal(again.pairs.cpu(), result.pairs.cpu()),
           "two calls with generators of the same seed chose different pairs: draw every random number from "
           "`generator` (torch.randperm(..., generator=generator))")
    passed(f"sorted_by_target: the same {len(pair_set):,} pairs, \"different\" then \"same\", stable; imbalanced: "
           f"{count:,} pairs of the given set, {round(count * 0.9):,} same, shuffled, reproducible")
