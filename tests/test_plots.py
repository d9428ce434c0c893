import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from labkit import metrics, plots, records

plt.switch_backend("Agg")

RNG = np.random.default_rng(0)
N = 60
IMAGES = torch.randint(0, 256, (N, 28, 28), dtype=torch.uint8)
TARGETS = torch.arange(N) % 10
PREDICTIONS = torch.where(torch.arange(N) % 7 == 0, (TARGETS + 1) % 10, TARGETS)  # 9 mistakes
CLASSES = [str(d) for d in range(10)]
PAIR_CLASSES = ["different", "same"]
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
    """A frame from before the per-step test: test columns at a cadence only, no test_scope, test_set_* or val_*."""
    step = np.arange(1, 101)
    evaluated = step % 20 == 0
    loss = scale * np.exp(-step / 50)
    return pd.DataFrame({
        "step": step, "epoch": step // 50, "train_loss": loss + RNG.random(100) * 0.01,
        "test_loss": np.where(evaluated, loss, np.nan), "test_accuracy": np.where(evaluated, 1 - loss / 4, np.nan),
        "lr": 0.1, "seconds": step * 0.01,
    })


def step_history(scale: float, scope: str = "one test batch", validation: bool = False) -> pd.DataFrame:
    """A History.frame of today: the test after every mini-batch, the whole test set every 20, maybe validation."""
    step = np.arange(1, 201)
    every = np.where(step % 20 == 0, 1.0, np.nan)
    loss = scale * np.exp(-step / 50) + 0.01
    accuracy = 1 - loss / 4
    return pd.DataFrame({
        "step": step, "epoch": 1 + step // 100, "train_loss": loss * (1 + RNG.random(200) * 0.3),
        "test_loss": loss * (1 + RNG.random(200) * 0.5), "test_accuracy": accuracy - RNG.random(200) * 0.02,
        "test_scope": scope, "test_set_loss": loss * every, "test_set_accuracy": accuracy * every,
        "val_loss": loss * 1.1 * every if validation else np.nan,
        "val_accuracy": (accuracy - 0.01) * every if validation else np.nan,
        "lr": 0.1, "seconds": step * 0.01,
    })


def test_sample_grid():
    check(plots.sample_grid(IMAGES, TARGETS, n=40, columns=10, title="training images"), axes=40, images=40)
    check(plots.sample_grid(IMAGES[:3], None), axes=3, images=3)


def test_confusion_plots():
    confusion = metrics.confusion_matrix(TARGETS, PREDICTIONS, CLASSES)
    check(plots.confusion_heatmap(confusion), axes=2, images=2)  # the matrix and its colorbar
    check(plots.per_class_bars(metrics.per_class_accuracy(TARGETS, PREDICTIONS, CLASSES)), axes=1)
    check(plots.most_confused_bars(metrics.most_confused(confusion, top=5)), axes=1)


def test_misclassified_gallery_titles_the_mistakes():
    probabilities = torch.softmax(torch.randn(N, 10), dim=1)
    fig = plots.misclassified_gallery(IMAGES, TARGETS, PREDICTIONS, probabilities, CLASSES, n=24)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("true ") and " → pred " in titles[0] and titles[0].endswith(")")
    assert fig._suptitle.get_text() == "the 9 most confident mistakes: true → predicted (probability)"
    check(fig, axes=9, images=9)
    check(plots.misclassified_gallery(IMAGES, TARGETS, TARGETS, None, CLASSES), axes=1)  # no mistakes
    unsorted = plots.misclassified_gallery(IMAGES, TARGETS, PREDICTIONS, classes=CLASSES, n=4)
    assert unsorted._suptitle.get_text() == "the first 4 mistakes, in data order: true → predicted"
    named = plots.misclassified_gallery(IMAGES, TARGETS, PREDICTIONS, probabilities, CLASSES, n=2, title="worst two")
    assert named._suptitle.get_text() == "worst two"
    assert named.get_figwidth() >= 0.07 * len("worst two")
    check(named, axes=2, images=2)


def test_pair_gallery():
    check(plots.pair_gallery(IMAGES[:6], IMAGES[6:12], PAIR_TARGETS[:6]), axes=6, images=6)
    fig = plots.pair_gallery(IMAGES, IMAGES, PAIR_TARGETS, 1 - PAIR_TARGETS, SCORES, n=4)
    assert fig.axes[0].get_title().startswith("different → pred same (")
    assert fig._suptitle.get_text() == "pairs: target → predicted (probability), wrong in red"
    check(fig, axes=4, images=4)
    fig = plots.pair_gallery(IMAGES, IMAGES, PAIR_TARGETS, 1 - PAIR_TARGETS, SCORES, n=4,
                             title="the 4 most confident mistakes: target → predicted (probability)")
    assert fig._suptitle.get_text().startswith("the 4 most confident mistakes")
    check(fig, axes=4, images=4)


def test_history_curves_draw_older_frames():
    fig = plots.history_curves({"relu": history(1.0), "softplus": history(2.0)}, smooth=10)
    assert fig.axes[0].get_yscale() == "log"
    assert len(fig.axes[1].lines) == 2  # the whole-test-set accuracy of each run: all that these frames hold
    assert [line.get_label() for line in fig.axes[1].lines] == ["relu: test accuracy, whole test set",
                                                                "softplus: test accuracy, whole test set"]
    check(fig, axes=2)
    check(plots.history_curves(history(1.0)), axes=2)
    with pytest.raises(ValueError, match="lacks columns"):
        plots.history_curves({"broken": history(1.0).drop(columns="train_loss")})


def labels(ax) -> list[str]:
    return [line.get_label() for line in ax.lines]


def test_history_curves_name_the_per_step_test_and_the_whole_set():
    fig = plots.history_curves({"adam": step_history(1.0, validation=True)}, smooth=10)
    loss_ax, acc_ax = fig.axes
    assert labels(loss_ax) == [
        "adam: training loss per mini-batch", "adam: training loss, mean of last 10 mini-batches",
        "adam: test loss after every mini-batch (one test batch)",
        "adam: test loss after every mini-batch (one test batch), mean of last 10",
        "adam: test loss, whole test set", "adam: validation loss"]
    assert labels(acc_ax) == ["adam: test accuracy after every mini-batch (one test batch), mean of last 10",
                              "adam: test accuracy, whole test set", "adam: validation accuracy"]
    faint, smoothed = loss_ax.lines[2], loss_ax.lines[3]
    assert len(faint.get_xdata()) == 200 and faint.get_alpha() < 0.5 and smoothed.get_alpha() is None
    whole_set, validation = loss_ax.lines[4], loss_ax.lines[5]
    assert len(whole_set.get_xdata()) == 10 and whole_set.get_marker() == "o" and whole_set.get_linestyle() == "None"
    assert validation.get_marker() == "s"
    (legend,) = fig.legends  # one legend, outside the panels
    assert [t.get_text() for t in legend.get_texts()] == [
        "training loss per mini-batch", "training loss, mean of last 10 mini-batches",
        "test loss after every mini-batch (one test batch)",
        "test loss and accuracy after every mini-batch (one test batch), mean of last 10",
        "whole test set (loss and accuracy)", "validation set (loss and accuracy)"]
    assert fig._suptitle.get_text() == "adam"
    fig.canvas.draw()
    ticks = [t.get_text() for t in loss_ax.get_yticklabels() if t.get_text()]
    assert len(ticks) >= 3 and all(t.replace(".", "").isdigit() for t in ticks), ticks  # 0.05, 0.1, 0.2: no 10^k
    assert acc_ax.get_ylim()[1] == 1.0
    bottom = acc_ax.get_ylim()[0]
    assert bottom > 0 and acc_ax.get_ylabel() == f"accuracy (axis starts at {bottom:g})"
    check(fig, axes=2)


def test_history_curves_of_several_runs_have_a_colour_each_and_a_style_per_quantity():
    fig = plots.history_curves({"cpu run": step_history(1.0), "gpu run": step_history(2.0, "whole test set")},
                               smooth=10, title="two runs")
    loss_ax, _ = fig.axes
    colours = {label.split(":")[0]: line.get_color() for label, line in zip(labels(loss_ax), loss_ax.lines)}
    assert len(set(colours.values())) == 2
    assert "gpu run: test loss after every mini-batch (whole test set), mean of last 10" in labels(loss_ax)
    styles, runs = fig.legends
    assert styles.get_title().get_text() == "line styles (every run)" and runs.get_title().get_text() == "run (colour)"
    assert [t.get_text() for t in runs.get_texts()] == ["cpu run\n(per-step test: one test batch)",
                                                        "gpu run\n(per-step test: whole test set)"]
    assert not any("validation" in t.get_text() for t in styles.get_texts())  # no run has a validation set
    assert fig._suptitle.get_text() == "two runs"
    check(fig, axes=2)


def test_draw_history_redraws_in_place_and_names_bad_arguments():
    fig, axes = plots.history_figure()
    first = plots.draw_history(axes, step_history(1.0), smooth=10)
    counts = [len(ax.lines) for ax in axes]
    axes[0].axhline(0.1, label="the caller's own line")  # not draw_history's: a redraw leaves it
    again = plots.draw_history(axes, step_history(1.0), smooth=10)
    assert again == first and [len(ax.lines) for ax in axes] == [counts[0] + 1, counts[1]]
    assert plots.draw_history(axes, step_history(1.0, validation=True), smooth=10) != first
    plots.history_legends(fig, first)
    plots.history_legends(fig, first)
    assert len(fig.legends) == 1  # the earlier legend replaced
    smooth_zero = r"smooth must be a whole number of mini-batches >= 1 \(or None: the default\), got 0"
    for bad, message in ((dict(smooth=0), smooth_zero),
                         (dict(smooth=2.5), "got 2.5"), (dict(max_points=1), "max_points must be a whole number")):
        with pytest.raises(ValueError, match=message):
            plots.draw_history(axes, step_history(1.0), **bad)
    with pytest.raises(ValueError, match="histories is empty"):
        plots.history_curves({})


def test_a_short_run_is_smoothed_over_a_tenth_of_it():
    fig = plots.history_curves({"short": step_history(1.0), "shorter": step_history(1.0).head(50)})
    assert "short: training loss, mean of last 20 mini-batches" in labels(fig.axes[0])  # 200 mini-batches: 20
    long = pd.concat([step_history(1.0).assign(step=lambda f, k=k: f["step"] + 200 * k) for k in range(4)])
    assert "training loss, mean of last 50 mini-batches" in labels(plots.history_curves(long).axes[0])  # at most 50


def test_running_mean_and_thinning():
    assert plots.running_mean([1.0, 3.0, 5.0, 7.0], 2).tolist() == [1.0, 2.0, 4.0, 6.0]
    assert plots.running_mean([], 5).tolist() == []
    x, y = plots.thin(np.arange(10), np.arange(10), 3)
    assert x.tolist() == [0, 4, 8, 9] and y.tolist() == [0, 4, 8, 9]  # every k-th point and the last
    assert plots.thin(np.arange(10), np.arange(10), None)[0].tolist() == list(range(10))


def test_comparison_and_pair_plots():
    table = pd.DataFrame({"test_accuracy": [0.991, 0.9934]}, index=["lenet5_classic", "lenet5_modern"])
    check(plots.comparison_bars(table), axes=1)
    digit_pairs = np.stack([np.arange(N) % 10, np.arange(N) // 6], axis=1)
    rate = metrics.error_rate_by_digit_pair(digit_pairs, PAIR_TARGETS, (SCORES > 0.5).astype(int))
    check(plots.error_rate_heatmap(rate), axes=2)  # the table and its colorbar
    check(plots.score_histogram(SCORES, PAIR_TARGETS), axes=1)
    curve, auc = metrics.roc(PAIR_TARGETS, SCORES)
    check(plots.roc_curve(curve, auc, threshold_point=0.5), axes=1)
    check(plots.embedding_scatter(torch.randn(N, 8), TARGETS), axes=1)


def test_confusion_heatmap_shows_the_errors_on_a_log_scale():
    confusion = pd.DataFrame([[980, 0, 3], [1, 1130, 0], [40, 2, 990]], index=["a", "b", "c"], columns=["a", "b", "c"])
    fig = plots.confusion_heatmap(confusion, title="run")
    panel, colorbar = fig.axes
    errors, diagonal = panel.images
    assert isinstance(errors.norm, LogNorm) and (errors.norm.vmin, errors.norm.vmax) == (1, 40)
    shown = errors.get_array()
    assert shown.mask.tolist() == [[True, True, False], [False, True, True], [False, False, True]]  # diagonal, zeros
    assert diagonal.get_array().mask.tolist() == (~np.eye(3, dtype=bool)).tolist()  # grey where correct
    texts = {t.get_text() for t in panel.texts}
    assert {"980", "1130", "990", "3", "1", "40", "2"} == texts  # every non-zero count written; zero cells blank
    assert "log scale" in colorbar.get_ylabel()
    assert panel.get_title() == "46 errors in 3146 images (1.46%)"
    check(fig, axes=2, images=2)


def test_confusion_heatmaps_share_one_colour_scale():
    few = pd.DataFrame([[50, 2], [1, 47]], index=PAIR_CLASSES, columns=PAIR_CLASSES)
    many = pd.DataFrame([[45, 7], [30, 18]], index=PAIR_CLASSES, columns=PAIR_CLASSES)
    fig = plots.confusion_heatmaps({"siamese": few, "two-channel": many}, title="lab B")
    first, second, colorbar = fig.axes  # two panels, ONE colorbar
    assert first.images[0].norm is second.images[0].norm
    assert (first.images[0].norm.vmin, first.images[0].norm.vmax) == (1, 30)
    assert [first.get_title(), second.get_title()] == ["siamese\n3 errors in 100 images (3.00%)",
                                                       "two-channel\n37 errors in 100 images (37.00%)"]
    assert "errors (count, log scale)" in colorbar.get_ylabel()
    check(fig, axes=3, images=4)
    perfect = plots.confusion_heatmaps({"perfect": pd.DataFrame([[5, 0], [0, 5]])})  # no errors: still drawn
    check(perfect, axes=2, images=2)


def test_error_rate_heatmaps_share_one_colour_scale():
    low = pd.DataFrame([[0.0, 0.1], [0.1, np.nan]])
    high = pd.DataFrame([[0.3, 0.0], [0.0, 0.2]])
    fig = plots.error_rate_heatmaps({"siamese": low, "two-channel": high}, title="error rate by digit pair")
    first, second, colorbar = fig.axes
    assert [ax.collections[0].norm.vmax for ax in (first, second)] == [0.3, 0.3]
    assert [ax.collections[0].norm.vmin for ax in (first, second)] == [0, 0]
    assert "error rate" in colorbar.get_ylabel()
    check(fig, axes=3)
    single = plots.error_rate_heatmap(low, title="siamese", vmax=0.5)
    assert single.axes[0].collections[0].norm.vmax == 0.5 and single.axes[0].get_title() == "siamese"
    assert plots.error_rate_heatmap(low).axes[0].collections[0].norm.vmax == 0.1  # by default its own highest rate


def bar_values(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_per_class_bars_end_at_one_and_say_where_they_start():
    per_class = metrics.per_class_accuracy(TARGETS, PREDICTIONS, CLASSES)  # accuracies 5/6 .. 1
    fig = plots.per_class_bars(per_class)
    (ax,) = fig.axes
    assert ax.get_ylim() == (0.75, 1.0) and ax.get_ylabel() == "accuracy (axis starts at 0.75)"
    assert bar_values(ax) == [f"{a:.3f}" for a in per_class["accuracy"]]
    (ax,) = plots.per_class_bars(per_class.assign(accuracy=np.linspace(0.3, 1, 10))).axes
    assert ax.get_ylim() == (0.0, 1.0) and ax.get_ylabel() == "accuracy"  # far from 1: not zoomed
    close = per_class.assign(accuracy=np.linspace(0.975, 0.999, 10))
    (ax,) = plots.per_class_bars(close, title="per digit").axes
    bottom, top = ax.get_ylim()
    assert top == 1.0 and 0.95 < bottom < 0.975
    assert ax.get_ylabel() == f"accuracy (axis starts at {bottom:g})"
    assert all(text.get_position()[1] <= 1.0 for text in ax.texts)  # every value inside the axis
    assert ax.get_title().startswith("per digit (dashed: overall")


def test_per_class_bars_of_several_runs_are_grouped():
    a = metrics.per_class_accuracy(TARGETS, PREDICTIONS, CLASSES)
    b = metrics.per_class_accuracy(TARGETS, TARGETS, CLASSES)
    fig = plots.per_class_bars({"first": a, "second": b})
    (ax,) = fig.axes
    assert len(ax.patches) == 20 and ax.get_ylim()[1] == 1.0
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["first (overall 0.8500)", "second (overall 1.0000)"]
    check(fig, axes=1)


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
