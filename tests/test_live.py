import numpy as np
import pandas as pd
import pytest

from labkit import live, plots


class Recorder:
    """Stands in for IPython's display handle: keeps what each update showed."""

    def __init__(self):
        self.shown = []

    def update(self, data, raw=False):
        assert raw
        self.shown.append(data["text/plain"])


def test_progress_line_reports_steps_status_and_time():
    progress = live.Progress("siamese", 200, enabled=False)
    assert progress.line(0).startswith("siamese:   0% 0/200 steps")
    half = progress.line(100, "epoch 1/2  loss 0.1234")
    assert "50% 100/200 steps  epoch 1/2  loss 0.1234" in half and "s left" in half
    assert "left" not in progress.line(200)  # finished: elapsed time only


def test_progress_updates_in_place_at_most_every_interval():
    progress = live.Progress("run", 10, interval=3600, enabled=False)
    progress.enabled, progress.handle = True, Recorder()
    progress.update(3, "early")  # not due: the interval has not passed since the start
    progress.update(10, "done", force=True)  # the final state always shows
    assert progress.handle.shown == [progress.handle.shown[-1]] and "100% 10/10 steps  done" in progress.handle.shown[0]


def test_disabled_displays_do_nothing():
    plot = live.LivePlot("run", 10, enabled=False)
    progress = live.Progress("run", 10, enabled=False)
    assert not plot.due() and not progress.due()
    frame = pd.DataFrame({"step": [1], "train_loss": [0.5], "test_loss": [0.6], "test_accuracy": [0.9]})
    plot.update(frame, force=True)
    progress.update(10, force=True)
    assert not live.in_notebook()


class Clock:
    """Stands in for time.perf_counter: advanced by hand."""

    def __init__(self, now=100.0):
        self.now = now

    def __call__(self):
        return self.now


class FakeHandle:
    """IPython's display handle: counts redraws, and can make each redraw take `cost` seconds of the fake clock."""

    def __init__(self, clock):
        self.clock, self.cost, self.updates = clock, 0.0, 0

    def update(self, data, raw=False):
        assert raw and data["image/png"] and data["text/plain"].startswith("<Figure")
        self.updates += 1
        self.clock.now += self.cost


@pytest.fixture
def shown_plot(monkeypatch):
    """A LivePlot that believes it is in a notebook, with a fake display and a fake clock."""
    import IPython.display

    clock = Clock()
    handle = FakeHandle(clock)
    monkeypatch.setattr(live, "in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display", lambda data, raw=False, display_id=False: handle)
    monkeypatch.setattr(live.time, "perf_counter", clock)
    return live.LivePlot("run", 20_000), handle, clock


def history(steps: int) -> pd.DataFrame:
    step = np.arange(1, steps + 1)
    loss = 2.0 / np.sqrt(step)
    every = np.where(step % 100 == 0, 1.0, np.nan)
    return pd.DataFrame({"step": step, "epoch": 1, "train_loss": loss, "test_loss": loss * 1.1,
                         "test_accuracy": 1 - loss / 3, "test_scope": "one test batch",
                         "test_set_loss": loss * every, "test_set_accuracy": (1 - loss / 3) * every,
                         "val_loss": np.nan, "val_accuracy": np.nan, "lr": 1e-3, "seconds": step * 0.01})


def test_limits_before_any_data_are_sensible(shown_plot):
    plot, _, _ = shown_plot
    assert plot.loss_ax.get_ylim() == pytest.approx(plots.LOSS_LIMITS)
    assert plot.acc_ax.get_ylim() == pytest.approx((0.0, 1.0))
    assert plot.loss_ax.get_xlim() == pytest.approx((0, 20_000))


def test_a_slow_first_draw_does_not_postpone_the_next(shown_plot):
    plot, handle, clock = shown_plot
    handle.cost = 1.5  # the cold first draw
    plot.update(history(50), "step 50")
    assert handle.updates == 1 and plot.wait == pytest.approx(plot.interval)
    clock.now += plot.interval
    handle.cost = 0.04  # warm draws are cheap: the 5% share asks for 0.8 s between them
    assert plot.max_wait >= 0.4 / plot.share  # a 2-core CPU's 0.4 s redraw keeps to the share too
    plot.update(history(100), "step 100")
    assert handle.updates == 2 and plot.wait == pytest.approx(0.8)
    clock.now += 0.81
    handle.cost = 1.0  # an unusually slow draw: still at most max_wait before the next
    plot.update(history(150), "step 150")
    assert handle.updates == 3 and plot.wait == pytest.approx(plot.max_wait) and plot.max_wait <= 10
    clock.now += 1.0
    plot.update(history(200), "step 200")
    assert handle.updates == 3  # not due yet
    clock.now += plot.max_wait - 0.99
    plot.update(history(250), "step 250")
    assert handle.updates == 4


def line(ax, label: str):
    (found,) = [line for line in ax.lines if line.get_label() == label]
    return found


def test_thinning_bounds_the_points_drawn_and_keeps_the_last(shown_plot):
    plot, _, _ = shown_plot
    plot.update(history(20_000), force=True)
    lines = plot.loss_ax.lines + plot.acc_ax.lines
    assert len(lines) == 7  # train and test loss, raw and smoothed, the whole set's; two accuracies (no validation)
    for drawn in lines:
        assert len(drawn.get_xdata()) <= live.MAX_POINTS + 1, drawn.get_label()
    assert line(plot.loss_ax, "training loss per mini-batch").get_xdata()[-1] == 20_000
    assert len(line(plot.loss_ax, "test loss, whole test set").get_xdata()) == 200  # 200 points: kept as they are
    plot.update(history(20_000), force=True)
    assert len(plot.loss_ax.lines + plot.acc_ax.lines) == 7  # a redraw replaces the lines, it adds none


def test_hidden_early_accuracies_are_announced(shown_plot):
    plot, _, _ = shown_plot
    frame = history(3000)
    plot.update(frame, force=True)
    low, high = plot.acc_ax.get_ylim()
    assert high == 1.0 and low > 0.5
    assert [text.get_text() for text in plot.acc_ax.texts] == [f"earlier values below {low:g} not shown"]
    assert plot.acc_ax.get_ylabel() == f"accuracy (axis starts at {low:g})"
    plot.update(frame.assign(test_scope="whole test set"), "step 3000/3000  interrupted at step 3000", force=True,
                final=True)
    assert "interrupted at step 3000" in plot.fig._suptitle.get_text()
    assert len(plot.acc_ax.texts) == 1


def legend_texts(fig) -> list[str]:
    (legend,) = fig.legends
    return [text.get_text() for text in legend.get_texts()]


def test_legends_name_the_per_step_test_and_list_only_what_was_measured(shown_plot):
    plot, _, _ = shown_plot
    assert plot.fig.legends == []  # nothing measured yet
    frame = history(3000)  # no validation set
    plot.update(frame, force=True)
    assert legend_texts(plot.fig) == [
        "training loss per mini-batch", "training loss, mean of last 50 mini-batches",
        "test loss after every mini-batch (one test batch)",
        "test loss and accuracy after every mini-batch (one test batch), mean of last 50",
        "whole test set (loss and accuracy)"]
    validated = frame.assign(test_scope="whole test set", val_loss=frame["test_set_loss"],
                             val_accuracy=frame["test_set_accuracy"])
    plot.update(validated, force=True)
    assert line(plot.acc_ax, "test accuracy after every mini-batch (whole test set), mean of last 50")
    assert legend_texts(plot.fig)[-1] == "validation set (loss and accuracy)"
    (legend,) = plot.fig.legends
    plot.update(validated, force=True)
    assert plot.fig.legends == [legend]  # nothing new to say: the legend is not rebuilt
    plot.fig.canvas.draw()
    below = legend.get_window_extent().y1
    assert below < plot.loss_ax.get_window_extent().y0 and below < plot.acc_ax.get_window_extent().y0  # off the data


def test_the_live_plots_last_frame_is_the_static_figure(shown_plot):
    plot, _, _ = shown_plot
    frame = history(3000)
    plot.update(frame, force=True, final=True)
    static = plots.history_curves(frame)
    for live_ax, static_ax in zip((plot.loss_ax, plot.acc_ax), static.axes):
        assert [ln.get_label() for ln in live_ax.lines] == [ln.get_label() for ln in static_ax.lines]
        assert live_ax.get_ylim() == pytest.approx(static_ax.get_ylim())
        assert live_ax.get_ylabel() == static_ax.get_ylabel()
    assert legend_texts(plot.fig) == legend_texts(static)
    assert plot.fig.get_size_inches().tolist() == static.get_size_inches().tolist()
