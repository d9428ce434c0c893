"""`python -m labkit student OUT_DIR`: the student edition of the lab book, and what a student made of it.

The reference notebooks mark exercises the way nbgrader does, so a course can move them into nbgrader as they are:

    code cell, metadata {"labkit": {"exercise": "lenet5-model", "forbid": ["models.build", "LeNet5"]}}
        class LeNet5(nn.Module):
            ### BEGIN SOLUTION
            ...the reference solution...
            ### END SOLUTION
    markdown answer cell, metadata {"nbgrader": {"solution": true, "grade": true, "points": 2, "grade_id": "why"}}
        and/or the tag "answer" with metadata {"points": 2}

    build_student_edition("notebooks", "handout")   -> handout/00_setup_and_data.ipynb ..., README.md
    exercise_report(nbformat.read("handout/02_lenet5.ipynb", as_version=4))
        -> [{"id": "lenet5-model", "kind": "code", "cell": 8, "points": 3, "status": "done", "detail": ""}, ...]

In the student edition each solution region becomes `# YOUR CODE HERE` / `raise NotImplementedError()` (indented
like its BEGIN line), each answer cell "YOUR ANSWER HERE", and every output is cleared. `forbid` names what the
student must write instead of calling: labkit's own implementation of the exercise.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import re
import sys
import textwrap
from pathlib import Path

import nbformat

from ..records import EDITION_FILE, REPOSITORY, write_atomically

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
ANSWER_STUB = ("YOUR ANSWER HERE",)
NOT_DONE, USES_LABKIT, ERROR, DONE = "not done", "uses labkit's implementation", "error", "done"
PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}  # left out of cell indexes, as in grade.py
REFERENCE_NOTEBOOKS = REPOSITORY / "notebooks"


class MarkerError(ValueError):
    """Unbalanced, nested or misspelt solution markers, at `line` (1-based) of a cell's source."""

    def __init__(self, line: int, reason: str):
        super().__init__(f"line {line}: {reason}")
        self.line = line


# ---------------------------------------------------------------- solution regions


def _marker(line: str, number: int) -> str | None:
    """"begin", "end" or None; a line that mentions a marker in any other spelling is refused, because
    nbgrader would still take it for one and the student edition must agree with nbgrader's."""
    for kind, marker in (("begin", BEGIN_SOLUTION), ("end", END_SOLUTION)):
        if marker.removeprefix("### ") in line:
            if line.strip() != marker:
                raise MarkerError(number, f"{line.strip()!r} is not a solution marker; write it as {marker!r} "
                                          "alone on its line")
            return kind
    return None


def _segments(source: str) -> list[tuple[str | None, list[str]]]:
    """The source as (None, lines outside any region) and (indent of its BEGIN line, lines inside a region)."""
    segments: list[tuple[str | None, list[str]]] = [(None, [])]
    opened_at = None
    for number, line in enumerate(source.split("\n"), start=1):
        kind = _marker(line, number)
        if kind == "begin":
            if opened_at is not None:
                raise MarkerError(number, f"{BEGIN_SOLUTION} inside the region opened on line {opened_at}; "
                                          "regions cannot nest")
            opened_at = number
            segments.append((line[:len(line) - len(line.lstrip())], []))
        elif kind == "end":
            if opened_at is None:
                raise MarkerError(number, f"{END_SOLUTION} without a {BEGIN_SOLUTION} before it")
            opened_at = None
            segments.append((None, []))
        else:
            segments[-1][1].append(line)
    if opened_at is not None:
        raise MarkerError(opened_at, f"{BEGIN_SOLUTION} is never closed by {END_SOLUTION}")
    return segments


def solution_regions(source: str) -> list[str]:
    """The text between each pair of markers (markers excluded)."""
    return ["\n".join(lines) for indent, lines in _segments(source) if indent is not None]


def replace_solutions(source: str, stub: tuple[str, ...]) -> tuple[str, int]:
    """(source with each region replaced by `stub`, indented like its BEGIN line; the number of regions)."""
    lines, regions = [], 0
    for indent, inside in _segments(source):
        if indent is None:
            lines += inside
        else:
            lines += [indent + stub_line for stub_line in stub]
            regions += 1
    return "\n".join(lines), regions


# ---------------------------------------------------------------- what a cell is


def _labkit(cell) -> dict:
    value = cell.metadata.get("labkit")
    return value if isinstance(value, dict) else {}


def _nbgrader(cell) -> dict:
    value = cell.metadata.get("nbgrader")
    return value if isinstance(value, dict) else {}


def exercise_metadata(cell, where: str = "cell") -> dict | None:
    """The cell's metadata `labkit` when it names an exercise, validated; else None."""
    labkit = _labkit(cell)
    if "exercise" not in labkit:
        return None
    exercise, forbid = labkit["exercise"], labkit.get("forbid", [])
    if not isinstance(exercise, str) or not exercise.strip():
        raise ValueError(f"{where}: metadata labkit.exercise must be a non-empty string, got {exercise!r}")
    if not isinstance(forbid, list) or not all(isinstance(name, str) and name.strip() for name in forbid):
        raise ValueError(f"{where}: metadata labkit.forbid must be a list of names such as "
                         f"[\"models.build\", \"LeNet5\"], got {forbid!r}")
    return labkit


def is_answer_cell(cell) -> bool:
    """A markdown cell graded by hand: nbgrader's solution flag, or the tag `answer`."""
    return cell.cell_type == "markdown" and (
        _nbgrader(cell).get("solution") is True or "answer" in cell.metadata.get("tags", []))


def is_exercise_cell(cell) -> bool:
    """A code cell the student completes: labkit.exercise, nbgrader's solution flag, or a solution region."""
    return cell.cell_type == "code" and (
        "exercise" in _labkit(cell) or _nbgrader(cell).get("solution") is True
        or BEGIN_SOLUTION in cell.source)


def cell_points(cell, where: str = "cell") -> float:
    """Rubric points: nbgrader.points, else metadata points, else labkit.points, else 0."""
    for points in (_nbgrader(cell).get("points"), cell.metadata.get("points"), _labkit(cell).get("points")):
        if points is not None:
            if isinstance(points, bool) or not isinstance(points, (int, float)) or not points >= 0:
                raise ValueError(f"{where}: points must be a number >= 0, got {points!r}")
            return points
    return 0


def cell_exercise_id(cell, index: int) -> str:
    return _labkit(cell).get("exercise") or _nbgrader(cell).get("grade_id") or cell.get("id") or f"cell-{index}"


def own_cells(notebook) -> list:
    """The cells as the notebook was written, without those papermill adds; report indexes count these."""
    return [cell for cell in notebook.cells if not PAPERMILL_TAGS & set(cell.metadata.get("tags", []))]


# ---------------------------------------------------------------- forbidden names


def _parse(code: str) -> ast.Module | None:
    """The syntax tree of a cell or region, None when it is not Python. A magic's name is dropped and the rest of
    its line kept (`%time fit(...)` is `fit(...)`); shell lines (`!pip ...`) are blanked."""
    lines = ["" if line.lstrip().startswith("!") else re.sub(r"^(\s*)%%?\w+", r"\1", line)
             for line in code.split("\n")]
    try:
        return ast.parse(textwrap.dedent("\n".join(lines)))
    except SyntaxError:
        return None


def _imports(tree: ast.Module) -> dict[str, str]:
    """name bound by an import -> the qualified name it stands for (`from labkit import models` -> labkit.models)."""
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    bound[root] = root
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{module}.{alias.name}" if module else alias.name
    return bound


def _definitions(tree: ast.Module) -> set[str]:
    """Names the code binds itself: classes, functions, arguments, assignment and loop targets."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _qualified_names(tree: ast.Module, imports: dict[str, str], local: set[str]) -> set[str]:
    """Every dotted name the code uses or imports, its first part resolved through `imports`.
    A bare name the code (or its cell) defines itself is not a use of anything else."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local:
            found.add(imports.get(node.id, node.id))
        elif isinstance(node, ast.Attribute):
            parts, value = [node.attr], node.value
            while isinstance(value, ast.Attribute):
                parts.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name):
                root = value.id if value.id in local else imports.get(value.id, value.id)
                found.add(".".join([root, *reversed(parts)]))
    return found


def _text_uses(code: str, forbid: list[str]) -> list[str]:
    """The fallback for code that does not parse: each forbidden name as whole words, dots allowing spaces."""
    found = []
    for name in forbid:
        pattern = r"\s*\.\s*".join(re.escape(part) for part in name.split("."))
        if re.search(rf"(?<![\w.]){pattern}(?!\w)", code):
            found.append(name)
    return found


def forbidden_uses(code: str, forbid: list[str], imports: dict[str, str] | None = None,
                   local: set[str] | None = None) -> list[str]:
    """The names of `forbid` that `code` uses: `models.build` matches `models.build(...)`, `lk.models.build`,
    `from labkit.models import build; build(...)`; `LeNet5` matches `models.LeNet5` and a bare `LeNet5` the
    code does not define itself. `imports` are bindings made elsewhere (earlier cells); `local` names defined
    elsewhere in the cell. Code that does not parse is searched as text."""
    if not forbid:
        return []
    tree = _parse(code)
    if tree is None:
        return _text_uses(code, forbid)
    bindings = {**(imports or {}), **_imports(tree)}
    used = _qualified_names(tree, bindings, (local or set()) | _definitions(tree))
    return [name for name in forbid if any(q == name or q.endswith("." + name) for q in used)]


def cells_imports(cells) -> dict[str, str]:
    """The import bindings made by these cells' code, later ones winning."""
    bound = {}
    for cell in cells:
        tree = _parse(cell.source) if cell.cell_type == "code" else None
        if tree is not None:
            bound.update(_imports(tree))
    return bound


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
    if is_answer_cell(cell) or (cell.cell_type == "code" and _nbgrader(cell).get("solution") is True):
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
    tree = _parse(cell.source)
    used = forbidden_uses(student_source, labkit.get("forbid", []), cells_imports(cells_so_far),
                          _definitions(tree) if tree is not None else set())
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


# ---------------------------------------------------------------- what a student did


def _error_output(cell) -> str:
    """"Ename: evalue" of the cell's first error output, in one line; "" when there is none."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            value = re.sub(r"\x1b\[[0-9;]*m", "", str(output.get("evalue", "")))
            return f"{output.get('ename', 'Error')}: {' '.join(value.split())}"[:200]
    return ""


def _answer_status(cell) -> tuple[str, str]:
    lines = [line.strip() for line in cell.source.split("\n")]
    if not any(lines) or ANSWER_STUB[0] in lines:
        return NOT_DONE, f"still reads {ANSWER_STUB[0]!r}" if any(lines) else "empty"
    return DONE, ""


def _code_status(cell, imports: dict[str, str]) -> tuple[str, str]:
    try:
        regions = solution_regions(cell.source) if BEGIN_SOLUTION in cell.source else [cell.source]
    except MarkerError:
        regions = [cell.source]  # markers a student broke: judge the whole cell
    if not cell.source.strip() or any(
            line.strip().startswith("raise NotImplementedError") for region in regions for line in region.split("\n")):
        return NOT_DONE, "still raises NotImplementedError" if cell.source.strip() else "empty"
    forbid = _labkit(cell).get("forbid", [])
    tree = _parse(cell.source)
    local = _definitions(tree) if tree is not None else set()
    used = sorted({name for region in regions for name in forbidden_uses(region, forbid, imports, local)})
    if used:
        return USES_LABKIT, f"uses {', '.join(used)}"
    error = _error_output(cell)
    return (ERROR, error) if error else (DONE, "")


def exercise_report(notebook) -> list[dict]:
    """One entry per exercise cell and answer cell of a notebook node (reference, student edition, or a
    submission, executed or not): id, kind ("code" or "answer"), cell (index, papermill's cells left out),
    points, status ("not done", "uses labkit's implementation", "error", "done") and detail (one line)."""
    entries, cells = [], own_cells(notebook)
    for index, cell in enumerate(cells):
        if not (is_exercise_cell(cell) or is_answer_cell(cell)):
            continue
        where = f"cell {index}"
        exercise_metadata(cell, where)  # validates forbid
        if cell.cell_type == "code":
            kind, (status, detail) = "code", _code_status(cell, cells_imports(cells[:index + 1]))
        else:
            kind, (status, detail) = "answer", _answer_status(cell)
        entries.append({"id": cell_exercise_id(cell, index), "kind": kind, "cell": index,
                        "points": cell_points(cell, where), "status": status, "detail": detail})
    return entries


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
