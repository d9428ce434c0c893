"""Training overhead: how much of a notebook run's training time goes beyond its mini-batches?

Result (CPU AMD EPYC, capability AVX512, native bf16; the reference run of 2026-11-26 10:58–11:25 UTC;
studies/results.md, "Training overhead"): 19 runs, 1,305 s of training, of which 146 s (11%) beyond the steps at their
median time, against 362 s of 1,425 s (25%) in the previous reference run (commit ffa8bc7). Two changes made the
difference without changing what is trained: fit's whole-set evaluations at about a twentieth of the training cost
(it was a quarter) and the live plot's redraw at least every 10 s instead of 2.5 s.

Read from each run's own History. For every run a notebook recorded (`figures/<notebook>/history_<run>.csv`, one
row per mini-batch with the seconds since training started), the time of a step is the difference between two rows.
The median step is what a mini-batch costs (training step and its per-step test); everything above `steps x median`
is overhead: the whole-set evaluations (the test and validation sets every `eval_every` steps), the live plot's
redraws, and the odd slow step. Reading each run's own times makes the share independent of how fast the machine
was that day, so two reference runs made on different days (a noisy shared machine) can be compared by it. It times
nothing: `python -m studies training_overhead [--figures DIR]`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from bench.common import FIGURES, markdown_table

COLUMNS = ["notebook", "run", "steps", "median step ms", "train seconds", "steps x median", "overhead seconds",
           "overhead share"]


def run_overhead(history: pd.DataFrame) -> dict:
    """Steps, median step, the History's last `seconds`, and what lies beyond steps x median."""
    seconds = history["seconds"].to_numpy(dtype=float)
    steps = len(seconds)
    per_step = pd.Series(seconds).diff().fillna(seconds[0] if steps else 0.0)
    median = float(per_step.median()) if steps else 0.0
    total = float(seconds[-1]) if steps else 0.0
    return {"steps": steps, "median step ms": median * 1000, "train seconds": total,
            "steps x median": steps * median, "overhead seconds": total - steps * median,
            "overhead share": (total - steps * median) / total if total else 0.0}


def table(figures: Path = FIGURES) -> pd.DataFrame:
    rows = []
    for path in sorted(figures.glob("[0-9]*/history_*.csv")):
        rows.append({"notebook": path.parent.name, "run": path.stem.removeprefix("history_"),
                     **run_overhead(pd.read_csv(path))})
    return pd.DataFrame(rows, columns=COLUMNS)


def reading(frame: pd.DataFrame) -> str:
    total, overhead = frame["train seconds"].sum(), frame["overhead seconds"].sum()
    return (f"{len(frame)} run(s), {total:.0f} s of training in all, of which {overhead:.0f} s "
            f"({overhead / total:.0%}) beyond their steps at the median step time.")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figures", type=Path, default=FIGURES, help="a figures/ folder (default: the committed one)")
    args = parser.parse_args(argv)
    frame = table(args.figures)
    if frame.empty:
        raise SystemExit(f"no history_*.csv under {args.figures}/<notebook>/: run the notebooks first (make run)")
    print(markdown_table(frame))
    print(f"\n**Reading:** {reading(frame)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
