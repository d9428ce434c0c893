"""Recipe choice on validation: the ResNet main run's learning rate and length, chosen without the test set.

5,000 of the 60,000 training images (500 per digit, `ImageSet.split(1/12, seed=0)`) are held out; every
candidate recipe trains on the other 55,000 with notebook 03's settings (labkit's ResNet, Adam with the
one-cycle schedule, batch 128, augmentation of ±10° and 8% shifts, bf16 where auto picks it) for two
seeds, and is scored by its validation accuracy; the test set is never read. The recipe with the best mean
validation accuracy (the shorter one on a tie) is the one notebook 03 plans. Not part of `python -m bench`:
run `python -m bench.recipe_choice` (minutes on a GPU, about an hour on a 2-core CPU).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from bench.common import device_label, markdown_table, mnist
from labkit import Augment, fit, models, pick_device

VALIDATION_FRACTION = 1 / 12  # 5,000 of 60,000
CANDIDATES = [dict(lr=lr, epochs=epochs) for epochs in (5, 6) for lr in (3e-3, 4e-3)]
SEEDS = (0, 1)


def score(device: torch.device, lr: float, epochs: int, seed: int) -> tuple[float, float]:
    """(validation accuracy, train seconds) of one candidate run."""
    rest, validation = mnist(True, str(device)).split(VALIDATION_FRACTION, seed=0)
    model = models.build("resnet", seed=seed).to(device)
    history = fit(model, rest, validation, epochs=epochs, lr=lr, batch_size=128, seed=seed,
                  augment=Augment(degrees=10, translate=0.08), live=False, progress=False)
    return history.final["test_accuracy"], history.train_seconds


def run(candidates=CANDIDATES, seeds=SEEDS) -> list[dict]:
    device = pick_device()
    rows = []
    for candidate in candidates:
        accuracies, seconds = [], []
        for seed in seeds:
            accuracy, took = score(device, candidate["lr"], candidate["epochs"], seed)
            accuracies.append(accuracy)
            seconds.append(took)
            print(f"lr {candidate['lr']:g}, {candidate['epochs']} epochs, seed {seed}: validation {accuracy:.4f} "
                  f"({took:.0f} s)", flush=True)
        rows.append({"device": device_label(device), "lr": candidate["lr"], "epochs": candidate["epochs"],
                     "seeds": len(seeds), "validation accuracy (mean)": statistics.mean(accuracies),
                     "min": min(accuracies), "max": max(accuracies), "train seconds (mean)": statistics.mean(seconds)})
    return rows


def chosen(rows: list[dict]) -> dict:
    return max(rows, key=lambda row: (round(row["validation accuracy (mean)"], 6), -row["epochs"]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    args = parser.parse_args(argv)
    began = time.perf_counter()
    import pandas as pd

    rows = run(seeds=tuple(args.seeds))
    best = chosen(rows)
    print(markdown_table(pd.DataFrame(rows)))
    print(f"chosen on validation: lr {best['lr']:g}, {best['epochs']} epochs "
          f"({time.perf_counter() - began:.0f} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
