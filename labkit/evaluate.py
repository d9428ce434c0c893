"""evaluate() and Evaluation: a model's predictions on a whole set, and what the metrics need.

One evaluation function with one return shape serves the final report (predictions kept) and the
measurements during training (`keep_predictions=False`: loss and accuracy only). A Siamese net on a
pair set embeds each pool image once (`embeds_once`), so evaluating pairs costs pool-sized work.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from . import metrics
from .compute import Compute
from .data import batches
from .pairs import PairSet

EVAL_BATCH_SIZE = 1000  # items per forward when measuring a whole set: large, since nothing is stored for backward


@dataclass
class Evaluation:
    """Loss and accuracy of one model on one data set, and (unless not kept) its predictions.

    `predictions`, `targets` and `probabilities` are None when evaluated with `keep_predictions=False`.
    """

    predictions: torch.Tensor | None  # (N,) int64, on the CPU
    targets: torch.Tensor | None  # (N,) int64
    probabilities: torch.Tensor | None  # (N, C) float32
    loss: float
    accuracy: float
    classes: tuple[str, ...]

    def _kept(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.predictions is None:
            raise ValueError("this Evaluation kept no predictions; call evaluate(model, dataset) with "
                             "keep_predictions=True (the default)")
        return self.targets, self.predictions

    def confusion_matrix(self) -> pd.DataFrame:
        return metrics.confusion_matrix(*self._kept(), self.classes)

    def per_class_accuracy(self) -> pd.DataFrame:
        return metrics.per_class_accuracy(*self._kept(), self.classes)

    def report(self) -> pd.DataFrame:
        return metrics.classification_report(*self._kept(), self.classes)

    def confident_mistakes(self, n: int = 12) -> torch.Tensor:
        """Indices of the `n` wrong predictions made with the highest probability, most confident first."""
        targets, predictions = self._kept()
        wrong = torch.nonzero(predictions != targets).flatten()
        confidence = self.probabilities.max(1).values[wrong]
        return wrong[confidence.argsort(descending=True)][:n]

    def most_confused(self, top: int = 10) -> pd.DataFrame:
        return metrics.most_confused(self.confusion_matrix(), top)


def embeds_once(model: nn.Module, dataset) -> bool:
    """True when `dataset` is a pair set and `model` scores pairs from embeddings (`embed` and `compare`).

    Such a model is evaluated by embedding each image of the pool once and comparing embeddings:
    10,000 test pairs over a pool of 1,000 images then cost 1,000 encoder passes instead of 20,000.
    """
    return (isinstance(dataset, PairSet) and callable(getattr(model, "embed", None))
            and callable(getattr(model, "compare", None)))


def evaluation_cost(model: nn.Module, dataset) -> float:
    """What evaluating `dataset` once costs, counted in forward passes of its own items (pairs for a pair set)."""
    return len(dataset.images) / 2 if embeds_once(model, dataset) else len(dataset)


def _logits(model, dataset, batch_size: int, compute: Compute):
    """Yield (float32 logits, targets) over the whole set, in its order."""
    if embeds_once(model, dataset):
        with compute.autocast():
            embeddings = torch.cat([model.embed(*compute.inputs(inputs))
                                    for inputs, _ in batches(dataset.images, batch_size)])
        for start in range(0, len(dataset), batch_size):
            chosen = dataset.pairs[start:start + batch_size].long()
            with compute.autocast():
                logits = model.compare(embeddings[chosen[:, 0]], embeddings[chosen[:, 1]])
            yield logits.float(), dataset.targets[start:start + batch_size]
        return
    for inputs, targets in batches(dataset, batch_size):
        with compute.autocast():
            logits = model(*compute.inputs(inputs))
        yield logits.float(), targets


@torch.inference_mode()
def totals(model: nn.Module, dataset, compute: Compute, *, batch_size: int = EVAL_BATCH_SIZE,
           keep: list | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed cross-entropy and number of correct predictions over the whole set, as tensors on its device.

    Nothing is read back to the host, so a training loop can measure without waiting for the device.
    With a list as `keep`, (predictions, targets, probabilities) of every batch are appended to it, on the CPU.
    """
    was_training = model.training
    model.eval()
    try:
        loss_sum = torch.zeros((), device=dataset.device)
        correct = torch.zeros((), device=dataset.device, dtype=torch.int64)
        for logits, targets in _logits(model, dataset, batch_size, compute):
            loss_sum += F.cross_entropy(logits, targets, reduction="sum")
            predictions = logits.argmax(1)
            correct += (predictions == targets).sum()
            if keep is not None:
                keep.append((predictions.cpu(), targets.cpu(), logits.softmax(1).cpu()))
        return loss_sum, correct
    finally:
        model.train(was_training)


def evaluate(model: nn.Module, dataset, *, batch_size: int = EVAL_BATCH_SIZE, channels_last: bool = True,
             precision: str = "auto", keep_predictions: bool = True) -> Evaluation:
    """Loss and accuracy of `model` on every item of `dataset` in inference mode, and its predictions.

    `precision`: "bf16", "fp32", or "auto" (bf16 autocast where the machine computes it natively, as fit does).
    A Siamese net on a pair set embeds each pool image once (see `embeds_once`); the logits are those
    of its forward pass, up to float rounding. `keep_predictions=False` skips gathering predictions
    and probabilities (their fields are None), for measurements during training.
    """
    return measure(model, dataset, Compute.choose(dataset.device, precision, channels_last), batch_size=batch_size,
                   keep_predictions=keep_predictions)


def measure(model: nn.Module, dataset, compute: Compute, *, batch_size: int = EVAL_BATCH_SIZE,
            keep_predictions: bool = True) -> Evaluation:
    """evaluate() with the Compute of a run (fit's measurements share its device, precision and layout)."""
    kept: list | None = [] if keep_predictions else None
    loss_sum, correct = totals(model, dataset, compute, batch_size=batch_size, keep=kept)
    n = max(len(dataset), 1)
    predictions = targets = probabilities = None
    if kept:
        predictions, targets, probabilities = (torch.cat(part) for part in zip(*kept))
    return Evaluation(predictions, targets, probabilities, loss_sum.item() / n, correct.item() / n,
                      tuple(dataset.classes))
