"""No typed result in the notebooks' prose: every number a reader sees in text comes from the run or from a fact.

A number in a markdown cell, or in the template of a `prose.show` call, must be one of:
- a digit, or a size such as 5x5 or 28×28 (architecture and image shapes, fixed by the code);
- a number the notebook's own code holds (a parameter, a layer width, a threshold in the code);
- a constant of an exercise's self-check (labkit/course/selfcheck: the parameter count the exercise must give);
- a course-report or paper fact quoted from SEEDS.md (the lab book's source for what the reports did);
- a target of the notebook's requirements (labkit/course/requirements.py), as a percentage.
Anything else (an accuracy, a gap, a count of errors, a time, a parameter count) must be computed and rendered.
The task statement (the first cell) is exempt: it is the assignment's own text.
"""

import json
import re
from pathlib import Path

import pytest

from labkit.course.requirements import notebooks, requirements_for

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
SEEDS = ROOT.parent / "shared" / "SEEDS.md"
SELFCHECKS = ROOT / "labkit" / "course" / "selfcheck"  # the exercises' specifications, checked there
NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?:e-?\d+)?%?")
SIZE = re.compile(r"\d+\s*[x×@]\s*\d+(?:\s*[x×]\s*\d+)?")
CODE_SPAN = re.compile(r"`[^`\n]*`")
FIELD = re.compile(r"\{[^{}]*\}")
HEADING_NUMBER = re.compile(r"^(#+\s*)(?:\d+\s*·\s*)?\d+(?:\.\d+)*\.?", re.M)
LIST_NUMBER = re.compile(r"^\s*\d+\.\s", re.M)


def source(cell) -> str:
    return "".join(cell["source"])


def canonical(token: str) -> str:
    return token.rstrip("%").replace(",", "").rstrip(".")


def numbers_in(text: str) -> set[str]:
    text = CODE_SPAN.sub(" ", text)
    text = HEADING_NUMBER.sub(r"\1", text)
    text = LIST_NUMBER.sub(" ", text)
    text = SIZE.sub(" ", text)
    return {token for token in NUMBER.findall(text) if not re.fullmatch(r"\d", canonical(token))}


TEMPLATE = re.compile(r"prose\.show\(\s*(?:f?\"\"\"(.*?)\"\"\"|f?\"(.*?)\")", re.S)


def templates(code: str) -> list[str]:
    """The literal text of the strings passed to prose.show in a code cell, fields removed."""
    return [FIELD.sub(" ", call.group(1) or call.group(2) or "") for call in TEMPLATE.finditer(code)]


def allowed_numbers(notebook: dict, notebook_id: str) -> set[str]:
    code = "\n".join(TEMPLATE.sub(" ", source(c)) for c in notebook["cells"] if c["cell_type"] == "code")
    allowed = {canonical(token) for token in NUMBER.findall(code)}
    allowed |= {canonical(token) for token in NUMBER.findall(SEEDS.read_text())} if SEEDS.exists() else set()
    for module in SELFCHECKS.glob("*.py"):  # an exercise's spec (28,938 parameters) is a constant its check holds
        allowed |= {token.replace("_", "") for token in re.findall(r"\b\d[\d_]*\b", module.read_text())}
    if notebook_id in notebooks():
        allowed |= {f"{r.threshold:g}" for r in requirements_for(notebook_id) if r.threshold is not None}
    for token in list(allowed):  # 0.993 in code is 99.3% in prose, 1e-5 is 0.00001
        try:
            value = float(token)
        except ValueError:
            continue
        allowed.add(f"{value * 100:g}")
        allowed.add(f"{value:g}")
    return allowed


def typed_numbers(path: Path) -> dict[int, list[str]]:
    notebook = json.loads(path.read_text())
    allowed = allowed_numbers(notebook, path.stem)
    found = {}
    for index, cell in enumerate(notebook["cells"]):
        if index == 0:
            continue  # the task statement
        texts = [source(cell)] if cell["cell_type"] == "markdown" else templates(source(cell))
        typed = sorted({token for text in texts for token in numbers_in(text)
                        if canonical(token) not in allowed and f"{float(canonical(token)):g}" not in allowed})
        if typed:
            found[index] = typed
    return found


@pytest.mark.skipif(not SEEDS.exists(), reason="../shared/SEEDS.md (the course reports' facts) is not beside it")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_prose_has_no_typed_result_numbers(path):
    assert typed_numbers(path) == {}, f"{path.name}: numbers typed into prose (cell: numbers); render them"


def test_the_scan_finds_a_typed_accuracy(tmp_path):
    cells = [{"cell_type": "markdown", "source": ["# task\n"]},
             {"cell_type": "code", "source": ["EPOCHS = 8\n"]},
             {"cell_type": "markdown", "source": ["After 8 epochs the net reaches 99.43% on 10,000 test images.\n"]},
             {"cell_type": "code", "source": ['lk.prose.show("""It reaches {acc}, 4.7 times fewer.""", acc=a)\n']}]
    path = tmp_path / "99_made_up.ipynb"
    path.write_text(json.dumps({"cells": cells}))
    found = typed_numbers(path)
    assert "99.43%" in found[2] and "8" not in found[2]
    assert found[3] == ["4.7"]


def hidden_prose(path: Path) -> list[int]:
    """Code cells that call prose.show anywhere but as the cell's last expression: its Markdown would never render
    (show returns the text; only a cell's last value is displayed)."""
    import ast

    hidden = []
    for index, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] != "code" or "prose.show(" not in source(cell):
            continue
        body = ast.parse(source(cell)).body
        shown = [node for node in ast.walk(ast.Module(body=body[:-1], type_ignores=[]))
                 if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "show"]
        last = body[-1] if body else None
        if shown or not (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
                         and getattr(last.value.func, "attr", None) == "show"):
            hidden.append(index)
    return hidden


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_prose_show_is_its_cells_last_value(path):
    assert hidden_prose(path) == [], f"{path.name}: prose.show not the last value of these cells: it never renders"


def test_the_check_finds_prose_that_never_renders(tmp_path):
    cells = [{"cell_type": "code", "source": ['text = lk.prose.show("""{a}""", a=1)\n', "table\n"]},
             {"cell_type": "code", "source": ['x = 1\n', 'lk.prose.show("""{a}""", a=x)\n']},
             {"cell_type": "code", "source": ['lk.prose.show("""{a}""", a=1)\n', "print(2)\n"]}]
    path = tmp_path / "99_made_up.ipynb"
    path.write_text(json.dumps({"cells": cells}))
    assert hidden_prose(path) == [0, 2]


PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


def stated_targets(path: Path) -> list[float]:
    """The percentages the task statement (the first cell, English and Chinese) gives, as fractions."""
    task = source(json.loads(path.read_text())["cells"][0])
    return [round(float(p) / 100, 6) for p in PERCENT.findall(task)]


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.stem in notebooks()], ids=lambda p: p.stem)
def test_the_task_statement_gives_each_graded_target_in_both_languages(path):
    stated = stated_targets(path)
    for requirement in requirements_for(path.stem):
        if requirement.spread is not None:  # an accuracy target
            assert stated.count(round(requirement.threshold, 6)) >= 2, (
                f"{path.name}: the task cell should state {requirement.id}'s target {requirement.threshold:.1%} "
                f"in English and in Chinese; it states {stated}")
