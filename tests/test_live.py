import pandas as pd
import pytest

from labkit import live


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


def test_live_plot_waits_so_drawing_stays_a_small_share_of_the_time(monkeypatch):
    plot = live.LivePlot("run", 100, interval=0.0, enabled=True, share=0.05)
    plot.handle = Recorder()
    clock = iter([10.0, 10.0, 10.2, 10.2])  # due at 10.0 s; the draw starts then and takes 0.2 s
    monkeypatch.setattr(live.time, "perf_counter", lambda: next(clock))
    frame = pd.DataFrame({"step": [1, 2], "train_loss": [0.9, 0.8], "test_loss": [float("nan"), 0.7],
                          "test_accuracy": [float("nan"), 0.5]})
    plot.handle.update = lambda fig: None
    plot.update(frame, "step 2/100")
    assert plot.wait == pytest.approx(4.0)  # the next redraw comes 4 s later: drawing costs 5% of the time
    assert not plot.due()  # 10.2 s: not yet
