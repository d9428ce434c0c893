"""Recipe: the settings of one training run, validated once, recorded as they are.

    recipe = Recipe(epochs=6, lr=3e-3, batch_size=128, seed=SEED, precision=PRECISION)
    fit(model, train, test, recipe)                       # the run
    fit(model, train, test, recipe.replace(lr=1e-2))      # a variation: one setting changed, validated again
    recipe.record()                                       # plain data: History, metrics.json, the checkpoint

A notebook builds its recipe once, in the cell after its parameters, and derives every variation from
it; fit takes the recipe and only run-time arguments beside it (what to show, where to checkpoint).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from .compute import PRECISIONS
from .data import Augment
from .optim import OPTIMIZERS, SCHEDULER_INTERVALS, SCHEDULERS

STEP_TESTS = ("auto", "batch", "whole")


def _positive_int(name: str, value, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        extra = " or None" if allow_none else ""
        raise ValueError(f"{name} must be a positive int{extra}, got {value!r}")


def _flag(name: str, value) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")


@dataclass(frozen=True)
class Recipe:
    """How to train: what fit needs besides the model, the data and what to show.

    epochs, lr (the peak rate under a one-cycle or cosine schedule), batch_size; optimizer a name in
    labkit.optim.OPTIMIZERS or a callable params -> Optimizer, with weight_decay; scheduler None, a name
    in labkit.optim.SCHEDULERS or a callable optimizer -> LRScheduler, with scheduler_options and
    scheduler_interval ("auto", "batch", "epoch"). eval_every: steps between whole-set measurements
    (None: about 5% of training, at least once an epoch); step_test: what the per-step test measures
    ("auto" and "batch": one test batch of test_batch_size items, cycling through the test set; "whole": the
    whole test set). 32 items cost a small share of a training step of every lab model (bench/results.md,
    "precision") and the curve's running mean averages their noise out. seed reaches every random choice;
    deterministic asks for deterministic kernels (CUDA).
    shuffle, augment (a labkit.Augment or None), class_weights (one weight per class, or None).
    channels_last: the memory layout of the model and its inputs. precision: "auto" (bf16 where the
    machine computes it natively, see labkit.env.auto_precision), "bf16" or "fp32".
    """

    epochs: int
    lr: float
    batch_size: int = 128
    optimizer: str | Callable = "adam"
    weight_decay: float = 0.0
    scheduler: str | Callable | None = "onecycle"
    scheduler_options: Mapping = field(default_factory=dict)
    scheduler_interval: str = "auto"
    eval_every: int | None = None
    step_test: str = "auto"
    test_batch_size: int = 32
    seed: int = 0
    deterministic: bool = False
    shuffle: bool = True
    augment: Augment | None = None
    class_weights: Sequence[float] | None = None
    channels_last: bool = True
    precision: str = "auto"

    def __post_init__(self):
        _positive_int("epochs", self.epochs)
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not (math.isfinite(self.lr)
                                                                                     and self.lr > 0):
            raise ValueError(f"lr must be a positive finite number, got {self.lr!r}")
        _positive_int("batch_size", self.batch_size)
        if not callable(self.optimizer) and self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {tuple(OPTIMIZERS)} or a callable params -> Optimizer, "
                             f"got {self.optimizer!r}")
        if isinstance(self.weight_decay, bool) or not isinstance(self.weight_decay, (int, float)) \
                or not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be a finite number >= 0, got {self.weight_decay!r}")
        if not callable(self.scheduler) and self.scheduler not in SCHEDULERS:
            raise ValueError(f"scheduler must be one of {SCHEDULERS} or a callable optimizer -> LRScheduler, "
                             f"got {self.scheduler!r}")
        if not isinstance(self.scheduler_options, Mapping):
            raise ValueError(f"scheduler_options must be a dict, got {self.scheduler_options!r}")
        object.__setattr__(self, "scheduler_options", dict(self.scheduler_options))
        if self.scheduler_interval not in SCHEDULER_INTERVALS:
            raise ValueError(f"scheduler_interval must be one of {SCHEDULER_INTERVALS}, "
                             f"got {self.scheduler_interval!r}")
        _positive_int("eval_every", self.eval_every, allow_none=True)
        if self.step_test not in STEP_TESTS:
            raise ValueError(f"step_test must be one of {STEP_TESTS}, got {self.step_test!r}")
        _positive_int("test_batch_size", self.test_batch_size)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {self.seed!r}")
        for name in ("deterministic", "shuffle", "channels_last"):
            _flag(name, getattr(self, name))
        if self.augment is not None and not isinstance(self.augment, Augment):
            raise ValueError(f"augment must be a labkit.Augment or None, got {self.augment!r}")
        if self.class_weights is not None:
            weights = tuple(float(w) for w in self.class_weights)
            if not weights or not all(math.isfinite(w) and w >= 0 for w in weights):
                raise ValueError(f"class_weights must be finite non-negative numbers, one per class, "
                                 f"got {self.class_weights!r}")
            object.__setattr__(self, "class_weights", weights)
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")

    def replace(self, **changes) -> Recipe:
        """This recipe with `changes` (validated again): a variation in one expression."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ValueError(f"Recipe has no setting {', '.join(unknown)}; its settings are "
                             f"{', '.join(f.name for f in dataclasses.fields(self))}")
        return dataclasses.replace(self, **changes)

    def record(self) -> dict:
        """The recipe as plain data (JSON): names for callables, the augmentation's parameters."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values["optimizer"] = _name(self.optimizer)
        values["scheduler"] = _name(self.scheduler)
        values["augment"] = None if self.augment is None else dataclasses.asdict(self.augment)
        values["class_weights"] = None if self.class_weights is None else list(self.class_weights)
        return values


def _name(spec) -> str | None:
    """A setting's plain name: the name given, else the callable's."""
    if spec is None or isinstance(spec, str):
        return spec
    return getattr(spec, "__qualname__", None) or type(spec).__name__
