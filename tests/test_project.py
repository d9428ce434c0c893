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


def test_seed_spread_table_gives_mean_and_range(tmp_path):
    from bench.seed_spread import append_to_results, spread_table

    table = spread_table({("01_cnn", "plain_cnn"): {0: 0.9925, 1: 0.9931, 2: 0.9919},
                          ("03_resnet", "resnet"): {0: 0.9962, 2: 0.9958}})
    lines = table.splitlines()
    assert lines[0].startswith("| notebook | run | seed 0 | seed 1 | seed 2 | mean | range |")
    assert lines[2] == "| 01_cnn | plain_cnn | 0.9925 | 0.9931 | 0.9919 | 0.9925 | 0.9919-0.9931 | 0.9900 | 3 of 3 |"
    assert lines[3] == "| 03_resnet | resnet | 0.9962 |  | 0.9958 | 0.9960 | 0.9958-0.9962 | 0.9960 | 0 of 2 |"
    results = tmp_path / "results.md"
    results.write_text("# Benchmarks\n")
    append_to_results(table, results)
    assert results.read_text().startswith("# Benchmarks\n\n## Seed spread\n") and table in results.read_text()
