"""What a notebook records for its requirements, and how a grader reads it back from the files alone.

A notebook records facts through its Report (`add_run`, `add_set`, `add_pairs`, `add_value`, `add_model`,
`claim`); they land in metrics.json (runs, sets, pair_sets, values, models, claims) and, per run,
figures/<notebook>/history_<run>.csv.
`Facts.load(folder)` reads them back; a requirement asks for the facts it needs and a fact never recorded
raises NotRecorded, which grades the requirement "not done".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch


class NotRecorded(LookupError):
    """A requirement needs a fact the notebook never recorded (it stopped early, or skipped a step)."""


def image_set_facts(image_set) -> dict:
    """size and class_counts of an ImageSet (anything with class_counts() and len)."""
    counts = [int(c) for c in image_set.class_counts()]
    return {"size": len(image_set), "class_counts": counts}


def pair_set_facts(pair_set) -> dict:
    """What the pair requirements check about a PairSet: size, fraction same, self-pairs, duplicates,
    whether each target is 1 exactly where both images show one digit, whether it is sorted (all 0 before all 1)."""
    from ..pairs import duplicate_pairs, self_pairs, targets_match_labels

    targets = pair_set.targets.cpu().long()
    size = len(targets)
    same = int(targets.sum())
    return {
        "size": size,
        "same": same,
        "different": size - same,
        "fraction_same": same / size if size else float("nan"),
        "self_pairs": self_pairs(pair_set.pairs),
        "duplicates": duplicate_pairs(pair_set.pairs),
        "targets_match_labels": targets_match_labels(pair_set.pairs, targets, pair_set.images.labels),
        "sorted": bool((torch.diff(targets) >= 0).all()) if size > 1 else True,
    }


def model_facts(model) -> dict:
    """The class name, parameter count and parameter names (as in state_dict) of a torch module."""
    return {"class": type(model).__name__, "parameters": sum(p.numel() for p in model.parameters()),
            "parameter_names": [name for name, _ in model.named_parameters()]}


def history_file(run: str) -> str:
    """The file name of a run's per-mini-batch history, beside metrics.json."""
    return f"history_{run}.csv"


@dataclass
class Facts:
    """Everything recorded about one notebook run; each accessor raises NotRecorded for what is missing."""

    runs: dict = field(default_factory=dict)
    histories: dict = field(default_factory=dict)
    sets: dict = field(default_factory=dict)
    pair_sets: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)
    claims: list = field(default_factory=list)  # the claims' records (labkit.course.claims), in the order made

    @classmethod
    def from_metrics(cls, metrics: dict, folder: Path | None = None) -> Facts:
        """Facts from a metrics.json dict; histories read from `folder` (the file each run names)."""
        histories = {}
        for name, run in metrics.get("runs", {}).items():
            path = Path(folder) / run.get("history", history_file(name)) if folder is not None else None
            if path is not None and path.is_file():
                histories[name] = pd.read_csv(path)
        return cls(runs=dict(metrics.get("runs", {})), histories=histories, sets=dict(metrics.get("sets", {})),
                   pair_sets=dict(metrics.get("pair_sets", {})), values=dict(metrics.get("values", {})),
                   models=dict(metrics.get("models", {})), claims=list(metrics.get("claims", [])))

    @classmethod
    def load(cls, folder: str | Path) -> Facts:
        """Facts from `folder`/metrics.json and the history files beside it; empty when there is no metrics.json."""
        path = Path(folder) / "metrics.json"
        if not path.is_file():
            return cls()
        return cls.from_metrics(json.loads(path.read_text()), path.parent)

    @staticmethod
    def _get(kind: str, table: dict, name: str):
        if name not in table:
            recorded = ", ".join(map(repr, table)) or "none"
            raise NotRecorded(f"no {kind} {name!r} recorded (recorded: {recorded})")
        return table[name]

    def run(self, name: str) -> dict:
        return self._get("run", self.runs, name)

    def history(self, name: str) -> pd.DataFrame:
        self.run(name)
        return self._get("history file for run", self.histories, name)

    def image_set(self, name: str) -> dict:
        return self._get("set", self.sets, name)

    def pair_set(self, name: str) -> dict:
        return self._get("pair set", self.pair_sets, name)

    def value(self, name: str):
        return self._get("value", self.values, name)

    def model(self, name: str) -> dict:
        return self._get("model", self.models, name)
