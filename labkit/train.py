"""fit(): one training loop for both labs, with a clean stop, exact resume and checkpoints.

    fit(model, train, test, epochs=6, lr=3e-3)          -> History: one row per mini-batch
    fit(..., checkpoint="run.pt")                       saved after every epoch and when stopped
    fit(..., checkpoint="run.pt", resume=True)          continues it: the numbers of one uninterrupted run

A model maps inputs to class logits (10 digits, or 2 for pairs), so one cross-entropy and one loop
serve every notebook. Data sets are already on the device (`labkit.data`); a step is an index, a
forward, a backward. This module holds fit, the History it returns and the argument checks; the
parts live below it: `labkit.optim` (optimizer and schedule), `labkit.steps` (the per-step log, the
per-step test, the stop request), `labkit.checkpoint` and `labkit.evaluate` (whole-set measurements).
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

from .checkpoint import (  # noqa: F401  (save_checkpoint, load_checkpoint re-exported)
    CHECKPOINT_FORMAT,
    check_same_run,
    load_checkpoint,
    read_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
    write_checkpoint,
)
from .data import batches
from .env import precision_name, resolve_bf16, seed_everything
from .evaluate import (  # noqa: F401  (re-exported: `from labkit.train import evaluate` keeps working)
    EVAL_BATCH_SIZE,
    Evaluation,
    autocast,
    embeds_once,
    evaluate,
    evaluation_cost,
    prepare,
    totals,
)
from .live import LivePlot, Progress, in_notebook
from .optim import make_optimizer, make_scheduler, spec_name
from .steps import (  # noqa: F401  (HISTORY_COLUMNS, choose_step_test re-exported)
    HISTORY_COLUMNS,
    ONE_TEST_BATCH,
    STEP_TESTS,
    WHOLE_TEST_SET,
    StepLog,
    StepTest,
    StopRequest,
    TrainingDiverged,
    choose_step_test,
)


class AlreadyTrainedWarning(UserWarning):
    """fit() was called on a model that fit() has trained already: the new run starts from trained weights."""


# ---------------------------------------------------------------- the result


@dataclass
class History:
    """One row per mini-batch (`frame`, columns HISTORY_COLUMNS), and the final whole-set measurements.

    `train_seconds` is the wall time of the training loop, including the per-step and periodic test
    measurements (they are part of what a student waits for), excluding the final measurements.
    `interrupted` says the run was stopped (the stop button, Ctrl-C); `stopped_at` is its last
    completed step. `settings` holds the values fit ran with, as plain data. `epoch_seeds`: for a training
    set that draws fresh items every epoch (RandomPairs), the seed of each epoch's draw, so that
    `train.trained_pairs(history.epoch_seeds)` gives back exactly what the network was trained on.
    """

    label: str
    model: str
    parameters: int
    epochs: int
    frame: pd.DataFrame = field(repr=False)
    final: dict = field(default_factory=dict)
    train_seconds: float = 0.0
    test: Evaluation | None = field(default=None, repr=False)
    val: Evaluation | None = field(default=None, repr=False)
    settings: dict = field(default_factory=dict, repr=False)
    interrupted: bool = False
    stopped_at: int = 0
    precision: str = "fp32"
    deterministic: bool = False
    epoch_seeds: list = field(default_factory=list, repr=False)

    def record(self) -> dict:
        """This run as one `runs` entry of metrics.json."""
        from .records import run_record

        per_class = self.test.per_class_accuracy()["accuracy"].tolist() if self.test else []
        return run_record(self.model, self.parameters, self.epochs, self.final, self.train_seconds, per_class)

    def summary(self) -> dict:
        return {"run": self.label, "model": self.model, "parameters": self.parameters, "epochs": self.epochs,
                **{k: round(v, 4) for k, v in self.final.items()}}

    @property
    def scopes(self) -> dict[str, str]:
        """What each loss column was measured on, in words (for a lab report's captions)."""
        settings = self.settings
        every = f"every {settings.get('eval_every')} mini-batches and after the last"
        used = list(dict.fromkeys(self.frame["test_scope"])) if len(self.frame) else []
        batch = f"one test batch of {settings.get('test_batch_size')} items, cycling through the test set"
        per_step = " then ".join(batch if scope == ONE_TEST_BATCH else "the whole test set" for scope in used)
        val_size = settings.get("val_size")
        return {
            "train_loss": "each mini-batch, in training mode, as it was trained on",
            "test_loss": f"after each mini-batch: {per_step or 'no steps'}",
            "test_set_loss": f"the whole test set ({settings.get('test_size')} items) {every}",
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


def _check_arguments(train, test, val, epochs, lr, batch_size, eval_every, step_test, test_batch_size):
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    for name, value, extra in (("batch_size", batch_size, ""), ("eval_every", eval_every, " or None (automatic)"),
                               ("test_batch_size", test_batch_size, " or None (batch_size)")):
        if (value is not None or not extra) and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a positive int{extra}, got {value!r}")
    if step_test not in STEP_TESTS:
        raise ValueError(f"step_test must be one of {STEP_TESTS}, got {step_test!r}")
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


def fit(model: nn.Module, train, test, *, epochs: int, lr: float, optimizer="adam", weight_decay: float = 0.0,
        scheduler="onecycle", scheduler_options: dict | None = None, scheduler_interval: str = "auto",
        batch_size: int = 128, eval_every: int | None = None, step_test: str = "auto",
        test_batch_size: int | None = None, val=None, seed: int = 0, deterministic: bool = False,
        shuffle: bool = True, augment=None, class_weights=None, channels_last: bool = True, bf16="auto",
        live: bool = True, progress: bool = True, label: str | None = None,
        checkpoint: str | os.PathLike | None = None, resume: bool = False) -> History:
    """Train `model` on `train` with cross-entropy, record every mini-batch, and return a History.

    Every row holds that mini-batch's training loss and, measured right after its update, the test loss
    and accuracy on one test batch (`test_batch_size`, default `batch_size`) or on the whole test set:
    `step_test` "batch", "whole", or "auto" (one test batch: the whole set costs more than a quarter of a
    step on the CPUs and the GPU measured, see labkit.steps.StepTest). Every `eval_every` steps and after
    the last, the whole test set and the validation set `val` (an ImageSet or PairSet, or None) are
    measured too. At the end: loss and accuracy on the whole training set (no augmentation;
    `train.evaluation_set()` for a set that draws fresh items each epoch, RandomPairs), the
    test set and the validation set.

    optimizer: "adam", "adamw", "sgd", "adadelta", "rmsprop", an Optimizer built on model.parameters(),
    or a callable params -> Optimizer (built ones keep their own learning rate). scheduler: None,
    "onecycle" or "cosine" (over all mini-batches, `lr` the peak), "step" (`scheduler_options`
    step_size in epochs, gamma), an LRScheduler, or a callable optimizer -> LRScheduler; stepped per
    batch or per epoch as it expects (`scheduler_interval` overrides). ReduceLROnPlateau steps each
    epoch on the validation loss when there is a val set, else on the epoch's mean training loss.
    The `lr` column holds the rate each step used.

    bf16: True, False or "auto" (bf16 autocast on a CPU that computes it natively, see env.resolve_bf16);
    `deterministic` passes to seed_everything. `shuffle=False` keeps the training set's order.

    Stopping: an interrupt (Jupyter's stop button, Ctrl-C) ends training after the current step; fit
    then saves the checkpoint, still does the final whole-set measurements (a second interrupt aborts
    them with KeyboardInterrupt) and returns the History with `interrupted=True`, `stopped_at` its
    last step. `checkpoint` is saved after every epoch and when stopped; `resume=True` continues from it
    so that, on a CPU, the History (all but `seconds`) and the weights equal those of one uninterrupted
    run. Calling fit again on a trained model warns (AlreadyTrainedWarning) unless resuming.
    """
    _check_arguments(train, test, val, epochs, lr, batch_size, eval_every, step_test, test_batch_size)
    if resume and checkpoint is None:
        raise ValueError("resume=True continues from a checkpoint: pass checkpoint=<path of the stopped run>")
    device = train.device
    bf16 = resolve_bf16(bf16, device)
    _warn_if_trained(model, resume)
    generator = seed_everything(seed, deterministic=deterministic)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    steps_per_epoch = math.ceil(len(train) / batch_size)
    eval_every = eval_every or default_eval_every(len(train), evaluation_cost(model, test), batch_size)
    opt = make_optimizer(optimizer, model, lr, weight_decay)
    sched, per_batch = make_scheduler(scheduler, opt, lr, epochs, steps_per_epoch, scheduler_options,
                                      scheduler_interval)
    settings = {
        "model": type(model).__name__, "parameters": sum(p.numel() for p in model.parameters()), "epochs": epochs,
        "lr": lr, "batch_size": batch_size, "optimizer": spec_name(optimizer, opt),
        "scheduler": spec_name(scheduler, sched), "scheduler_interval": "batch" if per_batch else "epoch",
        "scheduler_options": dict(scheduler_options or {}), "weight_decay": weight_decay, "seed": seed,
        "shuffle": shuffle, "augment": repr(augment),
        "class_weights": None if class_weights is None else torch.as_tensor(class_weights).tolist(),
        "precision": precision_name(bf16), "deterministic": deterministic, "eval_every": eval_every,
        "step_test": step_test, "test_batch_size": test_batch_size or batch_size, "train_size": len(train),
        "test_size": len(test), "val_size": None if val is None else len(val),
    }
    weight = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32, device=device)
    per_step_test = StepTest(test, test_batch_size or batch_size, seed,
                             {"batch": ONE_TEST_BATCH, "whole": WHOLE_TEST_SET}.get(step_test, "auto"),
                             channels_last, bf16)
    run = _Run(model, train, test, val, opt, sched, per_batch, generator, per_step_test, weight, settings,
               label or type(model).__name__, eval_every, shuffle, augment, channels_last, bf16, checkpoint)
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


def draw_epoch(train_set, generator: torch.Generator):
    """(the set one epoch trains on, the seed it was drawn with): fresh items from a set that draws them every
    epoch (`epoch_seed` and `sample`, as RandomPairs), else (the set itself, None)."""
    if hasattr(train_set, "epoch_seed"):
        seed = train_set.epoch_seed(generator)
        return train_set.sample(seed), seed
    return train_set, None


def training_step(model: nn.Module, optimizer, inputs, targets, *, device: torch.device, bf16: bool,
                  channels_last: bool = True, weight: torch.Tensor | None = None, scheduler=None,
                  per_batch: bool = False) -> torch.Tensor:
    """One mini-batch as fit trains it: forward under autocast, cross-entropy (class `weight`), backward, the
    optimizer's step and, when the schedule is per batch, the schedule's. Returns the loss (not synchronised)."""
    with autocast(device, bf16):
        logits = model(*prepare(inputs, channels_last))
    loss = F.cross_entropy(logits.float(), targets, weight=weight)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if scheduler is not None and per_batch:
        scheduler.step()
    return loss


class _Run:
    """One fit call's state; `train` is the loop, the other methods the parts it calls."""

    def __init__(self, model, train_set, test, val, optimizer, scheduler, per_batch, generator, step_test, weight,
                 settings, label, eval_every, shuffle, augment, channels_last, bf16, checkpoint):
        self.model, self.train_set, self.test, self.val = model, train_set, test, val
        self.optimizer, self.scheduler, self.per_batch, self.generator = optimizer, scheduler, per_batch, generator
        self.step_test, self.weight, self.settings, self.label = step_test, weight, settings, label
        self.epochs, self.batch_size, self.eval_every = settings["epochs"], settings["batch_size"], eval_every
        self.shuffle, self.augment, self.channels_last, self.bf16 = shuffle, augment, channels_last, bf16
        self.checkpoint = checkpoint
        self.steps_per_epoch = math.ceil(len(train_set) / self.batch_size)
        self.total_steps = self.epochs * self.steps_per_epoch
        self.device = train_set.device
        self.log = StepLog(self.total_steps, self.steps_per_epoch, self.device, label, settings["lr"])
        self.epoch, self.batches_done = 0, 0  # the epoch in progress (0-based) and its steps done
        self.epoch_seeds: list[int] = []  # the seed of each epoch's fresh draw (RandomPairs), else empty
        self.epoch_start_state = generator.get_state()
        self.seconds_before = 0.0  # training time of the sessions before a resume
        self.started = time.perf_counter()
        self.interrupted = False

    def restore(self, state: dict, path) -> None:
        """Continue the run saved in `state`: weights, optimizer, schedule, random states, rows so far."""
        if state.get("format") != CHECKPOINT_FORMAT or "settings" not in state:
            raise ValueError(f"checkpoint {path} holds no training state to resume (format {state.get('format')!r}); "
                             f"fit(..., checkpoint=path) writes one")
        check_same_run(state["settings"], self.settings, path)
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
                while self.epoch < self.epochs:  # end_epoch() moves on to the next
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
        epoch_set, seed = draw_epoch(self.train_set, self.generator)
        if seed is not None:
            self.epoch_seeds[self.epoch:] = [seed]  # a resumed epoch draws its seed again: replace, never add
        for index, batch in enumerate(batches(epoch_set, self.batch_size, shuffle=self.shuffle,
                                              augment=self.augment, generator=self.generator)):
            if index >= skip:
                yield batch

    def train_step(self, inputs, targets) -> torch.Tensor:
        return training_step(self.model, self.optimizer, inputs, targets, device=self.device, bf16=self.bf16,
                             channels_last=self.channels_last, weight=self.weight, scheduler=self.scheduler,
                             per_batch=self.per_batch)

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
                measured = evaluate(self.model, dataset, channels_last=self.channels_last, bf16=self.bf16,
                                    keep_predictions=False)
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
        measured = evaluate(self.model, self.val, channels_last=self.channels_last, bf16=self.bf16,
                            keep_predictions=False)
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
            "settings": self.settings, "step_test": self.step_test.scope, "interrupted": interrupted})

    def status(self) -> str:
        losses = self.log.columns["train_loss"]
        loss = f"  loss {losses[-1]:.4f}" if losses else ""
        stopped = f"  interrupted at step {self.log.steps}" if self.interrupted else ""
        return f"epoch {min(self.epoch + 1, self.epochs)}/{self.epochs}{loss}{stopped}"

    def show(self, final: bool = False) -> None:
        step = f"step {self.log.steps}/{self.total_steps}  "
        self.plot.update(self.log.frame(), step + self.status(), force=final, final=final)
        self.line.update(self.log.steps, self.status(), force=final)

    def finish(self) -> History:
        """The final whole-set measurements (also after a stop), and the History."""
        train_seconds = self.elapsed()
        self.log.sync()
        train_set = self.train_set.evaluation_set() if hasattr(self.train_set, "evaluation_set") else self.train_set
        measure = dict(channels_last=self.channels_last, bf16=self.bf16)
        train_measured = evaluate(self.model, train_set, keep_predictions=False, **measure)
        test = evaluate(self.model, self.test, **measure)
        val = evaluate(self.model, self.val, **measure) if self.val is not None else None
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
        return History(self.label, self.settings["model"], self.settings["parameters"], self.epochs, self.log.frame(),
                       final or {}, seconds, test, val, self.settings, self.interrupted, self.log.steps,
                       self.settings["precision"], self.settings["deterministic"], list(self.epoch_seeds))
