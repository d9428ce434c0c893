"""Precision: one training step of every lab model in float32 and in bf16 autocast, and what "auto" picks.

A step is what `fit` does per mini-batch: batch 128 of real MNIST (a pair batch for the pair models),
channels_last, forward under autocast or not, cross-entropy, backward, Adam. The two precisions
train their own copy of the model (same seed), step by step in turn, so a burst of load from someone
else on the machine lands on both. Each precision takes a few warm-up steps (oneDNN picks and caches
its kernels on the first ones), then the median of the timed steps is reported, in milliseconds.
"auto" is `labkit.env.resolve_bf16("auto", device)`: bf16 on a CUDA GPU that supports it and on a CPU
with native bf16 instructions (AVX-512 BF16 or AMX), float32 elsewhere. The reading says whether
that choice was the faster one here, model by model.
"""

from __future__ import annotations

import time

import pandas as pd
import torch
import torch.nn.functional as F

from bench.common import SEED, cli, device_label, devices, interleaved, mnist, synchronize
from labkit import models, seed_everything
from labkit.env import cpu_capability, cpu_has_native_bf16, cpu_model, precision_name, resolve_bf16
from labkit.evaluate import autocast, prepare
from labkit.pairs import PairSet

BATCH = 128
WARMUP_STEPS, TIMED_STEPS = 2, 5
QUICK_WARMUP_STEPS, QUICK_TIMED_STEPS = 1, 2
QUICK_MODELS = ("plain_cnn",)  # --quick checks the machinery; every model takes the same code path
LR = 1e-3
COLUMNS = ["device", "model", "batch", "steps timed", "fp32 ms", "bf16 ms", "bf16 / fp32", "auto picks",
           "faster"]


def first_batch(pairs: bool, device: torch.device):
    """One fixed (inputs, targets) batch of real MNIST: images for digit models, image pairs for pair models."""
    train = mnist(True, str(device))
    if pairs:
        pool = train.subset(0.01, seed=SEED)  # 60 per digit: plenty for 128 pairs
        return PairSet.build(pool, count=BATCH, seed=SEED).batch(torch.arange(BATCH, device=device))
    return train.batch(torch.arange(BATCH, device=device))


class Trainer:
    """One model (built with `options`), its Adam and a batch, in one precision (eager or compiled); `step()`
    returns the seconds of one training step."""

    def __init__(self, model_name: str, device: torch.device, bf16: bool, compiled: str | None = None,
                 options: dict | None = None):
        seed_everything(SEED)
        self.model = models.build(model_name, **(options or {})).to(device).to(memory_format=torch.channels_last)
        self.model.train()
        if compiled:  # torch.compile in this mode ("default", "reduce-overhead"): the first step pays the compilation
            self.model = torch.compile(self.model, mode=compiled)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR)
        inputs, self.targets = first_batch(getattr(self.model, "num_inputs", 1) == 2, device)
        self.inputs = prepare(inputs, channels_last=True)
        self.device, self.bf16 = device, bf16

    def step(self) -> float:
        synchronize(self.device)
        start = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        with autocast(self.device, self.bf16):
            logits = self.model(*self.inputs)
        F.cross_entropy(logits.float(), self.targets).backward()
        self.optimizer.step()
        synchronize(self.device)
        return time.perf_counter() - start


def measure(model_name: str, device: torch.device, quick: bool) -> dict:
    warmup_steps = QUICK_WARMUP_STEPS if quick else WARMUP_STEPS
    timed_steps = QUICK_TIMED_STEPS if quick else TIMED_STEPS
    trainers = {"fp32": Trainer(model_name, device, bf16=False), "bf16": Trainer(model_name, device, bf16=True)}
    warmups = {name: lambda t=trainer: [t.step() for _ in range(warmup_steps)] for name, trainer in trainers.items()}
    timings = interleaved({name: trainer.step for name, trainer in trainers.items()}, timed_steps, warmups)
    fp32_ms, bf16_ms = timings["fp32"].median * 1000, timings["bf16"].median * 1000
    return {"device": device_label(device), "model": model_name, "batch": BATCH, "steps timed": timed_steps,
            "fp32 ms": fp32_ms, "bf16 ms": bf16_ms, "bf16 / fp32": bf16_ms / fp32_ms,
            "auto picks": precision_name(resolve_bf16("auto", device)),
            "faster": "bf16" if bf16_ms < fp32_ms else "fp32"}


def run(quick: bool = False) -> pd.DataFrame:
    chosen = QUICK_MODELS if quick else models.names()
    rows = [measure(name, device, quick) for device in devices() for name in chosen]
    return pd.DataFrame(rows, columns=COLUMNS)


def machine_line() -> str:
    native = "yes" if cpu_has_native_bf16() else "no (oneDNN emulates bf16)"
    return f"CPU {cpu_model()}, capability {cpu_capability()}, native bf16: {native}."


def reading(table: pd.DataFrame) -> str:
    """The CPU, then per device: the auto choice, and the models where it was the faster precision."""
    lines = [machine_line()]
    for device, rows in table.groupby("device", sort=False):
        auto = rows["auto picks"].iloc[0]
        agrees = rows[rows["faster"] == auto]["model"].tolist()
        disagrees = rows[rows["faster"] != auto]["model"].tolist()
        ratios = ", ".join(f"{m} {r:.2f}" for m, r in zip(rows["model"], rows["bf16 / fp32"]))
        verdict = f"auto picks {auto} on {device}: the faster one for {len(agrees)} of {len(rows)} models"
        verdict += f" (slower for {', '.join(disagrees)})" if disagrees else ""
        lines.append(f"{verdict}; bf16/fp32 step time: {ratios}.")
    if (table["steps timed"] < TIMED_STEPS).any():
        lines.append("--quick: a step or two only; the numbers mean nothing.")
    return " ".join(lines)


def main() -> None:
    print(machine_line())
    cli(run, reading, __doc__)


if __name__ == "__main__":
    main()
