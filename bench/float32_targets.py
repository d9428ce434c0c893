"""Float32 targets: every notebook's requirements with training in float32, next to the committed reference run.

A CPU without native bf16 instructions (AVX2 only) trains in float32, since `bf16="auto"` picks float32 there, and
so does a GPU; precision changes the numbers. Each training notebook is executed whole with papermill (full
profile, seed 0, `BF16 = False`, its figures in a temporary LABKIT_FIGURES) on the machine at hand, and every
requirement it checked is read from the metrics.json it wrote. The table gives, for each accuracy requirement,
the test accuracy of the committed reference run (its precision as recorded) and of the float32 run, the target,
and whether the float32 run clears it by the grading margin (0.05 points); a second table the requirements
passed per notebook and the notebook's wall time. Slow (about 40 minutes on a 2-core CPU), so it is not part of
`python -m bench`; run `python -m bench.float32_targets`. `--profile quick` times the quick profile of the whole
book in float32 instead (accuracy targets do not apply there; it prints, and writes nothing).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.common import RESULTS, append_section, run_metrics
from bench.seed_spread import run_notebook

NOTEBOOKS = ("01_cnn", "02_lenet5", "03_resnet", "04_pairs", "05_pair_data_study")
SEED = 0


def accuracy_rows(notebook: str, float32: dict, committed: dict) -> list[dict]:
    """One row per accuracy requirement of `notebook`: the committed and the float32 test accuracy of its run."""
    from labkit.course.requirements import clears_margin, requirements_for

    rows = []
    for requirement in requirements_for(notebook):
        if requirement.kind != "accuracy" or requirement.run is None or requirement.threshold is None:
            continue
        value = float32["runs"][requirement.run]["test_accuracy"]
        rows.append({"notebook": notebook, "run": requirement.run,
                     "committed": committed["runs"][requirement.run]["test_accuracy"],
                     "committed precision": committed["runs"][requirement.run].get("precision", ""),
                     "float32": value, "target": requirement.threshold,
                     "clears by margin": clears_margin(value, requirement.threshold)})
    return rows


def check_summary(notebook: str, metrics: dict) -> dict:
    checks = metrics["checks"]
    failed = [c["id"] for c in checks if c["status"] not in ("PASS", "n/a")]
    return {"notebook": notebook, "requirements passed": f"{sum(c['status'] == 'PASS' for c in checks)} of "
            f"{len(checks)}", "failed": ", ".join(failed) or "none", "seconds": metrics["wall_seconds"],
            "precision": sorted({run.get("precision", "") for run in metrics["runs"].values()})}


def tables(rows: list[dict], summaries: list[dict]) -> str:
    lines = ["| notebook | run | committed run | float32 | target | float32 clears it by 0.05 pt |",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    for r in rows:
        lines.append(f"| {r['notebook']} | {r['run']} | {r['committed']:.4f} ({r['committed precision']}) | "
                     f"{r['float32']:.4f} | {r['target']:.4f} | {'yes' if r['clears by margin'] else 'NO'} |")
    lines += ["", "| notebook | precision of its runs | requirements passed (float32) | failed | wall seconds |",
              "| --- | --- | --- | --- | ---: |"]
    for s in summaries:
        lines.append(f"| {s['notebook']} | {', '.join(s['precision'])} | {s['requirements passed']} | {s['failed']} | "
                     f"{s['seconds']:.0f} |")
    return "\n".join(lines)


def reading(rows: list[dict], summaries: list[dict]) -> str:
    short = [f"{r['run']} {r['float32']:.4f} (target {r['target']:.4f})" for r in rows if not r["clears by margin"]]
    failed = [f"{s['notebook']}: {s['failed']}" for s in summaries if s["failed"] != "none"]
    verdict = ("every accuracy target cleared by the margin in float32" if not short
               else "not every target cleared by the margin in float32: " + "; ".join(short))
    return (f"**Reading:** {verdict}; requirements failed: {'; '.join(failed) or 'none'}. Total wall time of the "
            f"five notebooks in float32: {sum(s['seconds'] for s in summaries) / 60:.1f} min.")


def time_quick_profile() -> int:
    """Every notebook (00 too) in the quick profile in float32, one after another: seconds each, kernel start
    included, and the total, as `python -m labkit grade --execute --profile quick` would spend executing them."""
    total = 0.0
    for notebook in ("00_setup_and_data", *NOTEBOOKS):
        began = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"float32-quick-{notebook}-") as folder:
            metrics = run_notebook(notebook, SEED, Path(folder), extra={"BF16": False}, profile="quick")
        seconds = time.perf_counter() - began
        total += seconds
        summary = check_summary(notebook, metrics)  # accuracy requirements are n/a in the quick profile
        print(f"{notebook}: {seconds:.0f} s, requirements passed {summary['requirements passed']}, failed: "
              f"{summary['failed']}", flush=True)
    print(f"quick profile in float32, all six notebooks: {total:.0f} s ({total / 60:.1f} min)")
    return 0


def main(argv=None) -> int:
    from labkit.env import machine

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebooks", nargs="+", choices=NOTEBOOKS, default=list(NOTEBOOKS))
    parser.add_argument("--no-write", action="store_true", help="print the tables, leave bench/results.md alone")
    parser.add_argument("--profile", choices=("full", "quick"), default="full")
    args = parser.parse_args(argv)
    if args.profile == "quick":
        return time_quick_profile()
    rows, summaries = [], []
    for notebook in args.notebooks:
        with tempfile.TemporaryDirectory(prefix=f"float32-{notebook}-") as folder:
            metrics = run_notebook(notebook, SEED, Path(folder), extra={"BF16": False})
        committed = run_metrics(notebook)
        rows += accuracy_rows(notebook, metrics, committed)
        summaries.append(check_summary(notebook, metrics))
        print(f"{notebook}: {summaries[-1]}", flush=True)
    here = machine()
    text = (f"Measured on {here.get('cpu')} (capability {here.get('cpu_capability')}), "
            f"GPU {here.get('gpu') or 'none'}, seed {SEED}, full profile.\n\n"
            f"{tables(rows, summaries)}\n\n{reading(rows, summaries)}\n")
    print(text)
    if not args.no_write:
        append_section(RESULTS, "Float32 targets", "bench/float32_targets.py", __doc__.strip().splitlines()[0], text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
