"""torch.compile: what compiling each lab model costs, what it saves a training step, and when that pays back.

A step is `bench/precision.py`'s: batch 128 of real MNIST (a pair batch for the pair models), channels_last,
forward under autocast in the precision `bf16="auto"` picks on the machine, cross-entropy, backward, Adam. The
eager model and a `torch.compile`d copy (same seed) train side by side, in the default mode and, on a GPU, also
in "reduce-overhead" (CUDA graphs: one launch replays the step, for steps bound by launches). The compiled
copy's first step holds the compilation (from scratch: inductor's caches are off): its compile seconds are that
step minus a compiled step's median. After warm-up steps, both are timed step by step in turn (a burst of load
lands on both). Break-even: the steps after which the time saved has paid the compilation (compile seconds /
saving per step), against the steps of the model's run in its notebook (its epochs x steps per epoch, from the
committed reference run's metrics.json). A lower bound: fit also runs the model in eval mode after every step
(the per-step test), a second graph that compiles on its own, and a last batch of another size compiles once
more. Slow on a 2-core CPU (minutes of compilation), so it is not part of `python -m bench`; run `python -m
bench.compile_payback`.
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from bench.common import cli, device_label, devices, interleaved, run_metrics
from bench.precision import Trainer
from labkit import models
from labkit.env import precision_name, resolve_bf16

WARMUP_STEPS, TIMED_STEPS = 3, 10
QUICK_WARMUP_STEPS, QUICK_TIMED_STEPS = 1, 2
QUICK_MODELS = ("plain_cnn",)
NOTEBOOK_RUNS = {  # model: (notebook, the run that trains it there)
    "plain_cnn": ("01_cnn", "plain_cnn"), "lenet5": ("02_lenet5", "lenet5_classic"),
    "lenet5_modern": ("02_lenet5", "lenet5_modern"), "resnet": ("03_resnet", "resnet"),
    "siamese": ("04_pairs", "siamese"), "two_channel": ("04_pairs", "two_channel"),
}
MODES = {"cpu": ("default",), "cuda": ("default", "reduce-overhead")}
COLUMNS = ["device", "model", "mode", "precision", "steps timed", "eager ms", "compiled ms", "compiled / eager",
           "compile s", "break-even steps", "notebook", "notebook steps", "pays back"]


def break_even(compile_seconds: float, eager_ms: float, compiled_ms: float) -> float:
    """Steps after which the per-step saving has paid the compilation; inf when compiling saves nothing."""
    saving = (eager_ms - compiled_ms) / 1000
    return compile_seconds / saving if saving > 0 else math.inf


def notebook_steps(notebook: str, run: str) -> int:
    """Training steps of `run` in the committed reference run of `notebook` (epochs x steps per epoch)."""
    settings = run_metrics(notebook)["runs"][run]["settings"]
    return settings["epochs"] * math.ceil(settings["train_size"] / settings["batch_size"])


def measure(model_name: str, device: torch.device, mode: str, quick: bool) -> dict:
    warmup_steps = QUICK_WARMUP_STEPS if quick else WARMUP_STEPS
    timed_steps = QUICK_TIMED_STEPS if quick else TIMED_STEPS
    bf16 = resolve_bf16("auto", device)
    torch._dynamo.reset()  # every model and mode compiles from scratch:
    torch._inductor.config.force_disable_caches = True  # no kernels from an earlier compilation, on disk or not
    eager, compiled = Trainer(model_name, device, bf16), Trainer(model_name, device, bf16, compiled=mode)
    first = compiled.step()  # compiles
    warmups = {"eager": lambda: [eager.step() for _ in range(warmup_steps)],
               "compiled": lambda: [compiled.step() for _ in range(warmup_steps)]}
    timings = interleaved({"eager": eager.step, "compiled": compiled.step}, timed_steps, warmups)
    eager_ms, compiled_ms = timings["eager"].median * 1000, timings["compiled"].median * 1000
    compile_seconds = first - timings["compiled"].median
    notebook, run_name = NOTEBOOK_RUNS[model_name]
    steps = notebook_steps(notebook, run_name)
    even = break_even(compile_seconds, eager_ms, compiled_ms)
    return {"device": device_label(device), "model": model_name, "mode": mode, "precision": precision_name(bf16),
            "steps timed": timed_steps, "eager ms": eager_ms, "compiled ms": compiled_ms,
            "compiled / eager": compiled_ms / eager_ms, "compile s": compile_seconds, "break-even steps": even,
            "notebook": notebook, "notebook steps": steps, "pays back": "yes" if even <= steps else "no"}


def run(quick: bool = False) -> pd.DataFrame:
    chosen = QUICK_MODELS if quick else models.names()
    return pd.DataFrame([measure(name, device, mode, quick) for device in devices() for name in chosen
                         for mode in MODES.get(device.type, ("default",))], columns=COLUMNS)


def one(row: dict) -> str:
    said = f"{row['model']} ({row['mode']}) {row['compiled / eager']:.2f}x the eager step, "
    if not math.isfinite(row["break-even steps"]):
        return said + f"no saving, {row['compile s']:.0f} s to compile"
    return (said + f"{row['compile s']:.0f} s to compile, even after {row['break-even steps']:,.0f} steps of "
            f"{row['notebook steps']:,}")


def reading(table: pd.DataFrame) -> str:
    if (table["steps timed"] < TIMED_STEPS).any():
        return "--quick: a step or two only; the numbers mean nothing."
    lines = []
    for device, rows in table.groupby("device", sort=False):
        records = rows.to_dict("records")
        pays = [f"{r['model']} ({r['mode']})" for r in records if r["pays back"] == "yes"]
        lines.append(f"{device}: compiling pays back within the notebook's run for {len(pays)} of {len(records)} "
                     f"models and modes ({', '.join(pays) or 'none'}); " + "; ".join(map(one, records)) + ".")
    return "\n".join(lines)


def main() -> None:
    cli(run, reading, __doc__)


if __name__ == "__main__":
    main()
