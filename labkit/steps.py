"""What fit does around each mini-batch: the per-step log, the per-step test, and the stop request.

StepLog keeps the History's rows on the device until they are read (and raises TrainingDiverged at a
non-finite loss); StepTest measures the test loss and accuracy after each step, on one test batch or
the whole test set ("auto": one test batch, see StepTest); StopRequest
turns the first interrupt into "stop after this step".
"""

from __future__ import annotations

import math
import signal
import threading

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .compute import Compute
from .evaluate import totals

HISTORY_COLUMNS = ["step", "epoch", "train_loss", "test_loss", "test_accuracy", "test_scope", "test_set_loss",
                   "test_set_accuracy", "val_loss", "val_accuracy", "lr", "seconds"]
ONE_TEST_BATCH, WHOLE_TEST_SET = "one test batch", "whole test set"


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite. `history` (a labkit.train.History) holds every step before it."""

    def __init__(self, message: str, history=None):
        super().__init__(message)
        self.history = history


class StepLog:
    """The History's rows. Per-step numbers stay on the device until a row is needed.

    Reading a number back makes the host wait for the device, so a step only writes into a device
    buffer; `sync` reads back every step since the last sync at once (for a measurement, a redraw,
    the end) and raises TrainingDiverged at the first non-finite training loss.
    """

    def __init__(self, total_steps: int, steps_per_epoch: int, device, label: str, lr: float):
        self.steps_per_epoch, self.label, self.lr_setting = steps_per_epoch, label, lr
        self.values = torch.full((3, total_steps), math.nan, device=device)  # train loss, test loss, test accuracy
        self.step_lr, self.step_seconds, self.step_scope = [0.0] * total_steps, [0.0] * total_steps, [""] * total_steps
        self.columns: dict[str, list] = {name: [] for name in HISTORY_COLUMNS}
        self.steps = 0  # steps recorded; rows exist for the synced ones

    def record(self, loss, test_loss, test_accuracy, lr: float, seconds: float, scope: str) -> None:
        s = self.steps
        self.values[:, s] = torch.stack([loss.detach(), test_loss, test_accuracy])
        self.step_lr[s], self.step_seconds[s], self.step_scope[s] = lr, seconds, scope
        self.steps = s + 1

    def sync(self) -> None:
        start = len(self.columns["step"])
        if start == self.steps:
            return
        train, test, accuracy = self.values[:, start:self.steps].tolist()
        for s, loss, test_loss, test_accuracy in zip(range(start, self.steps), train, test, accuracy):
            if not math.isfinite(loss):
                self.steps = s
                last = self.columns["train_loss"][-1] if s else float("nan")
                raise TrainingDiverged(
                    f"{self.label}: loss became {loss} at step {s + 1} (epoch {s // self.steps_per_epoch + 1}); "
                    f"last finite loss {last:.4f}. Lower the learning rate (lr={self.lr_setting}) or check the inputs.")
            row = {"step": s + 1, "epoch": s // self.steps_per_epoch + 1, "train_loss": loss,
                   "test_loss": test_loss, "test_accuracy": test_accuracy, "test_scope": self.step_scope[s],
                   "test_set_loss": math.nan, "test_set_accuracy": math.nan, "val_loss": math.nan,
                   "val_accuracy": math.nan, "lr": self.step_lr[s], "seconds": self.step_seconds[s]}
            for name, value in row.items():
                self.columns[name].append(value)

    def set_measurement(self, step: int, prefix: str, loss: float, accuracy: float) -> None:
        """Put a whole-set measurement ("test_set" or "val") on the row of `step` (1-based, synced)."""
        self.columns[f"{prefix}_loss"][step - 1] = loss
        self.columns[f"{prefix}_accuracy"][step - 1] = accuracy

    def epoch_mean_train_loss(self, epoch: int) -> float:
        """Mean training loss of the rows of `epoch` (1-based)."""
        losses = [v for e, v in zip(self.columns["epoch"], self.columns["train_loss"]) if e == epoch]
        return sum(losses) / max(len(losses), 1)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.columns, columns=HISTORY_COLUMNS)

    def restore(self, columns: dict) -> None:
        self.columns = {name: list(columns[name]) for name in HISTORY_COLUMNS}
        self.steps = len(self.columns["step"])


def _synchronize(device: torch.device) -> None:
    """Wait for the device, so that wall-clock timings mean something."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


class StepTest:
    """The test loss and accuracy after every mini-batch: on one test batch, or on the whole test set.

    One test batch is the next `batch_size` items of a fixed permutation of the test set drawn from its
    own generator (seeded with `seed`; the training generator is not touched), cycling so that the whole
    set is covered in turn. "auto" is one test batch: the whole test set after every step costs more than
    a training step on the CPUs and GPUs measured (studies/), "whole" asks for it anyway. The choice never
    depends on a timing, so two runs of one seed (and a resumed run) measure the same thing.
    """

    def __init__(self, test, batch_size: int, seed: int, step_test: str, compute: Compute):
        self.test, self.compute = test, compute
        self.batch_size = min(batch_size, len(test))
        order = torch.randperm(len(test), generator=torch.Generator().manual_seed(seed)).to(test.device)
        self.cycle = torch.cat([order, order[:self.batch_size]])  # a batch that wraps around is one slice
        self.scope = WHOLE_TEST_SET if step_test == "whole" else ONE_TEST_BATCH  # "auto" and "batch"

    def measure(self, model: nn.Module, step: int) -> tuple[torch.Tensor, torch.Tensor, str]:
        """(loss, accuracy, scope) after 0-based `step`, as tensors on the device (nothing read back)."""
        if self.scope == WHOLE_TEST_SET:
            loss_sum, correct = totals(model, self.test, self.compute)
            return loss_sum / len(self.test), correct / len(self.test), WHOLE_TEST_SET
        loss, accuracy = self._one_batch(model, step)
        return loss, accuracy, ONE_TEST_BATCH

    @torch.inference_mode()
    def _one_batch(self, model: nn.Module, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        start = (step * self.batch_size) % len(self.test)
        inputs, targets = self.test.batch(self.cycle[start:start + self.batch_size])
        was_training = model.training
        model.eval()
        try:
            with self.compute.autocast():
                logits = model(*self.compute.inputs(inputs)).float()
        finally:
            model.train(was_training)
        return F.cross_entropy(logits, targets), (logits.argmax(1) == targets).float().mean()


class StopRequest:
    """While active, the first interrupt (Ctrl-C, Jupyter's stop button) asks the loop to stop after the
    current step instead of raising inside it; a second one raises KeyboardInterrupt as usual.

    Python's signal handlers can only be set from the main thread; elsewhere the interrupt arrives as a
    KeyboardInterrupt raised inside the step, which fit catches too.
    """

    def __init__(self):
        self.requested = False
        self.previous = None

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if previous is not None:  # None: set outside Python, it could not be put back
                self.previous = previous
                signal.signal(signal.SIGINT, self._interrupt)
        return self

    def _interrupt(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
