"""Float32 targets: does every notebook still meet its requirements when it trains in float32?

Result (CPU AMD EPYC, capability AVX512, native bf16, forced to fp32; 2026-11-26 11:45–12:26 UTC, labkit as of
e458e80; tables in studies/results.md, "Float32 targets"): every requirement of the five training notebooks
passes in fp32, but three runs clear their target by less than the grading margin of 0.05 points:
plain_cnn_rotation 0.9932 and lenet5_modern 0.9932 (target 0.9930), two_channel 0.9853 (target 0.9850). The
five notebooks took 37.5 min in fp32 on that CPU.

A CPU without native bf16 instructions (AVX2 only) trains in fp32, since `precision="auto"` picks fp32 there, and
so does a GPU; precision changes the numbers. Each training notebook is executed whole with papermill (full
profile, seed 0, `PRECISION = "fp32"`, its figures in a temporary LABKIT_FIGURES) on the machine at hand, and every
requirement it checked is read from the metrics.json it wrote. The table gives, for each accuracy requirement,
the test accuracy of the committed reference run (its precision as recorded) and of the fp32 run, the target,
and whether the fp32 run clears it by the grading margin (0.05 points); a second table the requirements
passed per notebook and the notebook's wall time. Slow (about 40 minutes on a 2-core CPU): `python -m studies
float32_targets`. How long the quick or full profile takes in fp32 is the notebook suite's
(`python -m bench --only notebooks --precisions fp32`).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.common import run_metrics
from studies.common import RESULTS, append_section
from studies.seed_spread import run_notebook

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


def main(argv=None) -> int:
    from labkit.env import machine

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebooks", nargs="+", choices=NOTEBOOKS, default=list(NOTEBOOKS))
    parser.add_argument("--no-write", action="store_true", help="print the tables, leave studies/results.md alone")
    args = parser.parse_args(argv)
    rows, summaries = [], []
    for notebook in args.notebooks:
        with tempfile.TemporaryDirectory(prefix=f"float32-{notebook}-") as folder:
            metrics = run_notebook(notebook, SEED, Path(folder), extra={"PRECISION": "fp32"})
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
        append_section(RESULTS, "Float32 targets", "studies/float32_targets.py", __doc__.strip().splitlines()[0], text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
