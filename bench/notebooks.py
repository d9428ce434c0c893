"""Notebook suite: wall seconds to execute each numbered notebook top to bottom, per profile and precision.

For each profile (labkit.course.profiles: "full" is `make run`'s, "quick" a student's first check) and each
precision ("auto", what the notebook's `PRECISION = "auto"` trains in here, or "fp32" / "bf16" forced), every
numbered notebook is prepared with papermill (the profile's parameters and `PRECISION` injected) into a temporary
folder and executed there with `jupyter nbconvert --to notebook --execute`; the committed notebooks and figures
are never touched (the runs' figures go to a temporary LABKIT_FIGURES). The time covers the whole command:
kernel start, every cell, writing the copy. One run per notebook (they take minutes), after a warm-up that
executes a one-cell notebook (first kernel start, cold imports). The precision each notebook's runs actually
trained in, their training seconds and the requirements passed are read from the metrics.json it wrote. Under
`python -m bench --simulate avx2` the kernels inherit the lowered ISA (and run on the CPU). Slow, so
`python -m bench` includes it only with `--notebooks`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pandas as pd

from bench.common import ROOT, check_simulation, markdown_table, simulation

NOTEBOOKS = ROOT / "notebooks"
TIMEOUT = 1800  # seconds per cell, as in the Makefile
PROFILES = ("quick", "full")  # the two a user runs: the first check, then the reference run
PRECISIONS = ("auto",)
# The time budget a student gets, on a 2-core CPU: each notebook in the full profile in its auto precision (a student
# runs one notebook at a time), longer where the CPU has no native bf16 and trains in float32; the whole book in the
# quick profile, a first check.
NOTEBOOK_BUDGET = {"native": 8 * 60, "simulated": 15 * 60}  # seconds per notebook, full profile
QUICK_BUDGET = 3 * 60  # seconds for every notebook of the quick profile together
COLUMNS = ["profile", "precision asked", "notebook", "code cells", "seconds", "runs' precision", "train seconds",
           "requirements", "status"]


def execute(notebook: Path, folder: Path) -> tuple[float, str]:
    """Seconds to execute `notebook` into `folder`, and "ok" or why it failed."""
    command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", str(notebook),
               "--output-dir", str(folder), "--output", notebook.stem,
               f"--ExecutePreprocessor.timeout={TIMEOUT}", "--ExecutePreprocessor.kernel_name=python3"]
    environment = {**os.environ, "LABKIT_FIGURES": str(folder / "figures")}  # committed figures stay untouched
    if simulation():
        environment["LABKIT_DEVICE"] = "cpu"  # the simulated machine is the CPU
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=environment)
    seconds = time.perf_counter() - start
    if done.returncode == 0:
        return seconds, "ok"
    last = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return seconds, f"failed: {last[:120]}"


def one_cell_notebook(folder: Path) -> Path:
    path = folder / "warmup.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), path)
    return path


def prepared(notebook: Path, profile: str, precision: str, folder: Path) -> Path:
    """A copy of `notebook` in `folder` with the profile's parameters and, unless "auto", PRECISION injected."""
    from labkit.course.profiles import prepare

    extra = {}
    if precision != "auto":
        source = "\n".join(cell.source for cell in nbformat.read(notebook, as_version=4).cells
                           if "parameters" in cell.metadata.get("tags", []))
        if "PRECISION" not in source:
            raise SystemExit(f"{notebook.name} has no PRECISION parameter, so precision {precision!r} cannot be "
                             f"forced; run with --precisions auto")
        extra["PRECISION"] = precision
    return prepare(notebook, profile, folder, extra=extra)


def outcome(figures: Path, notebook: str) -> dict:
    """What the notebook's metrics.json says: its runs' precision, their training seconds, requirements passed."""
    path = figures / notebook / "metrics.json"
    if not path.is_file():
        return {"runs' precision": "none", "train seconds": 0.0, "requirements": "none"}
    metrics = json.loads(path.read_text())
    runs, checks = metrics.get("runs", {}).values(), metrics.get("checks", [])
    return {"runs' precision": ", ".join(sorted({run.get("precision", "?") for run in runs})) or "none",
            "train seconds": float(sum(run.get("train_seconds", 0.0) for run in runs)),
            "requirements": f"{sum(c.get('status') == 'PASS' for c in checks)} of {len(checks)} PASS"}


def run(quick: bool = False, profiles=PROFILES, precisions=PRECISIONS) -> pd.DataFrame:
    """With `quick`, only the one-cell notebook, once: the machinery, not the suite."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        warmup = one_cell_notebook(folder)
        if quick:
            seconds, status = execute(warmup, folder / "executed")
            return pd.DataFrame([{"profile": "none", "precision asked": "none", "notebook": warmup.name,
                                  "code cells": 1, "seconds": seconds, **outcome(folder, "warmup"),
                                  "status": status}], columns=COLUMNS)
        execute(warmup, folder / "warmup")
        for profile in profiles:
            for precision in precisions:
                where = folder / f"{profile}-{precision}"
                for notebook in sorted(NOTEBOOKS.glob("[0-9]*.ipynb")):
                    copy = prepared(notebook, profile, precision, where / "input")
                    cells = sum(cell.cell_type == "code" for cell in nbformat.read(copy, as_version=4).cells)
                    seconds, status = execute(copy, where / "executed")
                    rows.append({"profile": profile, "precision asked": precision, "notebook": notebook.name,
                                 "code cells": cells, "seconds": seconds,
                                 **outcome(where / "executed" / "figures", notebook.stem), "status": status})
                    print(f"{profile} {precision} {notebook.name}: {seconds:.0f} s, {status}", flush=True)
    return pd.DataFrame(rows, columns=COLUMNS)


def budget(rows: pd.DataFrame, profile: str, precision: str) -> str:
    """Whether `rows` (one profile, one precision) kept the time budget: each notebook of the full profile in auto
    precision, or the quick profile's whole book; '' where no budget is set."""
    if profile == "full" and precision == "auto":
        limit = NOTEBOOK_BUDGET["simulated" if simulation() else "native"]
        over = [f"{row.notebook} {row.seconds / 60:.1f} min" for row in rows.itertuples() if row.seconds > limit]
        return (f"; budget {limit / 60:.0f} min per notebook: " +
                (f"over it: {', '.join(over)}" if over else f"met (longest {rows['seconds'].max() / 60:.1f} min)"))
    if profile == "quick":
        total = rows["seconds"].sum()
        return f"; budget {QUICK_BUDGET / 60:.0f} min for the book: {'met' if total <= QUICK_BUDGET else 'not met'}"
    return ""


def cell_seconds(notebook: Path) -> float | None:
    """Seconds from the first code cell's start to the last one's reply, by the notebook's own cell timestamps
    (None where it carries none): kernel start and writing the file are not in it."""
    times = [cell.metadata.get("execution", {}) for cell in nbformat.read(notebook, as_version=4).cells
             if cell.cell_type == "code"]
    starts = [t.get("iopub.execute_input") or t.get("shell.execute_reply.started") for t in times]
    ends = [t.get("shell.execute_reply") for t in times]
    if not times or None in (starts[0], ends[-1]):
        return None
    return (pd.Timestamp(ends[-1]) - pd.Timestamp(starts[0])).total_seconds()


def committed_reading(folder: Path = NOTEBOOKS) -> str:
    """The committed notebooks (`make run`'s, on the machine that executed them): each one's seconds by its own
    cell timestamps, against the native per-notebook budget."""
    seconds = {path.stem: cell_seconds(path) for path in sorted(folder.glob("[0-9]*.ipynb"))}
    timed = {name: value for name, value in seconds.items() if value is not None}
    if not timed:
        return "The committed notebooks carry no cell timestamps."
    limit = NOTEBOOK_BUDGET["native"]
    over = [name for name, value in timed.items() if value > limit]
    listed = ", ".join(f"{name} {value:.0f} s" for name, value in timed.items())
    untimed = [name for name, value in seconds.items() if value is None]
    return (f"The committed notebooks, by their own cell timestamps (first cell's start to last cell's reply): "
            f"{listed}" + (f"; no timestamps: {', '.join(untimed)}" if untimed else "") +
            f"; budget {limit / 60:.0f} min per notebook: " +
            (f"over it: {', '.join(over)}" if over else f"met (longest {max(timed.values()) / 60:.1f} min)") + ".")


def reading(table: pd.DataFrame) -> str:
    """Per profile and precision: how many notebooks ran, the minutes they took, and the time budget; natively, the
    committed notebooks' own times beside them."""
    parts = []
    for (profile, precision), rows in table.groupby(["profile", "precision asked"], sort=False):
        passed = int((rows["status"] == "ok").sum())
        trained = ", ".join(sorted(set(", ".join(rows["runs' precision"]).split(", ")) - {"none"})) or "no runs"
        parts.append(f"{profile} profile, precision {precision} (trained in {trained}): {passed} of {len(rows)} "
                     f"notebooks executed without error, {rows['seconds'].sum() / 60:.1f} min in all"
                     + budget(rows, profile, precision))
    committed = "" if simulation() else " " + committed_reading()
    return "One run each. " + "; ".join(parts) + "." + committed


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the one-cell notebook only: checks the machinery")
    parser.add_argument("--profiles", nargs="+", choices=("quick", "full", "smoke"), default=list(PROFILES))
    parser.add_argument("--precisions", nargs="+", choices=("auto", "fp32", "bf16"), default=list(PRECISIONS))
    args = parser.parse_args(argv)
    check_simulation()
    table = run(args.quick, tuple(args.profiles), tuple(args.precisions))
    print(markdown_table(table))
    print(reading(table))


if __name__ == "__main__":
    main()
