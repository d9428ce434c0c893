"""Downsampling: should notebook 03's ResNet downsample early (a stride-2 stem) to make its steps cheaper?

Result (training on an NVIDIA H200, 2026-11-26 10:40 UTC, three seeds each; step time on the CPU AMD EPYC, 2 threads,
11:25 UTC; tables in studies/results.md, "Where the ResNet downsamples"): no. The stride-2 stem (stages at 14x14,
7x7, 4x4) makes a CPU step 0.27x (fp32) and 0.40x (bf16) of the full-resolution one, but over 03's recipe its best
candidate (8 epochs at 6e-3) stays below the full-resolution network on validation: mean 0.9941 against 0.9946
(test, for information: 0.9949 against 0.9955). 03 has no 0.1 point to give for its 99.6% target, so it keeps the
full 28x28 resolution and shows the stride-2 stem as a design variation, with its cost beside it.

The full-resolution ResNet of notebook 03 against the same network with `stem_stride=2`, over 03's whole recipe.
Candidates are trained as recipe_choice trains 03's (its held-out twelfth of the training images, the rest to train
on, batch 128, augmentation, Adam with the one-cycle schedule), with three seeds each, and scored on the validation
images; the test accuracy of the same models is printed beside it for information only (the choice reads
validation). The stride-2 stem gets the same length and a longer one (more steps for its cheaper step), and a higher
rate. `--steps` times fit's step of either network instead, as `bench/precision.py` times it (batch 128,
channels_last, both precisions, run by run in turn), on the machine at hand.
Run: `python -m studies downsampling` (minutes on a GPU, over an hour on a 2-core CPU; `--steps` a minute).
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass, field

import pandas as pd
import torch

from bench.common import device_label, interleaved, markdown_table, mnist
from bench.precision import fit_step_ms
from labkit import Recipe, fit, models, pick_device
from studies.recipe_choice import STUDIES, split

SEEDS = (0, 1, 2)
STEPS_TIMED, STEPS_WARMUP, STEPS_REPEATS = 10, 3, 2


@dataclass(frozen=True)
class Candidate:
    name: str
    epochs: int
    lr: float
    options: dict = field(default_factory=dict)
    precision: str = "auto"


CANDIDATES = (
    Candidate("full resolution (03's recipe)", 5, 4e-3),
    Candidate("stride-2 stem", 5, 4e-3, {"stem_stride": 2}),
    Candidate("stride-2 stem", 8, 4e-3, {"stem_stride": 2}),
    Candidate("stride-2 stem", 8, 6e-3, {"stem_stride": 2}),
    Candidate("stride-2 stem, bf16", 8, 4e-3, {"stem_stride": 2}, precision="bf16"),
)


def score(candidate: Candidate, device: torch.device, seed: int, test) -> dict:
    """One candidate trained with one seed: validation and test accuracy, train seconds, precision."""
    study = STUDIES["03_resnet"]
    training, validation = split(study, device, seed)
    model = models.build("resnet", seed=seed, **candidate.options)
    recipe = Recipe(epochs=candidate.epochs, lr=candidate.lr, batch_size=128, seed=seed, augment=study.augment,
                    precision=candidate.precision)
    history = fit(model, training, test, recipe, val=validation, live=False, progress=False)
    return {"validation": history.final["val_accuracy"], "test": history.final["test_accuracy"],
            "seconds": history.train_seconds, "precision": history.precision}


def summarise(candidate: Candidate, device: str, scores: list[dict]) -> dict:
    validation, test = [s["validation"] for s in scores], [s["test"] for s in scores]
    return {"device": device, "candidate": candidate.name, "epochs": candidate.epochs, "lr": candidate.lr,
            "precision": scores[0]["precision"], "seeds": len(scores),
            "validation (mean)": statistics.mean(validation), "validation min": min(validation),
            "validation max": max(validation), "test (mean)": statistics.mean(test), "test min": min(test),
            "test max": max(test), "train seconds (mean)": statistics.mean(s["seconds"] for s in scores)}


def reading(table: pd.DataFrame) -> str:
    """Whether any stride-2 candidate reaches the full-resolution recipe's mean validation accuracy."""
    reference = table.iloc[0]
    others = table.iloc[1:]
    best = others.loc[others["validation (mean)"].idxmax()]
    verdict = "reaches" if best["validation (mean)"] >= reference["validation (mean)"] else "stays below"
    return (f"The best stride-2 candidate ({best['epochs']} epochs, lr {best['lr']:g}, {best['precision']}) "
            f"{verdict} the full-resolution recipe on validation: mean {best['validation (mean)']:.4f} against "
            f"{reference['validation (mean)']:.4f} (test, for information: {best['test (mean)']:.4f} against "
            f"{reference['test (mean)']:.4f}, lowest seed {best['test min']:.4f} against {reference['test min']:.4f}).")


def step_times(device: torch.device, timed: int = STEPS_TIMED, warmup: int = STEPS_WARMUP,
               repeats: int = STEPS_REPEATS) -> pd.DataFrame:
    """Median milliseconds of fit's step of each network in each precision, the four run by run in turn."""
    keys = [(stride, precision) for stride in (1, 2) for precision in ("fp32", "bf16")]
    runs = {key: (lambda key=key: fit_step_ms("resnet", device, key[1], warmup, timed, {"stem_stride": key[0]}))
            for key in keys}
    timings = interleaved(runs, repeats)
    rows = [{"device": device_label(device), "stem stride": stride, "precision": precision,
             "step ms": timings[(stride, precision)].median,
             "vs full resolution": timings[(stride, precision)].median / timings[(1, precision)].median}
            for stride, precision in keys]
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--steps", action="store_true", help="time fit's step of either network instead")
    args = parser.parse_args(argv)
    device = pick_device()
    if args.steps:
        print(markdown_table(step_times(device)))
        return 0
    test = mnist(False, str(device))
    rows = []
    for candidate in CANDIDATES:
        scores = []
        for seed in args.seeds:
            scores.append(score(candidate, device, seed, test))
            print(f"{candidate.name} | {candidate.epochs} epochs | lr {candidate.lr:g} | seed {seed} | validation "
                  f"{scores[-1]['validation']:.4f} | test {scores[-1]['test']:.4f} | {scores[-1]['seconds']:.1f} s",
                  flush=True)
        rows.append(summarise(candidate, device_label(device), scores))
    table = pd.DataFrame(rows)
    print(markdown_table(table))
    print(f"**Reading:** {reading(table)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
