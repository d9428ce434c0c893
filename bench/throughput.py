"""Training throughput, lab A: images per second of labkit's `fit` against the conventional course loop.

Conventional: `torchvision.datasets.MNIST` with `ToTensor` + `Normalize` per item, a
`DataLoader(batch_size=64, shuffle=True)`, float32 contiguous NCHW, Adam, `loss.item()` every step.
labkit, every configuration through `fit` on the same model and the same seed:

- same settings: batch 64, float32, NCHW; only the data path and the loop differ;
- default recipe: batch 128, channels_last, and the Recipe's `precision="auto"`: bf16 autocast on a CPU with
  native bf16 (labkit.env.auto_precision), float32 on a GPU and elsewhere (the precision it picked is in the
  row's name);
- the default recipe in the other precision, beside it: bf16 where "auto" picked fp32, and fp32 where it
  picked bf16.

Every side makes the same fixed number of steps (fewer for the ResNet). `fit` runs one epoch over a
seeded random `steps x batch` images of the 60,000 (so exactly `steps` steps) with no periodic
evaluation; its time is `History.train_seconds`, which covers the training loop with fit's test loss
after every step (one test batch of the Recipe's test_batch_size, cycling through a 100-image probe: a
forward pass the conventional loop does not do). fit's final measurement on the whole sets comes after and is
not timed.
Reported: median images/s of the runs, min–max, and the speed-up over the conventional loop.
"""

from __future__ import annotations

import itertools
import time

import pandas as pd
import torch
import torch.nn.functional as F

from bench import common
from bench.common import (
    QUICK_REPEATS,
    REPEATS,
    SEED,
    cli,
    device_label,
    devices,
    interleaved,
    mnist,
    other_precision,
    sample,
    synchronize,
)
from labkit import ImageSet, Recipe, fit, models, seed_everything
from labkit.env import auto_precision

STEPS = {"plain_cnn": 200, "lenet5": 200, "resnet": 50}  # the ResNet's step is ~10x the plain CNN's
QUICK_STEPS = 2
QUICK_MODELS = ("plain_cnn",)  # --quick checks the machinery; the other models take the same code path
WARMUP_STEPS = 4  # not 5: OneCycleLR with pct_start=0.2 divides by zero at 5 total steps
LR = 3e-3
CONVENTIONAL_BATCH = 64
RECIPE_BATCH = 128
GOAL = 3.0  # at least 3x the conventional images/s on the 2-core CPU
COLUMNS = ["device", "model", "configuration", "batch", "steps", "images/s", "images/s min–max", "speed-up"]
CONVENTIONAL = "conventional: DataLoader, per-item transforms, fp32 NCHW"
SAME = "labkit fit, same settings (batch 64, fp32, NCHW)"


def recipe_name(precision: str, default: bool) -> str:
    if default:
        return f"labkit fit, default recipe (batch {RECIPE_BATCH}, channels_last, auto: {precision})"
    return f"labkit fit, other precision (batch {RECIPE_BATCH}, channels_last, {precision})"


def conventional_run(model_name: str, dataset, steps: int, device: torch.device) -> float:
    """Seconds for `steps` steps of the textbook loop, data loading included (it is part of every step)."""
    from torch.utils.data import DataLoader

    seed_everything(SEED)
    model = models.build(model_name).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loader = DataLoader(dataset, batch_size=CONVENTIONAL_BATCH, shuffle=True,
                        generator=torch.Generator().manual_seed(SEED))
    model.train()
    running_loss = 0.0
    synchronize(device)
    start = time.perf_counter()
    for images, labels in itertools.islice(loader, steps):  # islice: no extra batch is loaded after the last
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()  # the per-step host sync course code does to print a running loss
    synchronize(device)
    return time.perf_counter() - start


def labkit_run(model_name: str, train: ImageSet, probe: ImageSet, batch_size: int, channels_last: bool,
               precision: str) -> float:
    """fit's own training-loop seconds for one epoch over `train` (see the module docstring)."""
    model = models.build(model_name, seed=SEED)
    steps = -(-len(train) // batch_size)
    recipe = Recipe(epochs=1, lr=LR, batch_size=batch_size, eval_every=steps + 1, seed=SEED,
                    channels_last=channels_last, precision=precision)
    history = fit(model, train, probe, recipe, live=False, progress=False)
    assert history.precision == precision, f"asked for {precision}, fit trained in {history.precision}"
    assert len(history.frame) == steps, f"fit made {len(history.frame)} steps, expected {steps}"
    return history.train_seconds


def measure(model_name: str, device: torch.device, dataset, quick: bool) -> list[dict]:
    steps = QUICK_STEPS if quick else STEPS[model_name]
    warmup_steps = 1 if quick else WARMUP_STEPS
    repeats = QUICK_REPEATS if quick else REPEATS
    train, test = mnist(True, str(device)), mnist(False, str(device))
    probe = test.subset(0.01, seed=SEED)  # 100 images: the one evaluation fit does at its last step stays tiny
    auto = auto_precision(device)  # the Recipe's default
    same_set, recipe_set = sample(train, steps * CONVENTIONAL_BATCH), sample(train, steps * RECIPE_BATCH)
    warm_same, warm_recipe = (sample(train, warmup_steps * b) for b in (CONVENTIONAL_BATCH, RECIPE_BATCH))
    recipe, other = recipe_name(auto, True), recipe_name(other_precision(auto), False)
    configurations = {  # name: (batch size, timed run, warm-up run)
        CONVENTIONAL: (CONVENTIONAL_BATCH, lambda: conventional_run(model_name, dataset, steps, device),
                       lambda: conventional_run(model_name, dataset, warmup_steps, device)),
        SAME: (CONVENTIONAL_BATCH, lambda: labkit_run(model_name, same_set, probe, CONVENTIONAL_BATCH, False, "fp32"),
               lambda: labkit_run(model_name, warm_same, probe, CONVENTIONAL_BATCH, False, "fp32")),
    }
    for name, precision in ((recipe, auto), (other, other_precision(auto))):
        configurations[name] = (
            RECIPE_BATCH, lambda p=precision: labkit_run(model_name, recipe_set, probe, RECIPE_BATCH, True, p),
            lambda p=precision: labkit_run(model_name, warm_recipe, probe, RECIPE_BATCH, True, p))
    timings = interleaved({name: c[1] for name, c in configurations.items()}, repeats,
                          warmups={name: c[2] for name, c in configurations.items()})
    baseline = steps * CONVENTIONAL_BATCH / timings[CONVENTIONAL].median
    rows = []
    for name, (batch_size, _, _) in configurations.items():
        images = steps * batch_size
        rate = images / timings[name].median
        rows.append({"device": device_label(device), "model": model_name, "configuration": name,
                     "batch": batch_size, "steps": steps, "images/s": rate,
                     "images/s min–max": timings[name].spread(images, rate=True), "speed-up": rate / baseline})
    return rows


def run(quick: bool = False) -> pd.DataFrame:
    dataset = common.conventional_mnist(train=True)
    chosen = QUICK_MODELS if quick else STEPS
    rows = [row for device in devices() for name in chosen for row in measure(name, device, dataset, quick)]
    return pd.DataFrame(rows, columns=COLUMNS)


def reading(table: pd.DataFrame) -> str:
    """One line per device: is labkit at least GOAL x the conventional images/s, in each configuration?"""
    if any(steps != STEPS[model] for model, steps in zip(table["model"], table["steps"])):
        return "--quick: a few steps only; fixed costs dominate, so the goal does not apply."
    lines = []
    for device, rows in table.groupby("device", sort=False):
        parts = []
        for kind, match in (("default recipe", "default recipe"), ("other precision", "other precision"),
                            ("same settings", "same settings")):
            chosen = rows[rows["configuration"].str.contains(match)]
            verdicts = [f"{model} {speedup:.2f}x {'met' if speedup >= GOAL else 'not met'}"
                        for model, speedup in zip(chosen["model"], chosen["speed-up"])]
            if kind != "same settings" and len(chosen):  # the precision closes the configuration's name
                kind += f" ({chosen['configuration'].iloc[0].rsplit(', ', 1)[-1].rstrip(')')})"
            parts.append(f"{kind}: " + ", ".join(verdicts))
        scope = "" if device.startswith("cpu") else " (the goal is stated for the CPU; shown for reference)"
        lines.append(f"Goal ≥ {GOAL:g}x the conventional images/s on {device}{scope}. " + "; ".join(parts) + ".")
    return "\n".join(lines)


def main() -> None:
    cli(run, reading, __doc__)


if __name__ == "__main__":
    main()
