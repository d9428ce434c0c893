"""Evaluation overhead: what do fit's whole-test-set evaluations during training cost, against training alone?

Result (CPU AMD EPYC, capability AVX512, native bf16, 2026-11-26 11:25 UTC, with fit's cadence of whole-set
evaluations at about a twentieth of training; tables in studies/results.md, "Evaluation overhead"): a whole-set
evaluation every step takes 3.1x the time of training with one at the end (lab A: one evaluation of 1,000 test
images costs about 2.1 training steps) and 2.2x (lab B, 4,000 test pairs, about 1.3 steps); fit's default cadence
costs 0.99x (lab A, eval_every=47) and 1.06x (lab B, eval_every=26). On an NVIDIA H200 (2026-11-26 08:29 UTC, the
previous cadence of a quarter): every step 1.3x and 1.6x.

Lab A: plain_cnn trained on the 6,000-image training pool (10%, stratified), tested on the 1,000-image
test pool. Lab B: the siamese network on RandomPairs from the training pool, tested on 4,000 fixed
pairs of the test pool (evaluated by embedding the 1,000 pool images once, as `evaluate` does for a
Siamese net). One epoch each, batch 128, fit's defaults otherwise. Three settings:

- end only: eval_every larger than the run, so the test set is evaluated once, after the last step;
- default: fit's automatic eval_every (whole-set evaluations about `labkit.train.EVAL_SHARE` of training, at least
  once an epoch);
- every step: eval_every=1, a test loss for every mini-batch.

Each time is `History.train_seconds` (training plus the evaluations inside the loop; every setting
has the one after the last step); the default's eval_every and the evaluations are read from the History
(`History.eval_every`, the rows that measured the test set). Reported: the median, min–max, and the ratio to
"end only". Run: `python -m studies eval_overhead [--quick]`.
"""

from __future__ import annotations

import math

import pandas as pd

from bench.common import QUICK_REPEATS, REPEATS, SEED, cli, device_label, interleaved, mnist
from labkit import PairSet, RandomPairs, Recipe, fit, models, pick_device

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


def train_seconds(model_name: str, train, test, eval_every: int | None, seen: dict) -> float:
    """fit's training seconds with `eval_every` (None: fit's default); `seen` gets the History's resolved
    eval_every and the steps that measured the whole test set (the final measurement after the last included)."""
    recipe = Recipe(epochs=1, lr=3e-3, batch_size=BATCH, eval_every=eval_every, seed=SEED)
    history = fit(models.build(model_name, seed=SEED), train, test, recipe, live=False, progress=False)
    seen.update(every=history.eval_every, evaluations=int(history.frame["test_set_loss"].notna().sum()))
    return history.train_seconds


def measure(lab: str, model_name: str, train, test, quick: bool) -> list[dict]:
    steps = math.ceil(len(train) / BATCH)
    settings = {"end only": steps + 1, "default": None, "every step": 1}
    seen = {name: {} for name in settings}
    runs = {name: (lambda name=name, every=every: train_seconds(model_name, train, test, every, seen[name]))
            for name, every in settings.items()}
    timings = interleaved(runs, QUICK_REPEATS if quick else REPEATS, warmups={"end only": runs["end only"]})
    baseline = timings["end only"].median
    rows = []
    for name in settings:
        every, evaluations = seen[name]["every"], seen[name]["evaluations"]
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


def main(argv=None) -> None:
    cli(run, reading, __doc__, argv)


if __name__ == "__main__":
    main()
