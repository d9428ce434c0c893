"""Static figures. Each function takes data (tensors, arrays, the DataFrames of metrics.py) and returns a Figure.

A notebook shows the returned figure by leaving it as a cell's last value, and keeps it
with records.save_figure(). Figures are closed in pyplot before they are returned, so a
cell shows each figure once and none pile up in memory; they stay drawable and savable.
Sizes are small on purpose: ten figures keep a notebook well under 2 MB.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import ListedColormap, LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, NullLocator, PercentFormatter
from sklearn.decomposition import PCA

from .metrics import as_numpy

WRONG, RIGHT = "#cf222e", "#1f2328"
DISPUTED = "#8250df"  # an image whose given label the label audit (labkit.labels) disputes
CORRECT_GREY = "0.86"  # the diagonal of a confusion matrix: neutral, so that the colour scale is the errors'
ERRORS = ListedColormap(plt.get_cmap("Reds")(np.linspace(0.22, 1, 256)), name="errors")  # a single error is visible
ERROR_RATE = plt.get_cmap("Reds")
PAIR_CLASSES = ("different", "same")
STYLE = {"font.size": 8, "axes.titlesize": 9, "legend.fontsize": 7, "axes.spines.top": False,
         "axes.spines.right": False, "figure.dpi": 100}


def _styled(plot):
    """Draw what `plot` draws in the shared style, without touching the notebook's own settings."""
    @functools.wraps(plot)
    def styled_plot(*args, **kwargs):
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
    width = max(columns * cell[0], 0.07 * len(title) if title else 0)  # the title fits above a narrow grid
    fig, axes = _figure(width, rows * cell[1] + (0.3 if title else 0), rows, columns, constrained=False)
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


def _zoomed_bottom(values) -> float:
    """The lower limit of an axis that ends at 1.0 for fractions close to 1: room to see the spread between them.

    Rounded down to three decimals, so that an axis label can state it exactly; 0 when there is nothing to zoom on.
    """
    values = np.asarray(values, dtype=float)
    if not np.isfinite(values).any():
        return 0.0
    low = float(np.nanmin(values))
    return max(0.0, float(np.floor(1000 * (low - max(0.5 * (1 - low), 0.002))) / 1000))


def _plain(value: float, _position=None) -> str:
    """A tick label as a plain decimal (0.05, 2, 100), not as a power of ten."""
    return np.format_float_positional(value, precision=6, trim="-")


def _log_ticks(axis, low: float, high: float) -> None:
    """Ticks of a log axis at 1, 2 and 5 times powers of ten, labelled as plain decimals; at every 1..9 times a
    power of ten (minor ticks off) when the range is too narrow for three of those."""
    decades = 10.0 ** np.arange(np.floor(np.log10(low)), np.ceil(np.log10(high)) + 1)
    subs = (1.0, 2.0, 5.0)
    if np.count_nonzero((np.outer(decades, subs) >= low) & (np.outer(decades, subs) <= high)) < 3:
        subs = tuple(np.arange(1.0, 10.0))
        axis.set_minor_locator(NullLocator())
    else:
        axis.set_minor_locator(LogLocator(subs=np.arange(2.0, 10.0), numticks=100))
    axis.set_major_locator(LogLocator(subs=subs, numticks=100))
    axis.set_major_formatter(FuncFormatter(_plain))
    axis.set_minor_formatter(NullFormatter())


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
                          columns: int = 6, title: str | None = None, disputed=None) -> Figure:
    """Up to `n` misclassified images, the most confident mistakes first, titled "true 4 → pred 9 (0.87)".

    `probabilities` (N, C) give the confidence of each prediction; without them the first mistakes are shown.
    `disputed`: indices of images whose given label is in doubt (labkit.labels.audit's candidates); their titles
    say "label?" and are drawn in violet, so a wrong label is not read as the network's mistake.
    The default `title` says which mistakes these are and how each image is titled.
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
    if title is None:
        title = (f"the {len(wrong)} most confident mistakes: true → predicted (probability)" if confidence is not None
                 else f"the first {len(wrong)} mistakes, in data order: true → predicted")
    doubted = set() if disputed is None else {int(i) for i in as_numpy(disputed).reshape(-1)}
    if doubted and title is not None:
        title += "; violet: label disputed by the label audit"
    fig, axes = _image_grid(len(wrong), columns, cell=(1.3, 1.1), title=title)
    for ax, i in zip(axes, wrong):
        score = "" if confidence is None else f" ({confidence[i]:.2f})"
        label = f"label {classes[targets[i]]}?" if i in doubted else f"true {classes[targets[i]]}"
        _show_image(ax, images[i], f"{label} → pred {classes[predictions[i]]}{score}",
                    DISPUTED if i in doubted else WRONG)
    return fig


@_styled
def pair_gallery(left_images, right_images, targets, predictions=None, probabilities=None, n: int = 12,
                 columns: int = 4, classes=PAIR_CLASSES, title: str | None = None) -> Figure:
    """Pairs side by side, titled with the target ("same"/"different") and, when given, the prediction.

    `probabilities` are (N, 2) class probabilities or (N,) P(same); the title shows the predicted class's.
    Wrong predictions are titled in red. The pairs are shown in the order given (nothing is sorted here), so
    the default `title` says only how each pair is titled; say which pairs these are with `title`, e.g.
    "the 12 most confident mistakes: target → predicted (probability)" for Evaluation.confident_mistakes().
    """
    left, right = as_numpy(left_images)[:n], as_numpy(right_images)[:n]
    targets = as_numpy(targets)[:n]
    predictions = None if predictions is None else as_numpy(predictions)[:n]
    same = None if probabilities is None else _pair_scores(probabilities)[:n]
    if title is None and predictions is not None:
        title = "pairs: target → predicted" + (" (probability)" if same is not None else "") + ", wrong in red"
    fig, axes = _image_grid(len(left), columns, cell=(1.6, 1.0), title=title)
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


def _panels(count: int, cell: float, extra: float = 1.2):
    """`count` square-ish panels side by side, room on the right for one colorbar; at most 12 inches wide."""
    width = min(12.0, count * cell + extra)
    return _figure(width, min(width / count, cell) * 0.95 + 0.9, 1, count)


def _confusion_panel(ax, confusion: pd.DataFrame, norm: LogNorm, fontsize: float):
    """One confusion matrix: errors coloured on `norm` (zero cells blank), the diagonal grey; every count written."""
    counts = confusion.to_numpy()
    size = len(counts)
    diagonal = np.eye(size, dtype=bool)
    errors = np.ma.masked_where(diagonal | (counts == 0), counts)
    image = ax.imshow(errors, cmap=ERRORS, norm=norm, interpolation="nearest")
    ax.imshow(np.ma.masked_where(~diagonal, np.ones_like(counts)), cmap=ListedColormap([CORRECT_GREY]),
              interpolation="nearest")
    for (i, j), count in np.ndenumerate(counts):
        if count:
            light = i != j and norm(count) > 0.55
            ax.text(j, i, f"{count:d}", ha="center", va="center", fontsize=fontsize, color="white" if light else RIGHT)
    ax.set_xticks(range(size), [str(c) for c in confusion.columns])
    ax.set_yticks(range(size), [str(c) for c in confusion.index])
    ax.set_xticks(np.arange(size + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(size + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="0.9", linewidth=0.5)
    ax.tick_params(which="minor", length=0)
    ax.tick_params(which="major", length=0)
    ax.set(xlabel="predicted", ylabel="true")
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color("0.8")
    total, wrong = int(counts.sum()), int(counts[~diagonal].sum())
    summary = f"{wrong} errors in {total} images ({wrong / max(total, 1):.2%})"
    return image, summary


@_styled
def confusion_heatmaps(confusions: dict[str, pd.DataFrame], title: str | None = None) -> Figure:
    """Confusion matrices side by side on ONE colour scale: the errors (off the diagonal) on a log scale shared by
    all panels, zero cells blank; the diagonal (correct) in grey. Every non-zero count is written in its cell.

    `confusions` is {panel title: confusion matrix}, e.g. {run name: evaluation.confusion_matrix()}.
    """
    if not confusions:
        raise ValueError("confusions is empty: give at least one {name: confusion matrix}")
    errors = [c.to_numpy()[~np.eye(len(c), dtype=bool)] for c in confusions.values()]
    most = max((int(e.max()) for e in errors if e.size), default=0)
    norm = LogNorm(vmin=1, vmax=max(most, 2))  # one norm for every panel: the same colour means the same count
    small = max(len(c) for c in confusions.values()) <= 3
    fig, axes = _panels(len(confusions), 3.0 if small else 4.6)
    fontsize = 9 if small else 6.5 if len(confusions) < 3 else 5.5
    for ax, (name, confusion) in zip(axes, confusions.items()):
        image, summary = _confusion_panel(ax, confusion, norm, fontsize)
        ax.set_title(f"{name}\n{summary}" if name else summary)
    colorbar = fig.colorbar(image, ax=list(axes), shrink=0.85, pad=0.02,
                            label="errors (count, log scale)\ndiagonal, grey: correct")
    _log_ticks(colorbar.ax.yaxis, norm.vmin, norm.vmax)
    if title:
        fig.suptitle(title)
    return fig


@_styled
def confusion_heatmap(confusion: pd.DataFrame, title: str | None = None) -> Figure:
    """The confusion matrix, errors made visible: the off-diagonal counts on a log colour scale (zero cells blank)
    with its colorbar, the diagonal (correct) in neutral grey; every non-zero count written in its cell."""
    return confusion_heatmaps({"": confusion}, title=title)


@_styled
def per_class_bars(per_class, title: str = "per-class accuracy") -> Figure:
    """Accuracy per class (the per_class_accuracy() table), zoomed to the spread, with the overall accuracy.

    The axis ends at 1.0; when it starts above 0 its label says where. Each bar carries its value.
    `per_class` may also be {run name: table}: grouped bars, one colour per run.
    """
    runs = per_class if isinstance(per_class, dict) else {"": per_class}
    if not runs:
        raise ValueError("per_class is empty")
    first = next(iter(runs.values()))
    labels = (first["class"] if "class" in first.columns else first.index).astype(str).tolist()
    accuracies = np.array([table["accuracy"].to_numpy(dtype=float) for table in runs.values()])
    bottom = _zoomed_bottom(accuracies)
    several = len(runs) > 1
    width = 0.8 / len(runs)
    fig, (ax,) = _figure(min(12.0, max(6.0, 0.45 * len(labels) * len(runs) + 1.5)), 3.6)
    colors = sns.color_palette("tab10", len(runs)) if several else ["#4c72b0"]
    x = np.arange(len(labels))
    overall_text = []
    for k, ((name, table), color) in enumerate(zip(runs.items(), colors)):
        values = accuracies[k]
        positions = x - 0.4 + width * (k + 0.5)
        overall = (table["correct"].sum() / table["support"].sum()
                   if {"correct", "support"} <= set(table.columns) and table["support"].sum() else None)
        label = name if overall is None else f"{name} (overall {overall:.4f})" if several else None
        ax.bar(positions, np.nan_to_num(values, nan=bottom) - bottom, width=width, bottom=bottom, color=color,
               label=label)
        for position, value in zip(positions, values):
            if not np.isfinite(value):
                ax.text(position, bottom, "no images", rotation=90, ha="center", va="bottom", fontsize=6, color="0.4")
                continue
            ax.annotate(f"{value:.4f}" if several else f"{value:.3f}", (position, value), xytext=(0, -3),
                        textcoords="offset points", ha="center", va="top", rotation=90 if several else 0,
                        fontsize=6 if several else 7, color="white", fontweight="bold")
        if overall is not None:
            ax.axhline(overall, color="0.35" if not several else color, linestyle="--", linewidth=1)
            overall_text.append(f"{overall:.4f}")
    ax.set_xticks(x, labels)
    ax.set_ylim(bottom, 1.0)
    ylabel = "accuracy" if bottom == 0 else f"accuracy (axis starts at {bottom:g})"
    if overall_text and not several:
        title = f"{title} (dashed: overall {overall_text[0]})"
    elif overall_text:
        title = f"{title} (dashed: each run's overall accuracy)"
    ax.set(xlabel="class", ylabel=ylabel, title=title)
    if several:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
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

SMOOTH = 50  # mini-batches in the running mean of the per-mini-batch losses (at most a tenth of a shorter run)
HISTORY_SIZE = (11, 4.8)  # inches, live and static: the live plot's last frame is history_curves() of its run
LOSS_LIMITS = (0.01, 3.0)  # the loss axis before any loss is measured: cross-entropy from near 0 to ~ln(10)
DRAWN = "labkit.history"  # the gid of what draw_history() draws, so that a redraw replaces exactly that

QUANTITY_COLORS = {"train": "tab:blue", "step_test": "tab:orange", "test_set": "tab:red", "val": "tab:green"}
QUANTITY_STYLES = {  # one line style per quantity; with several runs the colour is the run's
    "train": {"linestyle": "-", "linewidth": 1.4},
    "step_test": {"linestyle": "--", "linewidth": 1.3},
    "test_set": {"linestyle": "none", "marker": "o", "markersize": 3.5},
    "val": {"linestyle": "none", "marker": "s", "markersize": 3.5, "markerfacecolor": "white"},
}

HISTORY_SERIES = {"train": "train_loss", "step_test": "test_loss", "step_test_accuracy": "test_accuracy",
                  "test_set": "test_set_loss", "test_set_accuracy": "test_set_accuracy",
                  "val": "val_loss", "val_accuracy": "val_accuracy"}  # quantity drawn: History column


def _measured(history: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) where `column` holds a number; empty where the frame has no such column (older frames)."""
    if column not in history.columns:
        return np.array([]), np.array([])
    values = pd.to_numeric(history[column], errors="coerce").to_numpy(dtype=float)
    kept = np.isfinite(values)
    return history["step"].to_numpy()[kept], values[kept]


def _history_series(name: str, history: pd.DataFrame) -> dict:
    """What one History frame holds, whichever labkit version wrote it: {quantity: (steps, values)} and the scope
    of the per-step test ("one test batch", "whole test set", or None where the frame does not say)."""
    missing = {"step", "train_loss"} - set(history.columns)
    if missing:
        raise ValueError(f"history {name!r} lacks columns {sorted(missing)}")
    series = {quantity: _measured(history, column) for quantity, column in HISTORY_SERIES.items()}
    per_step = {"test_set_loss", "test_scope"} & set(history.columns) or len(series["step_test"][0]) > len(history) / 2
    if not per_step:  # frames from before the per-step test: the test columns hold the whole test set at a cadence
        series["test_set"], series["test_set_accuracy"] = series["step_test"], series["step_test_accuracy"]
        series["step_test"] = series["step_test_accuracy"] = (np.array([]), np.array([]))
    scopes = history["test_scope"].dropna().unique().tolist() if "test_scope" in history.columns else []
    series["scope"] = " / ".join(str(s) for s in scopes) or None
    return series


def running_mean(values, window: int) -> np.ndarray:
    """The mean of the last `window` values at each position (of fewer at the start)."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return values
    sums = np.cumsum(np.insert(values, 0, 0.0))
    ends = np.arange(1, len(values) + 1)
    counts = np.minimum(ends, window)
    return (sums[ends] - sums[ends - counts]) / counts


def thin(x, y, limit: int | None):
    """At most about `limit` points of a line (all when None): every k-th one, and always the last (the newest)."""
    x, y = np.asarray(x), np.asarray(y)
    if limit is None or len(x) <= limit:
        return x, y
    keep = np.arange(0, len(x), -(-len(x) // limit))
    if keep[-1] != len(x) - 1:
        keep = np.append(keep, len(x) - 1)
    return x[keep], y[keep]


def _history_labels(scope: str | None, smooth: int) -> dict:
    on = f" ({scope})" if scope else ""
    return {"train_raw": "training loss per mini-batch",
            "train": f"training loss, mean of last {smooth} mini-batches",
            "step_test_raw": f"test loss after every mini-batch{on}",
            "step_test": f"test loss after every mini-batch{on}, mean of last {smooth}",
            "step_test_accuracy": f"test accuracy after every mini-batch{on}, mean of last {smooth}",
            "test_set": "test loss, whole test set", "test_set_accuracy": "test accuracy, whole test set",
            "val": "validation loss", "val_accuracy": "validation accuracy",
            # the legend: one entry per quantity, for both panels
            "legend_step_test": f"test loss and accuracy after every mini-batch{on}, mean of last {smooth}",
            "legend_raw": f"faint: each mini-batch's training loss and test loss{on}",
            "legend_test_set": "whole test set (loss and accuracy)",
            "legend_val": "validation set (loss and accuracy)"}


class HistoryLegend(NamedTuple):
    """What a history figure's legends say, as draw_history() found it: one (quantity, label, faint) per line
    style, and one label per run colour (none for a single run). An equal legend need not be drawn again."""

    styles: tuple[tuple[str, str, bool], ...]
    runs: tuple[str, ...] = ()


def _history_runs(histories) -> dict[str, pd.DataFrame]:
    runs = {"": histories} if isinstance(histories, pd.DataFrame) else dict(histories)
    if not runs:
        raise ValueError("histories is empty: give {run name: History.frame} or one History.frame")
    return runs


@_styled
def history_figure() -> tuple[Figure, np.ndarray]:
    """An empty figure for draw_history(): the loss panel and the accuracy panel side by side."""
    return _figure(*HISTORY_SIZE, 1, 2)


@_styled
def draw_history(axes, histories, smooth: int | None = None, max_points: int | None = None) -> HistoryLegend:
    """Training histories drawn onto `axes`, (loss panel, accuracy panel), replacing what an earlier call drew
    there; returns what the legends must say, for history_legends(). The live plot and history_curves() both
    draw with it.

    `histories` is {run name: History.frame} or one frame. For each run: the training loss of every mini-batch
    (faint) and its mean over the last `smooth` mini-batches (by default SMOOTH, or a tenth of the longest run
    when that is shorter: the mean of a short run follows it); the test loss measured after every mini-batch
    (faint, and its running mean), named for what it was measured on (the frame's test_scope: one test batch
    or the whole test set); the whole test set at its cadence and the validation set (where the run has one)
    as markers. The accuracy panel shows the same three test measurements. One run: one colour per quantity;
    several: one colour per run and one line style per quantity. The loss axis (log scale) spans the losses,
    LOSS_LIMITS before there are any; the accuracy axis ends at 1.0 and is zoomed to the later values (its label
    says where it starts, a note says when earlier values lie below). `max_points` thins every line to about
    that many points (the last one kept), for a figure redrawn often. Frames from older labkit versions
    (without test_scope, test_set_* or val_*) draw what they hold.
    """
    frames = _history_runs(histories)
    if smooth is None:
        smooth = max(1, min(SMOOTH, max(len(frame) for frame in frames.values()) // 10))
    if isinstance(smooth, bool) or not isinstance(smooth, (int, np.integer)) or smooth < 1:
        raise ValueError(f"smooth must be a whole number of mini-batches >= 1 (or None: the default), got {smooth!r}")
    if max_points is not None and (isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer))
                                   or max_points < 2):
        raise ValueError(f"max_points must be a whole number >= 2, or None for every point; got {max_points!r}")
    loss_ax, acc_ax = axes
    runs = {name: _history_series(name, frame) for name, frame in frames.items()}
    for artist in [*loss_ax.lines, *loss_ax.texts, *acc_ax.lines, *acc_ax.texts]:
        if artist.get_gid() == DRAWN:
            artist.remove()
    several = len(runs) > 1
    faint = 0.12 if several else 0.25

    def plot(ax, x, y, **style) -> None:
        ax.plot(*thin(x, y, max_points), gid=DRAWN, **style)

    losses, accuracies, recent_accuracies, drawn = [], [], [], set()
    for (name, series), run_color in zip(runs.items(), sns.color_palette("tab10", len(runs))):
        color = (lambda quantity, c=run_color: c) if several else QUANTITY_COLORS.get
        prefix = f"{name}: " if name else ""
        line_labels = _history_labels(series["scope"], smooth)  # each line says what its own run measured
        for quantity in ("train", "step_test"):
            x, y = series[quantity]
            if not len(x):
                continue
            drawn.add(quantity)
            smoothed = running_mean(y, smooth)
            plot(loss_ax, x, y, color=color(quantity), alpha=faint, linewidth=0.5,
                 label=prefix + line_labels[f"{quantity}_raw"])
            plot(loss_ax, x, smoothed, color=color(quantity), label=prefix + line_labels[quantity],
                 **QUANTITY_STYLES[quantity])
            losses += [y, smoothed]
        x, y = series["step_test_accuracy"]
        if len(x):
            smoothed = running_mean(y, smooth)
            plot(acc_ax, x, smoothed, color=color("step_test"), label=prefix + line_labels["step_test_accuracy"],
                 **QUANTITY_STYLES["step_test"])
            accuracies.append(smoothed)
            recent_accuracies.append(smoothed[x > x.max() / 3])
        for quantity in ("test_set", "val"):
            for ax, key in ((loss_ax, quantity), (acc_ax, f"{quantity}_accuracy")):
                x, y = series[key]
                if not len(x):
                    continue
                drawn.add(quantity)
                style = {**QUANTITY_STYLES[quantity], "markersize": 3.5 if len(x) <= 60 else 2.0}  # dense: smaller
                plot(ax, x, y, color=color(quantity), label=prefix + line_labels[key], zorder=3, **style)
                (losses if ax is loss_ax else accuracies).append(y)
                if ax is acc_ax:
                    recent_accuracies.append(y[x > x.max() / 3])

    loss_ax.set(yscale="log", xlabel="mini-batch", ylabel="loss (log scale)", title="loss")
    losses = np.concatenate(losses) if losses else np.array([])
    losses = losses[np.isfinite(losses) & (losses > 0)]
    low, high = (float(losses.min()) * 0.8, float(losses.max()) * 1.25) if len(losses) else LOSS_LIMITS
    loss_ax.set_ylim(low, high)
    _log_ticks(loss_ax.yaxis, low, high)
    loss_ax.grid(alpha=0.3, which="major")

    bottom = _zoomed_bottom(np.concatenate(recent_accuracies)) if recent_accuracies else 0.0
    acc_ax.set_ylim(bottom, 1.0)
    acc_ax.set(xlabel="mini-batch", title="accuracy",
               ylabel="accuracy" if bottom == 0 else f"accuracy (axis starts at {bottom:g})")
    acc_ax.grid(alpha=0.3)
    if accuracies and (np.concatenate(accuracies) < bottom).any():
        acc_ax.text(0.99, 0.02, f"earlier values below {bottom:g} not shown", transform=acc_ax.transAxes,
                    ha="right", va="bottom", fontsize=7, color="0.35", gid=DRAWN)
    return _history_legend(runs, drawn, smooth)


def _history_legend(runs: dict, drawn: set, smooth: int) -> HistoryLegend:
    """The legends' entries: one per quantity drawn (its label, its style), and one per run when there are several."""
    several = len(runs) > 1
    scopes = {series["scope"] for series in runs.values()}
    scope = next(iter(scopes)) if len(scopes) == 1 else "scope: see the runs" if several else None
    labels = _history_labels(scope, smooth)
    styles = []
    if several:  # the faint lines of a run share its colour: one entry says what they are
        styles.append(("train", labels["legend_raw" if "step_test" in drawn else "train_raw"], True))
    elif "train" in drawn:
        styles.append(("train", labels["train_raw"], True))
    if "train" in drawn:
        styles.append(("train", labels["train"], False))
    if "step_test" in drawn:
        if not several:
            styles.append(("step_test", labels["step_test_raw"], True))
        styles.append(("step_test", labels["legend_step_test"], False))
    styles += [(quantity, labels[f"legend_{quantity}"], False) for quantity in ("test_set", "val") if quantity in drawn]
    run_labels = () if not several else tuple(
        name if len(scopes) <= 1 or not series["scope"] else f"{name}\n(per-step test: {series['scope']})"
        for name, series in runs.items())
    return HistoryLegend(tuple(styles), run_labels)


@_styled
def history_legends(fig: Figure, legend: HistoryLegend) -> None:
    """`legend` (from draw_history()) drawn below the panels, and the run colours on the right when there are
    several runs, in place of the figure's earlier legends."""
    for old in list(fig.legends):
        old.remove()
    several = bool(legend.runs)

    def entry(quantity: str, label: str, raw: bool) -> Line2D:
        shade = "0.3" if several else QUANTITY_COLORS[quantity]
        style = {"linewidth": 1.5, "alpha": 0.35} if raw else QUANTITY_STYLES[quantity]
        return Line2D([], [], color=shade, label=label, **style)

    if legend.styles:
        fig.legend(handles=[entry(*style) for style in legend.styles], loc="outside lower center",
                   ncols=2 if several else 3, frameon=False, title="line styles (every run)" if several else None)
    if several:
        fig.legend(handles=[Line2D([], [], color=c, linewidth=2) for c in sns.color_palette("tab10", len(legend.runs))],
                   labels=list(legend.runs), loc="outside right upper", frameon=False, title="run (colour)")


@_styled
def history_curves(histories, smooth: int | None = None, title: str | None = None) -> Figure:
    """Training histories: losses (left, log scale) and accuracies (right), for one run or several overlaid, as
    draw_history() draws them (the live plot's final picture for one run), with their legends.

    `histories` is {run name: History.frame} or one frame. The figure is titled `title`, else the run's name
    when there is one run.
    """
    runs = _history_runs(histories)
    fig, axes = history_figure()
    history_legends(fig, draw_history(axes, runs, smooth))
    names = list(runs)
    if title or (len(names) == 1 and names[0]):
        fig.suptitle(title or names[0])
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
def error_rate_heatmaps(rates: dict[str, pd.DataFrame], title: str | None = None, vmax: float | None = None) -> Figure:
    """error_rate_by_digit_pair() tables side by side on ONE colour scale (0 to `vmax`, by default the highest rate
    of all), with one colorbar; blank where no pair shows those digits. `rates` is {panel title: table}."""
    if not rates:
        raise ValueError("rates is empty: give at least one {name: error rate table}")
    if vmax is None:
        highest = max((np.nanmax(r.to_numpy(dtype=float), initial=0.0) for r in rates.values()), default=0.0)
        vmax = float(highest) if highest > 0 else 0.01
    norm = Normalize(vmin=0, vmax=vmax)
    fig, axes = _panels(len(rates), 4.6)
    for ax, (name, rate) in zip(axes, rates.items()):
        sns.heatmap(rate, annot=True, fmt=".1%", cmap=ERROR_RATE, vmin=norm.vmin, vmax=norm.vmax, cbar=False,
                    square=True, ax=ax, annot_kws={"fontsize": 6 if len(rates) < 3 else 5})
        ax.set_title(name)
    mappable = plt.cm.ScalarMappable(norm=norm, cmap=ERROR_RATE)
    colorbar = fig.colorbar(mappable, ax=list(axes), shrink=0.85, pad=0.02,
                            label="error rate (fraction of those pairs wrong)")
    colorbar.ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0 if vmax >= 0.05 else 1))
    if title:
        fig.suptitle(title)
    return fig


@_styled
def error_rate_heatmap(error_rate: pd.DataFrame, title: str = "error rate by digit pair",
                       vmax: float | None = None) -> Figure:
    """The error_rate_by_digit_pair() table with its colorbar (0 to `vmax`, by default its highest rate); blank
    where no pair shows those digits. Give several runs the same `vmax`, or use error_rate_heatmaps(), to compare."""
    return error_rate_heatmaps({title: error_rate}, vmax=vmax)


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
