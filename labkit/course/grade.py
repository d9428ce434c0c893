"""`python -m labkit grade NOTEBOOK... [--execute] [--profile P] [--out grades.csv] [--timeout S]`.

For each notebook: which lab notebook it is; whether it was executed top to bottom without error outputs;
with --execute, a fresh run with papermill in a temporary folder (the profile's parameters injected,
LABKIT_FIGURES pointing inside it, a time limit); then labkit's requirements evaluated from that run's own
metrics.json and history files, never from what the notebook printed. A notebook that raises is graded up
to where it stopped: the cell is named, requirements whose facts were never recorded are "not done".
Without --execute the facts come from the figures folder (--figures, default the repository's figures/).

The kernel's numbers are not taken on trust. Each run an accuracy requirement reads is measured again after the
kernel ended: the grader rebuilds the model from the notebook's own exercise class (or labkit's registry), loads
the weights the run saved, and evaluates it on its own copy of the verified test set; a run whose recorded
accuracy disagrees, or whose history disagrees with its metrics, is "inconsistent"; a run shorter than the
profile prescribes (epochs, training set) is "not done". Either earns no points. The requirements are judged on
the grader's own measurements.

Exercises and answer cells are those of labkit's rubric (labkit.course.requirements.EXERCISES and ANSWERS), with
its points, whatever a submission's metadata says. Each exercise's status: done, not done (still `raise
NotImplementedError()`), uses labkit's implementation (a forbidden name, e.g. `models.build` inside the LeNet-5
exercise), error (the cell or its self-check raised) or "self-check edited"; anything but done fails the grade.
As nbgrader's autograder does with its locked cells, --execute puts the reference's self-check cells back before
running. Answer cells are listed as "manual" rows with their rubric points, graded by hand.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import nbformat
import pandas as pd

from ..files import write_atomically
from ..records import figures_root
from .facts import Facts
from .identify import notebook_id
from .profiles import PROFILES, parameters, prepare, write_notebook
from .requirements import (
    Outcome,
    answer_points,
    check_requirements,
    exercise_points,
    has_rubric,
    outcome_table,
    requirements_for,
    score,
)
from .submissions import (
    DONE,
    NOT_DONE,
    SELF_CHECK,
    ExerciseCodeRefused,
    exercise_namespace,
    exercise_report,
    first_error,
    first_line,
    graded_cells,
    last_started_cell,
    own_cells,
    parameter_values,
    rebuild_model,
    reference_notebook,
    submission_state,
)

VERIFIED, INCONSISTENT = "verified", "inconsistent"
SELF_CHECK_EDITED = "self-check edited"
AGREEMENT = 3  # test items: a recorded accuracy further than this from the grader's own measurement is forged
EPOCHS_PARAMETER = {("02_lenet5", "lenet5_report_recipe"): "REPORT_EPOCHS"}  # else EPOCHS sets a run's epochs
CSV_COLUMNS = ["notebook", "file", "profile", "points", "max points", "passed", "failed", "not done", "n/a",
               "inconsistent", "exercises done", "exercises not done", "exercise points", "exercise max points",
               "manual points", "runs verified", "runs not verified", "submission", "error"]


@dataclass
class Answer:
    """A hand-graded answer cell (None: the submission has no cell with that rubric id) and its rubric points."""

    cell: int | None
    first_line: str
    points: float


@dataclass(frozen=True)
class RunCheck:
    """A run measured again by the grader: VERIFIED, INCONSISTENT or NOT_DONE, why, and the grader's numbers."""

    run: str
    status: str
    detail: str
    accuracy: float | None = None
    per_class_accuracy: list | None = None


@dataclass
class Grade:
    file: Path
    notebook: str = "?"
    profile: str = "full"
    outcomes: list[Outcome] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    exercises: list[dict] = field(default_factory=list)  # code exercises, see code_exercises
    runs: list[RunCheck] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)  # self-checks put back before executing
    submission_ok: bool = True
    submission: str = ""
    executed: bool = False
    error: str = ""

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    def exercises_done(self) -> list[dict]:
        return [e for e in self.exercises if e["status"] == DONE]

    @property
    def ok(self) -> bool:
        """Nothing failed: no FAIL, nothing not done or inconsistent, every exercise done, no error, and (when
        graded as submitted) a clean submission."""
        return (not self.error and self.notebook != "?" and not any(map(self.count, ("FAIL", NOT_DONE, INCONSISTENT)))
                and len(self.exercises_done()) == len(self.exercises) and (self.executed or self.submission_ok))

    def row(self) -> dict:
        earned, possible = score(self.outcomes)
        verified = sum(check.status == VERIFIED for check in self.runs)
        return {"notebook": self.notebook, "file": str(self.file), "profile": self.profile, "points": earned,
                "max points": possible, "passed": self.count("PASS"), "failed": self.count("FAIL"),
                "not done": self.count(NOT_DONE), "n/a": self.count("n/a"), "inconsistent": self.count(INCONSISTENT),
                "exercises done": len(self.exercises_done()),
                "exercises not done": len(self.exercises) - len(self.exercises_done()),
                "exercise points": sum(e["points"] for e in self.exercises_done()),
                "exercise max points": sum(e["points"] for e in self.exercises),
                "manual points": sum(a.points for a in self.answers), "runs verified": verified,
                "runs not verified": len(self.runs) - verified, "submission": self.submission, "error": self.error}


# ---------------------------------------------------------------- exercises, answers and self-checks


def _self_checks(notebook) -> dict[str, str]:
    return {g.id: g.cell.source for g in graded_cells(notebook) if g.role == SELF_CHECK}


def edited_self_checks(submission, reference) -> dict[str, str]:
    """exercise id -> what happened to its self-check, for each one the submission changed or removed."""
    mine = _self_checks(submission)
    return {exercise: "removed" if exercise not in mine else "edited"
            for exercise, source in _self_checks(reference).items() if mine.get(exercise) != source}


def restore_self_checks(submission, reference) -> list[str]:
    """Put the reference's self-check cells back into `submission` (in place) where it changed or removed them, as
    nbgrader's autograder overwrites locked cells; return one line per cell put back."""
    restored = []
    checks = {g.id: g.cell for g in graded_cells(reference) if g.role == SELF_CHECK}
    for exercise, what in edited_self_checks(submission, reference).items():
        graded = {(g.role, g.id): g for g in graded_cells(submission)}
        if ("exercise", exercise) not in graded:
            continue  # the exercise itself is gone: it is not done, nothing to check
        if what == "edited":
            graded[(SELF_CHECK, exercise)].cell.source = checks[exercise].source
        else:
            position = next(i for i, cell in enumerate(submission.cells) if cell is graded[("exercise", exercise)].cell)
            submission.cells.insert(position + 1, copy.deepcopy(checks[exercise]))
        restored.append(f"the self-check of {exercise!r} was {what}; the reference's was put back")
    return restored


def code_exercises(notebook_name: str, notebook, reference=None) -> list[dict]:
    """The rubric's code exercises with their status in `notebook` (submissions.exercise_report) and the rubric's
    points; an exercise missing from the notebook is not done, one whose self-check differs from `reference`'s is
    "self-check edited". Without a rubric for the notebook, its exercise cells with their own points."""
    found = {e["id"]: e for e in exercise_report(notebook) if e["kind"] == "code"}
    if not has_rubric(notebook_name):
        return list(found.values())
    edited = edited_self_checks(notebook, reference) if reference is not None else {}
    entries = []
    for exercise, points in exercise_points(notebook_name).items():
        entry = found.get(exercise, {"id": exercise, "kind": "code", "cell": None, "status": NOT_DONE,
                                     "detail": "no exercise cell with this id in the notebook"})
        if exercise in edited and entry["status"] == DONE:
            entry = {**entry, "status": SELF_CHECK_EDITED, "detail": f"its self-check cell was {edited[exercise]}"}
        entries.append({**entry, "points": points})
    return entries


def answers(notebook_name: str, notebook) -> list[Answer]:
    """The answer cells to grade by hand: the rubric's (with its points), else the notebook's own."""
    found = {e["id"]: e for e in exercise_report(notebook) if e["kind"] == "answer"}
    cells = own_cells(notebook)
    rubric = answer_points(notebook_name) if has_rubric(notebook_name) else {i: e["points"] for i, e in found.items()}
    return [Answer(found[i]["cell"], first_line(cells[found[i]["cell"]].source), points) if i in found
            else Answer(None, f"(no answer cell {i!r} in the notebook)", points) for i, points in rubric.items()]


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


# ---------------------------------------------------------------- the runs, measured again


class Expectations:
    """What `profile` prescribes for a notebook's graded runs (the reference notebook's parameters, the profile's
    injected over them), and the grader's own verified test set, loaded on first use. Lab B (TEST_PAIRS among the
    parameters): PAIRS_PER_EPOCH training pairs, TEST_PAIRS test pairs built from the 10% test pool; lab A:
    TRAIN_FRACTION of the training and test sets."""

    def __init__(self, notebook: str, profile: str, fallback=None, root=None):
        reference = reference_notebook(notebook)
        source = reference if reference is not None else fallback
        self.notebook, self.root = notebook, root
        self.parameters = {**(parameter_values(source) if source is not None else {}),
                           **parameters(profile, notebook)}
        self.seed = int(self.parameters.get("SEED", 0))
        self.pairs = "TEST_PAIRS" in self.parameters

    def epochs(self, run: str) -> int | None:
        return self.parameters.get(EPOCHS_PARAMETER.get((self.notebook, run), "EPOCHS"))

    def _digits(self, train: bool):
        from ..data import load_mnist

        images = load_mnist(self.root, train=train)
        fraction = float(self.parameters.get("TRAIN_FRACTION", 1.0))
        return images.subset(fraction, seed=self.seed) if fraction < 1 else images

    @cached_property
    def train_size(self) -> int:
        return int(self.parameters["PAIRS_PER_EPOCH"]) if self.pairs else len(self._digits(train=True))

    @cached_property
    def test_set(self):
        if not self.pairs:
            return self._digits(train=False)
        from ..data import load_mnist
        from ..pairs import PairSet

        pool = load_mnist(self.root, train=False).subset(0.1, seed=self.seed)
        return PairSet.build(pool, count=int(self.parameters["TEST_PAIRS"]), seed=self.seed, name="test pairs")

    def test_set_problem(self, facts: Facts) -> str:
        """Lab B: how the test pairs the notebook recorded differ from the grader's ("" when they agree or none
        were recorded)."""
        if not self.pairs or "test" not in facts.pair_sets:
            return ""
        from .facts import pair_set_facts

        mine, recorded = pair_set_facts(self.test_set), facts.pair_set("test")
        differ = [f"{key} {recorded.get(key)!r} (the grader's: {value!r})" for key, value in mine.items()
                  if recorded.get(key) != value]
        return f"the test pairs the notebook recorded differ from the grader's: {', '.join(differ)}" if differ else ""


def graded_runs(notebook: str, facts: Facts) -> dict[str, list[str]]:
    """requirement id -> the runs its check reads, for each accuracy requirement of `notebook`."""

    class Reading(Facts):
        def run(self, name):
            read.append(name)
            return super().run(name)

    runs = {}
    for requirement in requirements_for(notebook):
        if requirement.kind != "accuracy":
            continue
        read: list[str] = []
        try:
            requirement.check(Reading(**{f.name: getattr(facts, f.name) for f in dataclasses.fields(facts)}))
        except Exception:  # a missing or malformed fact: check_requirements() reports it
            pass
        runs[requirement.id] = list(dict.fromkeys(read))
    return runs


def recipe_problems(record: dict, history: pd.DataFrame | None, epochs: int | None, train_size: int,
                    test_size: int) -> tuple[list[str], list[str]]:
    """(why the run is shorter than prescribed, why its files disagree): epochs, training and test set sizes,
    an interrupted run; mini-batches (history rows) against the recorded steps and against epochs x batches, the
    history's last whole-test-set accuracy against the recorded test accuracy."""
    recipe, sizes = record.get("recipe") or {}, record.get("sizes") or {}
    short, disagree = [], []
    ran = recipe.get("epochs", record.get("epochs"))
    if epochs is not None and ran != epochs:
        short.append(f"{ran} epochs, the profile prescribes {epochs}")
    if sizes.get("train") != train_size:
        short.append(f"trained on {sizes.get('train')} items, the profile prescribes {train_size}")
    if sizes.get("test") != test_size:
        short.append(f"tested on {sizes.get('test')} items, the grader's test set has {test_size}")
    if record.get("interrupted"):
        short.append("the run was interrupted")
    if history is None:
        return short, disagree + ["no history file"]
    batch_size = recipe.get("batch_size")
    if isinstance(ran, int) and isinstance(batch_size, int) and isinstance(sizes.get("train"), int):
        planned = ran * math.ceil(sizes["train"] / batch_size)
        if len(history) != planned:
            disagree.append(f"the history holds {len(history)} mini-batches, {ran} epochs of "
                            f"{sizes['train']} items in batches of {batch_size} are {planned}")
    if record.get("steps") != len(history):
        disagree.append(f"metrics.json records {record.get('steps')} steps, the history holds {len(history)}")
    measured = history["test_set_accuracy"].dropna() if "test_set_accuracy" in history else pd.Series([], float)
    last = float(measured.iloc[-1]) if len(measured) else None
    if last is None or abs(last - float(record.get("test_accuracy", math.nan))) > 1e-6:
        disagree.append(f"the history ends at test accuracy {last}, metrics.json records "
                        f"{record.get('test_accuracy')}")
    return short, disagree


def measure_run(name: str, record: dict, folder: Path, namespace: dict, test_set) -> RunCheck:
    """Load the weights run `name` saved into the model the notebook built and evaluate it on `test_set`."""
    import torch

    from ..evaluate import evaluate

    path = folder / str(record.get("weights", ""))
    if not record.get("weights") or not path.is_file():
        return RunCheck(name, NOT_DONE, f"no weights saved for run {name!r} ({path.name or 'none recorded'})")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model, how = rebuild_model(str(record.get("model")), state, namespace)
    except Exception as error:  # unreadable weights, or weights of another model
        return RunCheck(name, INCONSISTENT, f"{path.name}: {' '.join(str(error).split())[:300]}")
    recipe = record.get("recipe") or {}
    measured = evaluate(model, test_set, precision=record.get("precision") or "fp32",
                        channels_last=bool(recipe.get("channels_last", True)))
    per_class = measured.per_class_accuracy()["accuracy"].tolist()
    recorded = float(record.get("test_accuracy", math.nan))
    if not abs(measured.accuracy - recorded) * len(test_set) <= AGREEMENT:
        return RunCheck(name, INCONSISTENT, f"metrics.json records test accuracy {recorded:.4f}; the saved weights "
                                            f"({how}) measure {measured.accuracy:.4f}", measured.accuracy, per_class)
    return RunCheck(name, VERIFIED, f"{how}: test accuracy {measured.accuracy:.4f} measured again "
                                    f"({len(test_set):,} test items), as recorded", measured.accuracy, per_class)


def check_run(name: str, facts: Facts, folder: Path, namespace: dict, expect: Expectations) -> RunCheck:
    """One graded run: its recipe against the profile's, its files against each other, its accuracy measured again."""
    record = facts.run(name)
    history = facts.histories.get(name)
    short, disagree = recipe_problems(record, history, expect.epochs(name), expect.train_size, len(expect.test_set))
    if short:
        return RunCheck(name, NOT_DONE, f"run {name!r} is not the profile's: " + "; ".join(short))
    if disagree:
        return RunCheck(name, INCONSISTENT, f"run {name!r}: " + "; ".join(disagree))
    return measure_run(name, record, folder, namespace, expect.test_set)


def check_runs(notebook: str, facts: Facts, folder: Path, submission, profile: str,
               expect: Expectations | None = None) -> dict[str, RunCheck]:
    """Every run an accuracy requirement of `notebook` reads (and that was recorded), checked (see check_run)."""
    names = [name for runs in graded_runs(notebook, facts).values() for name in runs if name in facts.runs]
    if not names:
        return {}
    expect = expect or Expectations(notebook, profile, fallback=submission)
    try:
        namespace = exercise_namespace(submission)
    except ExerciseCodeRefused:  # labkit's registry can still rebuild labkit's classes
        namespace = {}
    problem = expect.test_set_problem(facts)
    checks = {}
    for name in dict.fromkeys(names):
        checks[name] = RunCheck(name, INCONSISTENT, problem) if problem else \
            check_run(name, facts, folder, namespace, expect)
    return checks


def judge(notebook: str, facts: Facts, checks: dict[str, RunCheck], profile: str) -> list[Outcome]:
    """The requirements evaluated on the grader's own measurements of the runs; an accuracy requirement that reads
    a run not verified takes that run's status (inconsistent, not done) and earns nothing."""
    runs = {name: {**run, "test_accuracy": checks[name].accuracy, "per_class_accuracy": checks[name].per_class_accuracy}
            if name in checks and checks[name].status == VERIFIED else run for name, run in facts.runs.items()}
    outcomes = check_requirements(notebook, dataclasses.replace(facts, runs=runs), profile)
    reads = graded_runs(notebook, facts)
    judged = []
    for outcome in outcomes:
        bad = [checks[name] for name in reads.get(outcome.id, []) if name in checks
               and checks[name].status != VERIFIED]
        if bad and outcome.status != "n/a":
            outcome = dataclasses.replace(outcome, status=bad[0].status, earned=0,
                                          detail="; ".join(check.detail for check in bad))
        judged.append(outcome)
    return judged


# ---------------------------------------------------------------- grading


def _run_afresh(result: Grade, path: Path, source, reference, folder: Path, timeout: float):
    """--execute: the reference's self-checks put back (as nbgrader's autograder does), the notebook run afresh in
    `folder`; (the run's facts, its figures folder, the notebook as it ran)."""
    submitted = copy.deepcopy(source)
    result.restored = restore_self_checks(submitted, reference) if reference is not None else []
    to_run = write_notebook(submitted, folder / "submitted" / path.name) if result.restored else path
    figures, result.error = execute(to_run, result.notebook, result.profile, folder, timeout)
    ran_path = folder / path.name
    ran = nbformat.read(ran_path, as_version=4) if ran_path.is_file() else submitted
    return Facts.load(figures / result.notebook), figures / result.notebook, ran


def _judged(result: Grade, facts: Facts, folder: Path, notebook) -> None:
    checks = check_runs(result.notebook, facts, folder, notebook, result.profile)
    result.runs, result.outcomes = list(checks.values()), judge(result.notebook, facts, checks, result.profile)


def grade(path: str | Path, *, execute_it: bool = False, profile: str | None = None, timeout: float = 1800,
          figures: Path | None = None) -> Grade:
    """Grade one notebook file (see the module docstring)."""
    path = Path(path)
    result = Grade(path)
    try:
        source = nbformat.read(path, as_version=4)
        result.notebook = notebook_id(path, source)
        result.answers = answers(result.notebook, source)
    except (OSError, ValueError, nbformat.ValidationError, json.JSONDecodeError) as error:
        result.error = " ".join(str(error).split())[:300]
        return result
    result.submission_ok, result.submission = submission_state(source)
    result.executed = execute_it
    reference = reference_notebook(result.notebook)
    if execute_it:
        result.profile = profile or "full"
        with tempfile.TemporaryDirectory(prefix=f"labkit-grade-{result.notebook}-") as folder:
            facts, figures_folder, ran = _run_afresh(result, path, source, reference, Path(folder), timeout)
            result.exercises = code_exercises(result.notebook, ran)  # the reference's self-checks ran in it
            _judged(result, facts, figures_folder, ran)
        return result
    folder = (figures or figures_root()) / result.notebook
    metrics = folder / "metrics.json"
    recorded = json.loads(metrics.read_text()).get("profile") if metrics.is_file() else None
    result.profile = profile or recorded or "full"
    if profile and recorded and profile != recorded:
        result.error = f"{metrics} was written by a {recorded} run, graded as {profile}"
    result.exercises = code_exercises(result.notebook, source, reference)
    _judged(result, Facts.load(folder), folder, source)
    return result


# ---------------------------------------------------------------- output


def summary(result: Grade) -> str:
    earned, possible = score(result.outcomes)
    lines = [f"== {result.notebook}  {result.file}  ({result.profile} profile): {earned:g}/{possible:g} points; "
             f"{result.count('PASS')} passed, {result.count('FAIL')} failed, {result.count(NOT_DONE)} not done, "
             f"{result.count(INCONSISTENT)} inconsistent, {result.count('n/a')} n/a"]
    if result.submission:
        lines.append(f"   submission: {result.submission}")
    if result.error:
        lines.append(f"   error: {result.error}")
    lines += [f"   restored: {line}" for line in result.restored]
    if result.outcomes:
        table = outcome_table(result.outcomes)[["result", "id", "points", "detail"]]
        lines += ["   " + line for line in table.to_string(index=False).splitlines()]
    lines += [f"   {'run' if c.status == VERIFIED else 'RUN'}       {c.run}: {c.status} -- {c.detail}"
              for c in result.runs]
    lines += [f"   {'exercise' if e['status'] == DONE else 'EXERCISE'}  {e['id']} in cell {_cell(e['cell'])}: "
              f"{e['status']}{' -- ' + e['detail'] if e['detail'] else ''} ({e['points']:g} points)"
              for e in result.exercises]
    lines += [f"   manual    answer in cell {_cell(a.cell)}: 0..{a.points:g} points -- {a.first_line}"
              for a in result.answers]
    return "\n".join(lines)


def _cell(index: int | None) -> str:
    return "(missing)" if index is None else str(index)


def write_csv(results: list[Grade], out: Path) -> Path:
    table = pd.DataFrame([r.row() for r in results], columns=CSV_COLUMNS)
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
        print(summary(result), flush=True)
        results.append(result)
    if args.out:
        write_csv(results, args.out)
        print(f"wrote {args.out}")
    failed = [str(r.file) for r in results if not r.ok]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0
