"""Static figures. Each function takes data (tensors, arrays, the DataFrames of metrics.py) and returns a Figure.

A notebook shows the returned figure by leaving it as a cell's last value, and keeps it
with records.save_figure(). Figures are closed in pyplot before they are returned, so a
cell shows each figure once and none pile up in memory; they stay drawable and savable.
Sizes are small on purpose: ten figures keep a notebook well under 2 MB.
"""

from __future__ import annotations

import functools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from sklearn.decomposition import PCA

from .metrics import as_numpy

WRONG, RIGHT = "#cf222e", "#1f2328"
PAIR_CLASSES = ("different", "same")
STYLE = {"font.size": 8, "axes.titlesize": 9, "legend.fontsize": 7, "axes.spines.top": False,
         "axes.spines.right": False, "figure.dpi": 100}


def _styled(plot):
    """Draw `plot`'s figure in the shared style, without touching the notebook's own settings."""
    @functools.wraps(plot)
    def styled_plot(*args, **kwargs) -> Figure:
        with plt.rc_context(STYLE):
            return plot(*args, **kwargs)
    return styled_plot


def _figure(width: float = 6, height: float = 4, nrows: int = 1, ncols: int = 1, constrained: bool = True):
    """A new figure and its axes (a flat array), already closed in pyplot so that it shows only once."""
    layout = "constrained" if constrained else None
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), layout=layout, squeeze=False)
    plt.close(fig)
    return fig, axes.ravel()


def _image_grid(count: int, columns: int, cell: tuple[float, float] = (0.7, 0.8), title: str | None = None):
    """A grid of `count` image axes (no ticks), `columns` wide; the unused cells are removed."""
    columns = max(1, min(columns, count))
    rows = max(1, -(-count // columns))
    fig, axes = _figure(columns * cell[0], rows * cell[1] + (0.3 if title else 0), rows, columns, constrained=False)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - (0.35 if title else 0.05) / fig.get_figheight(),
                        wspace=0.1, hspace=0.45)
    for ax in axes:
        ax.set_axis_off()
    for ax in axes[count:]:
        ax.remove()
    if title:
        fig.suptitle(title, fontsize=9)
    return fig, axes[:count]


def _show_image(ax, image, title: str = "", color: str = RIGHT) -> None:
    ax.imshow(image, cmap="gray_r", vmin=0, vmax=255 if image.dtype == np.uint8 else None, interpolation="nearest")
    ax.set_title(title, fontsize=7, color=color, pad=2)


def _zoomed_limits(values, headroom: float = 0.15) -> tuple[float, float]:
    """Axis limits for fractions close to 1: show the spread between the bars, leave room for the labels."""
    low = float(np.nanmin(values))
    bottom = max(0.0, low - max(0.5 * (1 - low), 0.002))
    return bottom, 1 + headroom * (1 - bottom)


def _pair_scores(scores) -> np.ndarray:
    """P(same) from (N,) scores or (N, 2) class probabilities."""
    scores = as_numpy(scores).astype(np.float64)
    return scores[:, 1] if scores.ndim == 2 and scores.shape[1] == 2 else scores


# ---------------------------------------------------------------- images


@_styled
def sample_grid(images, labels=None, n: int = 40, columns: int = 10, title: str | None = None) -> Figure:
    """The first `n` images (N, 28, 28), each titled with its label."""
    images = as_numpy(images)[:n]
    labels = None if labels is None else as_numpy(labels)[:n]
    fig, axes = _image_grid(len(images), columns, title=title)
    for i, ax in enumerate(axes):
        _show_image(ax, images[i], "" if labels is None else str(labels[i]))
    return fig


@_styled
def misclassified_gallery(images, targets, predictions, probabilities=None, classes=None, n: int = 24,
                          columns: int = 6) -> Figure:
    """Up to `n` misclassified images, the most confident mistakes first, titled "true 4 → pred 9 (0.87)".

    `probabilities` (N, C) give the confidence of each prediction; without them the first mistakes are shown.
    """
    targets, predictions = as_numpy(targets), as_numpy(predictions)
    if classes is None:
        classes = range(int(max(targets.max(), predictions.max())) + 1)
    classes = [str(c) for c in classes]
    wrong = np.flatnonzero(targets != predictions)
    confidence = None
    if probabilities is not None:
        confidence = as_numpy(probabilities)[np.arange(len(predictions)), predictions]
        wrong = wrong[np.argsort(-confidence[wrong], kind="stable")]
    wrong = wrong[:n]
    if len(wrong) == 0:
        fig, (ax,) = _figure(4, 1)
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
        return fig
    images = as_numpy(images)
    fig, axes = _image_grid(len(wrong), columns, cell=(1.3, 1.1), title=f"{len(wrong)} misclassified images")
    for ax, i in zip(axes, wrong):
        score = "" if confidence is None else f" ({confidence[i]:.2f})"
        _show_image(ax, images[i], f"true {classes[targets[i]]} → pred {classes[predictions[i]]}{score}", WRONG)
    return fig


@_styled
def pair_gallery(left_images, right_images, targets, predictions=None, probabilities=None, n: int = 12,
                 columns: int = 4, classes=PAIR_CLASSES) -> Figure:
    """Pairs side by side, titled with the target ("same"/"different") and, when given, the prediction.

    `probabilities` are (N, 2) class probabilities or (N,) P(same); the title shows the predicted class's.
    Wrong predictions are titled in red.
    """
    left, right = as_numpy(left_images)[:n], as_numpy(right_images)[:n]
    targets = as_numpy(targets)[:n]
    predictions = None if predictions is None else as_numpy(predictions)[:n]
    same = None if probabilities is None else _pair_scores(probabilities)[:n]
    fig, axes = _image_grid(len(left), columns, cell=(1.6, 1.0))
    gap = np.zeros((left.shape[1], 2), dtype=left.dtype)
    for i, ax in enumerate(axes):
        title, color = classes[targets[i]], RIGHT
        if predictions is not None:
            title = f"{title} → pred {classes[predictions[i]]}"
            color = WRONG if predictions[i] != targets[i] else RIGHT
            if same is not None:
                title += f" ({same[i] if predictions[i] == 1 else 1 - same[i]:.2f})"
        _show_image(ax, np.concatenate([left[i], gap, right[i]], axis=1), title, color)
    return fig


# ---------------------------------------------------------------- confusion and per-class tables


@_styled
def confusion_heatmap(confusion: pd.DataFrame, title: str | None = None) -> Figure:
    """Two panels: the counts, and each row divided by its total (what fraction of each true class went where)."""
    small = len(confusion) <= 3
    fig, axes = _figure(7 if small else 11, 3 if small else 4.6, 1, 2)
    normalized = confusion.div(confusion.sum(axis=1).replace(0, np.nan), axis=0)
    annot = {"fontsize": 9 if small else 6.5}
    sns.heatmap(confusion, annot=True, fmt="d", cmap="Blues", cbar=False, square=True, ax=axes[0], annot_kws=annot)
    sns.heatmap(normalized, annot=True, fmt=".1%", cmap="Blues", vmin=0, vmax=1, cbar=False, square=True, ax=axes[1],
                annot_kws=annot)
    axes[0].set_title("counts")
    axes[1].set_title("fraction of each true class")
    if title:
        fig.suptitle(title)
    return fig


@_styled
def per_class_bars(per_class: pd.DataFrame, title: str = "per-class accuracy") -> Figure:
    """Accuracy per class (the per_class_accuracy() table), zoomed to the spread, with the overall accuracy."""
    fig, (ax,) = _figure(6, 3.5)
    labels = per_class["class"].astype(str) if "class" in per_class.columns else per_class.index.astype(str)
    bars = ax.bar(labels, per_class["accuracy"], color="#4c72b0")
    ax.bar_label(bars, fmt="%.3f", padding=2, fontsize=7)
    ax.set_ylim(*_zoomed_limits(per_class["accuracy"]))
    if {"correct", "support"} <= set(per_class.columns):
        overall = per_class["correct"].sum() / per_class["support"].sum()
        ax.axhline(overall, color="0.4", linestyle="--", linewidth=1)
        title = f"{title} (dashed: overall {overall:.4f})"
    ax.set(xlabel="class", ylabel="accuracy", title=title)
    return fig


@_styled
def most_confused_bars(most_confused: pd.DataFrame, title: str = "most frequent confusions") -> Figure:
    """Horizontal bars "true → predicted", most frequent at the top, labelled with count and fraction."""
    fig, (ax,) = _figure(6, 0.3 * max(len(most_confused), 1) + 1.2)
    labels = [f"{t} → {p}" for t, p in zip(most_confused["true"], most_confused["predicted"])]
    bars = ax.barh(labels[::-1], most_confused["count"].to_numpy()[::-1], color="#dd8452")
    ax.bar_label(bars, labels=[f"{c} ({f:.1%})" for c, f in zip(most_confused["count"][::-1],
                                                                 most_confused["fraction"][::-1])],
                 padding=2, fontsize=7)
    ax.margins(x=0.15)
    ax.set(xlabel="images (fraction of the true class)", ylabel="true → predicted", title=title)
    return fig


# ---------------------------------------------------------------- training histories and comparisons


@_styled
def history_curves(histories, smooth: int = 50, title: str | None = None) -> Figure:
    """Training histories overlaid, one colour per run: losses (left, log scale) and test accuracy (right).

    `histories` is {run name: History DataFrame} or one DataFrame. The train loss of every mini-batch is
    shown as a rolling mean over `smooth` mini-batches (and raw, faintly, for a single run); the test loss
    and accuracy at the steps where they were evaluated.
    """
    if isinstance(histories, pd.DataFrame):
        histories = {"": histories}
    fig, (loss_ax, acc_ax) = _figure(11, 4, 1, 2)
    for (name, history), color in zip(histories.items(), sns.color_palette("tab10", len(histories))):
        missing = {"step", "train_loss", "test_loss", "test_accuracy"} - set(history.columns)
        if missing:
            raise ValueError(f"history {name!r} lacks columns {sorted(missing)}")
        if len(histories) == 1:
            loss_ax.plot(history["step"], history["train_loss"], color=color, alpha=0.15, linewidth=0.5)
        smoothed = history["train_loss"].rolling(smooth, min_periods=1).mean()
        loss_ax.plot(history["step"], smoothed, color=color, linewidth=1.2)
        # whole-test-set measurements where the History has them (labkit >= round 2), else the test columns
        loss_column, accuracy_column = (("test_set_loss", "test_set_accuracy") if "test_set_loss" in history.columns
                                        else ("test_loss", "test_accuracy"))
        tested = history.dropna(subset=[loss_column])
        loss_ax.plot(tested["step"], tested[loss_column], color=color, linestyle="--", marker=".", markersize=3)
        tested = history.dropna(subset=[accuracy_column])
        acc_ax.plot(tested["step"], tested[accuracy_column], color=color, marker=".", markersize=3, label=name or None)
    loss_ax.set(yscale="log", xlabel="mini-batch", ylabel="loss", title="loss")
    loss_ax.legend(handles=[Line2D([], [], color="0.3", label=f"train (mean of {smooth} mini-batches)"),
                            Line2D([], [], color="0.3", linestyle="--", marker=".", label="test")], loc="upper right")
    acc_ax.set(xlabel="mini-batch", ylabel="accuracy", title="test accuracy")
    if any(name for name in histories):
        acc_ax.legend(loc="lower right")
    if title:
        fig.suptitle(title)
    return fig


@_styled
def comparison_bars(table: pd.DataFrame, column: str = "test_accuracy", title: str | None = None) -> Figure:
    """One bar per run (the table's `run` column, else its index) for `column`, zoomed when it holds fractions."""
    if column not in table.columns:
        raise ValueError(f"column {column!r} is not in the table; it has {list(table.columns)}")
    labels = (table["run"] if "run" in table.columns else table.index).astype(str)
    values = table[column].to_numpy(dtype=float)
    fig, (ax,) = _figure(6, 0.35 * len(table) + 1.2)
    bars = ax.barh(labels[::-1], values[::-1], color="#55a868")
    ax.bar_label(bars, fmt="%.4f", padding=2, fontsize=7)
    if np.nanmin(values) >= 0 and np.nanmax(values) <= 1:
        ax.set_xlim(*_zoomed_limits(values, headroom=0.25))
    else:
        ax.margins(x=0.15)
    ax.set(xlabel=column.replace("_", " "), title=title or column.replace("_", " "))
    return fig


# ---------------------------------------------------------------- lab B: pairs


@_styled
def error_rate_heatmap(error_rate: pd.DataFrame, title: str = "error rate by digit pair") -> Figure:
    """The error_rate_by_digit_pair() table; blank where no pair shows those digits."""
    fig, (ax,) = _figure(5.5, 4.8)
    sns.heatmap(error_rate, annot=True, fmt=".1%", cmap="Reds", vmin=0, cbar=False, square=True, ax=ax,
                annot_kws={"fontsize": 6})
    ax.set_title(title)
    return fig


@_styled
def score_histogram(scores, targets, threshold: float = 0.5, classes=PAIR_CLASSES, title: str | None = None) -> Figure:
    """Distribution of P(same) for the pairs of each class (log counts), with the decision threshold."""
    scores, targets = _pair_scores(scores), as_numpy(targets)
    fig, (ax,) = _figure(6, 3.5)
    bins = np.linspace(0, 1, 51)
    for label, color in zip((0, 1), ("#4c72b0", "#dd8452")):
        ax.hist(scores[targets == label], bins=bins, alpha=0.6, color=color, label=f"{classes[label]} pairs")
    ax.axvline(threshold, color="0.2", linestyle="--", linewidth=1, label=f"threshold {threshold:g}")
    ax.set(yscale="log", xlabel=f"P({classes[1]})", ylabel="pairs", title=title or f"P({classes[1]}) by true class")
    ax.legend(loc="upper center")
    return fig


@_styled
def batch_composition(fractions: dict, label: str = 'fraction "same"') -> Figure:
    """One panel per training set: the fraction of positives in each mini-batch, in training order."""
    fig, axes = _figure(3.7 * len(fractions), 2.6, ncols=len(fractions))
    for ax, (name, values) in zip(np.atleast_1d(axes), fractions.items()):
        ax.plot(np.arange(1, len(values) + 1), values, linewidth=0.6)
        ax.set(title=name, xlabel="mini-batch", ylim=(-0.05, 1.05))
    np.atleast_1d(axes)[0].set_ylabel(label)
    return fig


@_styled
def roc_curve(roc: pd.DataFrame, auc: float, threshold_point: float | None = None, title: str = "ROC") -> Figure:
    """The ROC curve from metrics.roc(), with the chance diagonal and, optionally, the point of one threshold."""
    fig, (ax,) = _figure(4.5, 4.2)
    ax.plot(roc["fpr"], roc["tpr"], color="#4c72b0", label=f"AUC = {auc:.4f}")
    ax.plot([0, 1], [0, 1], color="0.6", linestyle=":", linewidth=1, label="chance")
    if threshold_point is not None:
        at = roc[roc["threshold"] >= threshold_point].iloc[-1]  # the operating point of that threshold
        ax.plot(at["fpr"], at["tpr"], "o", color=WRONG,
                label=f"threshold {threshold_point:g}: TPR {at['tpr']:.3f}, FPR {at['fpr']:.3f}")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title, xlim=(0, 1), ylim=(0, 1.01))
    ax.set_aspect("equal")
    ax.legend(loc="lower right")
    return fig


@_styled
def embedding_scatter(embeddings, labels, max_points: int = 3000, seed: int = 0,
                      title: str = "embeddings, first two principal components") -> Figure:
    """Embeddings (N, D) projected to 2-D by PCA, coloured by label; at most `max_points` (a seeded sample) drawn."""
    embeddings, labels = as_numpy(embeddings).astype(np.float64), as_numpy(labels)
    if embeddings.ndim != 2 or len(embeddings) != len(labels):
        raise ValueError(f"embeddings must be (N, D) matching {len(labels)} labels, got {embeddings.shape}")
    points = PCA(n_components=2, random_state=seed).fit(embeddings)
    shown = np.random.default_rng(seed).permutation(len(labels))[:max_points]
    xy = points.transform(embeddings[shown])
    fig, (ax,) = _figure(5.5, 4.5)
    palette = sns.color_palette("tab10", 10)
    for i, label in enumerate(np.unique(labels)):
        mask = labels[shown] == label
        ax.scatter(xy[mask, 0], xy[mask, 1], s=4, alpha=0.6, color=palette[i % 10], label=str(label), rasterized=True)
    explained = points.explained_variance_ratio_
    ax.set(xlabel=f"PC 1 ({explained[0]:.0%})", ylabel=f"PC 2 ({explained[1]:.0%})", title=title)
    ax.legend(markerscale=3, fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
    return fig
