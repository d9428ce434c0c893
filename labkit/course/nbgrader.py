"""nbgrader's cell metadata, generated from labkit's rubric, so that nbgrader grades the notebooks as labkit does.

    python -m labkit nbgrader-metadata notebooks/*.ipynb           write it where it is missing or out of date
    python -m labkit nbgrader-metadata --check notebooks/*.ipynb   list what is out of date; exit 1 if anything is

Every graded cell (labkit.course.submissions.graded_cells) gets nbgrader's metadata (schema version 3):

    exercise    code cell with solution regions   solution cell              {"solution": true, "grade": false,
                                                                               "locked": false, "grade_id": id}
    self-check  the code cell right after it      autograded test cell       {"solution": false, "grade": true,
                                                                               "locked": true, "points": rubric,
                                                                               "grade_id": id + "-check"}
    answer      markdown answer cell              manually graded answer     {"solution": true, "grade": true,
                                                                               "locked": false, "points": rubric}

The ids are labkit's (labkit.exercise of an exercise cell, labkit.answer of an answer cell; the first run takes an
answer's from its nbgrader.grade_id). The points come from labkit's rubric (labkit.course.requirements.EXERCISES
and ANSWERS), and are written into labkit's own metadata too (labkit.points of an exercise, points of an answer
cell), so nbgrader's maximum and `labkit grade`'s agree: an exercise's points go to its self-check, which
nbgrader's autograder runs. Any other cell carries no nbgrader metadata.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat

from .identify import notebook_id
from .profiles import write_notebook
from .requirements import answer_points, exercise_points, has_rubric
from .submissions import ANSWER, EXERCISE, SELF_CHECK, graded_cells, labkit_metadata, own_cells

SCHEMA_VERSION = 3
CHECK_SUFFIX = "-check"


def check_id(exercise: str) -> str:
    """The nbgrader grade_id of an exercise's self-check cell."""
    return exercise + CHECK_SUFFIX


def _rubric(notebook: str, where: str) -> dict[str, dict[str, float]]:
    if not has_rubric(notebook):
        raise ValueError(f"{where}: labkit's rubric has no exercises or answers for notebook {notebook!r}; add them "
                         "to labkit.course.requirements.EXERCISES and ANSWERS")
    return {EXERCISE: exercise_points(notebook), ANSWER: answer_points(notebook)}


def _check_rubric_matches(graded, rubric: dict, where: str) -> None:
    """Every exercise and answer cell is in the rubric, every rubric entry is a cell, every exercise has a check."""
    for role in (EXERCISE, ANSWER):
        in_notebook = {g.id: g.index for g in graded if g.role == role}
        unknown = sorted(set(in_notebook) - set(rubric[role]))
        missing = sorted(set(rubric[role]) - set(in_notebook))
        if unknown:
            raise ValueError(f"{where}: {role} id(s) {', '.join(map(repr, unknown))} (cell "
                             f"{', '.join(str(in_notebook[i]) for i in unknown)}) are not in labkit's rubric, which "
                             f"lists {', '.join(map(repr, rubric[role])) or 'none'}")
        if missing:
            raise ValueError(f"{where}: the rubric's {role} id(s) {', '.join(map(repr, missing))} have no cell in "
                             "the notebook")
    checked = {g.id for g in graded if g.role == SELF_CHECK}
    for g in graded:
        if g.role == EXERCISE and g.id not in checked:
            raise ValueError(f"{where}: exercise {g.id!r} (cell {g.index}) has no self-check after it (a code cell "
                             "calling selfcheck.check_...(...)); nbgrader would have no test cell to grade it with")


def _nbgrader(grade: bool, solution: bool, locked: bool, grade_id: str, points: float | None = None) -> dict:
    metadata = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA_VERSION,
                "solution": solution}
    if points is not None:
        metadata["points"] = points
    return metadata


def expected_metadata(notebook, notebook_name: str, where: str | None = None) -> list[dict]:
    """For each cell of `notebook` (papermill's cells left out), the metadata keys labkit's rubric decides:
    "nbgrader" (None: the cell must have none), and for exercises "labkit.points", for answers "labkit.answer"
    (the answer's id, kept with labkit's metadata so that nbgrader's can always be written anew) and "points"."""
    where = where or notebook_name
    rubric = _rubric(notebook_name, where)
    graded = graded_cells(notebook)
    _check_rubric_matches(graded, rubric, where)
    roles = {g.index: g for g in graded}
    expected = []
    for index, _ in enumerate(own_cells(notebook)):
        g = roles.get(index)
        if g is None:
            expected.append({"nbgrader": None})
        elif g.role == EXERCISE:
            expected.append({"nbgrader": _nbgrader(False, True, False, g.id), "labkit.points": rubric[EXERCISE][g.id]})
        elif g.role == SELF_CHECK:
            expected.append({"nbgrader": _nbgrader(True, False, True, check_id(g.id), rubric[EXERCISE][g.id])})
        else:
            expected.append({"nbgrader": _nbgrader(True, True, False, g.id, rubric[ANSWER][g.id]),
                             "labkit.answer": g.id, "points": rubric[ANSWER][g.id]})
    return expected


def _current(cell, key: str):
    if key.startswith("labkit."):
        return labkit_metadata(cell).get(key.removeprefix("labkit."))
    return cell.metadata.get(key)


def _set(cell, key: str, value) -> None:
    if key.startswith("labkit."):
        cell.metadata["labkit"] = {**labkit_metadata(cell), key.removeprefix("labkit."): value}
    elif value is None:
        cell.metadata.pop(key, None)
    else:
        cell.metadata[key] = copy.deepcopy(value)


def differences(notebook, notebook_name: str, where: str | None = None) -> list[str]:
    """What differs from the metadata labkit's rubric gives, one line per cell and key; [] when in sync."""
    lines = []
    for index, (cell, expected) in enumerate(zip(own_cells(notebook), expected_metadata(notebook, notebook_name,
                                                                                      where))):
        for key, value in expected.items():
            current = _current(cell, key)
            if current != value:
                lines.append(f"cell {index} ({cell.get('id', '?')}): metadata {key} is {current!r}, expected "
                             f"{value!r}")
    return lines


def apply(notebook, notebook_name: str, where: str | None = None) -> list[str]:
    """Write the rubric's metadata into `notebook` (in place); return what changed (see `differences`)."""
    changed = differences(notebook, notebook_name, where)
    for cell, expected in zip(own_cells(notebook), expected_metadata(notebook, notebook_name, where)):
        for key, value in expected.items():
            _set(cell, key, value)
    return changed


def sync(path: str | Path, *, check: bool = False) -> list[str]:
    """The differences of the notebook at `path` from the rubric's metadata; unless `check`, also fix them
    (the notebook rewritten atomically, only when something changed)."""
    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    name = notebook_id(path, notebook)
    changed = differences(notebook, name, str(path)) if check else apply(notebook, name, str(path))
    if changed and not check:
        write_notebook(notebook, path)
    return changed


# ---------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK")
    parser.add_argument("--check", action="store_true",
                        help="change nothing: list what is out of date and exit 1 if anything is")


def run(args: argparse.Namespace) -> int:
    out_of_sync = []
    for path in args.notebooks:
        try:
            changed = sync(path, check=args.check)
        except (OSError, ValueError) as error:  # nbformat's ValidationError is a ValueError
            print(f"error: {error}", file=sys.stderr)
            return 2
        verb = "out of date" if args.check else "updated"
        print(f"{path}: {len(changed)} metadata entries {verb}" if changed else f"{path}: in sync")
        for line in changed:
            print(f"  {line}")
        out_of_sync += [path] if changed else []
    if args.check and out_of_sync:
        print(f"nbgrader metadata out of date in {len(out_of_sync)} notebook(s); write it with: python -m labkit "
              f"nbgrader-metadata {' '.join(map(str, out_of_sync))}", file=sys.stderr)
        return 1
    return 0
