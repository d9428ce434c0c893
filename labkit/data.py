"""MNIST files -> tensors on the device.

    load_mnist(root)         verified IDX files (labkit.mnist) -> ImageSet (uint8 images, int64 labels)
    ImageSet.subset(...)     exact per-class counts, seeded
    ImageSet.split(...)      (rest, validation): a stratified, seeded validation split
    ImageSet.to(device)      the whole set lives on the device
    batches(set, ...)        normalised float batches, augmentation batch-wise on the device

No per-item Dataset/DataLoader: 60,000 images are 47 MB, so every batch is one
index into tensors that already sit where the model runs.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F

# MNISTError's home is labkit.mnist; it is named here too for tests/conftest.py, which imports it from here
from .mnist import MNISTError, data_root, verify_mnist  # noqa: F401

# Pixel statistics of the 60,000 training images scaled to [0, 1].
MEAN, STD = 0.1307, 0.3081


@dataclass(frozen=True)
class ImageSet:
    """Images (N, 28, 28) uint8 and labels (N,) int64, on one device."""

    images: torch.Tensor
    labels: torch.Tensor
    name: str = "mnist"
    classes: tuple[str, ...] = tuple(str(d) for d in range(10))

    def __post_init__(self):
        if self.images.dtype != torch.uint8 or self.images.ndim != 3:
            raise ValueError(f"images must be uint8 (N, H, W), got {self.images.dtype} {tuple(self.images.shape)}")
        if self.labels.shape != self.images.shape[:1]:
            raise ValueError(f"labels shape {tuple(self.labels.shape)} does not match {len(self.images)} images")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def device(self) -> torch.device:
        return self.images.device

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def to(self, device) -> ImageSet:
        return ImageSet(self.images.to(device), self.labels.to(device), self.name, self.classes)

    def class_counts(self) -> list[int]:
        return torch.bincount(self.labels, minlength=self.num_classes).tolist()

    def subset(self, fraction: float, seed: int = 0) -> ImageSet:
        """A balanced stratified subset: round(fraction * N / classes) images of every class, chosen with `seed`.

        MNIST's classes differ in size (5,421 to 6,742 training images), so equal counts
        per class, not equal fractions, make a pool where every digit weighs the same:
        0.1 of the training set is 600 per digit, 0.1 of the test set 100 per digit.
        """
        index = self.subset_indices(fraction, seed)
        return ImageSet(self.images[index], self.labels[index], f"{self.name}[{fraction:g}]", self.classes)

    def subset_indices(self, fraction: float, seed: int = 0) -> torch.Tensor:
        """Positions in this set of subset()'s images, sorted, on the set's device (e.g. a pool image's index in
        the MNIST test set)."""
        if not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
            raise ValueError(f"fraction must be a number in (0, 1], got {fraction!r}")
        per_class = round(fraction * len(self) / self.num_classes)
        counts = self.class_counts()
        short = [digit for digit, count in enumerate(counts) if count < per_class]
        if short or per_class < 1:
            largest = min(counts) * self.num_classes / len(self)
            raise ValueError(f"fraction {fraction!r} asks for {per_class} images per class but class(es) {short} "
                             f"have fewer; use a fraction in ({self.num_classes / len(self):.2g}, {largest:.4f}]")
        generator = torch.Generator().manual_seed(seed)
        labels = self.labels.cpu()
        chosen = []
        for digit in range(self.num_classes):
            members = torch.nonzero(labels == digit).flatten()
            chosen.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
        return torch.cat(chosen).sort().values.to(self.device)

    def split(self, fraction: float, seed: int = 0) -> tuple[ImageSet, ImageSet]:
        """(rest, validation): `fraction` of every class held out for validation, chosen with `seed`.

        Stratified: each class gives floor(fraction * its count + 0.5) images (every class rounds
        half up, the same way), so validation has the set's class proportions. The two parts are
        disjoint and together are this set; both keep this set's order.
        """
        rest, validation = self.split_indices(fraction, seed)
        return (ImageSet(self.images[rest], self.labels[rest], f"{self.name} (minus validation)", self.classes),
                ImageSet(self.images[validation], self.labels[validation], f"{self.name} validation", self.classes))

    def split_indices(self, fraction: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Positions in this set of split()'s (rest, validation), sorted, on the set's device."""
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
            raise ValueError(f"validation fraction must be a number in (0, 1), got {fraction!r}")
        counts = self.class_counts()
        held_out = [math.floor(fraction * count + 0.5) for count in counts]
        too_small = [digit for digit, (count, k) in enumerate(zip(counts, held_out)) if count and not 0 < k < count]
        if too_small:
            shown = ", ".join(f"class {d}: {counts[d]} image(s) -> {held_out[d]} for validation" for d in too_small)
            raise ValueError(f"validation fraction {fraction!r} leaves a class with no validation image or no "
                             f"image to train on ({shown}); every class needs at least one of each: use a "
                             f"fraction nearer 0.5 or a bigger set")
        generator = torch.Generator().manual_seed(seed)
        labels = self.labels.cpu()
        validation = []
        for digit, k in enumerate(held_out):
            members = torch.nonzero(labels == digit).flatten()
            validation.append(members[torch.randperm(len(members), generator=generator)[:k]])
        in_validation = torch.zeros(len(self), dtype=torch.bool)
        in_validation[torch.cat(validation)] = True
        rest, validation = torch.nonzero(~in_validation).flatten(), torch.nonzero(in_validation).flatten()
        return rest.to(self.device), validation.to(self.device)

    def normalized(self, index: torch.Tensor | None = None) -> torch.Tensor:
        images = self.images if index is None else self.images[index]
        return normalize(images)

    def batch(self, index: torch.Tensor, augment=None, generator=None) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """Inputs (one normalised float tensor (B, 1, 28, 28)) and targets for the given indices."""
        return (to_input(self.images[index], augment, generator),), self.labels[index]


def composition(sets: dict[str, ImageSet]):
    """Images per class for each named set, with a total row: the set-composition table of a lab report."""
    import pandas as pd

    table = pd.DataFrame({name: images.class_counts() for name, images in sets.items()})
    table.index.name = "digit"
    table.loc["total"] = table.sum()
    return table


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 (..., 28, 28) or [0, 1] float -> float (B, 1, 28, 28) with the training-set mean and std."""
    if images.dtype == torch.uint8:
        images = images.float().div_(255)
    if images.ndim == 3:
        images = images.unsqueeze(1)
    return (images - MEAN) / STD


def to_input(images: torch.Tensor, augment=None, generator=None) -> torch.Tensor:
    x = images.float().div_(255).unsqueeze(1)
    if augment is not None:
        x = augment(x, generator)
    return normalize(x)


def load_mnist(root: str | os.PathLike | None = None, train: bool = True, device=None) -> ImageSet:
    """The verified MNIST training (60,000) or test (10,000) set, read through torchvision."""
    from torchvision.datasets import MNIST

    root = data_root(root)
    verify_mnist(root)
    dataset = MNIST(root, train=train, download=False)
    images = dataset.data.to(torch.uint8)
    labels = dataset.targets.to(torch.int64)
    result = ImageSet(images, labels, "mnist-train" if train else "mnist-test")
    return result.to(device) if device is not None else result


# ---------------------------------------------------------------- augmentation and batches


@dataclass(frozen=True)
class Augment:
    """Random rotation within ±`degrees` and translation up to `translate` of the image size, batch-wise; with
    `flip` > 0, each image is also mirrored left-right with that probability (as torchvision's
    RandomHorizontalFlip; a mirrored 2, 3, 4, 5, 7 or 9 is no longer that digit).

    One affine warp for the whole batch on its device; the random draws come from `generator`.
    """

    degrees: float = 10.0
    translate: float = 0.1
    flip: float = 0.0

    def __post_init__(self):
        if not 0 <= self.degrees <= 180:
            raise ValueError(f"degrees must be in [0, 180], got {self.degrees!r}")
        if not 0 <= self.translate < 1:
            raise ValueError(f"translate must be in [0, 1), got {self.translate!r}")
        if isinstance(self.flip, bool) or not 0 <= self.flip <= 1:
            raise ValueError(f"flip is a probability in [0, 1], got {self.flip!r}")

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        n, _, height, width = x.shape
        angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(self.degrees)
        shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * (2 * self.translate)  # grid units span 2
        cos, sin = angle.cos(), angle.sin()
        mirror = torch.ones(n)
        if self.flip > 0:  # drawn only when asked: with flip=0 the generator serves rotation and translation alone
            mirror = 1 - 2 * (torch.rand(n, generator=generator) < self.flip).float()  # -1: mirrored
        # output x reversed (mirror = -1) before the rotation: the first column of the rotation times mirror
        theta = torch.stack([cos * mirror, -sin, shift[:, 0], sin * mirror, cos, shift[:, 1]], 1).to(x.device, x.dtype)
        return F.grid_sample(x, _affine_grid(theta, height, width), mode="bilinear", padding_mode="zeros",
                             align_corners=False)


def _affine_grid(theta: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """F.affine_grid(theta.view(-1, 2, 3), align_corners=False), built by broadcasting the x and y coordinates
    instead of multiplying a full grid of positions: the same grid, cheaper to compute on a CPU."""
    xs = ((torch.arange(width, device=theta.device, dtype=theta.dtype) * 2 + 1) / width - 1).view(1, 1, width)
    ys = ((torch.arange(height, device=theta.device, dtype=theta.dtype) * 2 + 1) / height - 1).view(1, height, 1)
    t = theta.view(-1, 6, 1, 1)
    return torch.stack([t[:, 0] * xs + t[:, 1] * ys + t[:, 2], t[:, 3] * xs + t[:, 4] * ys + t[:, 5]], -1)


def batches(dataset, batch_size: int, *, shuffle: bool = False, augment=None, generator=None):
    """Yield (inputs, targets) mini-batches; a seeded permutation when `shuffle`. The last batch may be smaller.

    `dataset` is anything with `__len__` and `batch(index, augment, generator)`: an ImageSet or a pair set.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    n = len(dataset)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    order = order.to(dataset.device)
    for start in range(0, n, batch_size):
        yield dataset.batch(order[start:start + batch_size], augment, generator)
