"""Precision: fit's step of every lab model in fp32 and in bf16, and which one labkit's automatic choice picks.

A step is what `fit` makes per mini-batch, timed inside fit: batch 128 of real MNIST (balanced pairs of the 10%
training pool for the pair models), channels_last, the Recipe's `precision` "fp32" or "bf16" (autocast), Adam
with the one-cycle schedule, and fit's per-step test on one test batch. Each run is one epoch of exactly
warm-up + timed steps with no whole-set measurement before the last step; a step's time is the difference
between two rows of the History's `seconds`, and the first rows are warm-up (oneDNN picks and caches its kernels
on them). The two precisions run in turn, run by run, so a burst of load from someone else on the machine lands
on both; reported is the median over the runs of each run's median step, in milliseconds.

"auto picks" is `labkit.env.auto_precision(device)`, what `Recipe(precision="auto")` trains in: bf16 on a CPU
whose flags say it computes bf16 natively (AVX-512 BF16 or AMX), whose torch kernels run at capability AVX512 or
AMX and whose oneDNN supports bf16 under its ISA limit; fp32 everywhere else (GPUs included). The reading names
the CPU, each of those three conditions, and whether the choice was the faster precision, model by model. Under
`python -m bench --simulate avx2` the same CPU runs with torch's and oneDNN's ISA lowered to AVX2.
"""

from __future__ import annotations

import pandas as pd
import torch

from bench.common import QUICK_REPEATS, REPEATS, SEED, cli, cpu_line, device_label, devices, interleaved, mnist, sample
from labkit import PairSet, Recipe, fit, models
from labkit.env import auto_precision

BATCH = 128
WARMUP_STEPS, TIMED_STEPS = 3, 12  # 15 steps a run (a one-cycle schedule of 5 steps would divide by zero)
QUICK_WARMUP_STEPS, QUICK_TIMED_STEPS = 1, 3
QUICK_MODELS = ("plain_cnn",)  # --quick checks the machinery; every model takes the same code path
LR = 1e-3
PRECISIONS = ("fp32", "bf16")
COLUMNS = ["device", "model", "batch", "steps timed", "fp32 ms", "bf16 ms", "bf16 / fp32", "auto picks",
           "faster"]


def step_data(model: torch.nn.Module, device: torch.device, steps: int):
    """(training set of exactly `steps` batches, test set of two test batches) of real MNIST for `model`:
    images for a digit model, balanced pairs of the 10% pools for a pair model."""
    train, test = mnist(True, str(device)), mnist(False, str(device))
    if getattr(model, "num_inputs", 1) == 2:
        pool, test_pool = train.subset(0.1, seed=SEED), test.subset(0.1, seed=SEED)
        return (PairSet.build(pool, count=steps * BATCH, seed=SEED),
                PairSet.build(test_pool, count=2 * BATCH, seed=SEED))
    return sample(train, steps * BATCH), sample(test, 2 * BATCH)


def fit_step_ms(model_name: str, device: torch.device, precision: str, warmup: int, timed: int,
                options: dict | None = None) -> float:
    """The median milliseconds of fit's timed steps (after `warmup` steps) for one model in one precision."""
    model = models.build(model_name, seed=SEED, **(options or {}))
    steps = warmup + timed
    train, test = step_data(model, device, steps)
    recipe = Recipe(epochs=1, lr=LR, batch_size=BATCH, eval_every=steps + 1, step_test="batch", seed=SEED,
                    precision=precision)
    history = fit(model, train, test, recipe, live=False, progress=False)
    if history.precision != precision:
        raise RuntimeError(f"asked fit for {precision}, it trained in {history.precision}")
    seconds = history.frame["seconds"].to_numpy(dtype=float)
    per_step = seconds[warmup:] - seconds[warmup - 1:-1] if warmup else seconds[1:] - seconds[:-1]
    return float(pd.Series(per_step).median() * 1000)


def measure(model_name: str, device: torch.device, quick: bool) -> dict:
    warmup = QUICK_WARMUP_STEPS if quick else WARMUP_STEPS
    timed = QUICK_TIMED_STEPS if quick else TIMED_STEPS
    runs = {precision: (lambda p=precision: fit_step_ms(model_name, device, p, warmup, timed))
            for precision in PRECISIONS}
    timings = interleaved(runs, QUICK_REPEATS if quick else REPEATS)
    fp32_ms, bf16_ms = timings["fp32"].median, timings["bf16"].median
    return {"device": device_label(device), "model": model_name, "batch": BATCH, "steps timed": timed,
            "fp32 ms": fp32_ms, "bf16 ms": bf16_ms, "bf16 / fp32": bf16_ms / fp32_ms,
            "auto picks": auto_precision(device), "faster": "bf16" if bf16_ms < fp32_ms else "fp32"}


def run(quick: bool = False) -> pd.DataFrame:
    chosen = QUICK_MODELS if quick else models.names()
    rows = [measure(name, device, quick) for device in devices() for name in chosen]
    return pd.DataFrame(rows, columns=COLUMNS)


def reading(table: pd.DataFrame) -> str:
    """The CPU and what decides auto, then per device: its choice, and the models where it was the faster one."""
    lines = [cpu_line()]
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
    print(cpu_line())
    cli(run, reading, __doc__)


if __name__ == "__main__":
    main()
