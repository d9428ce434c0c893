"""Pair sets for lab B: two images in, 1 if they show the same digit, else 0.

    make_pairs(labels, ...)   index pairs (P, 2) into an image pool + targets (P,): built, balanced, ordered
    PairSet.build(images)     a fixed pair set; batch() gathers both images by index on the device
    RandomPairs(images, n)    fresh random pairs every epoch (fit draws sample(epoch_seed(generator))), a fixed
                              one for the final measurement; trained_pairs(history.epoch_seeds): the pairs a
                              run trained on
    RandomPairs.split(f)      (training RandomPairs, validation PairSet) over disjoint images of the pool

Pairs are indices, never image copies: the 3.6 million exhaustive pairs of a 6,000-image pool are
29 MB of int32, not 5 GB of images. An unordered pair {i, j} is identified by the key min*N + max,
which makes duplicates cheap to find with torch.unique.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import ClassVar

import pandas as pd
import torch

from labkit.data import ImageSet, to_input

MODES = ("exhaustive", "sampled")
ORDERS = ("shuffled", "sorted", "alternating")


def make_pairs(labels: torch.Tensor, *, mode: str = "sampled", count: int | None = None,
               positive_fraction: float = 0.5, order: str = "shuffled", seed: int = 0):
    """Index pairs (P, 2) int32 and targets (P,) int64 (1 = same digit) over a pool with these `labels`.

    "exhaustive": every unordered pair of two different images of one digit, plus as many random
    different-digit pairs. "sampled": `count` pairs, round(count * positive_fraction) of them positive.
    No pair holds one image twice and no unordered pair appears twice. Orders: "shuffled",
    "sorted" (all 0s, then all 1s), "alternating" (0, 1, 0, 1, ... while both last, then the rest).
    """
    if not isinstance(labels, torch.Tensor) or labels.ndim != 1 or labels.dtype.is_floating_point \
            or labels.dtype.is_complex or labels.dtype == torch.bool:
        got = f"a {labels.ndim}-D {labels.dtype} tensor" if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ValueError(f"labels must be a 1-D integer tensor, got {got}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if isinstance(positive_fraction, bool) or not isinstance(positive_fraction, (int, float)) \
            or not 0 <= positive_fraction <= 1:
        raise ValueError(f"positive_fraction must be a number in [0, 1], got {positive_fraction!r}")
    pool = _Pool(labels.detach().cpu().long())
    generator = torch.Generator().manual_seed(seed)

    if mode == "exhaustive":
        if count is not None or positive_fraction != 0.5:
            raise ValueError(f"mode='exhaustive' takes every positive pair and as many negatives: leave count "
                             f"(got {count!r}) and positive_fraction (got {positive_fraction!r}) unset, "
                             f"or use mode='sampled'")
        positive = pool.all_keys(same=True)
        negative = pool.sample_keys(len(positive), same=False, generator=generator)
    else:
        if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count <= 0:
            raise ValueError(f"mode='sampled' needs count, a positive int, got {count!r}")
        count = int(count)
        n_positive = round(count * positive_fraction)
        positive = pool.sample_keys(n_positive, same=True, generator=generator)
        negative = pool.sample_keys(count - n_positive, same=False, generator=generator)

    # Negatives first: target 0 below n_negative, 1 from there. Keys and positions are below n**2, so
    # for pools up to 46,340 images they fit int32, which halves the two biggest intermediates.
    n_negative, n_positive = len(negative), len(positive)
    small_type = torch.int32 if pool.n**2 <= 2**31 else torch.int64
    keys = torch.empty(n_negative + n_positive, dtype=small_type)
    keys[:n_negative], keys[n_negative:] = negative, positive
    del negative, positive  # one copy of the keys alive, not two
    permutation = _ordering(n_negative, n_positive, order, generator).to(small_type)
    targets = (permutation >= n_negative).long()
    swap = torch.rand(len(keys), generator=generator) < 0.5  # else the left index is always the smaller one
    return _pairs_from_keys(keys, permutation, swap, pool.n), targets


# Pairs are split from their keys this many at a time: the int64 intermediates of 3.6 million
# pairs would be hundreds of MB at once; in chunks they are a few MB, at no cost in speed.
CHUNK = 1 << 20


def _pairs_from_keys(keys: torch.Tensor, permutation: torch.Tensor, swap: torch.Tensor, n: int) -> torch.Tensor:
    """(P, 2) index pairs of keys[permutation]: key min*n + max split into (min, max), or (max, min) where `swap`."""
    index_type = torch.int32 if n < 2**31 else torch.int64  # int32 halves the memory of big sets
    pairs = torch.empty(len(permutation), 2, dtype=index_type)
    for start in range(0, len(permutation), CHUNK):
        chunk = slice(start, start + CHUNK)
        chosen = keys[permutation[chunk]]
        low, high = chosen // n, chosen % n
        flip = swap[chunk]
        pairs[chunk, 0] = torch.where(flip, high, low)
        pairs[chunk, 1] = torch.where(flip, low, high)
    return pairs


def _ordering(n_negative: int, n_positive: int, order: str, generator) -> torch.Tensor:
    """A permutation of [negatives..., positives...] giving the requested order, random within each target."""
    if order == "shuffled":
        return torch.randperm(n_negative + n_positive, generator=generator)
    negative = torch.randperm(n_negative, generator=generator)
    positive = n_negative + torch.randperm(n_positive, generator=generator)
    if order == "sorted":
        return torch.cat([negative, positive])
    m = min(n_negative, n_positive)
    return torch.cat([torch.stack([negative[:m], positive[:m]], 1).flatten(), negative[m:], positive[m:]])


class _Pool:
    """The pool's images grouped by digit, to draw same- or different-digit pairs without loops over pairs."""

    def __init__(self, labels: torch.Tensor):
        if len(labels) and labels.min() < 0:
            raise ValueError(f"labels must be non-negative digits, got {labels.min().item()}")
        self.n = len(labels)
        self.counts = torch.bincount(labels) if len(labels) else torch.zeros(0, dtype=torch.int64)
        if len(self.counts) < 2:
            raise ValueError(f"the pool needs images of at least two digits, got labels {labels.unique().tolist()}")
        for digit, size in enumerate(self.counts.tolist()):
            if size < 2:
                raise ValueError(f"digit {digit} has {size} image(s) in the pool; every digit from 0 to "
                                 f"{len(self.counts) - 1} needs at least two to form a same-digit pair")
        self.by_digit = torch.argsort(labels, stable=True)  # images of digit d sit at offsets[d]:offsets[d]+counts[d]
        self.offsets = torch.cumsum(self.counts, 0) - self.counts

    def space(self, same: bool) -> int:
        """How many unordered pairs of this kind exist."""
        same_pairs = int((self.counts * (self.counts - 1) // 2).sum())
        return same_pairs if same else self.n * (self.n - 1) // 2 - same_pairs

    def all_keys(self, same: bool) -> torch.Tensor:
        keys = []
        for start, size in zip(self.offsets.tolist(), self.counts.tolist()):
            members = self.by_digit[start:start + size]
            if same:
                i, j = torch.triu_indices(size, size, offset=1)
                a, b = members[i], members[j]
            else:  # this digit against every higher digit, so each unordered pair comes once
                others = self.by_digit[start + size:]
                a, b = members.repeat_interleave(len(others)), others.repeat(size)
            keys.append(torch.minimum(a, b) * self.n + torch.maximum(a, b))
        return torch.cat(keys) if keys else torch.zeros(0, dtype=torch.int64)

    def draw_keys(self, k: int, same: bool, generator: torch.Generator) -> torch.Tensor:
        """k keys, each uniform over the pairs of this kind, repeats allowed: no loop over pairs."""
        weights = self.counts * (self.counts - 1) if same else self.counts * (self.n - self.counts)
        # In-place steps where a temporary would do: k is millions for the exhaustive set's negatives.
        digit = torch.multinomial(weights.double(), k, replacement=True, generator=generator)
        size, start = self.counts[digit], self.offsets[digit]
        del digit
        a = torch.rand(k, generator=generator, dtype=torch.float64).mul_(size).long()
        if same:  # a second, different member of the same digit
            b = torch.rand(k, generator=generator, dtype=torch.float64).mul_(size - 1).long()
            b.add_((b >= a).long()).add_(start)
        else:  # a position outside this digit's block of by_digit
            b = torch.rand(k, generator=generator, dtype=torch.float64).mul_(self.n - size).long()
            b.add_(size.mul_((b >= start).long()))
        del size
        a = self.by_digit[a.add_(start)]
        b = self.by_digit[b]
        low = torch.minimum(a, b)
        return low.mul_(self.n).add_(torch.maximum(a, b, out=b))

    def sample_keys(self, k: int, same: bool, generator: torch.Generator) -> torch.Tensor:
        """k distinct keys, a uniform random choice among all pairs of this kind."""
        space = self.space(same)
        if k > space:
            kind = "same-digit" if same else "different-digit"
            raise ValueError(f"asked for {k} {kind} pairs but this pool of {self.n} images has only {space} "
                             f"unique ones; lower count or change positive_fraction")
        if k == 0:
            return torch.zeros(0, dtype=torch.int64)
        if 2 * k > space:  # dense request: rejection would crawl (coupon collector), so enumerate instead
            keys = self.all_keys(same)
        else:  # sparse request: draw with repeats, keep distinct keys; at most half are repeats
            keys = torch.zeros(0, dtype=torch.int64)
            while len(keys) < k:
                keys = torch.unique(torch.cat([keys, self.draw_keys(int(1.2 * (k - len(keys))) + 16, same, generator)]))
        # The kept set is exchangeable, so a uniform k of it is a uniform k-subset of the whole space.
        return keys[torch.randperm(len(keys), generator=generator)[:k]]


@dataclass(frozen=True)
class PairSet:
    """Index pairs into one ImageSet, with targets 1 (same digit) or 0 (different); all on the images' device."""

    images: ImageSet
    pairs: torch.Tensor
    targets: torch.Tensor
    name: str = "pairs"
    classes: ClassVar[tuple[str, str]] = ("different", "same")
    num_classes: ClassVar[int] = 2

    def __post_init__(self):
        if self.pairs.ndim != 2 or self.pairs.shape[1] != 2 or self.targets.shape != self.pairs.shape[:1]:
            raise ValueError(f"pairs must be (P, 2) and targets (P,), got {tuple(self.pairs.shape)} "
                             f"and {tuple(self.targets.shape)}")
        # Pairs follow their images, so batch() never crosses devices.
        object.__setattr__(self, "pairs", self.pairs.to(self.images.device))
        object.__setattr__(self, "targets", self.targets.to(self.images.device))

    @classmethod
    def build(cls, images: ImageSet, *, mode: str = "sampled", count: int | None = None,
              positive_fraction: float = 0.5, order: str = "shuffled", seed: int = 0, name: str | None = None):
        pairs, targets = make_pairs(images.labels, mode=mode, count=count, positive_fraction=positive_fraction,
                                    order=order, seed=seed)
        return cls(images, pairs, targets, name or f"{images.name} {mode} pairs")

    def __len__(self) -> int:
        return len(self.targets)

    @property
    def device(self) -> torch.device:
        return self.images.device

    def to(self, device) -> PairSet:
        return PairSet(self.images.to(device), self.pairs.to(device), self.targets.to(device), self.name)

    def batch(self, index: torch.Tensor, augment=None, generator=None):
        """((left, right), targets): two normalised (B, 1, 28, 28) float tensors, each side augmented on its own."""
        chosen = self.pairs[index].long()
        left = to_input(self.images.images[chosen[:, 0]], augment, generator)
        right = to_input(self.images.images[chosen[:, 1]], augment, generator)
        return (left, right), self.targets[index]

    def images_of(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The left and right uint8 images (B, 28, 28) of the pairs at `index`, on the CPU, for galleries."""
        chosen = self.pairs[torch.as_tensor(index, device=self.device)].long()
        return self.images.images[chosen[:, 0]].cpu(), self.images.images[chosen[:, 1]].cpu()

    def digit_pairs(self) -> torch.Tensor:
        """(P, 2) digits shown by each pair (left, right), e.g. to map errors onto a 10 x 10 grid of digit pairs."""
        return self.images.labels[self.pairs.long()]

    def counts(self, by_digit: bool = False) -> pd.DataFrame:
        """Composition: pairs and fraction per target, or per digit (same pairs of it, different pairs showing it)."""
        targets = self.targets.cpu()
        if not by_digit:
            pairs = torch.bincount(targets, minlength=2).tolist()
            return pd.DataFrame({"pairs": pairs, "fraction": [p / max(len(self), 1) for p in pairs]},
                                index=pd.Index(self.classes, name="target"))
        digits, size = self.digit_pairs().cpu(), self.images.num_classes
        same = torch.bincount(digits[targets == 1, 0], minlength=size)
        shown = digits[targets == 0]
        different = torch.bincount(shown[:, 0], minlength=size) + torch.bincount(shown[:, 1], minlength=size)
        return pd.DataFrame({"same": same.tolist(), "different": different.tolist()},
                            index=pd.Index(range(size), name="digit"))


@dataclass(frozen=True)
class RandomPairs:
    """Fresh sampled pairs from one pool every epoch: the network sees many more pairs than one fixed set holds."""

    images: ImageSet
    pairs_per_epoch: int
    positive_fraction: float = 0.5
    order: str = "shuffled"
    seed: int = 0
    classes: ClassVar[tuple[str, str]] = PairSet.classes
    num_classes: ClassVar[int] = 2

    def __post_init__(self):
        self.evaluation_set()  # a bad request fails here, not in the middle of training

    def __len__(self) -> int:
        return self.pairs_per_epoch

    @property
    def device(self) -> torch.device:
        return self.images.device

    def to(self, device) -> RandomPairs:
        return RandomPairs(self.images.to(device), self.pairs_per_epoch, self.positive_fraction, self.order, self.seed)

    def sample(self, seed: int) -> PairSet:
        """pairs_per_epoch sampled pairs drawn with `seed`."""
        return PairSet.build(self.images, mode="sampled", count=self.pairs_per_epoch, order=self.order,
                             positive_fraction=self.positive_fraction, seed=seed, name=f"{self.images.name} pairs")

    def epoch_seed(self, generator: torch.Generator | None = None) -> int:
        """The seed of one epoch's pairs, drawn from `generator` (any device; None: torch's global generator)."""
        device = generator.device if generator is not None else "cpu"
        return int(torch.randint(2**62, (1,), generator=generator, device=device))

    def trained_pairs(self, epoch_seeds) -> PairSet:
        """Every pair a run trained on, epoch after epoch: the History's `epoch_seeds` drawn again, in order.

        Its `counts()` are the composition of what the network saw (a pair can recur between epochs).
        """
        epoch_seeds = list(epoch_seeds)
        if not epoch_seeds:
            raise ValueError("epoch_seeds is empty: pass History.epoch_seeds of a fit run on this RandomPairs")
        drawn = [self.sample(seed) for seed in epoch_seeds]
        return PairSet(self.images, torch.cat([epoch.pairs for epoch in drawn]),
                       torch.cat([epoch.targets for epoch in drawn]),
                       name=f"{self.images.name} pairs of {len(drawn)} epoch(s)")

    def evaluation_set(self) -> PairSet:
        """A fixed sample of the same size (from `seed`), to measure the final train accuracy."""
        return self.sample(self.seed)

    def split(self, fraction: float, seed: int = 0, validation_pairs: int | None = None) -> tuple[RandomPairs, PairSet]:
        """(training, validation): `fraction` of this pool's images held out, stratified (ImageSet.split).

        training: RandomPairs over the remaining images, with this one's settings. validation: balanced
        pairs of the held-out images only; every same-digit pair of them and as many different-digit
        ones, or `validation_pairs` sampled pairs, half of them same-digit. So no image of a validation
        pair ever appears in a training pair, and the validation images come from this (training) pool,
        never from the test pool: the test set stays untouched until the final measurement.
        """
        rest, held_out = self.images.split(fraction, seed)
        training = RandomPairs(rest, self.pairs_per_epoch, self.positive_fraction, self.order, self.seed)
        mode = "exhaustive" if validation_pairs is None else "sampled"
        validation = PairSet.build(held_out, mode=mode, count=validation_pairs, seed=seed,
                                   name=f"{held_out.name} {mode} pairs")
        return training, validation


# ---------------------------------------------------------------- checks for graders


def _keys(pairs: torch.Tensor) -> torch.Tensor:
    pairs = pairs.long()
    n = int(pairs.max()) + 1 if pairs.numel() else 1
    return torch.minimum(pairs[:, 0], pairs[:, 1]) * n + torch.maximum(pairs[:, 0], pairs[:, 1])


def self_pairs(pairs: torch.Tensor) -> int:
    """How many pairs hold one image twice (should be 0)."""
    return int((pairs[:, 0] == pairs[:, 1]).sum())


def duplicate_pairs(pairs: torch.Tensor) -> int:
    """How many pairs repeat an earlier unordered pair ({i, j} and {j, i} are the same pair; should be 0)."""
    return len(pairs) - len(torch.unique(_keys(pairs)))


def is_balanced(targets: torch.Tensor, tolerance: float = 0) -> bool:
    """True when the fraction of same-digit pairs is within `tolerance` of one half."""
    return len(targets) > 0 and abs(targets.float().mean().item() - 0.5) <= tolerance


def targets_match_labels(pairs: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor) -> bool:
    """True when every target is 1 exactly where both images show the same digit."""
    pairs, labels = pairs.long().cpu(), labels.cpu()
    return bool(((labels[pairs[:, 0]] == labels[pairs[:, 1]]).long() == targets.cpu()).all())
