from pathlib import Path

import pytest

from labkit.__main__ import BEGIN, END, main
from labkit.records import save_metrics


def test_results_table_reads_every_metrics_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LABKIT_FIGURES", str(tmp_path))
    run = {"model": "PlainCNN", "parameters": 28938, "epochs": 6, "train_accuracy": 0.9985, "test_accuracy": 0.9931,
           "train_loss": 0.007, "test_loss": 0.02, "train_seconds": 70.0, "per_class_accuracy": [0.99] * 10}
    save_metrics("01_cnn", {"seed": 0, "device": "cpu", "runs": {"plain_cnn": run},
                            "checks": [{"requirement": "r", "passed": True}, {"requirement": "n/a", "passed": None}]})
    assert main(["results"]) == 0
    out = capsys.readouterr().out
    assert "| 01_cnn | plain_cnn | PlainCNN | 28,938 | 6 | 0.9985 | 0.9931 | 1/1 |" in out

    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n{BEGIN}\nold\n{END}\nafter\n")
    assert main(["results", "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert "old" not in text and "0.9931" in text and text.endswith(f"{END}\nafter\n")


def test_results_refuses_a_readme_without_markers(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_FIGURES", str(tmp_path))
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    with pytest.raises(SystemExit, match="no <!-- results:begin -->"):
        main(["results", "--readme", str(readme)])
    assert readme.read_text() == "no markers\n"


def test_data_command_reports_failure(tmp_path, monkeypatch, capsys):
    from labkit import mnist

    def fail(root):
        raise OSError("offline")

    monkeypatch.setattr(mnist, "_from_torchvision", fail)
    monkeypatch.setattr(mnist, "_from_package_index", fail)
    assert main(["data", "--root", str(tmp_path)]) == 1
    assert "could not acquire MNIST" in capsys.readouterr().err


def test_profile_command_writes_parameterised_copies(tmp_path, capsys):
    import nbformat

    root = Path(__file__).resolve().parent.parent
    assert main(["profile", "smoke", str(root / "notebooks" / "01_cnn.ipynb"), "--out", str(tmp_path)]) == 0
    copy = nbformat.read(tmp_path / "01_cnn.ipynb", as_version=4)
    injected = [c for c in copy.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert 'PROFILE = "smoke"' in injected[0].source and "TRAIN_FRACTION = 0.02" in injected[0].source
    original = nbformat.read(root / "notebooks" / "01_cnn.ipynb", as_version=4)
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in original.cells)


def test_profile_command_refuses_bad_input(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["profile", "fast", "x.ipynb", "--out", str(tmp_path)])
    bare = tmp_path / "01_cnn.ipynb"
    import nbformat

    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), bare)
    assert main(["profile", "smoke", str(bare), "--out", str(tmp_path / "out")]) == 1
    assert "no cell tagged 'parameters'" in capsys.readouterr().err


def test_profiles_parameters():
    from labkit.course import profiles

    assert profiles.parameters("full", "01_cnn") == {"PROFILE": "full"}
    assert profiles.parameters("smoke", "04_pairs") == {"PROFILE": "smoke", "EPOCHS": 1, "PAIRS_PER_EPOCH": 1000,
                                                        "TEST_PAIRS": 500, "VALIDATION_PAIRS": 500}
    assert set(profiles.OVERRIDES["smoke"]) == set(profiles.OVERRIDES["quick"])
    with pytest.raises(ValueError, match="profile must be one of full, quick, smoke"):
        profiles.parameters("fast", "01_cnn")


def test_grade_command_exit_status_and_refusals(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "missing.ipynb")]) == 1
    assert "FAILED" in capsys.readouterr().err
    assert main(["grade", "x.ipynb", "--timeout", "0"]) == 2


# `python -m labkit run` and `python -m labkit test`: make's targets without make. Nothing heavy runs here:
# commands.call (the one place they start processes) is replaced by a recorder.

REPOSITORY = Path(__file__).resolve().parent.parent


def record_calls(monkeypatch, fail_when=None):
    """Replace commands.call; return the list of commands it was given. `fail_when(command)` -> its exit status."""
    from labkit.course import commands

    calls = []

    def fake_call(command, cwd=None, env=None, quiet=False):
        calls.append({"command": command, "cwd": cwd, "env": env})
        return fail_when(command) if fail_when else 0

    monkeypatch.setattr(commands, "call", fake_call)
    return calls


def test_parser_accepts_run_and_test(monkeypatch):
    from labkit.course import commands

    seen = {}
    monkeypatch.setattr(commands, "run", lambda args: seen.setdefault("run", args) and 0)
    monkeypatch.setattr(commands, "test", lambda args: seen.setdefault("test", args) and 0)
    assert main(["run", "a.ipynb", "b.ipynb", "--timeout", "60"]) == 0
    assert seen["run"].notebooks == [Path("a.ipynb"), Path("b.ipynb")] and seen["run"].timeout == 60
    assert main(["test", "--full"]) == 0 and seen["test"].full is True
    seen.clear()
    assert main(["run"]) == 0 and seen["run"].notebooks == [] and seen["run"].timeout == commands.CELL_TIMEOUT
    assert main(["test"]) == 0 and seen["test"].full is False
    with pytest.raises(SystemExit):
        main(["test", "--fast"])


def test_default_notebooks_are_the_numbered_ones_sorted(tmp_path):
    from labkit.course import commands

    assert commands.find_repository(REPOSITORY / "notebooks") == REPOSITORY
    notebooks = commands.default_notebooks(REPOSITORY)
    assert notebooks == sorted((REPOSITORY / "notebooks").glob("[0-9]*.ipynb")) and notebooks
    assert all(n.name[0].isdigit() and n.suffix == ".ipynb" for n in notebooks)

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "labkit").mkdir()
    for name in ("10_b.ipynb", "02_a.ipynb", "scratch.ipynb", "03_c.txt"):
        (tmp_path / "notebooks" / name).write_text("{}")
    assert [n.name for n in commands.default_notebooks(tmp_path)] == ["02_a.ipynb", "10_b.ipynb"]
    with pytest.raises(commands.CommandError, match=r"no notebooks/\[0-9\]\*\.ipynb found in"):
        commands.default_notebooks(tmp_path / "labkit")


def test_run_names_a_missing_notebook_and_runs_nothing(tmp_path, monkeypatch, capsys):
    calls = record_calls(monkeypatch)
    missing = tmp_path / "07_missing.ipynb"
    assert main(["run", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"notebook not found: {missing}" in err and ".ipynb" in err
    assert calls == []
    assert main(["run", "--timeout", "0"]) == 2
    assert "--timeout must be a number of seconds > 0, got 0" in capsys.readouterr().err


def test_run_executes_in_order_and_stops_at_the_first_failure(monkeypatch, capsys):
    monkeypatch.chdir(REPOSITORY)
    monkeypatch.setenv("LABKIT_STRICT", "1")
    names = ("01_cnn.ipynb", "02_lenet5.ipynb", "03_resnet.ipynb")
    first, second, third = (REPOSITORY / "notebooks" / name for name in names)
    calls = record_calls(monkeypatch, fail_when=lambda command: 3 if command[-1] == str(second) else 0)
    assert main(["run", str(first), str(second), str(third), "--timeout", "60"]) == 3
    commands_run = [c["command"] for c in calls]
    assert commands_run[0][-2:] == ["labkit", "data"]
    assert [c[-1] for c in commands_run[1:]] == [str(first), str(second)]  # stopped: third not run, no README
    assert "nbconvert" in commands_run[1] and "--ExecutePreprocessor.timeout=60" in commands_run[1]
    assert "LABKIT_STRICT" not in calls[1]["env"]
    err = capsys.readouterr().err
    assert f"{second} failed (exit status 3)" in err and f"not run: {third}" in err

    calls = record_calls(monkeypatch)
    assert main(["run"]) == 0
    notebooks = sorted((REPOSITORY / "notebooks").glob("[0-9]*.ipynb"))
    assert [c["command"][-1] for c in calls[1:-1]] == [str(n) for n in notebooks]
    assert calls[-1]["command"][-3:] == ["results", "--readme", str(REPOSITORY / "README.md")]


def test_test_runs_its_steps_in_order_and_stops_at_the_first_failure(monkeypatch, capsys):
    from labkit.course import commands

    monkeypatch.chdir(REPOSITORY)
    order = []

    def step(name, status):
        def action(options):
            assert options.root == REPOSITORY and options.notebooks == commands.default_notebooks(REPOSITORY)
            order.append(name)
            return status
        return commands.Step(name.split()[0], name, action)

    monkeypatch.setattr(commands, "TEST_STEPS", [step("lint", 0), step("unit tests", 0), step("grader", 4),
                                                 step("committed results", 0)])
    assert main(["test"]) == 4
    assert order == ["lint", "unit tests", "grader"]
    out, err = capsys.readouterr()
    assert "step 'grader' failed (exit status 4); not run: committed results" in err
    assert "== lint: passed" in out

    order.clear()
    monkeypatch.setattr(commands, "TEST_STEPS", [step("lint", 0), step("unit tests", 0)])
    monkeypatch.setattr(commands, "FULL_STEPS", [step("full notebooks", 0)])
    assert main(["test"]) == 0 and order == ["lint", "unit tests"]
    assert main(["test", "--full"]) == 0 and order == ["lint", "unit tests", "full notebooks"]
    order.clear()
    assert main(["test", "--only", "unit"]) == 0 and order == ["unit tests"]
    assert main(["test", "--only", "bench"]) == 2 and order == ["unit tests"]
    assert "--only must be one of ['lint', 'unit'], got 'bench'" in capsys.readouterr().err


def test_test_steps_are_make_tests_commands(monkeypatch, capsys):
    from labkit.course import commands

    monkeypatch.chdir(REPOSITORY)
    assert [s.title for s in commands.TEST_STEPS] == ["lint", "data", "unit tests", "notebooks (nbval, smoke profile)",
                                                      "grader (smoke profile)", "committed results"]
    assert [s.name for s in commands.TEST_STEPS] == ["lint", "data", "unit", "notebooks", "grade", "committed"]
    calls = record_calls(monkeypatch, fail_when=lambda command: 1 if "--nbval-lax" in command else 0)
    assert main(["test"]) == 1
    assert "step 'notebooks (nbval, smoke profile)' failed" in capsys.readouterr().err
    lint, data, unit, profile, nbval = (c["command"] for c in calls)
    assert lint[1:] == ["-m", "ruff", "check", "labkit", "tests", "bench", "studies", "notebooks"]
    assert data[1:] == ["-m", "labkit", "data"]
    assert unit[1:] == ["-m", "pytest", "-q", "--durations=12", "tests", "--deselect", commands.FRESHNESS_TEST]
    assert profile[1:4] == ["-m", "labkit", "profile"] and profile[4] == "smoke"
    assert "--nbval-cell-timeout=300" in nbval
    assert calls[4]["env"]["LABKIT_STRICT"] == "1" and calls[4]["env"]["LABKIT_FIGURES"].endswith("figures")
    assert calls[4]["cwd"] == Path(profile[-1]) and not calls[4]["cwd"].exists()  # temporary folder removed

    calls = record_calls(monkeypatch)
    assert main(["test", "--full"]) == 0
    assert [c["command"][3] for c in calls[:2]] == ["data", "profile"] and len(calls) == 3
    assert calls[1]["command"][4] == "full" and "--nbval-cell-timeout=1800" in calls[2]["command"]


def test_lint_fails_clearly_without_ruff(monkeypatch, capsys):
    from labkit.course import commands

    calls = record_calls(monkeypatch)
    monkeypatch.setattr(commands.importlib.util, "find_spec", lambda name: None)
    assert commands.lint(commands.Options(REPOSITORY, [])) == 1
    assert "lint needs ruff, which is not installed" in capsys.readouterr().err and calls == []
