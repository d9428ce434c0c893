"""Time to accuracy, lab A: seconds until the plain CNN first has 99.0% test accuracy, fit and the conventional loop.

labkit: `fit(plain_cnn, full train, full test, ...)` with Adam and the one-cycle schedule (fit's defaults:
channels_last, one test batch after every step), in four recipes: 01's own (6 epochs, batch 128, peak rate 3e-3),
one planned for a single epoch (batch 128 at 1e-2: about the most a 2-core CPU trains in 10 s, see the study
"Compute bound"), and two planned for 2 epochs (batch 256 at 5e-3, batch 512 at 1e-2), where fewer, larger steps pay
on a GPU. On a GPU, two recipes sized for it run too (batch 1024 for 6 epochs at 1e-2, batch 2048 for 8 epochs at
2e-2): a GPU step costs about the same at any of these batch sizes (kernel launches, not arithmetic), so the fewest
steps win; on a 2-core CPU a step costs in proportion to its batch, and these recipes' extra epochs would only cost
time there. Every recipe runs in fp32 (what `precision="auto"` picks on a GPU and on a CPU without native bf16); on
a CPU where "auto" picks bf16 (labkit.env.auto_precision), 01's recipe also runs in bf16. The time is the History's
`seconds` at the first evaluated step whose accuracy on all 10,000 test images is >= 0.99: seconds since training
started, so the evaluations before it (the whole test set every 12,800 training images) are inside it. The planned
epochs always run (the one-cycle schedule is planned for them); only the time to the first hit is reported.

Conventional, beside it in the same run: `torchvision.datasets.MNIST` with `ToTensor` + `Normalize` per item,
`DataLoader(batch_size=64, shuffle=True)`, float32 NCHW, Adam at a constant 1e-3, `loss.item()` every step; the
whole test set (a DataLoader of 1,000 images a batch) every 200 steps (12,800 images), until the first evaluation at
99% or 6 epochs; its time includes those evaluations. It runs once per device (it takes 10-20 times as long as a
labkit run), after the labkit runs.

Median of the runs and min–max; the step and accuracy of the hit come from the run with the median time.
"""

from __future__ import annotations

import math
import time

import pandas as pd
import torch
import torch.nn.functional as F

from bench import common
from bench.common import QUICK_REPEATS, REPEATS, SEED, cli, device_label, devices, interleaved, mnist
from labkit import Recipe, fit, models, seed_everything
from labkit.env import auto_precision

RECIPES = {  # name: fit's settings; every one evaluates the whole test set every 12,800 training images
    "01's recipe": {"epochs": 6, "lr": 3e-3, "batch_size": 128},
    "1 epoch, batch 128": {"epochs": 1, "lr": 1e-2, "batch_size": 128},
    "2 epochs, batch 256": {"epochs": 2, "lr": 5e-3, "batch_size": 256},
    "2 epochs, batch 512": {"epochs": 2, "lr": 1e-2, "batch_size": 512},
}
GPU_RECIPES = {  # only on a GPU (see the docstring)
    "6 epochs, batch 1024": {"epochs": 6, "lr": 1e-2, "batch_size": 1024},
    "8 epochs, batch 2048": {"epochs": 8, "lr": 2e-2, "batch_size": 2048},
}
EVAL_IMAGES = 12_800  # training images between two evaluations of the whole test set
CONVENTIONAL = "conventional loop (DataLoader, batch 64, Adam 1e-3)"
CONVENTIONAL_BATCH, CONVENTIONAL_LR, CONVENTIONAL_MAX_EPOCHS = 64, 1e-3, 6
CONVENTIONAL_RUNS = 1  # the reference side; it takes 10-20x as long as a labkit run
TARGET = 0.99
GOAL_SECONDS = {"cpu": 10.0, "cuda": 1.0}  # 2-core CPU in fp32 (bf16 reported too where auto picks it); a GPU
# --quick: a small subset for one epoch and a low target, to check the machinery only
QUICK = {"train": 0.02, "test": 0.02, "epochs": 1, "batch_size": 64, "eval_images": 256, "target": 0.3}
COLUMNS = ["device", "model", "recipe", "precision", "target", "eval every", "runs reaching it",
           "seconds to target", "seconds min–max", "step", "epoch", "test accuracy there", "final test accuracy"]


def eval_every(batch_size: int, quick: bool) -> int:
    return max(1, (QUICK["eval_images"] if quick else EVAL_IMAGES) // batch_size)


def first_hit(seconds, steps, epochs, accuracies, target: float, final: float) -> dict:
    """The first evaluation at or above `target` (NaN everywhere when there is none)."""
    for s, step, epoch, accuracy in zip(seconds, steps, epochs, accuracies):
        if accuracy >= target:
            return {"seconds": float(s), "step": int(step), "epoch": int(epoch), "accuracy": float(accuracy),
                    "final": final}
    return {"seconds": float("nan"), "step": float("nan"), "epoch": float("nan"), "accuracy": float("nan"),
            "final": final}


def labkit_run(train, test, recipe: dict, every: int, target: float, precision: str) -> dict:
    model = models.build("plain_cnn", seed=SEED)
    history = fit(model, train, test, Recipe(**recipe, eval_every=every, seed=SEED, precision=precision),
                  live=False, progress=False)
    assert history.precision == precision, f"asked for {precision}, fit trained in {history.precision}"
    frame = history.frame.dropna(subset=["test_set_accuracy"])  # test_accuracy is one test batch
    return first_hit(frame["seconds"], frame["step"], frame["epoch"], frame["test_set_accuracy"], target,
                     history.final["test_accuracy"])


def conventional_sets(quick: bool):
    train, test = common.conventional_mnist(train=True), common.conventional_mnist(train=False)
    if quick:
        keep = torch.randperm(len(train), generator=torch.Generator().manual_seed(SEED))
        train = torch.utils.data.Subset(train, keep[: int(QUICK["train"] * len(train))].tolist())
        test = torch.utils.data.Subset(test, list(range(int(QUICK["test"] * len(test)))))
    return train, test


def conventional_run(train, test, device: torch.device, every: int, target: float, max_epochs: int) -> dict:
    """The textbook loop until its first whole-test-set evaluation at `target` (or `max_epochs`)."""
    from torch.utils.data import DataLoader

    seed_everything(SEED)
    model = models.build("plain_cnn").to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=CONVENTIONAL_LR)
    loader = DataLoader(train, batch_size=CONVENTIONAL_BATCH, shuffle=True,
                        generator=torch.Generator().manual_seed(SEED))
    test_loader = DataLoader(test, batch_size=1000)
    marks, step, accuracy = [], 0, 0.0
    common.synchronize(device)
    start = time.perf_counter()
    for epoch in range(1, max_epochs + 1):
        for images, labels in loader:
            model.train()
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            loss.item()  # the per-step host sync course code does to print a running loss
            step += 1
            if step % every == 0:
                model.eval()
                with torch.no_grad():
                    correct = sum((model(x.to(device)).argmax(1) == y.to(device)).sum().item() for x, y in test_loader)
                accuracy = correct / len(test)
                marks.append((time.perf_counter() - start, step, epoch, accuracy))
                if accuracy >= target:
                    return first_hit(*zip(*marks), target, accuracy)
    return first_hit(*zip(*marks), target, accuracy) if marks else first_hit([], [], [], [], target, accuracy)


def summarize(row: dict, results: list[dict], timing) -> dict:
    reached = [r for r in results if not math.isnan(r["seconds"])]  # NaN: never reached
    row = {**row, "runs reaching it": f"{len(reached)}/{len(results)}"}
    if len(reached) < len(results):  # a median over runs that never got there would mean nothing
        return {**row, "seconds to target": float("nan"), "seconds min–max": "not reached in every run",
                "step": float("nan"), "epoch": float("nan"), "test accuracy there": float("nan"),
                "final test accuracy": max(r["final"] for r in results)}
    median_run = min(results, key=lambda r: abs(r["seconds"] - timing.median))
    return {**row, "seconds to target": timing.median, "seconds min–max": timing.spread(),
            "step": median_run["step"], "epoch": median_run["epoch"],
            "test accuracy there": median_run["accuracy"], "final test accuracy": median_run["final"]}


def measure(device: torch.device, quick: bool) -> list[dict]:
    """Every recipe in fp32 (and 01's in bf16 where auto picks it), the conventional loop after them."""
    train, test = mnist(True, str(device)), mnist(False, str(device))
    target, max_epochs = TARGET, CONVENTIONAL_MAX_EPOCHS
    if quick:
        train, test = train.subset(QUICK["train"], seed=SEED), test.subset(QUICK["test"], seed=SEED)
        target, max_epochs = QUICK["target"], QUICK["epochs"]
    settings = {(name, "fp32"): recipe for name, recipe in RECIPES.items()}
    if device.type != "cpu":
        settings.update({(name, "fp32"): recipe for name, recipe in GPU_RECIPES.items()})
    elif auto_precision(device) == "bf16":
        settings[("01's recipe", "bf16")] = RECIPES["01's recipe"]
    if quick:  # every recipe and precision takes the same code path
        settings = {("01's recipe", "fp32"): {**RECIPES["01's recipe"], "epochs": QUICK["epochs"],
                                              "batch_size": QUICK["batch_size"]}}
    results: dict = {key: [] for key in [*settings, CONVENTIONAL]}
    candidates, warmups = {}, {}
    warm = train if quick else train.subset(0.02, seed=SEED)  # 1,200 images pay the first-call costs
    for key, recipe in settings.items():
        every = eval_every(recipe["batch_size"], quick)

        def timed(key=key, recipe=recipe, every=every) -> float:
            results[key].append(labkit_run(train, test, recipe, every, target, key[1]))
            return results[key][-1]["seconds"]

        candidates[key] = timed
        warmups[key] = lambda recipe=recipe, key=key: labkit_run(warm, test, {**recipe, "epochs": 1}, 2, target,
                                                                 key[1])
    conv_train, conv_test = conventional_sets(quick)
    conv_every = eval_every(CONVENTIONAL_BATCH, quick)

    timings = interleaved(candidates, QUICK_REPEATS if quick else REPEATS, warmups)
    for _ in range(CONVENTIONAL_RUNS):
        results[CONVENTIONAL].append(conventional_run(conv_train, conv_test, device, conv_every, target, max_epochs))
    rows = []
    for key, recipe in settings.items():
        row = {"device": device_label(device), "model": "plain_cnn", "recipe": key[0],
               "precision": key[1], "target": target,
               "eval every": eval_every(recipe["batch_size"], quick)}
        rows.append(summarize(row, results[key], timings[key]))
    row = {"device": device_label(device), "model": "plain_cnn", "recipe": CONVENTIONAL, "precision": "fp32",
           "target": target, "eval every": conv_every}
    conventional_timing = common.Timing(tuple(r["seconds"] for r in results[CONVENTIONAL]))
    rows.append(summarize(row, results[CONVENTIONAL], conventional_timing))
    return rows


def run(quick: bool = False) -> pd.DataFrame:
    return pd.DataFrame([row for device in devices() for row in measure(device, quick)], columns=COLUMNS)


def describe(row: dict) -> str:
    if math.isnan(row["seconds to target"]):
        return (f"{row['recipe']}, {row['precision']}: not reached in every run ({row['runs reaching it']}; "
                f"best final accuracy {row['final test accuracy']:.4f})")
    return (f"{row['recipe']}, {row['precision']}: {row['seconds to target']:.1f} s at step {row['step']:.0f} "
            f"(epoch {row['epoch']:.0f})")


def reading(table: pd.DataFrame) -> str:
    """Per device: the goal against the fastest labkit recipe in fp32, the conventional loop, every row."""
    if (table["target"] != TARGET).any():
        return f"--quick: target lowered to {QUICK['target']:.0%} on a small subset; the goal does not apply."
    lines = []
    for device, rows in table.groupby("device", sort=False):
        goal = GOAL_SECONDS.get(device.split(" ")[0])
        labkit = rows[(rows["recipe"] != CONVENTIONAL) & (rows["precision"] == "fp32")]
        labkit = labkit[labkit["seconds to target"].notna()]
        conventional = rows[rows["recipe"] == CONVENTIONAL].iloc[0]
        goal_text = f"Goal ≤ {goal:g} s to {TARGET:.1%} test accuracy" if goal else "No goal for this device"
        if labkit.empty:
            verdict = "not met: no labkit recipe reached it in fp32 in every run" if goal else "not reached"
        else:
            best = labkit.loc[labkit["seconds to target"].idxmin()]
            verdict = ("met" if best["seconds to target"] <= goal else "not met") if goal else "measured"
            verdict += f", fastest fp32 recipe {describe(best)}"
            if not math.isnan(conventional["seconds to target"]):
                verdict += (f", {conventional['seconds to target'] / best['seconds to target']:.1f}x faster than "
                            f"the conventional loop ({conventional['seconds to target']:.1f} s)")
        every = "; ".join(describe(row) for row in rows.to_dict("records"))
        lines.append(f"{goal_text} on {device}, fp32: {verdict}. Every row: {every}. The evaluations before the "
                     "hit are included in each time.")
    return "\n".join(lines)


def main() -> None:
    cli(run, reading, __doc__)


if __name__ == "__main__":
    main()
