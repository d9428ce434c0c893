"""`python -m labkit run` and `python -m labkit test`: the one spelling of the reference run and the test pipeline.

The Makefile's `make run`, `make test` and its parts (`make lint`, `make unit`, ...) only call these, so a machine
without make (native Windows) runs the very same steps. Every step is a subprocess started with this Python
(`sys.executable`), list arguments and no shell; temporary folders come from tempfile and are removed after.

    python -m labkit run [NOTEBOOK ...] [--timeout S]   = make run: verify/fetch MNIST, execute each notebook in
                                                          place (kernel started in its folder, LABKIT_STRICT unset),
                                                          print its seconds, then refresh README's results table
    python -m labkit test                               = make test: lint, MNIST, unit tests, notebooks under nbval
                                                          (smoke profile), the grader (smoke), committed results
    python -m labkit test --full                        = make test-full: MNIST, notebooks under nbval in the full
                                                          profile (cell timeout 1800 s)
    python -m labkit test --only unit                   = make unit: one step (lint, data, unit, notebooks, grade,
                                                          committed)

Both stop at the first failure with a non-zero exit status and say which notebook or step failed.
The repository is the folder holding notebooks/ and labkit/: the current folder or one above it, else the
folder labkit itself was installed from (an editable install).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..records import REPOSITORY

CELL_TIMEOUT = 1800  # seconds per cell: `make run`, `make test-full`
SMOKE_TIMEOUT = 300  # seconds per cell (nbval) and per notebook (grader) in the smoke profile
NOTEBOOK_PATTERN = "[0-9]*.ipynb"
COMMITTED_TEST = "tests/test_committed_results.py"
FRESHNESS_TEST = f"{COMMITTED_TEST}::test_committed_results_pass_and_are_fresh"
LINTED = ["labkit", "tests", "bench", "studies", "notebooks"]


class CommandError(Exception):
    """A bad argument or a missing prerequisite, said in one line; the command exits with status 2."""


def call(command: list[str], cwd: Path | None = None, env: dict | None = None, quiet: bool = False) -> int:
    """Run `command` (a list: no shell) and return its exit status; its output goes to this terminal,
    stdout discarded when `quiet`. The one place the commands start processes, so tests can replace it."""
    print("$ " + subprocess.list2cmdline(command), flush=True)
    stdout = subprocess.DEVNULL if quiet else None
    return subprocess.run(command, cwd=cwd, env=env, stdout=stdout, check=False).returncode


def is_repository(folder: Path) -> bool:
    """Whether `folder` is this lab book's repository: it holds notebooks/ and labkit/."""
    return (folder / "notebooks").is_dir() and (folder / "labkit").is_dir()


def find_repository(start: Path | None = None) -> Path:
    """The repository: `start` (default the current folder) or the nearest folder above it that holds notebooks/
    and labkit/; else the folder labkit was installed from. Raises CommandError naming where it looked."""
    start = Path.cwd() if start is None else Path(start)
    start = start.resolve()
    for folder in (start, *start.parents, REPOSITORY):
        if is_repository(folder):
            return folder
    raise CommandError(f"no repository found: neither {start} nor a folder above it, nor {REPOSITORY}, holds "
                       f"notebooks/ and labkit/; run this from the lab book's repository")


def default_notebooks(root: Path) -> list[Path]:
    """The numbered notebooks, notebooks/[0-9]*.ipynb under `root`, sorted by name (as the Makefile's NOTEBOOKS)."""
    notebooks = sorted((root / "notebooks").glob(NOTEBOOK_PATTERN))
    if not notebooks:
        raise CommandError(f"no notebooks/{NOTEBOOK_PATTERN} found in {root}")
    return notebooks


def check_notebooks(paths: list[Path]) -> list[Path]:
    """`paths` made absolute when each is an existing .ipynb file; else CommandError naming the first that is not."""
    for path in paths:
        if not Path(path).is_file():
            raise CommandError(f"notebook not found: {path} (give paths to existing .ipynb files, or none for "
                               f"notebooks/{NOTEBOOK_PATTERN})")
        if Path(path).suffix != ".ipynb":
            raise CommandError(f"not a notebook: {path} (expected a .ipynb file)")
    return [Path(path).resolve() for path in paths]


def check_timeout(seconds: float) -> float:
    if not seconds > 0:
        raise CommandError(f"--timeout must be a number of seconds > 0, got {seconds}")
    return seconds


def missing_module(module: str, step: str) -> str | None:
    """None when `module` can be imported by this Python; else a message saying how to install it."""
    if importlib.util.find_spec(module) is not None:
        return None
    return (f"error: {step} needs {module}, which is not installed in {sys.executable}; install the development "
            f"dependencies: {Path(sys.executable).name} -m pip install -e \".[dev]\"")


def labkit_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "labkit", *arguments]


# `python -m labkit run` ------------------------------------------------------------------------------------------

def execute_notebook(notebook: Path, timeout: float, root: Path) -> int:
    """Execute `notebook` in place with nbconvert (the kernel starts in the notebook's folder), LABKIT_STRICT
    unset as in `make run`; return nbconvert's exit status."""
    env = {name: value for name, value in os.environ.items() if name != "LABKIT_STRICT"}
    command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
               f"--ExecutePreprocessor.timeout={timeout:g}", "--ExecutePreprocessor.kernel_name=python3",
               str(notebook)]
    return call(command, cwd=root, env=env)


def run(args: argparse.Namespace) -> int:
    """`make run`: MNIST, every notebook executed in place (stopping at the first that fails), README's results."""
    try:
        timeout = check_timeout(args.timeout)
        root = find_repository()
        notebooks = check_notebooks(args.notebooks) if args.notebooks else default_notebooks(root)
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    status = call(labkit_command("data"), cwd=root)
    if status:
        print(f"error: MNIST is not available (exit status {status}); no notebook was run", file=sys.stderr)
        return status
    for index, notebook in enumerate(notebooks):
        print(f"== executing {notebook}", flush=True)
        start = time.monotonic()
        status = execute_notebook(notebook, timeout, root)
        if status:
            rest = ", ".join(str(n) for n in notebooks[index + 1:]) or "none"
            print(f"error: {notebook} failed (exit status {status}); not run: {rest}", file=sys.stderr)
            return status
        print(f"== {notebook}: {time.monotonic() - start:.0f} s", flush=True)
    return call(labkit_command("results", "--readme", str(root / "README.md")), cwd=root)


# `python -m labkit test` -----------------------------------------------------------------------------------------

@dataclass
class Options:
    """What every step of `python -m labkit test` gets: the repository and the notebooks."""

    root: Path
    notebooks: list[Path]


def lint(options: Options) -> int:
    """ruff on labkit, tests, bench and the notebooks (`make lint`)."""
    message = missing_module("ruff", "lint")
    if message:
        print(message, file=sys.stderr)
        return 1
    return call([sys.executable, "-m", "ruff", "check", *LINTED], cwd=options.root)


def data(options: Options) -> int:
    """MNIST fetched if missing and verified (`make data`), which the next steps need."""
    return call(labkit_command("data"), cwd=options.root)


def unit(options: Options) -> int:
    """The unit tests, all but the committed results' freshness (`make unit`)."""
    return call([sys.executable, "-m", "pytest", "-q", "--durations=12", "tests", "--deselect", FRESHNESS_TEST],
                cwd=options.root)


def nbval(options: Options, profile: str, cell_timeout: float) -> int:
    """Every notebook under nbval in `profile` (`make nbval`): papermill copies in a temporary folder, their
    figures there too, LABKIT_STRICT=1 so a failed requirement fails the notebook's last cell."""
    message = missing_module("nbval", f"notebooks ({profile})")
    if message:
        print(message, file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix=f"labkit-{profile}.", ignore_cleanup_errors=True) as build:
        copies = Path(build) / "notebooks"
        status = call(labkit_command("profile", profile, *map(str, options.notebooks), "--out", str(copies)),
                      cwd=options.root, quiet=True)
        if status:
            return status
        env = {**os.environ, "LABKIT_STRICT": "1", "LABKIT_FIGURES": str(Path(build) / "figures")}
        command = [sys.executable, "-m", "pytest", "-q", "--nbval-lax", f"--nbval-cell-timeout={cell_timeout:g}",
                   "-p", "no:cacheprovider", "--rootdir", str(copies), *(n.name for n in options.notebooks)]
        return call(command, cwd=copies, env=env)


def notebooks_smoke(options: Options) -> int:
    """`make notebooks`: nbval in the smoke profile."""
    return nbval(options, "smoke", SMOKE_TIMEOUT)


def notebooks_full(options: Options) -> int:
    """`make test-full`: nbval in the full profile, with the long cell timeout."""
    return nbval(options, "full", CELL_TIMEOUT)


def grade(options: Options) -> int:
    """The grader on every notebook, executed afresh in the smoke profile; prints the grades CSV (`make grade`)."""
    with tempfile.TemporaryDirectory(prefix="labkit-grade.", ignore_cleanup_errors=True) as build:
        grades = Path(build) / "grades.csv"
        status = call(labkit_command("grade", *map(str, options.notebooks), "--execute", "--profile", "smoke",
                                     "--timeout", str(SMOKE_TIMEOUT), "--out", str(grades)), cwd=options.root)
        if grades.is_file():
            print(grades.read_text(encoding="utf-8"), end="", flush=True)
        return status


def committed(options: Options) -> int:
    """The committed results: every requirement passes and none is stale (`make committed`)."""
    return call([sys.executable, "-m", "pytest", "-q", COMMITTED_TEST], cwd=options.root)


@dataclass
class Step:
    name: str  # as `--only` and the Makefile's target call it
    title: str
    action: Callable[[Options], int]


TEST_STEPS = [Step("lint", "lint", lint), Step("data", "data", data), Step("unit", "unit tests", unit),
              Step("notebooks", "notebooks (nbval, smoke profile)", notebooks_smoke),
              Step("grade", "grader (smoke profile)", grade), Step("committed", "committed results", committed)]
FULL_STEPS = [Step("data", "data", data), Step("notebooks", "notebooks (nbval, full profile)", notebooks_full)]


def run_steps(steps: list[Step], options: Options) -> int:
    """Run `steps` in order; stop at the first that fails and return its (non-zero) exit status, naming it."""
    total = time.monotonic()
    for index, step in enumerate(steps):
        print(f"== {step.title}", flush=True)
        start = time.monotonic()
        status = step.action(options)
        if status:
            rest = ", ".join(s.title for s in steps[index + 1:]) or "none"
            print(f"error: step '{step.title}' failed (exit status {status}); not run: {rest}", file=sys.stderr)
            return status
        print(f"== {step.title}: passed in {time.monotonic() - start:.0f} s", flush=True)
    print(f"all {len(steps)} steps passed in {time.monotonic() - total:.0f} s: {', '.join(s.title for s in steps)}")
    return 0


def test(args: argparse.Namespace) -> int:
    """`make test` (or with --full, `make test-full`): each step in order, stopping at the first failure; with
    --only, that one step."""
    steps = FULL_STEPS if args.full else TEST_STEPS
    try:
        root = find_repository()
        options = Options(root, default_notebooks(root))
        if args.only is not None:
            chosen = [step for step in steps if step.name == args.only]
            if not chosen:
                raise CommandError(f"--only must be one of {[step.name for step in steps]}, got {args.only!r}")
            steps = chosen
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return run_steps(steps, options)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebooks", nargs="*", type=Path, metavar="NOTEBOOK",
                        help=f"notebooks to execute in place (default: notebooks/{NOTEBOOK_PATTERN}, sorted)")
    parser.add_argument("--timeout", type=float, default=CELL_TIMEOUT,
                        help=f"seconds per cell (default {CELL_TIMEOUT})")


def add_test_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--full", action="store_true",
                        help=f"as `make test-full`: MNIST, then the notebooks under nbval in the full profile "
                             f"(cell timeout {CELL_TIMEOUT} s) instead of the smoke checks")
    parser.add_argument("--only", metavar="STEP",
                        help=f"run one step: {', '.join(step.name for step in TEST_STEPS)} (with --full: "
                             f"{', '.join(step.name for step in FULL_STEPS)})")
