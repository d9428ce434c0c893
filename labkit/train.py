"""fit(): one training loop for both labs, with a clean stop, exact resume and checkpoints.

    recipe = Recipe(epochs=6, lr=3e-3)
    fit(model, train, test, recipe)                         -> History: one row per mini-batch
    fit(model, train, test, recipe, checkpoint="run.pt")    saved after every epoch and when stopped
    fit(..., checkpoint="run.pt", resume=True)              continues it: the numbers of one uninterrupted run

A model maps inputs to class logits (10 digits, or 2 for pairs), so one cross-entropy and one loop
serve every notebook. Data sets are already on the device (`labkit.data`); a step is an index, a
forward, a backward. The settings of a run are one `labkit.Recipe`; this module holds fit and the History
it returns; the parts live below it: `labkit.optim` (optimizer and schedule), `labkit.steps` (the per-step
log, the per-step test, the stop request), `labkit.checkpoint`, `labkit.compute` (device, precision, layout)
and `labkit.evaluate` (whole-set measurements).
"""

from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import dataclass, field

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import lr_scheduler as schedules

from .checkpoint import CHECKPOINT_FORMAT, check_same_run, read_checkpoint, rng_state, set_rng_state, write_checkpoint
from .compute import Compute
from .data import batches
from .env import seed_everything
from .evaluate import Evaluation, evaluation_cost, measure
from .live import LivePlot, Progress, in_notebook
from .optim import make_optimizer, make_scheduler
from .recipe import Recipe
from .steps import ONE_TEST_BATCH, StepLog, StepTest, StopRequest, TrainingDiverged


class AlreadyTrainedWarning(UserWarning):
    """fit() was called on a model that fit() has trained already: the new run starts from trained weights."""


# ---------------------------------------------------------------- the result


@dataclass
class History:
    """One row per mini-batch (`frame`, columns labkit.steps.HISTORY_COLUMNS), and the final whole-set measurements.

    `recipe` is the Recipe the run followed; `precision` the one it trained in ("bf16" or "fp32", what
    the recipe's "auto" resolved to), `eval_every` the steps between its whole-set measurements, `sizes` the
    items of its train, test and validation sets. `train_seconds` is the wall time of the training loop,
    including the per-step and periodic test measurements, excluding the final measurements. `interrupted`
    says the run was stopped (the stop button, Ctrl-C); `stopped_at` is its last completed step.
    `epoch_seeds`: for a training set that draws fresh items every epoch (RandomPairs), the seed of each
    epoch's draw, so that `train.trained_pairs(history.epoch_seeds)` gives back what the network was trained
    on. `weights`: the trained model's state_dict, on the CPU (a Report saves it beside the history).
    """

    label: str
    model: str
    parameters: int
    recipe: Recipe
    frame: pd.DataFrame = field(repr=False)
    final: dict = field(default_factory=dict)
    train_seconds: float = 0.0
    test: Evaluation | None = field(default=None, repr=False)
    val: Evaluation | None = field(default=None, repr=False)
    precision: str = "fp32"
    eval_every: int = 1
    sizes: dict = field(default_factory=dict)
    interrupted: bool = False
    stopped_at: int = 0
    epoch_seeds: list = field(default_factory=list, repr=False)
    weights: dict | None = field(default=None, repr=False)

    @property
    def epochs(self) -> int:
        return self.recipe.epochs

    def record(self) -> dict:
        """This run as one `runs` entry of metrics.json: results, the recipe as followed, what it resolved to."""
        from .records import run_record

        per_class = self.test.per_class_accuracy()["accuracy"].tolist() if self.test else []
        return {**run_record(self.model, self.parameters, self.epochs, self.final, self.train_seconds, per_class),
                "recipe": self.recipe.record(), "precision": self.precision, "eval_every": self.eval_every,
                "sizes": dict(self.sizes), "steps": self.stopped_at, "interrupted": self.interrupted}

    def summary(self) -> dict:
        return {"run": self.label, "model": self.model, "parameters": self.parameters, "epochs": self.epochs,
                **{k: round(v, 4) for k, v in self.final.items()}}

    @property
    def scopes(self) -> dict[str, str]:
        """What each loss column was measured on, in words (for a lab report's captions)."""
        every = f"every {self.eval_every} mini-batches and after the last"
        used = list(dict.fromkeys(self.frame["test_scope"])) if len(self.frame) else []
        batch = f"one test batch of {self.recipe.test_batch_size} items, cycling through the test set"
        per_step = " then ".join(batch if scope == ONE_TEST_BATCH else "the whole test set" for scope in used)
        val_size = self.sizes.get("val")
        return {
            "train_loss": "each mini-batch, in training mode, as it was trained on",
            "test_loss": f"after each mini-batch: {per_step or 'no steps'}",
            "test_set_loss": f"the whole test set ({self.sizes.get('test')} items) {every}",
            "val_loss": f"the whole validation set ({val_size} items) {every}" if val_size else "no validation set",
        }


# ---------------------------------------------------------------- fit


EVAL_SHARE = 0.05  # the whole-set evaluations' cost, as a share of training (the per-step test is apart)


def default_eval_every(train_size: int, test_cost: float, batch_size: int) -> int:
    """Steps between whole-test-set evaluations so that evaluating costs about EVAL_SHARE of training, and at
    least once an epoch.

    A forward pass costs about a third of a training step, so an evaluation of `test_cost`
    items' forward passes (`evaluation_cost`) costs about test_cost / (3 * batch_size) steps.
    The per-step test loss already draws the test curve of every mini-batch; the whole sets give its exact
    points, and more of them would cost training time without changing what is trained.
    """
    cost_in_steps = test_cost / (3 * batch_size)
    steps_per_epoch = math.ceil(train_size / batch_size)
    return max(1, min(steps_per_epoch, round(cost_in_steps / EVAL_SHARE)))


def _check_sets(train, test, val) -> None:
    for name, other in (("test", test), ("val", val)):
        if other is None:
            continue
        if other.num_classes != train.num_classes:
            raise ValueError(f"train has {train.num_classes} classes but {name} has {other.num_classes}")
        if other.device != train.device:
            raise ValueError(f"train is on {train.device} but {name} is on {other.device}; move both with .to(device)")


def _warn_if_trained(model: nn.Module, resume: bool) -> None:
    if getattr(model, "_labkit_fitted", False) and not resume:
        warnings.warn(AlreadyTrainedWarning(
            f"this {type(model).__name__} was trained by fit() already: this run continues from its trained weights, "
            f"so its numbers are not those of a fresh run. To start fresh, build the model in the training cell: "
            f"model = models.build(name, seed=...). To continue a stopped run, pass checkpoint=... and resume=True."),
            stacklevel=3)


def fit(model: nn.Module, train, test, recipe: Recipe, *, val=None, label: str | None = None, live: bool = True,
        progress: bool = True, checkpoint: str | os.PathLike | None = None, resume: bool = False) -> History:
    """Train `model` on `train` with cross-entropy as `recipe` says, record every mini-batch, return a History.

    Every row holds that mini-batch's training loss and, measured right after its update, the test loss
    and accuracy on one test batch or on the whole test set (the recipe's `step_test`). Every `eval_every`
    steps and after the last, the whole test set and the validation set `val` (an ImageSet or PairSet, or
    None) are measured too. At the end: loss and accuracy on the whole training set (no augmentation;
    `train.evaluation_set()` for a set that draws fresh items each epoch, RandomPairs), the test set and
    the validation set. A schedule steps per batch or per epoch as it expects; ReduceLROnPlateau steps each
    epoch on the validation loss when there is a val set, else on the epoch's mean training loss. The `lr`
    column holds the rate each step used.

    Stopping: an interrupt (Jupyter's stop button, Ctrl-C) ends training after the current step; fit
    then saves the checkpoint, still does the final whole-set measurements (a second interrupt aborts
    them with KeyboardInterrupt) and returns the History with `interrupted=True`, `stopped_at` its
    last step. `checkpoint` is saved after every epoch and when stopped; `resume=True` continues from it
    so that, on a CPU, the History (all but `seconds`) and the weights equal those of one uninterrupted
    run. Calling fit again on a trained model warns (AlreadyTrainedWarning) unless resuming.
    """
    if not isinstance(recipe, Recipe):
        raise ValueError(f"recipe must be a labkit.Recipe, e.g. Recipe(epochs=6, lr=3e-3); got {recipe!r}")
    _check_sets(train, test, val)
    if resume and checkpoint is None:
        raise ValueError("resume=True continues from a checkpoint: pass checkpoint=<path of the stopped run>")
    _warn_if_trained(model, resume)
    run = _Run(model, train, test, val, recipe, label or type(model).__name__, checkpoint)
    if resume:
        run.restore(read_checkpoint(checkpoint), checkpoint)
    run.display(live, progress)
    try:
        run.train()
    except TrainingDiverged as error:
        error.history = run.history()
        raise
    finally:
        if run.log.steps:
            model._labkit_fitted = True  # the retraining guard's mark
    return run.finish()


def _draw_epoch(train_set, generator: torch.Generator):
    """(the set one epoch trains on, the seed it was drawn with): fresh items from a set that draws them every
    epoch (`epoch_seed` and `sample`, as RandomPairs), else (the set itself, None)."""
    if hasattr(train_set, "epoch_seed"):
        seed = train_set.epoch_seed(generator)
        return train_set.sample(seed), seed
    return train_set, None


class _Run:
    """One fit call's state; `train` is the loop, the other methods the parts it calls."""

    def __init__(self, model, train_set, test, val, recipe: Recipe, label: str, checkpoint):
        self.model, self.train_set, self.test, self.val, self.recipe = model, train_set, test, val, recipe
        self.label, self.checkpoint = label, checkpoint
        self.device = train_set.device
        self.compute = Compute.choose(self.device, recipe.precision, recipe.channels_last)
        self.generator = seed_everything(recipe.seed, deterministic=recipe.deterministic)
        self.compute.place(model)
        self.steps_per_epoch = math.ceil(len(train_set) / recipe.batch_size)
        self.total_steps = recipe.epochs * self.steps_per_epoch
        self.eval_every = recipe.eval_every or default_eval_every(len(train_set), evaluation_cost(model, test),
                                                                  recipe.batch_size)
        self.optimizer = make_optimizer(recipe.optimizer, model, recipe.lr, recipe.weight_decay)
        self.scheduler, self.per_batch = make_scheduler(recipe.scheduler, self.optimizer, recipe.lr, recipe.epochs,
                                                        self.steps_per_epoch, recipe.scheduler_options,
                                                        recipe.scheduler_interval)
        self.weight = None if recipe.class_weights is None else torch.tensor(recipe.class_weights,
                                                                             device=self.device)
        self.step_test = StepTest(test, recipe.test_batch_size, recipe.seed, recipe.step_test, self.compute)
        self.parameters = sum(p.numel() for p in model.parameters())
        self.sizes = {"train": len(train_set), "test": len(test), "val": None if val is None else len(val)}
        self.log = StepLog(self.total_steps, self.steps_per_epoch, self.device, label, recipe.lr)
        self.epoch, self.batches_done = 0, 0  # the epoch in progress (0-based) and its steps done
        self.epoch_seeds: list[int] = []  # the seed of each epoch's fresh draw (RandomPairs), else empty
        self.epoch_start_state = self.generator.get_state()
        self.seconds_before = 0.0  # training time of the sessions before a resume
        self.started = time.perf_counter()
        self.interrupted = False

    def identity(self) -> dict:
        """What a checkpoint must share with this run to be resumed by it."""
        return {"model": type(self.model).__name__, "parameters": self.parameters, "recipe": self.recipe.record(),
                "sizes": self.sizes}

    def restore(self, state: dict, path) -> None:
        """Continue the run saved in `state`: weights, optimizer, schedule, random states, rows so far."""
        if state.get("format") != CHECKPOINT_FORMAT or "run" not in state:
            raise ValueError(f"checkpoint {path} holds no training state to resume (format {state.get('format')!r}); "
                             f"fit(..., checkpoint=path) writes one")
        check_same_run(state["run"], self.identity(), path)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.log.restore(state["history"]["columns"])
        self.seconds_before = state["history"]["train_seconds"]
        self.epoch, self.batches_done = state["epoch_in_progress"], state["batches_done"]
        self.epoch_start_state = state["epoch_generator_state"]
        self.epoch_seeds = list(state.get("epoch_seeds", []))
        self.generator.set_state(self.epoch_start_state)
        set_rng_state(state["rng"], self.device)
        self.step_test.scope = state["step_test"]

    def display(self, live: bool, progress: bool) -> None:
        self.plot = LivePlot(self.label, self.total_steps, enabled=live and in_notebook())
        self.line = Progress(self.label, self.total_steps, enabled=progress and in_notebook())

    def train(self) -> None:
        """The loop: epochs of mini-batches; per step a train step, the test after it, and what is due."""
        self.started = time.perf_counter()
        self.model.train()
        with StopRequest() as stop:
            try:
                while self.epoch < self.recipe.epochs:  # end_epoch() moves on to the next
                    self.epoch_start_state = self.generator.get_state()
                    for inputs, targets in self.epoch_batches(skip=self.batches_done):
                        lr = self.optimizer.param_groups[0]["lr"]
                        loss = self.train_step(inputs, targets)
                        test_loss, test_accuracy, scope = self.step_test.measure(self.model, self.log.steps)
                        self.log.record(loss, test_loss, test_accuracy, lr, self.elapsed(), scope)
                        self.batches_done += 1
                        self.measure_if_due()
                        if stop.requested:
                            raise KeyboardInterrupt
                    self.end_epoch()
            except KeyboardInterrupt:
                self.interrupted = True
        if self.interrupted:  # outside StopRequest: a second interrupt while saving raises
            self.log.sync()
            self.save(interrupted=True)

    def epoch_batches(self, skip: int):
        """This epoch's mini-batches, drawn with the training generator. The first `skip` (done before a
        resume) are drawn again but not trained on, so the generator advances exactly as in one run."""
        epoch_set, seed = _draw_epoch(self.train_set, self.generator)
        if seed is not None:
            self.epoch_seeds[self.epoch:] = [seed]  # a resumed epoch draws its seed again: replace, never add
        for index, batch in enumerate(batches(epoch_set, self.recipe.batch_size, shuffle=self.recipe.shuffle,
                                              augment=self.recipe.augment, generator=self.generator)):
            if index >= skip:
                yield batch

    def train_step(self, inputs, targets) -> torch.Tensor:
        """One mini-batch: forward under the run's precision, cross-entropy, backward, the optimizer's step and,
        when the schedule is per batch, the schedule's. Returns the loss (not synchronised)."""
        with self.compute.autocast():
            logits = self.model(*self.compute.inputs(inputs))
        loss = F.cross_entropy(logits.float(), targets, weight=self.weight)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.scheduler is not None and self.per_batch:
            self.scheduler.step()
        return loss

    def elapsed(self) -> float:
        return self.seconds_before + time.perf_counter() - self.started

    def measure_if_due(self) -> None:
        """The whole test and validation sets every `eval_every` steps; the live display when due."""
        step = self.log.steps
        if step % self.eval_every == 0 and step < self.total_steps:  # the last step is measured in finish()
            self.log.sync()
            self.measure_sets(step)
        if self.plot.due() or self.line.due():
            self.log.sync()
            self.show()

    def measure_sets(self, step: int) -> None:
        for prefix, dataset in (("test_set", self.test), ("val", self.val)):
            if dataset is not None:
                measured = measure(self.model, dataset, self.compute, keep_predictions=False)
                self.log.set_measurement(step, prefix, measured.loss, measured.accuracy)

    def end_epoch(self) -> None:
        """Step an epoch-wise schedule, then save the checkpoint (the next epoch starts from here)."""
        if self.scheduler is not None and not self.per_batch:
            if isinstance(self.scheduler, schedules.ReduceLROnPlateau):
                self.scheduler.step(self.plateau_loss())
            else:
                self.scheduler.step()
        self.epoch, self.batches_done, self.epoch_start_state = self.epoch + 1, 0, self.generator.get_state()
        self.save(interrupted=False)

    def plateau_loss(self) -> float:
        """ReduceLROnPlateau's measure: the validation loss, else the epoch's mean training loss."""
        self.log.sync()
        if self.val is None:
            return self.log.epoch_mean_train_loss(self.epoch + 1)
        measured = measure(self.model, self.val, self.compute, keep_predictions=False)
        if math.isnan(self.log.columns["val_loss"][self.log.steps - 1]):
            self.log.set_measurement(self.log.steps, "val", measured.loss, measured.accuracy)
        return measured.loss

    def save(self, interrupted: bool) -> None:
        if self.checkpoint is None:
            return
        write_checkpoint(self.checkpoint, {
            "format": CHECKPOINT_FORMAT, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "epoch": self.log.steps // self.steps_per_epoch, "step": self.log.steps,
            "epoch_in_progress": self.epoch, "batches_done": self.batches_done,
            "epoch_generator_state": self.epoch_start_state, "epoch_seeds": list(self.epoch_seeds),
            "rng": rng_state(self.device),
            "history": {"columns": self.log.columns, "train_seconds": self.elapsed()},
            "run": self.identity(), "step_test": self.step_test.scope, "interrupted": interrupted})

    def status(self) -> str:
        losses = self.log.columns["train_loss"]
        loss = f"  loss {losses[-1]:.4f}" if losses else ""
        stopped = f"  interrupted at step {self.log.steps}" if self.interrupted else ""
        return f"epoch {min(self.epoch + 1, self.recipe.epochs)}/{self.recipe.epochs}{loss}{stopped}"

    def show(self, final: bool = False) -> None:
        step = f"step {self.log.steps}/{self.total_steps}  "
        self.plot.update(self.log.frame(), step + self.status(), force=final, final=final)
        self.line.update(self.log.steps, self.status(), force=final)

    def finish(self) -> History:
        """The final whole-set measurements (also after a stop), and the History."""
        train_seconds = self.elapsed()
        self.log.sync()
        train_set = self.train_set.evaluation_set() if hasattr(self.train_set, "evaluation_set") else self.train_set
        train_measured = measure(self.model, train_set, self.compute, keep_predictions=False)
        test = measure(self.model, self.test, self.compute)
        val = measure(self.model, self.val, self.compute) if self.val is not None else None
        final = {"train_accuracy": train_measured.accuracy, "train_loss": train_measured.loss,
                 "test_accuracy": test.accuracy, "test_loss": test.loss}
        if self.log.steps:  # the whole sets after the last step are these final measurements
            self.log.set_measurement(self.log.steps, "test_set", test.loss, test.accuracy)
        if val is not None:
            final.update(val_accuracy=val.accuracy, val_loss=val.loss)
            if self.log.steps:
                self.log.set_measurement(self.log.steps, "val", val.loss, val.accuracy)
        self.show(final=True)
        return self.history(final, train_seconds, test, val)

    def history(self, final: dict | None = None, train_seconds: float | None = None, test=None, val=None) -> History:
        """The History of the steps synced so far (all of them after finish, the good ones after a divergence)."""
        seconds = self.elapsed() if train_seconds is None else train_seconds
        weights = {name: tensor.detach().cpu().clone() for name, tensor in self.model.state_dict().items()}
        return History(self.label, type(self.model).__name__, self.parameters, self.recipe, self.log.frame(),
                       final or {}, seconds, test, val, self.compute.precision, self.eval_every, dict(self.sizes),
                       self.interrupted, self.log.steps, list(self.epoch_seeds), weights)


def runs_table(histories: dict) -> pd.DataFrame:
    """One row per named run: model, parameters, epochs, final train/test accuracy and loss, training seconds."""
    rows = [{**history.summary(), "run": name, "train_seconds": round(history.train_seconds, 1)}
            for name, history in histories.items()]
    return pd.DataFrame(rows).set_index("run")
