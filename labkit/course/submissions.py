"""What a notebook holds for grading: its exercises, answers and self-checks, what they use, how it was executed.

The reference notebooks mark exercises the way nbgrader does:

    code cell, metadata {"labkit": {"exercise": "lenet5", "forbid": ["models.build", "LeNet5"], "points": 3}}
        class LeNet5(nn.Module):
            ### BEGIN SOLUTION
            ...the reference solution...
            ### END SOLUTION
    code cell right after it, the exercise's self-check (nbgrader's autograded test cell)
        selfcheck.check_lenet5(LeNet5)
    markdown answer cell, tag "answer", metadata {"labkit": {"answer": "why-tanh"}, "nbgrader": {"solution": true, ...}}

    graded_cells(notebook)            -> [GradedCell(index, cell, "exercise" | "self-check" | "answer", id), ...]
    exercise_report(notebook)         -> [{"id": "lenet5", "kind": "code", "cell": 8, "points": 3,
                                           "status": "done", "detail": ""}, ...]
    forbidden_uses(code, ["models.build"])      the names of labkit's implementation the code calls
    submission_state(notebook)        -> (True, "executed top to bottom, no error outputs")
    exercise_namespace(notebook)      the notebook's exercise classes, defined in this process (for the grader)

Cell indexes leave out the cells papermill adds, so they are the same before and after a graded run.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

import nbformat

from ..records import REPOSITORY

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
ANSWER_STUB = ("YOUR ANSWER HERE",)
NOT_DONE, USES_LABKIT, ERROR, DONE = "not done", "uses labkit's implementation", "error", "done"
PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}
SELF_CHECK_CALL = re.compile(r"(?<![\w.])selfcheck\s*\.\s*check_\w+\s*\(")
EXERCISE, SELF_CHECK, ANSWER = "exercise", "self-check", "answer"
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


def segments(source: str) -> list[tuple[str | None, list[str]]]:
    """The source as (None, lines outside any region) and (indent of its BEGIN line, lines inside a region)."""
    parts: list[tuple[str | None, list[str]]] = [(None, [])]
    opened_at = None
    for number, line in enumerate(source.split("\n"), start=1):
        kind = _marker(line, number)
        if kind == "begin":
            if opened_at is not None:
                raise MarkerError(number, f"{BEGIN_SOLUTION} inside the region opened on line {opened_at}; "
                                          "regions cannot nest")
            opened_at = number
            parts.append((line[:len(line) - len(line.lstrip())], []))
        elif kind == "end":
            if opened_at is None:
                raise MarkerError(number, f"{END_SOLUTION} without a {BEGIN_SOLUTION} before it")
            opened_at = None
            parts.append((None, []))
        else:
            parts[-1][1].append(line)
    if opened_at is not None:
        raise MarkerError(opened_at, f"{BEGIN_SOLUTION} is never closed by {END_SOLUTION}")
    return parts


def solution_regions(source: str) -> list[str]:
    """The text between each pair of markers (markers excluded)."""
    return ["\n".join(lines) for indent, lines in segments(source) if indent is not None]


# ---------------------------------------------------------------- what a cell is


def labkit_metadata(cell) -> dict:
    value = cell.metadata.get("labkit")
    return value if isinstance(value, dict) else {}


def nbgrader_metadata(cell) -> dict:
    value = cell.metadata.get("nbgrader")
    return value if isinstance(value, dict) else {}


def exercise_metadata(cell, where: str = "cell") -> dict | None:
    """The cell's metadata `labkit` when it names an exercise, validated; else None."""
    labkit = labkit_metadata(cell)
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
        nbgrader_metadata(cell).get("solution") is True or "answer" in cell.metadata.get("tags", []))


def is_exercise_cell(cell) -> bool:
    """A code cell the student completes: labkit.exercise, nbgrader's solution flag, or a solution region."""
    return cell.cell_type == "code" and (
        "exercise" in labkit_metadata(cell) or nbgrader_metadata(cell).get("solution") is True
        or BEGIN_SOLUTION in cell.source)


def is_self_check(cell) -> bool:
    """A code cell that calls an exercise's self-check (`selfcheck.check_...(...)`)."""
    return cell.cell_type == "code" and SELF_CHECK_CALL.search(cell.source) is not None


def cell_points(cell, where: str = "cell") -> float:
    """Rubric points written in the cell: nbgrader.points, else metadata points, else labkit.points, else 0."""
    for points in (nbgrader_metadata(cell).get("points"), cell.metadata.get("points"),
                   labkit_metadata(cell).get("points")):
        if points is not None:
            if isinstance(points, bool) or not isinstance(points, (int, float)) or not points >= 0:
                raise ValueError(f"{where}: points must be a number >= 0, got {points!r}")
            return points
    return 0


def cell_exercise_id(cell, index: int) -> str:
    """An exercise's or answer's id: labkit.exercise, labkit.answer, nbgrader.grade_id, else the cell's id."""
    labkit = labkit_metadata(cell)
    return labkit.get("exercise") or labkit.get("answer") or nbgrader_metadata(cell).get("grade_id") \
        or cell.get("id") or f"cell-{index}"


def own_cells(notebook) -> list:
    """The cells as the notebook was written, without those papermill adds; report indexes count these."""
    return [cell for cell in notebook.cells if not PAPERMILL_TAGS & set(cell.metadata.get("tags", []))]


@dataclass(frozen=True)
class GradedCell:
    """A cell a grader scores: an exercise, the self-check right after it, or an answer cell."""

    index: int  # among own_cells
    cell: object
    role: str  # EXERCISE, SELF_CHECK or ANSWER
    id: str  # the exercise's id (its self-check's too), or the answer cell's


def graded_cells(notebook) -> list[GradedCell]:
    """The exercise cells, each one's self-check (the code cell right after it, calling `selfcheck.check_...`)
    and the answer cells, in notebook order."""
    cells, found = own_cells(notebook), []
    for index, cell in enumerate(cells):
        if is_exercise_cell(cell):
            exercise = cell_exercise_id(cell, index)
            found.append(GradedCell(index, cell, EXERCISE, exercise))
            if index + 1 < len(cells) and is_self_check(cells[index + 1]):
                found.append(GradedCell(index + 1, cells[index + 1], SELF_CHECK, exercise))
        elif is_answer_cell(cell):
            found.append(GradedCell(index, cell, ANSWER, cell_exercise_id(cell, index)))
    return found


def reference_notebook(notebook: str):
    """The reference edition of lab notebook `notebook` (notebooks/<id>.ipynb), None where there is none."""
    path = REFERENCE_NOTEBOOKS / f"{notebook}.ipynb"
    return nbformat.read(path, as_version=4) if path.is_file() else None


def first_line(source: str, width: int = 60) -> str:
    line = next((line.strip() for line in source.splitlines() if line.strip()), "")
    return line if len(line) <= width else line[:width - 3] + "..."


# ---------------------------------------------------------------- forbidden names


def parse(code: str) -> ast.Module | None:
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


def definitions(tree: ast.Module) -> set[str]:
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
    tree = parse(code)
    if tree is None:
        return _text_uses(code, forbid)
    bindings = {**(imports or {}), **_imports(tree)}
    used = _qualified_names(tree, bindings, (local or set()) | definitions(tree))
    return [name for name in forbid if any(q == name or q.endswith("." + name) for q in used)]


def cells_imports(cells) -> dict[str, str]:
    """The import bindings made by these cells' code, later ones winning."""
    bound = {}
    for cell in cells:
        tree = parse(cell.source) if cell.cell_type == "code" else None
        if tree is not None:
            bound.update(_imports(tree))
    return bound


def exercise_forbidden_uses(cell, earlier_cells) -> list[str]:
    """The names of the exercise cell's labkit.forbid that its solution regions (all of it when its markers are
    broken or gone) use, earlier cells' imports taken into account."""
    try:
        regions = solution_regions(cell.source) if BEGIN_SOLUTION in cell.source else [cell.source]
    except MarkerError:
        regions = [cell.source]  # markers a student broke: judge the whole cell
    forbid = labkit_metadata(cell).get("forbid", [])
    tree = parse(cell.source)
    local = definitions(tree) if tree is not None else set()
    imports = cells_imports([*earlier_cells, cell])
    return sorted({name for region in regions for name in forbidden_uses(region, forbid, imports, local)})


# ---------------------------------------------------------------- what a student did


def error_output(cell) -> str:
    """"Ename: evalue" of the cell's first error output, in one line; "" when there is none."""
    for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
        if output.get("output_type") == "error":
            value = re.sub(r"\x1b\[[0-9;]*m", "", str(output.get("evalue", "")))
            return f"{output.get('ename', 'Error')}: {' '.join(value.split())}"[:200]
    return ""


def _answer_status(cell) -> tuple[str, str]:
    lines = [line.strip() for line in cell.source.split("\n")]
    if not any(lines) or ANSWER_STUB[0] in lines:
        return NOT_DONE, f"still reads {ANSWER_STUB[0]!r}" if any(lines) else "empty"
    return DONE, ""


def _raises_not_implemented(cell) -> bool:
    try:
        regions = solution_regions(cell.source) if BEGIN_SOLUTION in cell.source else [cell.source]
    except MarkerError:
        regions = [cell.source]
    return any(line.strip().startswith("raise NotImplementedError") for region in regions
               for line in region.split("\n"))


def _code_status(cell, earlier_cells, check) -> tuple[str, str]:
    if not cell.source.strip() or _raises_not_implemented(cell):
        return NOT_DONE, "still raises NotImplementedError" if cell.source.strip() else "empty"
    used = exercise_forbidden_uses(cell, earlier_cells)
    if used:
        return USES_LABKIT, f"uses {', '.join(used)}"
    error = error_output(cell)
    if error:
        return ERROR, error
    failed = error_output(check) if check is not None else ""
    return (ERROR, f"its self-check failed: {failed}") if failed else (DONE, "")


def exercise_report(notebook) -> list[dict]:
    """One entry per exercise cell and answer cell of a notebook node (reference, student edition, or a
    submission, executed or not): id, kind ("code" or "answer"), cell (index, papermill's cells left out),
    points (as the cell says), status ("not done", "uses labkit's implementation", "error", "done") and detail
    (one line). An executed exercise whose self-check cell raised is "error", like one that raised itself."""
    cells, entries = own_cells(notebook), []
    graded = graded_cells(notebook)
    checks = {g.id: g.cell for g in graded if g.role == SELF_CHECK}
    for entry in graded:
        if entry.role == SELF_CHECK:
            continue
        where = f"cell {entry.index}"
        exercise_metadata(entry.cell, where)  # validates forbid
        if entry.role == EXERCISE:
            kind = "code"
            status, detail = _code_status(entry.cell, cells[:entry.index], checks.get(entry.id))
        else:
            kind, (status, detail) = "answer", _answer_status(entry.cell)
        entries.append({"id": entry.id, "kind": kind, "cell": entry.index, "points": cell_points(entry.cell, where),
                        "status": status, "detail": detail})
    return entries


# ---------------------------------------------------------------- how it was executed


def _error_line(output) -> str:
    value = " ".join(str(output.get("evalue", "")).split())
    return f"{output.get('ename', 'Error')}: {value}"[:200]


def submission_state(notebook) -> tuple[bool, str]:
    """(ok, why): executed top to bottom (execution counts 1, 2, 3, ... in cell order) and no error output.
    A cell papermill injected counts in the order when it ran (nbgrader's autograde runs it, papermill does not
    number it) and is passed over when it did not."""
    last = 0
    own = {id(cell) for cell in own_cells(notebook)}
    index = -1
    for cell in notebook.cells:
        count = cell.get("execution_count") if cell.cell_type == "code" else None
        if id(cell) not in own:
            if count == last + 1:
                last = count
            continue
        index += 1
        if cell.cell_type != "code" or not cell.source.strip():
            continue
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


def first_error(notebook) -> str:
    """"cell k (first line): Error: message" for the first cell with an error output, else ""."""
    for index, cell in enumerate(own_cells(notebook)):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "error":
                return f"cell {index} ({first_line(cell.source)}): {_error_line(output)}"
    return ""


def last_started_cell(notebook) -> str:
    """The last code cell papermill marked as started (it was running when the time ran out)."""
    started = [(index, cell) for index, cell in enumerate(own_cells(notebook)) if cell.cell_type == "code"
               and cell.metadata.get("papermill", {}).get("start_time")]
    return f"cell {started[-1][0]} ({first_line(started[-1][1].source)})" if started else "no cell"


# ---------------------------------------------------------------- the notebook's own classes


class ExerciseCodeRefused(ValueError):
    """An exercise cell the grader will not run: it uses labkit's implementation, or does not even parse."""


def exercise_namespace(notebook) -> dict:
    """The names the notebook's code exercises define (its classes: `PlainCNN`, `BasicBlock`, ...), each
    exercise cell run in one namespace in this process after the notebook's import cells, as the kernel ran
    them. An exercise that uses a forbidden name, or does not parse, raises ExerciseCodeRefused naming it; one
    that raises is reported the same way. Only import statements and the exercise cells run: nothing else of
    the notebook (no training, no file written)."""
    cells = own_cells(notebook)
    namespace: dict = {"__name__": "labkit_submission"}
    imports = [cell for cell in cells if cell.cell_type == "code" and not is_exercise_cell(cell)]
    for statement in _import_statements(imports):
        try:
            exec(compile(ast.Module([statement], []), "<submission imports>", "exec"), namespace)
        except Exception:  # an import the grader lacks: the exercise that needs it fails below, by name
            continue
    for entry in graded_cells(notebook):
        if entry.role != EXERCISE:
            continue
        used = exercise_forbidden_uses(entry.cell, cells[:entry.index])
        tree = parse(entry.cell.source)
        if used or tree is None:
            why = f"uses {', '.join(used)}" if used else "is not valid Python"
            raise ExerciseCodeRefused(f"exercise {entry.id!r} (cell {entry.index}) {why}; the grader does not run it")
        try:
            exec(compile(_definitions_only(tree), f"<exercise {entry.id}>", "exec"), namespace)
        except Exception as error:  # the student's code: report any failure by name
            raise ExerciseCodeRefused(f"exercise {entry.id!r} (cell {entry.index}) raised "
                                      f"{type(error).__name__}: {error}") from None
    return namespace


def _import_statements(cells) -> list[ast.stmt]:
    statements = []
    for cell in cells:
        tree = parse(cell.source)
        statements += [node for node in (tree.body if tree is not None else [])
                       if isinstance(node, (ast.Import, ast.ImportFrom))]
    return statements


def _definitions_only(tree: ast.Module) -> ast.Module:
    """The cell's imports, function and class definitions and plain assignments of constants and names (the
    module-level values a class body reads, e.g. `BACKGROUND = -MEAN / STD`); calls at module level are left out,
    so a training loop in an exercise cell does not run in the grader."""
    kept = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef,
                                                            ast.AsyncFunctionDef, ast.ClassDef))
            or (isinstance(node, ast.Assign) and not any(isinstance(n, ast.Call) for n in ast.walk(node.value)))]
    return ast.Module(kept, [])


def parameter_values(notebook) -> dict:
    """The values the notebook's `parameters` cell assigns, where they are plain literals (`EPOCHS = 6`,
    `PAIRS_PER_EPOCH = 60_000`); {} when it has no such cell."""
    cell = next((c for c in own_cells(notebook) if "parameters" in c.metadata.get("tags", [])), None)
    tree = parse(cell.source) if cell is not None else None
    values = {}
    for node in tree.body if tree is not None else []:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:  # an expression (1 / 12): not a value the grader needs
                continue
    return values


def _registry_class(factory) -> type:
    return factory.func if isinstance(factory, functools.partial) else factory


def _exercise_classes(namespace: dict) -> dict[str, type]:
    """The classes the notebook's exercises define (not those they import)."""
    return {name: value for name, value in namespace.items()
            if isinstance(value, type) and value.__module__ == namespace.get("__name__")}


def model_candidates(class_name: str, namespace: dict) -> list[tuple[str, Callable]]:
    """(how, build) for each way the notebook can have built a model of class `class_name`: its own exercise class,
    called without arguments; each entry of labkit's registry with that class, the notebook's exercise classes in
    place of labkit's classes of the same name among its options (`models.build("resnet", block=BasicBlock)`)."""
    from .. import models

    own = _exercise_classes(namespace)
    candidates = [(f"the notebook's {class_name}()", own[class_name])] if class_name in own else []
    for name in models.names():
        cls = _registry_class(models.MODELS[name])
        if cls.__name__ != class_name:
            continue
        options = {parameter.name: own[parameter.default.__name__]
                   for parameter in inspect.signature(cls).parameters.values()
                   if isinstance(parameter.default, type) and parameter.default.__name__ in own}
        spelled = "".join(f", {key}={value.__name__}" for key, value in options.items())
        candidates.append((f"models.build({name!r}{spelled})", functools.partial(models.build, name, **options)))
    return candidates


def rebuild_model(class_name: str, state_dict: dict, namespace: dict):
    """(model, how it was built): the first of `model_candidates` that takes `state_dict` exactly (every key and
    shape). ValueError saying why each failed when none does."""
    candidates = model_candidates(class_name, namespace)
    if not candidates:
        raise ValueError(f"neither the notebook's exercises nor labkit's registry build a model of class "
                         f"{class_name!r}")
    reasons = []
    for how, build in candidates:
        try:
            model = build()
            model.load_state_dict(state_dict, strict=True)
        except Exception as error:  # the student's class, or weights that fit another model: say which
            reasons.append(f"{how}: {type(error).__name__}: {' '.join(str(error).split())[:160]}")
            continue
        return model, how
    raise ValueError(f"the saved weights fit no model of class {class_name!r}: " + "; ".join(reasons))
