"""fit() and evaluate(): one training loop and one evaluation for both labs.

A model maps inputs to class logits (10 digits, or 2 for pairs), so one
cross-entropy, one loop and one evaluation serve every notebook. Data sets are
already on the device (`labkit.data`); a step is an index, a forward, a backward.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from . import metrics
from .data import batches
from .env import resolve_bf16, seed_everything
from .live import LivePlot, Progress, in_notebook
from .pairs import PairSet

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULERS = (None, "onecycle", "cosine")
HISTORY_COLUMNS = ["step", "epoch", "train_loss", "test_loss", "test_accuracy", "lr", "seconds"]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite. `history` holds every step before it."""

    def __init__(self, message: str, history: History):
        super().__init__(message)
        self.history = history


@dataclass
class Evaluation:
    """Predictions of one model on one data set, and the metrics computed from them."""

    predictions: torch.Tensor  # (N,) int64, on the CPU
    targets: torch.Tensor  # (N,) int64
    probabilities: torch.Tensor  # (N, C) float32
    loss: float
    accuracy: float
    classes: tuple[str, ...]

    def confusion_matrix(self) -> pd.DataFrame:
        return metrics.confusion_matrix(self.targets, self.predictions, self.classes)

    def per_class_accuracy(self) -> pd.DataFrame:
        return metrics.per_class_accuracy(self.targets, self.predictions, self.classes)

    def report(self) -> pd.DataFrame:
        return metrics.classification_report(self.targets, self.predictions, self.classes)

    def confident_mistakes(self, n: int = 12) -> torch.Tensor:
        """Indices of the `n` wrong predictions made with the highest probability, most confident first."""
        wrong = torch.nonzero(self.predictions != self.targets).flatten()
        confidence = self.probabilities.max(1).values[wrong]
        return wrong[confidence.argsort(descending=True)][:n]

    def most_confused(self, top: int = 10) -> pd.DataFrame:
        return metrics.most_confused(self.confusion_matrix(), top)


@dataclass
class History:
    """One row per mini-batch, plus the final measurements on the whole training and test sets.

    `train_seconds` is the wall time of the training loop, including its periodic test evaluations
    (they are part of what a student waits for), excluding the final whole-set measurements.
    """

    label: str
    model: str
    parameters: int
    epochs: int
    frame: pd.DataFrame = field(repr=False)
    final: dict = field(default_factory=dict)
    train_seconds: float = 0.0
    test: Evaluation | None = field(default=None, repr=False)

    def record(self) -> dict:
        """This run as one `runs` entry of metrics.json."""
        from .records import run_record

        per_class = self.test.per_class_accuracy()["accuracy"].tolist() if self.test else []
        return run_record(self.model, self.parameters, self.epochs, self.final, self.train_seconds, per_class)

    def summary(self) -> dict:
        return {"run": self.label, "model": self.model, "parameters": self.parameters, "epochs": self.epochs,
                **{k: round(v, 4) for k, v in self.final.items()}}


def _autocast(device: torch.device, bf16: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()


def _prepare(inputs, device, channels_last: bool):
    if channels_last:
        return tuple(x.contiguous(memory_format=torch.channels_last) for x in inputs)
    return inputs


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


def _logits(model, dataset, batch_size, channels_last, bf16):
    """Yield (float32 logits, targets) over the whole set, in its order."""
    device = dataset.device
    if embeds_once(model, dataset):
        with _autocast(device, bf16):
            embeddings = torch.cat([model.embed(*_prepare(inputs, device, channels_last))
                                    for inputs, _ in batches(dataset.images, batch_size)])
        for start in range(0, len(dataset), batch_size):
            chosen = dataset.pairs[start:start + batch_size].long()
            with _autocast(device, bf16):
                logits = model.compare(embeddings[chosen[:, 0]], embeddings[chosen[:, 1]])
            yield logits.float(), dataset.targets[start:start + batch_size]
        return
    for inputs, targets in batches(dataset, batch_size):
        with _autocast(device, bf16):
            logits = model(*_prepare(inputs, device, channels_last))
        yield logits.float(), targets


@torch.inference_mode()
def _loss_and_accuracy(model, dataset, batch_size, channels_last, bf16, keep=False):
    """Mean loss and accuracy over a whole set; with `keep`, also the predictions and probabilities."""
    was_training = model.training
    model.eval()
    total_loss = torch.zeros((), device=dataset.device)
    correct = torch.zeros((), device=dataset.device, dtype=torch.int64)
    kept = []
    for logits, targets in _logits(model, dataset, batch_size, channels_last, bf16):
        total_loss += F.cross_entropy(logits, targets, reduction="sum")
        predictions = logits.argmax(1)
        correct += (predictions == targets).sum()
        if keep:
            kept.append((predictions.cpu(), targets.cpu(), logits.softmax(1).cpu()))
    model.train(was_training)
    n = len(dataset)
    return total_loss.item() / n, correct.item() / n, kept


def evaluate(model: nn.Module, dataset, *, batch_size: int = 1000, channels_last: bool = True,
             bf16: bool = False) -> Evaluation:
    """Predictions, probabilities, loss and accuracy of `model` on every item of `dataset`, in inference mode.

    A Siamese net on a pair set embeds each pool image once (see `embeds_once`); the logits are those
    of its forward pass, up to float rounding.
    """
    loss, accuracy, kept = _loss_and_accuracy(model, dataset, batch_size, channels_last, bf16, keep=True)
    predictions, targets, probabilities = (torch.cat(part) for part in zip(*kept))
    return Evaluation(predictions, targets, probabilities, loss, accuracy, tuple(dataset.classes))


def default_eval_every(train_size: int, test_cost: float, batch_size: int) -> int:
    """Steps between test evaluations so that evaluating costs about a quarter of training.

    A forward pass costs about a third of a training step, so an evaluation of `test_cost`
    items' forward passes (`evaluation_cost`) costs about test_cost / (3 * batch_size) steps.
    """
    cost_in_steps = test_cost / (3 * batch_size)
    steps_per_epoch = math.ceil(train_size / batch_size)
    return max(1, min(steps_per_epoch, round(4 * cost_in_steps)))


def _optimizer(name: str, parameters, lr: float, weight_decay: float):
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {OPTIMIZERS}")


def _scheduler(name, optimizer, lr: float, total_steps: int):
    if name is None:
        return None
    if name == "onecycle":
        if total_steps < 4:  # too short to warm up and anneal: OneCycleLR would divide by zero
            return None
        warmup = max(0.2, 2 / total_steps)
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps, pct_start=warmup)
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    raise ValueError(f"unknown scheduler {name!r}; choose one of {SCHEDULERS}")


def _check_arguments(train, test, epochs, lr, batch_size, eval_every):
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if eval_every is not None and (not isinstance(eval_every, int) or eval_every < 1):
        raise ValueError(f"eval_every must be a positive int or None (automatic), got {eval_every!r}")
    if train.num_classes != test.num_classes:
        raise ValueError(f"train has {train.num_classes} classes but test has {test.num_classes}")
    if train.device != test.device:
        raise ValueError(f"train is on {train.device} but test is on {test.device}; move both with .to(device)")


def fit(model: nn.Module, train, test, *, epochs: int, lr: float, optimizer: str = "adam",
        weight_decay: float = 0.0, scheduler: str | None = "onecycle", batch_size: int = 128,
        eval_every: int | None = None, seed: int = 0, shuffle: bool = True, augment=None, class_weights=None,
        channels_last: bool = True, bf16="auto", live: bool = True, progress: bool = True,
        label: str | None = None, checkpoint: str | os.PathLike | None = None) -> History:
    """Train `model` on `train` with cross-entropy and record every mini-batch; return a History.

    Every `eval_every` steps (and after the last) the whole `test` set is evaluated, so the
    History holds the train loss of every mini-batch and the test loss and accuracy after it.
    At the end, loss and accuracy on the whole training set (no augmentation) and test set.
    `train` may be an ImageSet, a PairSet, or a set that draws fresh items each epoch
    (`for_epoch(generator)`, measured at the end on its `evaluation_set()`).
    `shuffle=False` keeps the training set's own order (to study what a sorted set does).
    `bf16="auto"` autocasts to bf16 only where the machine computes it natively (`env.resolve_bf16`); `checkpoint` saves model and optimizer after every epoch.
    """
    _check_arguments(train, test, epochs, lr, batch_size, eval_every)
    device = train.device
    bf16 = resolve_bf16(bf16, device)
    label = label or type(model).__name__
    generator = seed_everything(seed)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    steps_per_epoch = math.ceil(len(train) / batch_size)
    total_steps = epochs * steps_per_epoch
    eval_every = eval_every or default_eval_every(len(train), evaluation_cost(model, test), batch_size)
    opt = _optimizer(optimizer, model.parameters(), lr, weight_decay)
    sched = _scheduler(scheduler, opt, lr, total_steps)
    weight = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32, device=device)
    parameters = sum(p.numel() for p in model.parameters())

    losses = torch.zeros(total_steps, device=device)  # filled on the device: no host sync per step
    rows: list[dict] = []
    synced = 0  # steps whose losses have been read back
    plot = LivePlot(label, total_steps, enabled=live and in_notebook())
    line = Progress(label, total_steps, enabled=progress and in_notebook())
    history = History(label, type(model).__name__, parameters, epochs, pd.DataFrame(columns=HISTORY_COLUMNS))

    def sync(step: int, tested: tuple | None) -> None:
        """Read back the losses of steps synced..step and append their rows; stop on a non-finite loss."""
        nonlocal synced
        values = losses[synced:step + 1].tolist()
        for offset, value in enumerate(values):
            s = synced + offset
            if not math.isfinite(value):
                history.frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
                last = next((r["train_loss"] for r in reversed(rows)), float("nan"))
                raise TrainingDiverged(
                    f"{label}: loss became {value} at step {s + 1} (epoch {s // steps_per_epoch + 1}); "
                    f"last finite loss {last:.4f}. Lower the learning rate (lr={lr}) or check the inputs.", history)
            rows.append({"step": s + 1, "epoch": s // steps_per_epoch + 1, "train_loss": value,
                         "test_loss": float("nan"), "test_accuracy": float("nan"),
                         "lr": step_lr[s], "seconds": step_seconds[s]})
        if tested is not None:
            rows[-1]["test_loss"], rows[-1]["test_accuracy"] = tested
        synced = step + 1

    step_lr, step_seconds = [0.0] * total_steps, [0.0] * total_steps
    model.train()
    start = time.perf_counter()
    step = -1
    for epoch in range(1, epochs + 1):
        epoch_set = train.for_epoch(generator) if hasattr(train, "for_epoch") else train
        for inputs, targets in batches(epoch_set, batch_size, shuffle=shuffle, augment=augment, generator=generator):
            step += 1
            with _autocast(device, bf16):
                logits = model(*_prepare(inputs, device, channels_last))
            loss = F.cross_entropy(logits.float(), targets, weight=weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step_lr[step] = opt.param_groups[0]["lr"]
            if sched is not None:
                sched.step()
            losses[step] = loss.detach()
            step_seconds[step] = time.perf_counter() - start
            evaluate_now = (step + 1) % eval_every == 0 or step + 1 == total_steps
            if evaluate_now or plot.due() or line.due():
                tested = _loss_and_accuracy(model, test, 1000, channels_last, bf16)[:2] if evaluate_now else None
                sync(step, tested)
                status = f"epoch {epoch}/{epochs}  loss {rows[-1]['train_loss']:.4f}"
                if plot.due():
                    plot.update(pd.DataFrame(rows, columns=HISTORY_COLUMNS), f"step {step + 1}/{total_steps}  {status}")
                line.update(step + 1, status)
        if checkpoint is not None:
            save_checkpoint(checkpoint, model, opt, epoch)
    history.train_seconds = time.perf_counter() - start
    history.frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    done = f"epoch {epochs}/{epochs}  loss {rows[-1]['train_loss']:.4f}"
    plot.update(history.frame, f"step {total_steps}/{total_steps}  {done}", force=True)
    line.update(total_steps, done, force=True)

    train_set = train.evaluation_set() if hasattr(train, "evaluation_set") else train
    train_loss, train_accuracy, _ = _loss_and_accuracy(model, train_set, 1000, channels_last, bf16)
    history.test = evaluate(model, test, channels_last=channels_last, bf16=bf16)
    history.final = {"train_accuracy": train_accuracy, "train_loss": train_loss,
                     "test_accuracy": history.test.accuracy, "test_loss": history.test.loss}
    return history


def save_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer=None, epoch: int | None = None) -> Path:
    """Save model (and optimizer) state atomically: a temporary file, then a rename; never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"model": model.state_dict(), "epoch": epoch,
             "optimizer": optimizer.state_dict() if optimizer is not None else None}
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        torch.save(state, tmp)
    os.replace(tmp.name, path)
    return path


def load_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer=None) -> int | None:
    """Restore a checkpoint written by save_checkpoint; return its epoch."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    if optimizer is not None and state.get("optimizer") is not None:
        optimizer.load_state_dict(state["optimizer"])
    return state.get("epoch")
