"""Optimizers and learning-rate schedules for fit: built from a name, an instance or a factory.

make_optimizer and make_scheduler turn fit's `optimizer` and `scheduler` arguments into torch objects
bound to the model, check that they belong together, and say whether the schedule steps after every
mini-batch or every epoch; spec_name gives the plain name fit records in its settings.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim import lr_scheduler as schedules

OPTIMIZERS = {
    "adam": lambda params, lr, decay: torch.optim.Adam(params, lr=lr, weight_decay=decay),
    "adamw": lambda params, lr, decay: torch.optim.AdamW(params, lr=lr, weight_decay=decay),
    "sgd": lambda params, lr, decay: torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True,
                                                     weight_decay=decay),
    "adadelta": lambda params, lr, decay: torch.optim.Adadelta(params, lr=lr, weight_decay=decay),
    "rmsprop": lambda params, lr, decay: torch.optim.RMSprop(params, lr=lr, weight_decay=decay),
}
SCHEDULERS = (None, "onecycle", "cosine", "step")
SCHEDULER_INTERVALS = ("auto", "batch", "epoch")
PER_BATCH_SCHEDULERS = (schedules.OneCycleLR, schedules.CyclicLR)  # built for a horizon counted in steps


def make_optimizer(spec, model: nn.Module, lr: float, weight_decay: float) -> Optimizer:
    """An optimizer from a name (OPTIMIZERS), an Optimizer built on `model`'s parameters, or a factory(params)."""
    if isinstance(spec, str):
        if spec not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {spec!r}; choose one of {tuple(OPTIMIZERS)}, a torch.optim."
                             f"Optimizer built on the model's parameters, or a callable params -> Optimizer")
        return OPTIMIZERS[spec](model.parameters(), lr, weight_decay)
    optimizer = spec if isinstance(spec, Optimizer) else spec(model.parameters()) if callable(spec) else spec
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be a name {tuple(OPTIMIZERS)}, a torch.optim.Optimizer or a callable "
                         f"params -> Optimizer; got {optimizer!r}")
    own = {id(p) for p in model.parameters()}
    foreign = sum(id(p) not in own for group in optimizer.param_groups for p in group["params"])
    if foreign:
        raise ValueError(f"the {type(optimizer).__name__} holds {foreign} tensor(s) that are not parameters of this "
                         f"{type(model).__name__} (built on another model?); build it on model.parameters()")
    return optimizer


def make_scheduler(spec, optimizer: Optimizer, lr: float, epochs: int, steps_per_epoch: int,
                   options: dict | None = None, interval: str = "auto"):
    """(scheduler or None, True when it steps after every mini-batch rather than every epoch).

    Named "onecycle" and "cosine" span the whole run and step per batch; "step" (StepLR, `options`
    step_size in epochs and gamma) and scheduler instances step per epoch, except OneCycleLR and
    CyclicLR; `interval` "batch" or "epoch" overrides that.
    """
    if interval not in SCHEDULER_INTERVALS:
        raise ValueError(f"scheduler_interval must be one of {SCHEDULER_INTERVALS}, got {interval!r}")
    options = dict(options or {})
    if spec is None or isinstance(spec, str):
        if spec not in SCHEDULERS:
            raise ValueError(f"unknown scheduler {spec!r}; choose one of {SCHEDULERS}, an LRScheduler instance, "
                             f"or a callable optimizer -> LRScheduler")
        per_batch = interval == "batch" or (interval == "auto" and spec in ("onecycle", "cosine"))
        return _named_scheduler(spec, optimizer, lr, epochs * steps_per_epoch if per_batch else epochs,
                                options), per_batch
    if options:
        raise ValueError(f"scheduler_options {options!r} apply to named schedulers only; this scheduler is built")
    scheduler = spec if isinstance(spec, schedules.LRScheduler) else spec(optimizer) if callable(spec) else spec
    if not isinstance(scheduler, schedules.LRScheduler):
        raise ValueError(f"scheduler must be one of {SCHEDULERS}, an LRScheduler, or a callable optimizer -> "
                         f"LRScheduler; got {scheduler!r}")
    if scheduler.optimizer is not optimizer:
        raise ValueError(f"the {type(scheduler).__name__} drives another optimizer; build it on fit's optimizer "
                         f"(pass a callable optimizer -> scheduler, or the optimizer instance too)")
    if isinstance(scheduler, schedules.ReduceLROnPlateau) and interval == "batch":
        raise ValueError("ReduceLROnPlateau steps once per epoch on a loss; use scheduler_interval 'auto' or 'epoch'")
    return scheduler, interval == "batch" or (interval == "auto" and isinstance(scheduler, PER_BATCH_SCHEDULERS))


def _named_scheduler(name, optimizer, lr: float, horizon: int, options: dict):
    """A named schedule over `horizon` scheduler steps (mini-batches or epochs)."""
    if name is None:
        return None
    try:
        if name == "onecycle":
            if horizon < 4:  # too short to warm up and anneal: OneCycleLR would divide by zero
                return None
            settings = {"max_lr": lr, "total_steps": horizon, "pct_start": max(0.2, 2 / horizon), **options}
            return schedules.OneCycleLR(optimizer, **settings)
        if name == "cosine":
            return schedules.CosineAnnealingLR(optimizer, **{"T_max": horizon, **options})
        if "step_size" not in options:
            raise ValueError("scheduler 'step' needs scheduler_options={'step_size': epochs between decays, "
                             "'gamma': factor (default 0.1)}")
        return schedules.StepLR(optimizer, **options)
    except TypeError as error:
        raise ValueError(f"scheduler_options {options!r} do not fit scheduler {name!r}: {error}") from error


def spec_name(spec, built) -> str | None:
    """A plain name for settings: the given name, else the class name of what was built."""
    return spec if spec is None or isinstance(spec, str) else type(built).__name__
