"""Compute bound: what is the least time the reference runs' arithmetic needs on this CPU, against what they took?

Result (CPU AMD EPYC, capability AVX512, 2 threads, 2026-11-26 14:18 UTC; tables in studies/results.md, "Compute
bound"): matrix-product peak 194 GFLOP/s in float32, 419 in bf16. The 19 recorded runs hold 168 TFLOP (the per-step
test 25% of it): 401 s at the peak of the precision each trained in, against the 1,305 s they took (31% of the
peak on average, 4% to 47% per run). With the 247 s the notebooks spent outside the runs, `make run` cannot take
less than 10.8 min there (it took 25.9 min of cells); 12 min would need 85% of the peak on average; in float32 at
least 18.6 min. The ResNet at 3x the conventional loop's images/s (832 images/s) with fit's per-step test would
need 91% of the bf16 peak; time to 99% in 10 s needs a recipe that reaches 99% within about 1.5 epochs at the
float32 peak. Only fewer operations (other recipes) would change that.

Every run a notebook recorded (`figures/<notebook>/metrics.json` and its `history_<run>.csv`) is counted in
floating-point operations, as torch counts them (`torch.utils.flop_counter.FlopCounterMode`: two per
multiply-add of the convolutions and linear layers; activations, pooling, normalisation, augmentation and the
optimizer are left out, so every count is a lower bound):

- training: the images (or pairs) of every epoch, each a forward pass, cross-entropy and backward pass of the
  run's model, counted on a batch of the run's size;
- per-step test: after every step, the forward pass of one test batch in eval mode (the run's `test_batch_size`;
  fit's per-step test, one batch on a CPU);
- whole-set evaluations: the forward pass over the test set at every History row that measured it, and over the
  validation set at every row that measured that, up to the last step. A Siamese network evaluates a pair set as
  labkit's `evaluate` does: each image of the test pool embedded once (its size from the notebook's metrics.json),
  then the comparison head on every pair. The last row's are fit's final
  measurement (with the whole training set), which comes after the run's `train_seconds`.

The machine's peak is the fastest dense arithmetic torch reaches on it: a 2048 x 2048 matrix product, in float32
and in bf16, best of thirty after a warm-up. The small convolutions of these networks get a fraction of it, so a
run's arithmetic over that peak is a time no implementation on this machine could beat, however its steps were
written: changing it needs fewer operations (fewer steps, smaller networks or images). Each run is bounded at the
peak of the precision it trained in; the float32 column bounds the same arithmetic in float32, the precision
`precision="auto"` picks on a CPU without native bf16.

Training throughput (bench/results.md, section 1's goal: the ResNet at 3x the conventional loop's images/s): the
conventional loop's ResNet step (`bench.throughput`'s, float32, batch 64, no per-step test) is timed here, and the
reading gives the share of the peak fit would need to train 3x as many images a second, each with its share of the
throughput bench's 100-image per-step test.

Per notebook, the time outside its recorded runs (data, plots, analysis, grading, each run's final measurement
of its sets, and training that is not a recorded run, such as 04's layout choice) is read from the executed
notebook's own cell timings and added as measured: with it, the bound is the least time `make run` could take
with these recipes on this CPU if the runs' steps and evaluations ran at the peak. It trains a few conventional
steps only: `python -m studies compute_bound [--figures DIR] [--notebooks DIR] [--write]` (`--write` appends the
section to studies/results.md). It reads each run's "recipe" and "sizes" from metrics.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from bench import throughput
from bench.common import FIGURES, ROOT, conventional_mnist, markdown_table
from labkit import models
from labkit.env import auto_precision, cpu_capability, cpu_model
from labkit.models import count_parameters
from studies.common import RESULTS, append_section, method, run_plan

PEAK_SIZE, PEAK_REPEATS = 2048, 30
GOALS_MINUTES = {"bf16": 12, "fp32": 25}  # make run: this CPU kind (auto precision), an AVX2-only CPU (float32)
THROUGHPUT_GOAL, THROUGHPUT_PROBE = 3.0, 100  # bench section 1: 3x the conventional images/s; its per-step test
CONVENTIONAL_STEPS, CONVENTIONAL_REPEATS = 10, 3
RUNS = {  # run name in figures/*/metrics.json: the model it trained, as models.build builds it
    "plain_cnn": ("plain_cnn", {}),
    "plain_cnn_rotation": ("plain_cnn", {}),
    "lenet5_classic": ("lenet5", {}),
    "lenet5_modern": ("lenet5_modern", {}),
    "lenet5_report_recipe": ("lenet5", {}),
    "resnet": ("resnet", {}),
    "resnet_baseline": ("resnet", {"blocks": (1, 1, 1)}),
    "resnet_deeper_222": ("resnet", {"blocks": (2, 2, 2)}),
    "resnet_stem_stride_2": ("resnet", {"blocks": (1, 1, 1), "stem_stride": 2}),
    "resnet_softplus": ("resnet", {"blocks": (1, 1, 1), "activation": "softplus"}),
    "resnet_lr_0.01": ("resnet", {"blocks": (1, 1, 1)}),
    "resnet_lr_0.001": ("resnet", {"blocks": (1, 1, 1)}),
    "siamese": ("siamese", {}),
    "two_channel": ("two_channel", {"kernel_sizes": (5, 3), "hidden": (256, 128)}),  # 04's chosen layout
    "siamese_shuffled_pairs": ("siamese", {}),
    "siamese_sorted_pairs": ("siamese", {}),
    "siamese_report_001_labels": ("siamese", {}),
    "siamese_imbalanced_pairs": ("siamese", {}),
    "siamese_imbalanced_class_weights": ("siamese", {}),
}
COLUMNS = ["notebook", "run", "model", "precision", "steps", "training TFLOP", "per-step test TFLOP",
           "evaluations TFLOP", "train seconds", "seconds at peak", "float32 seconds at peak", "achieved GFLOP/s",
           "share of peak"]
NOTEBOOK_COLUMNS = ["notebook", "cell seconds", "runs' train seconds", "outside the runs", "runs at peak",
                    "least seconds", "float32 runs at peak", "least float32 seconds"]


def model_flops(model: torch.nn.Module, batch: int) -> tuple[float, float]:
    """FLOPs per item of one training step (forward, cross-entropy, backward) and of one eval-mode forward pass."""
    inputs = [torch.zeros(batch, 1, 28, 28) for _ in range(getattr(model, "num_inputs", 1))]
    targets = torch.zeros(batch, dtype=torch.long)
    model.train()
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(*inputs), targets).backward()
    train = counter.get_total_flops() / batch
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(*inputs)
    return train, counter.get_total_flops() / batch


def embed_once_flops(model: torch.nn.Module, pool: int, pairs: int) -> float:
    """FLOPs of evaluating `pairs` pairs of a `pool`-image pool with a network that embeds each image once
    (labkit.evaluate's way for a model with `embed` and `compare`)."""
    images = torch.zeros(pool, 1, 28, 28)
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as embedding:
        embedded = model.embed(images)
    with torch.no_grad(), FlopCounterMode(display=False) as comparison:
        model.compare(embedded[:1], embedded[:1])
    return embedding.get_total_flops() + pairs * comparison.get_total_flops()


def peak_gflops(dtype: torch.dtype, size: int = PEAK_SIZE, repeats: int = PEAK_REPEATS) -> float:
    """The best GFLOP/s of a size x size matrix product on the CPU in `dtype`, after one warm-up product."""
    a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
    a @ b
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def run_row(notebook: str, name: str, record: dict, history: pd.DataFrame, peaks: dict[str, float],
            test_pool: int | None = None) -> dict:
    """One recorded run: its arithmetic in TFLOP, its measured training time and its time at the peak.
    `test_pool`: the images its test pairs are drawn from, for a network that embeds each of them once."""
    if name not in RUNS:
        raise SystemExit(f"{notebook}: run {name!r} is not in studies.compute_bound.RUNS; add the model it trains")
    model_name, options = RUNS[name]
    settings = run_plan(notebook, name, record)
    model = models.build(model_name, seed=0, **options)
    if count_parameters(model) != record["parameters"]:
        raise SystemExit(f"{notebook}: run {name!r} trained {record['parameters']:,} parameters, but RUNS builds "
                         f"{count_parameters(model):,}: RUNS[{name!r}] is out of date")
    train, forward = model_flops(model, settings["batch_size"])
    steps = len(history)
    probe = min(settings["test_batch_size"], settings["test_size"])
    during = history.iloc[:-1]  # the last row's whole sets are the final measurement, after train_seconds
    tests, validations = during["test_set_loss"].notna().sum(), during["val_loss"].notna().sum()
    if test_pool is not None and callable(getattr(model, "embed", None)):
        one_test = embed_once_flops(model, test_pool, settings["test_size"])
    else:
        one_test = settings["test_size"] * forward
    evaluation = tests * one_test + validations * (settings["val_size"] or 0) * forward
    training = settings["epochs"] * settings["train_size"] * train
    step_test = steps * probe * forward
    total = training + step_test + evaluation
    precision, seconds = record["precision"], record["train_seconds"]
    at_peak = total / (peaks[precision] * 1e9)
    return {"notebook": notebook, "run": name, "model": model_name, "precision": precision, "steps": steps,
            "training TFLOP": training / 1e12, "per-step test TFLOP": step_test / 1e12,
            "evaluations TFLOP": evaluation / 1e12, "train seconds": seconds, "seconds at peak": at_peak,
            "float32 seconds at peak": total / (peaks["fp32"] * 1e9), "achieved GFLOP/s": total / seconds / 1e9,
            "share of peak": at_peak / seconds}


def table(figures: Path, peaks: dict[str, float]) -> pd.DataFrame:
    rows = []
    for path in sorted(figures.glob("[0-9]*/metrics.json")):
        record = json.loads(path.read_text())
        test_pool = record.get("sets", {}).get("test_pool", {}).get("size")  # lab B: the test pairs' images
        for name, run in record["runs"].items():
            history = pd.read_csv(path.parent / run["history"])
            rows.append(run_row(record["notebook"], name, run, history, peaks, test_pool))
    return pd.DataFrame(rows, columns=COLUMNS)


def cell_seconds(notebook: Path) -> float:
    """Seconds from the first code cell's start to the last one's end, from the executed notebook's cell timings."""
    starts, ends = [], []
    for cell in json.loads(notebook.read_text())["cells"]:
        timing = cell.get("metadata", {}).get("execution", {})
        if cell["cell_type"] == "code" and "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            starts.append(datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00")))
            ends.append(datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00")))
    if not starts:
        raise SystemExit(f"{notebook} has no cell timings: execute it first (make run)")
    return (max(ends) - min(starts)).total_seconds()


def notebook_table(runs: pd.DataFrame, notebooks: Path) -> pd.DataFrame:
    """Per executed notebook: its cells' time, what its runs took and would take at the peak, and the least time."""
    rows = []
    for path in sorted(notebooks.glob("[0-9]*.ipynb")):
        own = runs[runs["notebook"] == path.stem]
        cells, trained = cell_seconds(path), own["train seconds"].sum()
        at_peak, fp32_at_peak = own["seconds at peak"].sum(), own["float32 seconds at peak"].sum()
        rows.append({"notebook": path.stem, "cell seconds": cells, "runs' train seconds": trained,
                     "outside the runs": cells - trained, "runs at peak": at_peak,
                     "least seconds": cells - trained + at_peak, "float32 runs at peak": fp32_at_peak,
                     "least float32 seconds": cells - trained + fp32_at_peak})
    frame = pd.DataFrame(rows, columns=NOTEBOOK_COLUMNS)
    total = {"notebook": "all", **{column: frame[column].sum() for column in NOTEBOOK_COLUMNS[1:]}}
    return pd.concat([frame, pd.DataFrame([total])], ignore_index=True)


def images_in(seconds: float, model_name: str, batch: int, gflops: float) -> float:
    """How many training images `seconds` at `gflops` pay for, each with its share of one test batch per step."""
    train, forward = model_flops(models.build(model_name, seed=0), batch)
    return seconds * gflops * 1e9 / (train + forward)  # one test batch of `batch` items per step of `batch`


def conventional_resnet_rate() -> float:
    """Images a second of the conventional loop training the ResNet on the CPU (median of a few short runs)."""
    dataset, device = conventional_mnist(train=True), torch.device("cpu")
    throughput.conventional_run("resnet", dataset, 2, device)  # warm-up: oneDNN picks its kernels
    seconds = sorted(throughput.conventional_run("resnet", dataset, CONVENTIONAL_STEPS, device)
                     for _ in range(CONVENTIONAL_REPEATS))
    return CONVENTIONAL_STEPS * throughput.CONVENTIONAL_BATCH / seconds[len(seconds) // 2]


def throughput_share(conventional: float, peaks: dict[str, float]) -> tuple[float, str]:
    """The share of the peak (of the precision fit's "auto" picks here) that 3x `conventional` images/s needs,
    with fit's per-step test of the throughput bench, and that precision's name."""
    batch = throughput.RECIPE_BATCH
    train, forward = model_flops(models.build("resnet", seed=0), batch)
    precision = auto_precision("cpu")
    needed = THROUGHPUT_GOAL * conventional * (train + forward * THROUGHPUT_PROBE / batch)
    return needed / (peaks[precision] * 1e9), precision


def needed_share(runs_at_peak: float, outside: float, goal_seconds: float) -> float:
    """The share of the peak the runs must reach on average for the notebooks to take `goal_seconds`
    (infinite when the time outside the runs alone exceeds it)."""
    left = goal_seconds - outside
    return runs_at_peak / left if left > 0 else math.inf


def reading(runs: pd.DataFrame, notebooks: pd.DataFrame, peaks: dict[str, float], conventional: float) -> str:
    total = runs[["training TFLOP", "per-step test TFLOP", "evaluations TFLOP"]].to_numpy().sum()
    trained, at_peak = runs["train seconds"].sum(), runs["seconds at peak"].sum()
    every = notebooks.iloc[-1]
    outside = every["outside the runs"]
    needed = {precision: needed_share(every[column], outside, GOALS_MINUTES[precision] * 60)
              for precision, column in (("bf16", "runs at peak"), ("fp32", "float32 runs at peak"))}
    plain = images_in(10.0, "plain_cnn", 256, peaks["fp32"])
    share, precision = throughput_share(conventional, peaks)
    return (
        f"CPU {cpu_model()}, capability {cpu_capability()}; matrix-product peak: float32 {peaks['fp32']:.0f} "
        f"GFLOP/s, bf16 {peaks['bf16']:.0f} GFLOP/s. "
        f"The {len(runs)} recorded runs hold {total:.0f} TFLOP (the per-step test "
        f"{runs['per-step test TFLOP'].sum() / total:.0%} of it); at the peak of the precision each trained in "
        f"that is {at_peak:.0f} s, against the {trained:.0f} s they took ({at_peak / trained:.0%} of the peak on "
        f"average, from {runs['share of peak'].min():.0%} to {runs['share of peak'].max():.0%} per run). "
        f"With the {outside:.0f} s the notebooks' cells spent outside those runs, `make run` cannot take less than "
        f"{every['least seconds'] / 60:.1f} min on this CPU with these recipes (the cells took "
        f"{every['cell seconds'] / 60:.1f} min). Goal <= {GOALS_MINUTES['bf16']} min: the runs would have to reach "
        f"{needed['bf16']:.0%} of the matrix-product peak on average. In float32 (what an AVX2-only CPU trains in; "
        f"bounded here by this CPU's float32 units): at least {every['least float32 seconds'] / 60:.1f} min; goal <= "
        f"{GOALS_MINUTES['fp32']} min: {needed['fp32']:.0%} of the float32 peak needed. Time to 99%: 10 s at the "
        f"float32 peak pay for {plain:,.0f} training images of the plain CNN with their per-step test batch "
        f"({plain / 60_000:.2f} epochs of full MNIST) at batch 256. Throughput: the conventional loop trains the "
        f"ResNet at {conventional:,.0f} images/s here; {THROUGHPUT_GOAL:g}x that in fit, with its per-step test, "
        f"needs {share:.0%} of the {precision} peak."
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figures", type=Path, default=FIGURES, help="a figures/ folder (default: the committed one)")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks", help="the executed notebooks")
    parser.add_argument("--write", action="store_true", help=f"append the section to {RESULTS}")
    args = parser.parse_args(argv)
    peaks = {"fp32": peak_gflops(torch.float32), "bf16": peak_gflops(torch.bfloat16)}
    runs = table(args.figures, peaks)
    if runs.empty:
        raise SystemExit(f"no metrics.json under {args.figures}/<notebook>/: run the notebooks first (make run)")
    notebooks = notebook_table(runs, args.notebooks)
    text = "\n\n".join([f"**Reading:** {reading(runs, notebooks, peaks, conventional_resnet_rate())}",
                         markdown_table(runs), markdown_table(notebooks)])
    print(text)
    if args.write:
        when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        title = f"Compute bound — CPU {cpu_model()} (capability {cpu_capability()}), {when}"
        body = method(__doc__) + "\n\n" + text
        append_section(RESULTS, title, "studies/compute_bound.py", __doc__.strip().splitlines()[0], body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
