"""Live training curves and progress in a notebook; silent when headless.

One display handle per figure or line: drawn once, then updated in place at most every
`interval` seconds, so the saved notebook keeps exactly one final figure and one final
progress line, readable in any viewer (no widget state needed).
"""

from __future__ import annotations

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


def smooth(values: pd.Series, window: int) -> pd.Series:
    return values.rolling(window, min_periods=1).mean()


class LivePlot:
    """Train loss per mini-batch (raw and smoothed), test loss and test accuracy, redrawn in place.

    Redrawn at most every `interval` seconds, and rarely enough that drawing takes at most `share`
    of the wall time: a redraw (rendering the figure for the notebook) costs a tenth of a second or
    more, as much as several training steps on a small CPU.
    """

    def __init__(self, title: str, total_steps: int, interval: float = 0.5, enabled: bool | None = None,
                 share: float = 0.05):
        self.enabled = in_notebook() if enabled is None else enabled
        self.title, self.total_steps, self.interval, self.share = title, total_steps, interval, share
        self.last_draw, self.wait = 0.0, interval
        if not self.enabled:
            return
        from IPython.display import display

        self.fig, (self.loss_ax, self.acc_ax) = plt.subplots(1, 2, figsize=(10, 3.4))
        self.raw, = self.loss_ax.plot([], [], color="tab:blue", alpha=0.25, lw=0.8, label="train (mini-batch)")
        self.smoothed, = self.loss_ax.plot([], [], color="tab:blue", lw=1.6, label="train (smoothed)")
        self.test, = self.loss_ax.plot([], [], "o-", color="tab:orange", ms=2.5, lw=1.2, label="test")
        self.accuracy, = self.acc_ax.plot([], [], "o-", color="tab:green", ms=2.5, lw=1.2, label="test accuracy")
        self.loss_ax.set(xlabel="mini-batch", ylabel="cross-entropy", yscale="log", xlim=(0, total_steps))
        self.acc_ax.set(xlabel="mini-batch", ylabel="test accuracy", xlim=(0, total_steps))
        self.loss_ax.legend(loc="upper right", fontsize=8)
        self.acc_ax.grid(alpha=0.3)
        self.loss_ax.grid(alpha=0.3, which="both")
        self.fig.suptitle(title)
        self.fig.tight_layout()
        self.handle = display(self.fig, display_id=True)
        plt.close(self.fig)  # the handle owns the picture; avoid a second copy at cell end

    def due(self) -> bool:
        return self.enabled and time.perf_counter() - self.last_draw >= self.wait

    def update(self, frame: pd.DataFrame, status: str = "", force: bool = False) -> None:
        if not self.enabled or frame.empty or not (force or self.due()):
            return
        began = time.perf_counter()
        window = max(1, min(50, len(frame) // 10))
        self.raw.set_data(frame["step"], frame["train_loss"])
        self.smoothed.set_data(frame["step"], smooth(frame["train_loss"], window))
        tested = frame.dropna(subset=["test_loss"])
        self.test.set_data(tested["step"], tested["test_loss"])
        self.accuracy.set_data(tested["step"], tested["test_accuracy"])
        losses = np.concatenate([frame["train_loss"].to_numpy(), tested["test_loss"].to_numpy()])
        losses = losses[np.isfinite(losses) & (losses > 0)]
        if len(losses):
            self.loss_ax.set_ylim(max(losses.min() * 0.8, 1e-4), losses.max() * 1.25)
        if len(tested):
            low = float(tested["test_accuracy"].iloc[len(tested) // 3:].min())
            self.acc_ax.set_ylim(max(0.0, min(low, 0.98) - 0.01), 1.0)
        self.fig.suptitle(f"{self.title}   {status}" if status else self.title)
        self.handle.update(self.fig)
        self.last_draw = time.perf_counter()
        self.wait = max(self.interval, (self.last_draw - began) / self.share)


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
