"""Per-step test cost: what fit's test loss after every mini-batch costs, against the training step alone.

Three labs, each as its notebook trains it, batch 128, fit's defaults (Adam, one-cycle schedule,
channels_last, `bf16="auto"`): the plain CNN (lab A) on full MNIST (60,000 / 10,000 images); the
ResNet (`models.build("resnet")`) on full MNIST with `Augment(degrees=10, translate=0.08)`; the
Siamese net (lab B) on `RandomPairs` of the 10% training pool (6,000 images, 60,000 fresh pairs an
epoch) with `Augment(degrees=10, translate=0.1)`, tested on 10,000 balanced pairs of the 10% test pool.

fit cannot train without its per-step test, so one loop here does what fit does per mini-batch and
times its parts separately, step by step, in the same run: (a) the training step as `fit` makes it
(draw the batch with the training generator, augment, forward under the same autocast and
channels_last, cross-entropy, backward, Adam, the schedule); (b) the per-step test, labkit's own
`StepTest` with one test batch (fit's choice on a CPU, `step_test="batch"`); (c) the same `StepTest` on
the whole test set (`step_test="whole"`), what a test loss over the whole set every step would cost,
measured at a few steps spread over the timed ones. The first steps are warm-up (oneDNN picks its
kernels) and not timed. Reported: the median milliseconds of each part, and the ratios (b) / (a) and
(c) / (a). Cross-check: the "fit step ms" column is the median step time of a real `fit` run of
as many steps (step_test="batch", no whole-set evaluation before the last step, from History's
per-step `seconds`), to be compared with (a) + (b).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time

import pandas as pd
import torch

from bench.common import SEED, cli, device_label, devices, mnist, number, synchronize
from labkit import Augment, PairSet, RandomPairs, fit, models, seed_everything
from labkit.data import batches
from labkit.env import cpu_capability, cpu_model, precision_name, resolve_bf16
from labkit.optim import make_optimizer, make_scheduler
from labkit.steps import ONE_TEST_BATCH, WHOLE_SET_SHARE, WHOLE_TEST_SET, StepTest, choose_step_test
from labkit.train import draw_epoch, training_step

BATCH = 128
WARMUP_STEPS, TIMED_STEPS, WHOLE_SET_TIMES = 5, 20, 2
QUICK_WARMUP_STEPS, QUICK_TIMED_STEPS, QUICK_WHOLE_SET_TIMES = 1, 2, 1
FULL = {"train": 1.0, "test": 1.0, "train pool": 0.1, "test pool": 0.1, "pairs per epoch": 60_000,
        "test pairs": 10_000}
QUICK = {"train": 0.01, "test": 0.02, "train pool": 0.015, "test pool": 0.01, "pairs per epoch": 256,
         "test pairs": 100}
QUICK_MODELS = ("plain_cnn", "siamese")  # --quick checks the machinery: the ResNet takes the plain CNN's path
COLUMNS = ["device", "lab", "model", "precision", "train items", "test items", "steps timed", "train step ms",
           "step test ms", "step test / train step", "whole set ms", "whole set / train step", "fit step ms"]


def labs(device: torch.device, quick: bool) -> list[dict]:
    """Each lab as its notebook trains it: model, training set, test set, augmentation, peak learning rate."""
    sizes = QUICK if quick else FULL
    train, test = mnist(True, str(device)), mnist(False, str(device))
    if sizes["train"] < 1:
        train, test = train.subset(sizes["train"], seed=SEED), test.subset(sizes["test"], seed=SEED)
    train_pool = mnist(True, str(device)).subset(sizes["train pool"], seed=SEED)
    test_pool = mnist(False, str(device)).subset(sizes["test pool"], seed=SEED)
    return [
        {"lab": "A: digits", "model": "plain_cnn", "train": train, "test": test, "augment": None, "lr": 3e-3},
        {"lab": "A: digits", "model": "resnet", "train": train, "test": test,
         "augment": Augment(degrees=10, translate=0.08), "lr": 3e-3},
        {"lab": "B: pairs", "model": "siamese",
         "train": RandomPairs(train_pool, pairs_per_epoch=sizes["pairs per epoch"], seed=SEED),
         "test": PairSet.build(test_pool, count=sizes["test pairs"], seed=SEED),
         "augment": Augment(degrees=10, translate=0.1), "lr": 2e-3},
    ]


class FitStep:
    """fit's training step, outside fit: the same generator, batches, autocast, layout, optimizer and schedule."""

    def __init__(self, lab: dict, device: torch.device, bf16: bool):
        self.generator = seed_everything(SEED)
        self.model = models.build(lab["model"], seed=SEED).to(device).to(memory_format=torch.channels_last)
        self.model.train()
        self.optimizer = make_optimizer("adam", self.model, lab["lr"], 0.0)
        steps_per_epoch = math.ceil(len(lab["train"]) / BATCH)
        self.scheduler, self.per_batch = make_scheduler("onecycle", self.optimizer, lab["lr"], 1, steps_per_epoch)
        self.train, self.augment = lab["train"], lab["augment"]
        self.batches = self.epoch()
        self.device, self.bf16 = device, bf16

    def epoch(self):
        """An epoch's mini-batches as fit draws them (fresh pairs from a RandomPairs every epoch)."""
        epoch_set, _ = draw_epoch(self.train, self.generator)
        return batches(epoch_set, BATCH, shuffle=True, augment=self.augment, generator=self.generator)

    def __call__(self) -> torch.Tensor:
        """One step, as _Run.train_step does it, including drawing (and augmenting) the batch."""
        batch = next(self.batches, None)
        if batch is None:  # the epoch is over (only at --quick's tiny sizes): the next one, as fit goes on
            self.batches = self.epoch()
            batch = next(self.batches)
        inputs, targets = batch
        return training_step(self.model, self.optimizer, inputs, targets, device=self.device, bf16=self.bf16,
                             scheduler=self.scheduler, per_batch=self.per_batch)


def timed(work, device: torch.device) -> float:
    synchronize(device)
    start = time.perf_counter()
    work()
    synchronize(device)
    return time.perf_counter() - start


def loop_times(lab: dict, device: torch.device, bf16: bool, warmup: int, steps: int, whole_times: int) -> dict:
    """Seconds per timed step of (a) the training step, (b) the one-batch StepTest, (c) the whole-set StepTest."""
    step = FitStep(lab, device, bf16)
    one_batch = StepTest(lab["test"], BATCH, SEED, ONE_TEST_BATCH, True, bf16)
    whole = StepTest(lab["test"], BATCH, SEED, WHOLE_TEST_SET, True, bf16)
    for s in range(warmup):
        step()
        one_batch.measure(step.model, s)
    whole.measure(step.model, warmup - 1)  # its first pass is a warm-up too
    whole_at = {warmup + (i + 1) * steps // (whole_times + 1) for i in range(whole_times)}  # spread over the run
    times = {"train": [], "test": [], "whole": []}
    for s in range(warmup, warmup + steps):
        times["train"].append(timed(step, device))
        times["test"].append(timed(lambda s=s: one_batch.measure(step.model, s), device))
        if s in whole_at:
            times["whole"].append(timed(lambda s=s: whole.measure(step.model, s), device))
    return {name: statistics.median(seconds) for name, seconds in times.items()}


def fit_step_seconds(lab: dict, device: torch.device, bf16: bool, warmup: int, steps: int) -> float:
    """Median seconds per step of a real fit run of warmup + steps steps, per-step test on one test batch."""
    total = warmup + steps
    train = lab["train"]
    if isinstance(train, RandomPairs):
        train = RandomPairs(train.images, pairs_per_epoch=total * BATCH, seed=SEED)
    else:  # a seeded random total x BATCH images: exactly `total` steps
        index = torch.randperm(len(train), generator=torch.Generator().manual_seed(SEED))[:total * BATCH]
        index = index.to(train.device)
        train = dataclasses.replace(train, images=train.images[index], labels=train.labels[index])
    history = fit(models.build(lab["model"], seed=SEED), train, lab["test"], epochs=1, lr=lab["lr"],
                  batch_size=BATCH, eval_every=total + 1, step_test="batch", augment=lab["augment"], bf16=bf16,
                  seed=SEED, live=False, progress=False)
    seconds = history.frame["seconds"].diff().iloc[warmup:]  # step s: from the end of step s-1 to its end
    return float(seconds.median())


def measure(lab: dict, device: torch.device, quick: bool) -> dict:
    began = time.perf_counter()
    warmup, steps, whole_times = ((QUICK_WARMUP_STEPS, QUICK_TIMED_STEPS, QUICK_WHOLE_SET_TIMES) if quick
                                  else (WARMUP_STEPS, TIMED_STEPS, WHOLE_SET_TIMES))
    bf16 = resolve_bf16("auto", device)
    seconds = loop_times(lab, device, bf16, warmup, steps, whole_times)
    fit_seconds = fit_step_seconds(lab, device, bf16, warmup, steps)
    train_ms, test_ms, whole_ms = (seconds[name] * 1000 for name in ("train", "test", "whole"))
    print(f"  {lab['model']} on {device_label(device)}: {time.perf_counter() - began:.0f} s", flush=True)
    return {"device": device_label(device), "lab": lab["lab"], "model": lab["model"],
            "precision": precision_name(bf16), "train items": len(lab["train"]), "test items": len(lab["test"]),
            "steps timed": steps, "train step ms": train_ms, "step test ms": test_ms,
            "step test / train step": test_ms / train_ms, "whole set ms": whole_ms,
            "whole set / train step": whole_ms / train_ms, "fit step ms": fit_seconds * 1000}


def run(quick: bool = False) -> pd.DataFrame:
    rows = [measure(lab, device, quick) for device in devices() for lab in labs(device, quick)
            if not quick or lab["model"] in QUICK_MODELS]
    return pd.DataFrame(rows, columns=COLUMNS)


def machine_line() -> str:
    precision = precision_name(resolve_bf16("auto", torch.device("cpu")))
    return f"CPU {cpu_model()}, capability {cpu_capability()}, precision (bf16=\"auto\" on the CPU): {precision}."


def reading(table: pd.DataFrame) -> str:
    """No goal set: the machine, then per lab what the per-step test adds to a step, and the whole set's price."""
    parts = []
    for row in table.to_dict("records"):
        with_test = row["train step ms"] + row["step test ms"]
        parts.append(f"{row['model']} ({row['device']}, {row['precision']}): one test batch adds "
                     f"{row['step test / train step']:.0%} to a {number(row['train step ms'])} ms training step "
                     f"(the two together {number(with_test)} ms; fit's own step, timed in a separate run, "
                     f"{number(row['fit step ms'])} ms); the whole test set of {row['test items']:,} items every "
                     f"step would cost {row['whole set / train step']:.1f} training steps, so labkit's rule "
                     f"(the whole set only at most {WHOLE_SET_SHARE:.0%} of a step) picks "
                     f"{choose_step_test(row['train step ms'], row['whole set ms'])}")
    lines = [machine_line(), "No goal set; measured: " + "; ".join(parts) + "."]
    if (table["steps timed"] < TIMED_STEPS).any():
        lines.append("--quick: a step or two only; the numbers mean nothing.")
    return " ".join(lines)


def main() -> None:
    print(machine_line())
    cli(run, reading, __doc__)


if __name__ == "__main__":
    main()
