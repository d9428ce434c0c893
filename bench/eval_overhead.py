"""Evaluation overhead: what recording the test loss after every mini-batch costs, against training alone.

Lab A: plain_cnn trained on the 6,000-image training pool (10%, stratified), tested on the 1,000-image
test pool. Lab B: the siamese network on RandomPairs from the training pool, tested on 4,000 fixed
pairs of the test pool (evaluated by embedding the 1,000 pool images once, as `evaluate` does for a
Siamese net). One epoch each, batch 128, fit's defaults otherwise. Three settings:

- end only: eval_every larger than the run, so the test set is evaluated once, after the last step;
- default: fit's automatic eval_every (whole-set evaluations about `labkit.train.EVAL_SHARE` of training, at least
  once an epoch);
- every step: eval_every=1, a test loss for every mini-batch.

Each time is `History.train_seconds` (training plus the evaluations inside the loop; every setting
has the one after the last step). Reported: the median, min–max, and the ratio to "end only".
"""

from __future__ import annotations

import math

import pandas as pd

from bench.common import QUICK_REPEATS, REPEATS, SEED, cli, device_label, interleaved, mnist
from labkit import PairSet, RandomPairs, fit, models, pick_device, seed_everything
from labkit.train import default_eval_every, evaluation_cost

BATCH = 128
TRAIN_POOL, TEST_POOL = 0.1, 0.1
PAIRS_PER_EPOCH, TEST_PAIRS = 3_840, 4_000  # 30 steps
QUICK = {"train pool": 0.015, "test pool": 0.01, "pairs per epoch": 256, "test pairs": 100}  # 8 and 2 steps
COLUMNS = ["device", "lab", "model", "train items", "test items", "steps", "setting", "eval every", "evaluations",
           "train seconds", "seconds min–max", "vs end only"]


def data(quick: bool):
    """(lab, model, train set, test set) for both labs, on the default device."""
    device = str(pick_device())
    sizes = QUICK if quick else {"train pool": TRAIN_POOL, "test pool": TEST_POOL,
                                 "pairs per epoch": PAIRS_PER_EPOCH, "test pairs": TEST_PAIRS}
    train_pool = mnist(True, device).subset(sizes["train pool"], seed=SEED)
    test_pool = mnist(False, device).subset(sizes["test pool"], seed=SEED)
    pairs = RandomPairs(train_pool, sizes["pairs per epoch"], seed=SEED)
    test_pairs = PairSet.build(test_pool, mode="sampled", count=sizes["test pairs"], seed=SEED)
    return [("A: digits", "plain_cnn", train_pool, test_pool), ("B: pairs", "siamese", pairs, test_pairs)]


def train_seconds(model_name: str, train, test, eval_every: int) -> float:
    seed_everything(SEED)
    history = fit(models.build(model_name), train, test, epochs=1, lr=3e-3, batch_size=BATCH, eval_every=eval_every,
                  seed=SEED, live=False, progress=False)
    return history.train_seconds


def measure(lab: str, model_name: str, train, test, quick: bool) -> list[dict]:
    steps = math.ceil(len(train) / BATCH)
    default = default_eval_every(len(train), evaluation_cost(models.build(model_name), test), BATCH)
    settings = {"end only": steps + 1, "default": default, "every step": 1}
    runs = {name: (lambda every=every: train_seconds(model_name, train, test, every))
            for name, every in settings.items()}
    timings = interleaved(runs, QUICK_REPEATS if quick else REPEATS, warmups={"end only": runs["end only"]})
    baseline = timings["end only"].median
    rows = []
    for name, every in settings.items():
        evaluations = steps // every + (steps % every != 0)  # fit also evaluates after the last step
        rows.append({"device": device_label(train.device), "lab": lab, "model": model_name, "train items": len(train),
                     "test items": len(test), "steps": steps, "setting": name, "eval every": every,
                     "evaluations": evaluations, "train seconds": timings[name].median,
                     "seconds min–max": timings[name].spread(), "vs end only": timings[name].median / baseline})
    return rows


def run(quick: bool = False) -> pd.DataFrame:
    rows = [row for lab, model, train, test in data(quick) for row in measure(lab, model, train, test, quick)]
    return pd.DataFrame(rows, columns=COLUMNS)


def reading(table: pd.DataFrame) -> str:
    """No goal was set: state the cost, and one evaluation's price in training steps."""
    parts = []
    for lab, rows in table.groupby("lab", sort=False):
        by = rows.set_index("setting")
        end, every, default = by.loc["end only"], by.loc["every step"], by.loc["default"]
        step_seconds = end["train seconds"] / end["steps"]  # one evaluation included: a slight overestimate
        per_evaluation = (every["train seconds"] - end["train seconds"]) / max(every["evaluations"] - 1, 1)
        parts.append(f"lab {lab}: every step {every['vs end only']:.1f}x the time of end only "
                     f"(one evaluation of {int(end['test items']):,} test items ≈ {per_evaluation / step_seconds:.1f} "
                     f"training steps), default eval_every={int(default['eval every'])} "
                     f"{default['vs end only']:.2f}x")
    return "No goal set; measured: " + "; ".join(parts) + "."


def main() -> None:
    cli(run, reading, __doc__)


if __name__ == "__main__":
    main()
