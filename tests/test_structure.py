"""The house keeps its rings: the core never imports the course layer, no module imports in a circle, and bench
uses labkit's public names only (docs/architecture.md)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "labkit"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_exists(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(path: Path) -> set[str]:
    """The labkit modules `path` imports at module level or inside functions, resolved to module names
    (`from . import claims` is the module labkit.course.claims, `from .x import y` the module x)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "labkit"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] != "labkit":
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if module_exists(candidate) else base)
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(path): imports(path) for path in PACKAGE.rglob("*.py")}


def is_course(name: str) -> bool:
    return name == "labkit.course" or name.startswith("labkit.course.")


def test_the_core_imports_nothing_from_the_course_layer():
    edges = graph()
    core = [name for name in edges if not is_course(name) and name not in ("labkit.__main__",)]
    wrong = {name: sorted(filter(is_course, edges[name])) for name in core if any(map(is_course, edges[name]))}
    assert not wrong, f"core modules importing the course layer: {wrong}"


def test_no_module_imports_in_a_circle():
    edges = graph()
    # a package's __init__ hands names on: the arrow from a module to its own package face is not a dependency
    # cycle when the face only re-exports, so it is followed like any other import, and must not close a loop
    cycles, state = [], {}

    def visit(name, path):
        state[name] = "open"
        for other in sorted(edges.get(name, ())):
            if other not in edges:
                continue
            if state.get(other) == "open":
                cycles.append(path[path.index(other):] + [other])
            elif other not in state:
                visit(other, path + [other])
        state[name] = "done"

    for name in sorted(edges):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


@pytest.mark.parametrize("folder", ["bench", "studies"])
def test_bench_and_studies_use_labkits_public_names_only(folder):
    private = []
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("labkit"):
                private += [f"{path.name}: {node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                value = node.value
                if isinstance(value, ast.Name) and value.id in ("lk", "labkit"):
                    private.append(f"{path.name}: {value.id}.{node.attr}")
    assert not private, f"private labkit names used: {private}"


def test_fit_takes_a_recipe_and_at_most_ten_parameters():
    import inspect

    from labkit import fit

    parameters = inspect.signature(fit).parameters
    assert len(parameters) <= 10 and list(parameters)[:4] == ["model", "train", "test", "recipe"]
