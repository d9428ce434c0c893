"""Notebook suite: wall seconds to execute each numbered notebook top to bottom, as `make run` does.

Each notebook is executed with `jupyter nbconvert --to notebook --execute` from the committed file,
read only: the executed copy goes to a temporary folder (never in place), the notebooks' figures to
a temporary LABKIT_FIGURES, and the kernel starts in notebooks/ as under `make run`. The time covers
the whole command: kernel start, every cell, writing the copy. One run per notebook (they take
minutes), after a warm-up that executes a one-cell notebook (first kernel start, cold imports).
Slow, so `python -m bench` includes it only with `--notebooks`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pandas as pd

from bench.common import ROOT, cli

NOTEBOOKS = ROOT / "notebooks"
TIMEOUT = 1800  # seconds per cell, as in the Makefile
COLUMNS = ["notebook", "code cells", "seconds", "status"]


def execute(notebook: Path, folder: Path) -> tuple[float, str]:
    """Seconds to execute `notebook` into `folder`, and "ok" or why it failed."""
    command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", str(notebook),
               "--output-dir", str(folder), "--output", notebook.stem,
               f"--ExecutePreprocessor.timeout={TIMEOUT}", "--ExecutePreprocessor.kernel_name=python3"]
    environment = {**os.environ, "LABKIT_FIGURES": str(folder / "figures")}  # committed figures stay untouched
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


def run(quick: bool = False) -> pd.DataFrame:
    """With `quick`, only the one-cell notebook, once: the machinery, not the suite."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        warmup = one_cell_notebook(folder)
        if not quick:
            execute(warmup, folder / "warmup")
        chosen = [warmup] if quick else sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
        for notebook in chosen:
            cells = sum(cell.cell_type == "code" for cell in nbformat.read(notebook, as_version=4).cells)
            seconds, status = execute(notebook, folder / "executed")
            rows.append({"notebook": notebook.name, "code cells": cells, "seconds": seconds, "status": status})
    return pd.DataFrame(rows, columns=COLUMNS)


def reading(table: pd.DataFrame) -> str:
    passed = int((table["status"] == "ok").sum())
    return (f"No goal set; {passed} of {len(table)} notebooks executed without error, "
            f"{table['seconds'].sum() / 60:.1f} min in all (one run each).")


def main() -> None:
    cli(run, reading, __doc__)


if __name__ == "__main__":
    main()
