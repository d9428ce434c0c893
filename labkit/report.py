"""What one notebook leaves behind: its figures, its runs, its requirement checks, its metrics.json.

    report = Report("01_cnn", seed=SEED, device=device)
    report.figure(plots.confusion_heatmap(...), "confusion")   # shown once in the notebook, saved as PNG
    report.add_run("plain_cnn", history)                        # one `runs` entry of metrics.json
    report.finish([checks.at_least(...), ...])                  # PASS/FAIL table, then metrics.json
"""

from __future__ import annotations

import pandas as pd
import torch

from . import checks as lab_checks
from .live import in_notebook
from .records import save_figure, save_metrics


def _show(obj) -> None:
    if in_notebook():
        from IPython.display import display

        display(obj)


class Report:
    def __init__(self, notebook: str, seed: int, device: torch.device | str):
        self.notebook, self.seed, self.device = notebook, seed, str(device)
        self.runs: dict[str, dict] = {}

    def figure(self, fig, name: str) -> None:
        """Show the figure once and save it as figures/<notebook>/<name>.png."""
        save_figure(fig, self.notebook, name)
        _show(fig)

    def add_run(self, name: str, history) -> dict:
        self.runs[name] = history.record()
        return self.runs[name]

    def finish(self, checks: list, extra: dict | None = None) -> pd.DataFrame:
        """Show the PASS/FAIL table and write metrics.json with every run and check."""
        table = lab_checks.report(checks)
        save_metrics(self.notebook, {"notebook": self.notebook, "seed": self.seed, "device": self.device,
                                     "torch": torch.__version__, "runs": self.runs,
                                     "checks": lab_checks.as_records(checks), **(extra or {})})
        return lab_checks.styled(table) if in_notebook() else table


def compare(histories: dict) -> pd.DataFrame:
    """One row per named run: model, parameters, epochs, final train/test accuracy and loss, training seconds."""
    rows = [{**history.summary(), "run": name, "train_seconds": round(history.train_seconds, 1)}
            for name, history in histories.items()]
    return pd.DataFrame(rows).set_index("run")
