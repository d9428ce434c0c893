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
                                                        "TEST_PAIRS": 500}
    assert set(profiles.OVERRIDES["smoke"]) == set(profiles.OVERRIDES["quick"])
    with pytest.raises(ValueError, match="profile must be one of full, quick, smoke"):
        profiles.parameters("fast", "01_cnn")


def test_grade_command_exit_status_and_refusals(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "missing.ipynb")]) == 1
    assert "FAILED" in capsys.readouterr().err
    assert main(["grade", "x.ipynb", "--timeout", "0"]) == 2
