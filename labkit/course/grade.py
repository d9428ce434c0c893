"""`python -m labkit grade NOTEBOOK... [--execute] [--profile P] [--out grades.csv] [--timeout S]`.

For each notebook: which lab notebook it is; whether it was executed top to bottom without error outputs;
with --execute, a fresh run with papermill in a temporary folder (the profile's parameters injected,
LABKIT_FIGURES pointing inside it, a time limit); then labkit's requirements evaluated from that run's own
metrics.json and history files, never from what the notebook printed. A notebook that raises is graded up
to where it stopped: the cell is named, requirements whose facts were never recorded are "not done".
Without --execute the facts come from the figures folder (--figures, default the repository's figures/).
Exercise cells (the student edition's solution regions) are listed with their status: done, not done (still
`raise NotImplementedError()`), uses labkit's implementation (a forbidden name, e.g. `models.build` inside
the LeNet-5 exercise), or error; anything but done fails the grade. Answer cells (markdown tagged `answer`
or nbgrader solution cells) are listed as "manual" rows with their rubric points, graded by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pandas as pd

from ..records import figures_root, write_atomically
from .facts import Facts
from .identify import notebook_id
from .profiles import PROFILES, prepare
from .requirements import Outcome, evaluate, outcome_table, score
from .student import exercise_report

PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}
CSV_COLUMNS = ["notebook", "file", "profile", "points", "max points", "passed", "failed", "not done", "n/a",
               "exercises done", "exercises not done", "exercise points", "exercise max points", "manual points",
               "submission", "error"]


@dataclass
class Answer:
    """A hand-graded answer cell: markdown tagged `answer`, its rubric points in cell metadata `points`."""

    cell: int
    first_line: str
    points: float


@dataclass
class Grade:
    file: Path
    notebook: str = "?"
    profile: str = "full"
    outcomes: list[Outcome] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    exercises: list[dict] = field(default_factory=list)  # code exercises, from student.exercise_report
    submission_ok: bool = True
    submission: str = ""
    executed: bool = False
    error: str = ""

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    def exercises_done(self) -> list[dict]:
        return [e for e in self.exercises if e["status"] == "done"]

    @property
    def ok(self) -> bool:
        """Nothing failed: no FAIL, nothing not done, every exercise done, no error, and (when graded as
        submitted) a clean submission."""
        return (not self.error and self.notebook != "?" and not self.count("FAIL") and not self.count("not done")
                and len(self.exercises_done()) == len(self.exercises) and (self.executed or self.submission_ok))

    def row(self) -> dict:
        earned, possible = score(self.outcomes)
        return {"notebook": self.notebook, "file": str(self.file), "profile": self.profile, "points": earned,
                "max points": possible, "passed": self.count("PASS"), "failed": self.count("FAIL"),
                "not done": self.count("not done"), "n/a": self.count("n/a"),
                "exercises done": len(self.exercises_done()),
                "exercises not done": len(self.exercises) - len(self.exercises_done()),
                "exercise points": sum(e["points"] for e in self.exercises_done()),
                "exercise max points": sum(e["points"] for e in self.exercises),
                "manual points": sum(a.points for a in self.answers), "submission": self.submission,
                "error": self.error}


# ---------------------------------------------------------------- reading notebooks


def first_line(source: str, width: int = 60) -> str:
    line = next((line.strip() for line in source.splitlines() if line.strip()), "")
    return line if len(line) <= width else line[:width - 3] + "..."


def own_cells(notebook: nbformat.NotebookNode) -> list[tuple[int, nbformat.NotebookNode]]:
    """(index in the notebook as written, cell), leaving out the cells papermill adds (parameters, error banner)."""
    cells = [c for c in notebook.cells if not PAPERMILL_TAGS & set(c.metadata.get("tags", []))]
    return list(enumerate(cells))


def _error_line(output) -> str:
    value = " ".join(str(output.get("evalue", "")).split())
    return f"{output.get('ename', 'Error')}: {value}"[:200]


def submission_state(notebook: nbformat.NotebookNode) -> tuple[bool, str]:
    """(ok, why): executed top to bottom (execution counts 1, 2, 3, ... in cell order) and no error output."""
    last = 0
    for index, cell in own_cells(notebook):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        count = cell.get("execution_count")
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            return False, f"cell {index} ({first_line(cell.source)}) has an error output: {_error_line(errors[0])}"
        if count is None:
            return False, f"cell {index} ({first_line(cell.source)}) was not executed"
        if count != last + 1:
            return False, f"cell {index} ({first_line(cell.source)}) ran out of order (execution count {count}, " \
                          f"expected {last + 1}): restart the kernel and run all"
        last = count
    return True, "executed top to bottom, no error outputs"


def first_error(notebook: nbformat.NotebookNode) -> str:
    """"cell k (first line): Error: message" for the first cell with an error output, else ""."""
    for index, cell in own_cells(notebook):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "error":
                return f"cell {index} ({first_line(cell.source)}): {_error_line(output)}"
    return ""


def last_started_cell(notebook: nbformat.NotebookNode) -> str:
    """The last code cell papermill marked as started (it was running when the time ran out)."""
    started = [(index, cell) for index, cell in own_cells(notebook) if cell.cell_type == "code"
               and cell.metadata.get("papermill", {}).get("start_time")]
    return f"cell {started[-1][0]} ({first_line(started[-1][1].source)})" if started else "no cell"


def code_exercises(notebook: nbformat.NotebookNode) -> list[dict]:
    """The notebook's code exercises with their status (see student.exercise_report); answer cells are manual."""
    return [entry for entry in exercise_report(notebook) if entry["kind"] == "code"]


def answers(notebook: nbformat.NotebookNode) -> list[Answer]:
    found = []
    for index, cell in own_cells(notebook):
        if cell.cell_type == "markdown" and "answer" in cell.metadata.get("tags", []):
            points = cell.metadata.get("points", 0)
            if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
                raise ValueError(f"answer cell {index}: metadata points must be a number >= 0, got {points!r}")
            found.append(Answer(index, first_line(cell.source), points))
    return found


# ---------------------------------------------------------------- executing


def execute(path: Path, notebook: str, profile: str, folder: Path, timeout: float) -> tuple[Path, str]:
    """Run the notebook at `path` with papermill in `folder` (its cwd, LABKIT_FIGURES=folder/figures) for
    `profile`; return (the figures folder, "" or the error in one line)."""
    prepared = prepare(path, profile, folder / "input", notebook=notebook)
    executed = folder / path.name
    figures = folder / "figures"
    command = [sys.executable, "-m", "papermill", str(prepared), str(executed), "--cwd", str(folder),
               "--kernel", "python3", "--no-progress-bar", "--no-log-output", "--log-level", "ERROR"]
    environment = {**os.environ, "LABKIT_FIGURES": str(figures)}
    process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)  # its own process group: a time-out stops the kernel too
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        ran = nbformat.read(executed, as_version=4) if executed.is_file() else None
        where = last_started_cell(ran) if ran is not None else "before the first cell"
        return figures, f"timed out after {timeout:g} s, in {where}"
    if process.returncode == 0:
        return figures, ""
    if executed.is_file():
        error = first_error(nbformat.read(executed, as_version=4))
        if error:
            return figures, error
    lines = [line for line in stderr.splitlines() if line.strip()]
    return figures, f"papermill failed (exit {process.returncode}): {lines[-1] if lines else 'no message'}"[:300]


def grade(path: str | Path, *, execute_it: bool = False, profile: str | None = None, timeout: float = 1800,
          figures: Path | None = None) -> Grade:
    """Grade one notebook file (see the module docstring)."""
    path = Path(path)
    result = Grade(path)
    try:
        source = nbformat.read(path, as_version=4)
        result.notebook = notebook_id(path, source)
        result.answers = answers(source)
    except (OSError, ValueError, nbformat.ValidationError, json.JSONDecodeError) as error:
        result.error = " ".join(str(error).split())[:300]
        return result
    result.submission_ok, result.submission = submission_state(source)
    result.executed = execute_it
    if execute_it:
        result.profile = profile or "full"
        with tempfile.TemporaryDirectory(prefix=f"labkit-grade-{result.notebook}-") as folder:
            figures_folder, result.error = execute(path, result.notebook, result.profile, Path(folder), timeout)
            facts = Facts.load(figures_folder / result.notebook)
            ran = Path(folder) / path.name
            result.exercises = code_exercises(nbformat.read(ran, as_version=4) if ran.is_file() else source)
    else:
        folder = (figures or figures_root()) / result.notebook
        metrics = folder / "metrics.json"
        recorded = json.loads(metrics.read_text()).get("profile") if metrics.is_file() else None
        result.profile = profile or recorded or "full"
        if profile and recorded and profile != recorded:
            result.error = f"{metrics} was written by a {recorded} run, graded as {profile}"
        facts = Facts.load(folder)
        result.exercises = code_exercises(source)
    result.outcomes = evaluate(result.notebook, facts, result.profile)
    return result


# ---------------------------------------------------------------- output


def describe(result: Grade) -> str:
    earned, possible = score(result.outcomes)
    lines = [f"== {result.notebook}  {result.file}  ({result.profile} profile): {earned:g}/{possible:g} points; "
             f"{result.count('PASS')} passed, {result.count('FAIL')} failed, {result.count('not done')} not done, "
             f"{result.count('n/a')} n/a"]
    if result.submission:
        lines.append(f"   submission: {result.submission}")
    if result.error:
        lines.append(f"   error: {result.error}")
    if result.outcomes:
        table = outcome_table(result.outcomes)[["result", "id", "points", "detail"]]
        lines += ["   " + line for line in table.to_string(index=False).splitlines()]
    lines += [f"   {'exercise' if e['status'] == 'done' else 'EXERCISE'}  {e['id']} in cell {e['cell']}: {e['status']}"
              f"{' -- ' + e['detail'] if e['detail'] else ''} ({e['points']:g} points)" for e in result.exercises]
    lines += [f"   manual    answer in cell {a.cell}: 0..{a.points:g} points -- {a.first_line}" for a in result.answers]
    return "\n".join(lines)


def write_csv(results: list[Grade], out: Path) -> Path:
    table = pd.DataFrame([r.row() for r in results], columns=CSV_COLUMNS)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_atomically(out, lambda tmp: table.to_csv(tmp, index=False))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK")
    parser.add_argument("--execute", action="store_true", help="run each notebook afresh with papermill first")
    parser.add_argument("--profile", choices=PROFILES,
                        help="parameters injected with --execute (default full); without, the profile recorded")
    parser.add_argument("--out", type=Path, help="write one CSV row per notebook here")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per notebook with --execute")
    parser.add_argument("--figures", type=Path, help="without --execute: the folder holding <notebook>/metrics.json")


def run(args: argparse.Namespace) -> int:
    if args.timeout <= 0:
        print(f"error: --timeout must be a number of seconds > 0, got {args.timeout}", file=sys.stderr)
        return 2
    results = []
    for path in args.notebooks:
        result = grade(path, execute_it=args.execute, profile=args.profile, timeout=args.timeout,
                       figures=args.figures)
        print(describe(result), flush=True)
        results.append(result)
    if args.out:
        write_csv(results, args.out)
        print(f"wrote {args.out}")
    failed = [str(r.file) for r in results if not r.ok]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0
