"""`python -m labkit student OUT_DIR`: the student edition of the lab book (the handout).

    build_student_edition("notebooks", "handout")   -> handout/00_setup_and_data.ipynb ..., README.md

In the student edition each solution region becomes `# YOUR CODE HERE` / `raise NotImplementedError()` (indented
like its BEGIN line), each answer cell "YOUR ANSWER HERE", and every output is cleared: the cell sources nbgrader's
`generate_assignment` releases. Metadata is kept (labkit's and nbgrader's, see labkit.course.nbgrader), so the
edition grades like nbgrader's release. How exercises are marked, and what a submission is judged on:
labkit.course.submissions.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import nbformat

from ..files import write_atomically
from ..records import EDITION_FILE
from .submissions import (  # noqa: F401  (solution_regions, forbidden_uses and the markers re-exported)
    ANSWER_STUB,
    BEGIN_SOLUTION,
    CODE_STUB,
    END_SOLUTION,
    REFERENCE_NOTEBOOKS,
    MarkerError,
    cell_exercise_id,
    cell_points,
    cells_imports,
    definitions,
    exercise_metadata,
    forbidden_uses,
    is_answer_cell,
    is_exercise_cell,
    nbgrader_metadata,
    parse,
    segments,
    solution_regions,
)


def replace_solutions(source: str, stub: tuple[str, ...]) -> tuple[str, int]:
    """(source with each region replaced by `stub`, indented like its BEGIN line; the number of regions)."""
    lines, regions = [], 0
    for indent, inside in segments(source):
        if indent is None:
            lines += inside
        else:
            lines += [indent + stub_line for stub_line in stub]
            regions += 1
    return "\n".join(lines), regions


# ---------------------------------------------------------------- the student edition


def _clear_execution(cell) -> None:
    cell.metadata.pop("execution", None)
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None


def _student_source(cell, where: str) -> str:
    """The cell's source with its solution regions (or, for an nbgrader solution cell without one, all of it)
    replaced by the stub."""
    if cell.cell_type not in ("code", "markdown"):
        return cell.source
    stub = CODE_STUB if cell.cell_type == "code" else ANSWER_STUB
    try:
        source, regions = replace_solutions(cell.source, stub)
    except MarkerError as error:
        raise ValueError(f"{where}, {error}") from None
    if regions:
        return source
    if is_answer_cell(cell) or (cell.cell_type == "code" and nbgrader_metadata(cell).get("solution") is True):
        return "\n".join(stub)  # nbgrader's rule: a solution cell without a region is all solution
    if exercise_metadata(cell, where) is not None:
        raise ValueError(f"{where}: metadata labkit.exercise is set but the cell has no {BEGIN_SOLUTION} ... "
                         f"{END_SOLUTION} region; add one, or remove the metadata")
    return cell.source


def _check_scaffold(cell, student_source: str, cells_so_far: list, where: str) -> None:
    """The code a student is handed must not itself raise NotImplementedError or use a forbidden name outside
    the stub: exercise_report would blame the student for it."""
    labkit = exercise_metadata(cell, where)
    if labkit is None:
        return
    stubs = [line for line in student_source.split("\n") if line.strip().startswith("raise NotImplementedError")]
    if len(stubs) > student_source.count(CODE_STUB[0]):
        raise ValueError(f"{where}: the code outside the solution region raises NotImplementedError, which marks "
                         "an exercise not done; move it into the region")
    tree = parse(cell.source)
    used = forbidden_uses(student_source, labkit.get("forbid", []), cells_imports(cells_so_far),
                          definitions(tree) if tree is not None else set())
    if used:
        raise ValueError(f"{where}: the code outside the solution region uses {', '.join(used)}, which "
                         "labkit.forbid forbids; move that code into the region or drop the name from forbid")


def student_notebook(reference, stem: str, where: str | None = None):
    """The student edition of one reference notebook node (a new node; the reference is not changed)."""
    where = where or stem
    labkit = reference.metadata.get("labkit", {})
    if not isinstance(labkit, dict):
        raise ValueError(f"{where}: notebook metadata labkit must be a dict, got {labkit!r}")
    if labkit.get("edition") == "student":
        raise ValueError(f"{where} is already a student edition; build from the reference notebooks")
    notebook = copy.deepcopy(reference)
    notebook.metadata["labkit"] = {**labkit, "edition": "student", "notebook": labkit.get("notebook", stem)}
    seen: dict[str, int] = {}
    for index, cell in enumerate(notebook.cells):
        cell_where = f"{where}: cell {index}"
        source = _student_source(cell, cell_where)
        _check_scaffold(cell, source, reference.cells[:index + 1], cell_where)
        if is_exercise_cell(cell) or is_answer_cell(cell):
            cell_points(cell, cell_where)
            exercise = cell_exercise_id(cell, index)
            if exercise in seen:
                raise ValueError(f"{cell_where}: exercise id {exercise!r} is already used by cell {seen[exercise]}")
            seen[exercise] = index
        cell.source = source
        _clear_execution(cell)
    return notebook


README_TEXT = """\
# The lab book, student edition

These notebooks are the labkit lab book with the exercises left for you. In each exercise cell, replace

    # YOUR CODE HERE
    raise NotImplementedError()

with your code, and in each answer cell replace "YOUR ANSWER HERE" with your answer. Write the code yourself:
an exercise that calls labkit's own implementation of what it asks for (the names in the cell's metadata
`labkit.forbid`, e.g. `models.build`) is marked "uses labkit's implementation" by the grader.

## Running

Install labkit once (from the labkit repository: `make lab` sets up `.venv`, or `pip install -e .`), then open
the notebooks in this folder:

    cd path/to/this/folder
    jupyter lab

Each notebook writes its figures, `metrics.json` and history files to `figures/<notebook>/` in this folder:
`{edition_file}` marks it as a student edition, so labkit never writes into its own repository's `figures/`
(set `LABKIT_FIGURES` to write them somewhere else).

Notebooks: {notebooks}.

## Checking your work

Each notebook ends with its table of lab requirements (PASS / FAIL). Before handing in, restart the kernel and
run all cells. To see what the grader sees (your notebook run afresh, in a temporary folder):

    python -m labkit grade 01_cnn.ipynb --execute --profile quick
"""


def _readme(stems: list[str]) -> str:
    return README_TEXT.format(edition_file=EDITION_FILE, notebooks=", ".join(stems))


def _edition_record(stems: list[str]) -> str:
    return json.dumps({"edition": "student", "notebooks": stems, "figures": "figures"}, indent=2) + "\n"


def _check_destination(source: Path, out: Path) -> None:
    reference = REFERENCE_NOTEBOOKS.resolve()
    if out == reference or out.is_relative_to(reference):
        raise ValueError(f"the output folder {out} is (inside) the reference notebooks folder {reference}; "
                         "choose a folder outside it")
    if out == source:
        raise ValueError(f"the output folder {out} is the source folder; choose another folder for the student "
                         "edition")
    if out.exists() and not out.is_dir():
        raise ValueError(f"the output folder {out} exists and is not a folder")


def reference_notebooks(source_dir: str | Path) -> list[Path]:
    """The numbered notebooks (`[0-9]*.ipynb`) of `source_dir`, sorted."""
    source = Path(source_dir)
    if not source.is_dir():
        raise ValueError(f"source folder {source} does not exist or is not a folder; give the folder of the "
                         "reference notebooks (notebooks/)")
    paths = sorted(source.glob("[0-9]*.ipynb"))
    if not paths:
        raise ValueError(f"source folder {source} holds no numbered notebooks ([0-9]*.ipynb)")
    return paths


def build_student_edition(source_dir: str | Path, out_dir: str | Path, *, force: bool = False) -> list[Path]:
    """Write the student edition of every `[0-9]*.ipynb` in `source_dir` into `out_dir`, with a README.md and
    labkit-edition.json; return the paths written. Everything is checked before anything is written: markers,
    exercise metadata, the destination (never the reference notebooks folder), and files that would be
    replaced (refused unless `force`)."""
    source, out = Path(source_dir).resolve(), Path(out_dir).resolve()
    _check_destination(source, out)
    editions = {}
    for path in reference_notebooks(source):
        reference = nbformat.read(path, as_version=4)
        editions[out / path.name] = student_notebook(reference, path.stem, where=str(path))
    stems = [path.stem for path in editions]
    texts = {path: nbformat.writes(notebook) + "\n" for path, notebook in editions.items()}
    texts[out / "README.md"] = _readme(stems)
    texts[out / EDITION_FILE] = _edition_record(stems)
    existing = [str(path) for path in texts if path.exists()]
    if existing and not force:
        raise FileExistsError(f"{len(existing)} file(s) would be replaced: {', '.join(existing)}; pass force=True "
                              "(--force) to replace them, losing any changes made to them")
    out.mkdir(parents=True, exist_ok=True)
    for path, text in texts.items():
        write_atomically(path, lambda tmp, text=text: tmp.write_text(text, encoding="utf-8"))
    return list(texts)


# ---------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="folder for the student edition")
    parser.add_argument("--source", type=Path, default=REFERENCE_NOTEBOOKS,
                        help="folder of the reference notebooks (default: the repository's notebooks/)")
    parser.add_argument("--force", action="store_true", help="replace files already in OUT_DIR")


def run(args: argparse.Namespace) -> int:
    try:
        written = build_student_edition(args.source, args.out_dir, force=args.force)
    except (OSError, ValueError) as error:  # FileExistsError is an OSError
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m labkit student OUT_DIR [--source notebooks] [--force]`."""
    parser = argparse.ArgumentParser(prog="labkit student", description="Write the student edition of the lab book.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
