"""The project's own files agree with each other."""

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"pytorch": "torch"}


def requirement_name(spec: str) -> str:
    return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower()


def test_environment_yml_names_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {requirement_name(s) for s in project["dependencies"] + project["optional-dependencies"]["dev"]}
    listed = set()
    for line in (ROOT / "environment.yml").read_text().splitlines():
        item = line.strip()
        if item.startswith("- ") and not item.startswith("- -e") and item != "- pip:":
            name = requirement_name(item[2:])
            listed.add(CONDA_NAMES.get(name, name))
    listed -= {"python", "pip", "conda-forge"}
    assert listed == declared
    assert "- -e ." in (ROOT / "environment.yml").read_text()


def test_readme_gives_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
