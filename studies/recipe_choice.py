"""Recipe choice: which peak learning rate (and 03's length) should each notebook plan, chosen on validation?

Result (NVIDIA H200, 2026-11-26; two seeds per candidate; tables in studies/results.md, "Recipe choice on
validation"): 03, the ResNet: lr 4e-3 for 5 epochs (validation 0.9952 mean, against 0.9946-0.9948 for 3e-3 and
for 6 epochs); 01, the plain CNN: 3e-3 (0.9878; 2e-3 0.9863, 4e-3 0.9876); 02, LeNet-5 classic and modern: 3e-3
(0.9893); 04, the Siamese and two-channel networks: 2e-3 (0.9839; 1e-3 0.9831, 3e-3 0.9824). The gaps between
candidates are of the size of the spread between seeds: the choice is the best mean, not a ranking. 05 keeps a
constant 1e-3 on purpose and is not chosen here.

Lab A: a twelfth of each digit's training images (5,002 of 60,000, `ImageSet.split(1/12, seed=0)`) is held out;
every candidate trains on the other 54,998 with its notebook's settings (model, epochs, batch 128, augmentation,
Adam with the one-cycle schedule, the precision "auto" picks) and is scored by its validation accuracy. Lab B
(04): the training pool (10% of MNIST train, stratified) loses 10% of its images to validation, as 04's layout
choice does; the Siamese and the two-channel network (its default layout) train on fresh pairs of the rest and
are scored on 4,000 balanced pairs of the held-out images. Two seeds per candidate; where a notebook trains two
networks with one rate (02, 04), a candidate's score is the mean over both. The test set is never read. The
candidate with the best mean validation accuracy is the one the notebook plans (on a tie: the shorter, then the
lower rate). 05 keeps a constant 1e-3 on purpose (its subject is the order of the pairs, not the best recipe)
and is not chosen here. Run: `python -m studies recipe_choice [--notebooks 01_cnn ...]` (minutes on a GPU,
hours on a 2-core CPU).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

import torch

from bench.common import device_label, markdown_table, mnist
from labkit import Augment, RandomPairs, Recipe, fit, models, pick_device

VALIDATION_FRACTION = 1 / 12  # lab A: 5,002 of 60,000 (a twelfth of each digit)
POOL_FRACTION, POOL_VALIDATION_FRACTION, VALIDATION_PAIRS = 0.1, 0.1, 4_000  # lab B, as notebook 04
PAIRS_PER_EPOCH = 60_000
SEEDS = (0, 1)


@dataclass(frozen=True)
class Study:
    """One notebook's candidates: the networks it trains with one recipe, and the rates and lengths to try."""

    networks: tuple[str, ...]
    lrs: tuple[float, ...]
    epochs: tuple[int, ...]
    augment: Augment | None
    pairs: bool = False


STUDIES = {
    "01_cnn": Study(("plain_cnn",), lrs=(2e-3, 3e-3, 4e-3), epochs=(6,), augment=None),
    "02_lenet5": Study(("lenet5", "lenet5_modern"), lrs=(2e-3, 3e-3, 4e-3), epochs=(8,),
                       augment=Augment(degrees=10, translate=0.08)),
    "03_resnet": Study(("resnet",), lrs=(3e-3, 4e-3), epochs=(5, 6), augment=Augment(degrees=10, translate=0.08)),
    "04_pairs": Study(("siamese", "two_channel"), lrs=(1e-3, 2e-3, 3e-3), epochs=(8,),
                      augment=Augment(degrees=10, translate=0.1), pairs=True),
}


def split(study: Study, device: torch.device, seed: int):
    """(training data, validation data) of a study; the validation part (fixed, seed 0) is held out of the training
    data, and a pair study's training pairs are drawn with `seed`."""
    if study.pairs:
        pool = mnist(True, str(device)).subset(POOL_FRACTION, seed=0)
        return RandomPairs(pool, pairs_per_epoch=PAIRS_PER_EPOCH, seed=seed).split(
            POOL_VALIDATION_FRACTION, seed=0, validation_pairs=VALIDATION_PAIRS)
    return mnist(True, str(device)).split(VALIDATION_FRACTION, seed=0)


def score(study: Study, device: torch.device, network: str, lr: float, epochs: int, seed: int) -> tuple[float, float]:
    """(validation accuracy, train seconds) of one network trained with one candidate recipe and seed."""
    training, validation = split(study, device, seed)
    model = models.build(network, seed=seed)
    recipe = Recipe(epochs=epochs, lr=lr, batch_size=128, seed=seed, augment=study.augment)
    history = fit(model, training, validation, recipe, live=False, progress=False)
    return history.final["test_accuracy"], history.train_seconds


def run(notebook: str, seeds=SEEDS) -> list[dict]:
    study, device = STUDIES[notebook], pick_device()
    rows = []
    for epochs in study.epochs:
        for lr in study.lrs:
            accuracies, seconds = [], []
            for network in study.networks:
                for seed in seeds:
                    accuracy, took = score(study, device, network, lr, epochs, seed)
                    accuracies.append(accuracy)
                    seconds.append(took)
                    print(f"{notebook} {network}: lr {lr:g}, {epochs} epochs, seed {seed}: validation "
                          f"{accuracy:.4f} ({took:.0f} s)", flush=True)
            rows.append({"notebook": notebook, "device": device_label(device), "networks": " + ".join(study.networks),
                         "lr": lr, "epochs": epochs, "seeds": len(seeds),
                         "validation accuracy (mean)": statistics.mean(accuracies), "min": min(accuracies),
                         "max": max(accuracies), "train seconds (mean)": statistics.mean(seconds)})
    return rows


def chosen(rows: list[dict]) -> dict:
    """The row with the best mean validation accuracy; on a tie (to 6 places) the shorter, then the lower rate."""
    return max(rows, key=lambda row: (round(row["validation accuracy (mean)"], 6), -row["epochs"], -row["lr"]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--notebooks", nargs="+", choices=list(STUDIES), default=list(STUDIES))
    args = parser.parse_args(argv)
    began = time.perf_counter()
    import pandas as pd

    for notebook in args.notebooks:
        rows = run(notebook, seeds=tuple(args.seeds))
        best = chosen(rows)
        print(markdown_table(pd.DataFrame(rows)))
        print(f"{notebook}: chosen on validation: lr {best['lr']:g}, {best['epochs']} epochs "
              f"({time.perf_counter() - began:.0f} s so far)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
