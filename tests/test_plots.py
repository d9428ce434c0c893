import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure

from labkit import metrics, plots, records

plt.switch_backend("Agg")

RNG = np.random.default_rng(0)
N = 60
IMAGES = torch.randint(0, 256, (N, 28, 28), dtype=torch.uint8)
TARGETS = torch.arange(N) % 10
PREDICTIONS = torch.where(torch.arange(N) % 7 == 0, (TARGETS + 1) % 10, TARGETS)  # 9 mistakes
CLASSES = [str(d) for d in range(10)]
PAIR_TARGETS = np.arange(N) % 2
SCORES = np.clip(PAIR_TARGETS * 0.6 + RNG.random(N) * 0.5, 0, 1)


def images_in(fig: Figure) -> int:
    return sum(len(ax.images) for ax in fig.axes)


def check(fig, axes: int, images: int = 0) -> None:
    assert isinstance(fig, Figure)
    assert len(fig.axes) == axes
    assert images_in(fig) == images
    fig.canvas.draw()  # it renders
    w, h = fig.get_size_inches()
    assert w <= 12 and h <= 8 and fig.dpi == 100
    plt.close(fig)


def history(scale: float) -> pd.DataFrame:
    step = np.arange(1, 101)
    evaluated = step % 20 == 0
    loss = scale * np.exp(-step / 50)
    return pd.DataFrame({
        "step": step, "epoch": step // 50, "train_loss": loss + RNG.random(100) * 0.01,
        "test_loss": np.where(evaluated, loss, np.nan), "test_accuracy": np.where(evaluated, 1 - loss / 4, np.nan),
        "lr": 0.1, "seconds": step * 0.01,
    })


def test_sample_grid():
    check(plots.sample_grid(IMAGES, TARGETS, n=40, columns=10, title="training images"), axes=40, images=40)
    check(plots.sample_grid(IMAGES[:3], None), axes=3, images=3)


def test_confusion_plots():
    confusion = metrics.confusion_matrix(TARGETS, PREDICTIONS, CLASSES)
    check(plots.confusion_heatmap(confusion), axes=2)
    check(plots.per_class_bars(metrics.per_class_accuracy(TARGETS, PREDICTIONS, CLASSES)), axes=1)
    check(plots.most_confused_bars(metrics.most_confused(confusion, top=5)), axes=1)


def test_misclassified_gallery_titles_the_mistakes():
    probabilities = torch.softmax(torch.randn(N, 10), dim=1)
    fig = plots.misclassified_gallery(IMAGES, TARGETS, PREDICTIONS, probabilities, CLASSES, n=24)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("true ") and " → pred " in titles[0] and titles[0].endswith(")")
    check(fig, axes=9, images=9)
    check(plots.misclassified_gallery(IMAGES, TARGETS, TARGETS, None, CLASSES), axes=1)  # no mistakes


def test_pair_gallery():
    check(plots.pair_gallery(IMAGES[:6], IMAGES[6:12], PAIR_TARGETS[:6]), axes=6, images=6)
    fig = plots.pair_gallery(IMAGES, IMAGES, PAIR_TARGETS, 1 - PAIR_TARGETS, SCORES, n=4)
    assert fig.axes[0].get_title().startswith("different → pred same (")
    check(fig, axes=4, images=4)


def test_history_curves_overlays_runs():
    fig = plots.history_curves({"relu": history(1.0), "softplus": history(2.0)}, smooth=10)
    assert fig.axes[0].get_yscale() == "log"
    assert len(fig.axes[1].lines) == 2
    check(fig, axes=2)
    check(plots.history_curves(history(1.0)), axes=2)


def test_comparison_and_pair_plots():
    table = pd.DataFrame({"test_accuracy": [0.991, 0.9934]}, index=["lenet5_classic", "lenet5_modern"])
    check(plots.comparison_bars(table), axes=1)
    digit_pairs = np.stack([np.arange(N) % 10, np.arange(N) // 6], axis=1)
    rate = metrics.error_rate_by_digit_pair(digit_pairs, PAIR_TARGETS, (SCORES > 0.5).astype(int))
    check(plots.error_rate_heatmap(rate), axes=1)
    check(plots.score_histogram(SCORES, PAIR_TARGETS), axes=1)
    curve, auc = metrics.roc(PAIR_TARGETS, SCORES)
    check(plots.roc_curve(curve, auc, threshold_point=0.5), axes=1)
    check(plots.embedding_scatter(torch.randn(N, 8), TARGETS), axes=1)


def test_figures_are_not_left_open_in_pyplot():
    before = plt.get_fignums()
    fig = plots.per_class_bars(metrics.per_class_accuracy(TARGETS, PREDICTIONS, CLASSES))
    assert plt.get_fignums() == before
    fig.canvas.draw()


# ---------------------------------------------------------------- records: figures/<notebook>/


@pytest.fixture
def figures(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_FIGURES", str(tmp_path))
    return tmp_path


def run(test_accuracy=0.9934):
    final = {"train_accuracy": np.float64(0.99812345), "test_accuracy": test_accuracy,
             "train_loss": torch.tensor(0.0061234567), "test_loss": 0.0213}
    return records.run_record("PlainCNN", 21840, 8, final, 41.23456, np.full(10, 0.99))


def test_save_figure_writes_a_png_and_no_temporary_file(figures):
    fig = plots.comparison_bars(pd.DataFrame({"test_accuracy": [0.99]}, index=["x"]))
    path = records.save_figure(fig, "01_cnn", "comparison")
    assert path == figures / "01_cnn" / "comparison.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert records.save_figure(fig, "01_cnn", "comparison.png") == path
    assert [p.name for p in (figures / "01_cnn").iterdir()] == ["comparison.png"]


def test_save_metrics_round_trips_with_plain_rounded_numbers(figures):
    path = records.save_metrics("01_cnn", {"seed": 0, "device": torch.device("cpu"), "runs": {"plain_cnn": run()},
                                           "checks": [{"requirement": "test accuracy >= 0.99", "passed": True}]})
    assert path == figures / "01_cnn" / "metrics.json"
    saved = json.loads(path.read_text())
    assert list(saved) == ["notebook", "seed", "device", "torch", "runs", "checks"]
    assert saved["notebook"] == "01_cnn" and saved["device"] == "cpu" and saved["torch"] == torch.__version__
    plain_cnn = saved["runs"]["plain_cnn"]
    assert plain_cnn["train_accuracy"] == 0.998123 and plain_cnn["train_loss"] == 0.00612346
    assert plain_cnn["per_class_accuracy"] == [0.99] * 10 and plain_cnn["parameters"] == 21840
    assert records.load_metrics("01_cnn") == saved
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]


@pytest.mark.parametrize("name", ["", "a/b", "..", "../x", None])
def test_bad_notebook_names_are_refused(figures, name):
    with pytest.raises(ValueError, match="notebook must be a non-empty name"):
        records.figures_dir(name)


def test_accuracies_must_be_fractions(figures):
    with pytest.raises(ValueError, match=r"run 'PlainCNN': test_accuracy must be a fraction in \[0, 1\], got 1.5"):
        run(test_accuracy=1.5)
    bad = {**run(), "per_class_accuracy": [99.3] * 10}
    with pytest.raises(ValueError, match=r"run 'lenet'.*per_class_accuracy\[0\].*99.3"):
        records.save_metrics("01_cnn", {"seed": 0, "device": "cpu", "runs": {"lenet": bad}})
    with pytest.raises(ValueError, match="lack"):
        records.save_metrics("01_cnn", {"device": "cpu", "runs": {}})
    assert not (figures / "01_cnn" / "metrics.json").exists()


def test_batch_composition_has_one_panel_per_set():
    from labkit.plots import batch_composition

    fig = batch_composition({"a": [0.5, 0.4], "b": [0.0, 1.0]})
    assert len(fig.axes) == 2 and fig.axes[1].get_title() == "b"
