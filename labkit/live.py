"""Live training curves and progress in a notebook; silent when headless.

One display handle per figure or line: drawn once, then updated in place at most every
`interval` seconds, so the saved notebook keeps exactly one final figure and one final
progress line, readable in any viewer (no widget state needed).
"""

from __future__ import annotations

import base64
import io
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def in_notebook() -> bool:
    """True inside an IPython kernel (Jupyter, nbclient, nbval); False in a terminal or a script."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def smooth(values, window: int) -> np.ndarray:
    """Running mean over the last `window` values (fewer at the start), NaN-free input."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return values
    sums = np.cumsum(np.insert(values, 0, 0.0))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    return (sums[1:] - sums[np.arange(1, len(values) + 1) - counts]) / counts


def thin(x, y, limit: int):
    """At most about `limit` points of a line: every k-th one, and always the last (the newest number)."""
    x, y = np.asarray(x), np.asarray(y)
    if len(x) <= limit:
        return x, y
    keep = np.arange(0, len(x), -(-len(x) // limit))
    if keep[-1] != len(x) - 1:
        keep = np.append(keep, len(x) - 1)
    return x[keep], y[keep]


LIVE_DPI, FINAL_DPI = 60, 100  # live frames are drawn often and looked at briefly; the last one stays in the notebook
MAX_POINTS = 500  # per line: more points than pixels cost drawing time and show nothing more
LOSS_LIMITS, ACCURACY_LIMITS = (0.01, 3.0), (0.0, 1.0)  # before any data: cross-entropy from near 0 to ~ln(10)


def line_labels(scope: str = "one test batch") -> dict:
    """The legend's words for each line: the per-step test says what it was measured on (History.test_scope)."""
    return {"train": "train, every mini-batch", "train_smooth": "train, smoothed",
            "test": f"test after every mini-batch ({scope})",
            "test_smooth": f"test after every mini-batch ({scope}), smoothed",
            "test_set": "whole test set", "val": "validation set",
            "test_accuracy": f"test after every mini-batch ({scope}), smoothed",
            "test_set_accuracy": "whole test set", "val_accuracy": "validation set"}


class LivePlot:
    """Train loss per mini-batch (raw and smoothed), per-step and whole-set test loss, validation loss, and
    the accuracies, redrawn in place.

    Redrawn at least every `max_wait` seconds, at most every `interval`, and otherwise rarely enough that
    drawing takes about `share` of the wall time (a redraw costs 0.1-0.5 s of a 2-core CPU's training time, so
    `max_wait` is long enough to keep that share; the progress line below says where training is meanwhile).
    The first redraw is slow (fonts, caches: ~1 s) and is left out of that pacing, so it does not postpone the
    next. Live frames are cheap: at most MAX_POINTS points per line and a low resolution; the final frame is
    drawn at FINAL_DPI.
    """

    def __init__(self, title: str, total_steps: int, interval: float = 0.5, enabled: bool | None = None,
                 share: float = 0.05, max_wait: float = 10.0):
        self.enabled = in_notebook() if enabled is None else enabled
        self.title, self.total_steps, self.interval, self.share = title, total_steps, interval, share
        self.max_wait = max_wait
        self.last_draw, self.wait, self.draws = 0.0, interval, 0
        if not self.enabled:
            return
        from IPython.display import display

        self.fig, (self.loss_ax, self.acc_ax) = plt.subplots(1, 2, figsize=(10, 4.2))
        loss, acc = self.loss_ax, self.acc_ax
        self.lines = {
            "train": loss.plot([], [], color="tab:blue", alpha=0.25, lw=0.8)[0],
            "train_smooth": loss.plot([], [], color="tab:blue", lw=1.6)[0],
            "test": loss.plot([], [], color="tab:orange", alpha=0.25, lw=0.8)[0],
            "test_smooth": loss.plot([], [], color="tab:orange", lw=1.6)[0],
            "test_set": loss.plot([], [], "o-", color="tab:red", ms=2.5, lw=1.0)[0],
            "val": loss.plot([], [], "s--", color="tab:green", ms=2.5, lw=1.0)[0],
            "test_accuracy": acc.plot([], [], color="tab:orange", lw=1.2)[0],
            "test_set_accuracy": acc.plot([], [], "o-", color="tab:red", ms=2.5, lw=1.0)[0],
            "val_accuracy": acc.plot([], [], "s--", color="tab:green", ms=2.5, lw=1.0)[0],
        }
        limits = dict(xlim=(0, max(total_steps, 1)), xlabel="mini-batch")
        loss.set(ylabel="cross-entropy", yscale="log", ylim=LOSS_LIMITS, **limits)
        acc.set(ylabel="accuracy", ylim=ACCURACY_LIMITS, **limits)
        acc.yaxis.set_major_formatter("{x:.3f}")  # as wide before the zoom as after: the layout is computed once
        self.hidden_note = acc.text(0.02, 0.03, "", transform=acc.transAxes, fontsize=8, color="0.35")
        self.legend_key = None
        self.set_legends("one test batch", set(self.lines))
        acc.grid(alpha=0.3)
        loss.grid(alpha=0.3, which="both")
        self.fig.suptitle(title)
        self.fig.tight_layout()
        self.handle = display(self.render(LIVE_DPI), raw=True, display_id=True)
        plt.close(self.fig)  # the handle owns the picture; avoid a second copy at cell end

    def render(self, dpi: int) -> dict:
        """The figure as a display bundle: a PNG at `dpi`, and the text a figure shows where images are not."""
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=dpi)
        width, height = self.fig.get_size_inches() * self.fig.dpi
        return {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                "text/plain": f"<Figure size {width:.0f}x{height:.0f} with 2 Axes>"}

    def due(self) -> bool:
        return self.enabled and time.perf_counter() - self.last_draw >= self.wait

    def update(self, frame: pd.DataFrame, status: str = "", force: bool = False, final: bool = False) -> None:
        """Redraw from the History frame so far when due (or `force`); `final` draws at the saved resolution."""
        if not self.enabled or frame.empty or not (force or self.due()):
            return
        began = time.perf_counter()
        self.set_lines(frame)
        self.fig.suptitle(f"{self.title}   {status}" if status else self.title)
        self.handle.update(self.render(FINAL_DPI if final else LIVE_DPI), raw=True)
        self.last_draw = time.perf_counter()
        self.draws += 1
        if self.draws > 1:  # the first draw is slow once (cold caches): it says nothing about the next ones
            self.wait = min(self.max_wait, max(self.interval, (self.last_draw - began) / self.share))

    def set_lines(self, frame: pd.DataFrame) -> None:
        steps = frame["step"].to_numpy()
        window = max(1, min(50, len(frame) // 10))
        shown = {}
        for name, column, smoothed in (("train", "train_loss", False), ("train_smooth", "train_loss", True),
                                       ("test", "test_loss", False), ("test_smooth", "test_loss", True),
                                       ("test_accuracy", "test_accuracy", True)):
            values = frame[column].to_numpy(dtype=float) if column in frame else np.full(len(frame), np.nan)
            measured = np.isfinite(values)
            y = smooth(values[measured], window) if smoothed else values[measured]
            shown[name] = thin(steps[measured], y, MAX_POINTS)
        for name in ("test_set", "val", "test_set_accuracy", "val_accuracy"):
            column = name if name.endswith("accuracy") else f"{name}_loss"
            values = frame[column].to_numpy(dtype=float) if column in frame else np.full(len(frame), np.nan)
            measured = np.isfinite(values)
            shown[name] = thin(steps[measured], values[measured], MAX_POINTS)
        for name, (x, y) in shown.items():
            self.lines[name].set_data(x, y)
        self.set_test_label(frame, shown)
        self.set_limits(shown)

    def set_test_label(self, frame: pd.DataFrame, shown: dict | None = None) -> None:
        """Name the per-step test for what it is measured on, and list in the legends only the lines with data."""
        scope = frame["test_scope"].iloc[-1] if "test_scope" in frame and len(frame) else "one test batch"
        with_data = set(self.lines) if shown is None else {name for name, (x, _) in shown.items() if len(x)}
        self.set_legends(scope, with_data)

    def set_legends(self, scope: str, with_data: set) -> None:
        if (scope, with_data) == self.legend_key:  # legends are rebuilt only when what they say changes
            return
        self.legend_key = (scope, with_data)
        for name, label in line_labels(scope).items():
            self.lines[name].set_label(label)
        loss_lines = ("train", "train_smooth", "test_set", "test", "test_smooth", "val")  # long labels: 2nd column
        for ax, names, columns in ((self.loss_ax, loss_lines, 2),
                                   (self.acc_ax, ("test_accuracy", "test_set_accuracy", "val_accuracy"), 1)):
            # below the panel, where no data are: the layout made room for every entry once
            ax.legend(handles=[self.lines[name] for name in names if name in with_data], loc="upper center",
                      bbox_to_anchor=(0.5, -0.16), ncols=columns, fontsize=7, frameon=False)

    def set_limits(self, shown: dict) -> None:
        losses = np.concatenate([shown[name][1] for name in ("train", "test", "test_set", "val")])
        losses = losses[np.isfinite(losses) & (losses > 0)]
        if len(losses):
            self.loss_ax.set_ylim(max(losses.min() * 0.8, 1e-4), max(losses.max() * 1.25, 2e-4))
        accuracies = [shown[name][1] for name in ("test_accuracy", "test_set_accuracy", "val_accuracy")]
        recent = np.concatenate([a[len(a) // 3:] for a in accuracies])
        if not len(recent):
            return
        low = max(0.0, min(float(recent.min()), 0.98) - 0.01)
        self.acc_ax.set_ylim(low, 1.0)
        hidden = np.concatenate(accuracies) < low
        self.hidden_note.set_text(f"earlier points below {low:.2f} not shown" if hidden.any() else "")


class Progress:
    """One line of text, updated in place: percent done, steps, the caller's status, elapsed and remaining time."""

    def __init__(self, label: str, total_steps: int, interval: float = 0.5, enabled: bool | None = None):
        self.enabled = in_notebook() if enabled is None else enabled
        self.label, self.total_steps, self.interval = label, total_steps, interval
        self.started = self.last_draw = time.perf_counter()
        if self.enabled:
            from IPython.display import display

            self.handle = display({"text/plain": self.line(0)}, raw=True, display_id=True)

    def due(self) -> bool:
        return self.enabled and time.perf_counter() - self.last_draw >= self.interval

    def line(self, step: int, status: str = "") -> str:
        elapsed = time.perf_counter() - self.started
        left = f", ~{elapsed / step * (self.total_steps - step):.0f} s left" if 0 < step < self.total_steps else ""
        status = f"  {status}" if status else ""
        return (f"{self.label}: {100 * step / max(self.total_steps, 1):3.0f}% {step}/{self.total_steps} steps"
                f"{status}  ({elapsed:.0f} s{left})")

    def update(self, step: int, status: str = "", force: bool = False) -> None:
        if not self.enabled or not (force or self.due()):
            return
        self.handle.update({"text/plain": self.line(step, status)}, raw=True)
        self.last_draw = time.perf_counter()
