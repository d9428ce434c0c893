"""Live training curves and progress in a notebook; silent when headless.

One display handle per figure or line: drawn once, then updated in place at most every
`interval` seconds, so the saved notebook keeps exactly one final figure and one final
progress line, readable in any viewer (no widget state needed). The curves are drawn by
plots.draw_history, the function that draws the static history figure.
"""

from __future__ import annotations

import base64
import io
import time

import matplotlib.pyplot as plt
import pandas as pd

from . import plots


def in_notebook() -> bool:
    """True inside an IPython kernel (Jupyter, nbclient, nbval); False in a terminal or a script."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


LIVE_DPI, FINAL_DPI = 60, 100  # live frames are drawn often and looked at briefly; the last one stays in the notebook
MAX_POINTS = 500  # per line: more points than pixels cost drawing time and show nothing more
NOTHING_YET = pd.DataFrame({"step": [], "train_loss": []})  # what the plot shows before the first mini-batch


class LivePlot:
    """The History frame so far, drawn by plots.draw_history (as plots.history_curves draws the finished run)
    and redrawn in place: train and test loss per mini-batch (raw and smoothed), the whole test set and the
    validation set, and the accuracies.

    The figure and both axes are made once, before the first display, and never shown by pyplot (closed in
    it when made: the display handle alone shows them, so the cell shows no second copy at its end). The x axis
    spans the whole run from the start, so the curves grow into it. Redrawn at least every `max_wait` seconds,
    at most every `interval`, and otherwise rarely enough that drawing takes about `share` of the wall time (a
    redraw costs 0.1-0.5 s of a 2-core CPU's training time, so `max_wait` is long enough to keep that share; the
    progress line below says where training is meanwhile). The first redraw is slow (fonts, caches: ~1 s) and
    is left out of that pacing, so it does not postpone the next. Live frames are cheap: at most MAX_POINTS
    points per line and a low resolution; the final frame is drawn at FINAL_DPI.
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

        self.fig, (self.loss_ax, self.acc_ax) = plots.history_figure()
        self.legend = None
        self.draw(NOTHING_YET)
        for ax in (self.loss_ax, self.acc_ax):
            ax.set_xlim(0, max(total_steps, 1))
        with plt.rc_context(plots.STYLE):
            self.suptitle = self.fig.suptitle(title)
        self.handle = display(self.render(LIVE_DPI), raw=True, display_id=True)

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
        self.draw(frame, final)
        self.suptitle.set_text(f"{self.title}   {status}" if status else self.title)
        self.handle.update(self.render(FINAL_DPI if final else LIVE_DPI), raw=True)
        self.last_draw = time.perf_counter()
        self.draws += 1
        if self.draws > 1:  # the first draw is slow once (cold caches): it says nothing about the next ones
            self.wait = min(self.max_wait, max(self.interval, (self.last_draw - began) / self.share))

    def draw(self, frame: pd.DataFrame, final: bool = False) -> None:
        """Draw `frame`. The legends are rebuilt, and the layout computed, only when what the legends say changes
        and for the final frame (which stays in the notebook); in between the layout stays as it is, which makes
        a live redraw about a quarter cheaper."""
        legend = plots.draw_history((self.loss_ax, self.acc_ax), frame, max_points=MAX_POINTS)
        changed = legend != self.legend
        self.fig.set_layout_engine("constrained" if changed or final else "none")
        if changed:
            plots.history_legends(self.fig, legend)
            self.legend = legend


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
