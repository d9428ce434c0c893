"""What one notebook leaves behind: its figures, its runs, the facts its requirements need, its metrics.json.

    report = Report("01_cnn", seed=SEED, device=device, profile=PROFILE, parameters={"EPOCHS": EPOCHS, ...})
    report.figure(plots.confusion_heatmap(...), "confusion")   # shown once in the notebook, saved as PNG
    report.add_run("plain_cnn", history)                        # a `runs` entry + history_plain_cnn.csv
    report.add_set("train_pool", train_pool)                    # facts: size, class counts
    report.add_pairs("test", test_pairs)                        # facts: balance, self-pairs, duplicates, ...
    report.add_value("pixel_mean", mean)                        # a measured number
    report.finish()                                             # labkit's requirements: the PASS/FAIL table

The thresholds are labkit's (`labkit.course.requirements`), not the notebook's: finish() takes none.
metrics.json is rewritten after every add_*, so a notebook that stops early still leaves what it did,
and a grader re-evaluates the requirements from metrics.json and the history files alone.
Strict mode (LABKIT_STRICT=1, or the smoke or full profile under CI) makes finish() raise
RequirementsFailed naming each failed requirement; otherwise a student sees the table, not a traceback.
"""

from __future__ import annotations

import os
import time

import torch

from ..checks import styled
from ..env import is_deterministic
from ..live import in_notebook
from ..records import figures_dir, provenance, save_figure, save_history, save_metrics, save_weights
from . import claims
from . import facts as recorded
from .requirements import Outcome, check_profile, check_requirements, failures, outcome_table, requirements_for, score

TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


class RequirementsFailed(AssertionError):
    """A strict run ended with requirements that failed or were not done; the message names each one."""

    def __init__(self, notebook: str, failed: list[Outcome]):
        self.notebook, self.failed = notebook, failed
        lines = [f"  {o.id} [{o.status}]: {o.requirement} -- {o.detail}" for o in failed]
        super().__init__(f"{notebook}: {len(failed)} requirement(s) not met:\n" + "\n".join(lines))


def strict_default(profile: str) -> bool:
    """LABKIT_STRICT when set (1/true/yes/on or 0/false/no/off), else True for smoke and full runs under CI."""
    value = os.environ.get("LABKIT_STRICT")
    if value is not None:
        word = value.strip().lower()
        if word not in TRUE_WORDS + FALSE_WORDS:
            raise ValueError(f"LABKIT_STRICT must be one of {TRUE_WORDS + FALSE_WORDS}, got {value!r}")
        return word in TRUE_WORDS
    return bool(os.environ.get("CI")) and profile in ("smoke", "full")


def _show(obj) -> None:
    if in_notebook():
        from IPython.display import display

        display(obj)


class Report:
    def __init__(self, notebook: str, seed: int, device: torch.device | str, profile: str = "full",
                 parameters: dict | None = None, strict: bool | None = None):
        check_profile(profile)
        requirements_for(notebook)  # an unknown notebook id fails here, not at the end
        self.notebook, self.seed, self.device, self.profile = notebook, seed, str(device), profile
        self.strict = strict_default(profile) if strict is None else bool(strict)
        self.started = time.monotonic()
        self.metrics = {"notebook": notebook, "seed": seed, "device": self.device, "profile": profile,
                        "finished": False, "parameters": dict(parameters or {}), "deterministic": is_deterministic(),
                        **provenance(), "wall_seconds": 0.0,
                        "runs": {}, "checks": [], "sets": {}, "pair_sets": {}, "values": {}, "models": {},
                        "claims": []}
        self._save()

    @property
    def runs(self) -> dict:
        return self.metrics["runs"]

    def _save(self) -> None:
        self.metrics["wall_seconds"] = round(time.monotonic() - self.started, 1)
        save_metrics(self.notebook, self.metrics)

    def figure(self, fig, name: str) -> None:
        """Show the figure once and save it as figures/<notebook>/<name>.png."""
        save_figure(fig, self.notebook, name)
        _show(fig)

    def add_run(self, name: str, history) -> dict:
        """Record a trained run: its metrics.json entry (results, recipe, precision), its history file and its
        final weights (weights_<name>.pt, which a grader loads to measure the run itself)."""
        path = save_history(self.notebook, name, history.frame)
        weights = save_weights(self.notebook, name, history.weights)
        self.runs[name] = {**history.record(), "history": path.name, "weights": weights.name}
        self._save()
        return self.runs[name]

    def add_set(self, name: str, image_set) -> dict:
        """Record an image set's size and per-class counts (e.g. the 10% pools)."""
        return self._add("sets", name, recorded.image_set_facts(image_set))

    def add_pairs(self, name: str, pair_set) -> dict:
        """Record a pair set's statistics: size, fraction same, self-pairs, duplicates, targets, order."""
        return self._add("pair_sets", name, recorded.pair_set_facts(pair_set))

    def add_value(self, name: str, value) -> dict:
        """Record a measured value (a number, string, bool, or a list of them) that a requirement reads."""
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        return self._add("values", name, value)

    def add_model(self, name: str, model) -> dict:
        """Record a model's class, parameter count and parameter names (what its structure requirements read)."""
        return self._add("models", name, recorded.model_facts(model))

    def claim(self, text: str, holds, **values) -> dict:
        """Record an interpretation with the predicate that makes it true of this run and the values it used
        (labkit.course.claims.make); a contradicted claim fails requirement claims_hold."""
        return self._claim(claims.make(text, holds, **values))

    def claim_difference(self, text: str, a, b, n: int, n_b: int | None = None, seed_std: float | None = None) -> dict:
        """Record "a is greater than b" for two accuracies on n test items: holds, contradicted or not established
        (the 95% interval of the difference, and beyond the seed spread when `seed_std` is given)."""
        return self._claim(claims.difference(text, a, b, n, n_b=n_b, seed_std=seed_std))

    def _claim(self, record: dict) -> dict:
        self.metrics["claims"] = claims.add(self.metrics["claims"], record)
        self._save()
        return record

    def claims_table(self):
        """Every claim recorded so far, with the values it used and whether it holds (contradicted ones marked)."""
        table = claims.table(self.metrics["claims"])
        return claims.styled(table) if in_notebook() else table

    def _add(self, table: str, name: str, value):
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {table} name must be a non-empty string, got {name!r}")
        self.metrics[table][name] = value
        self._save()
        return value

    def check_requirements(self) -> list[Outcome]:
        """labkit's requirements for this notebook, evaluated from the files written so far."""
        return check_requirements(self.notebook, recorded.Facts.load(figures_dir(self.notebook)), self.profile)

    def finish(self):
        """Evaluate this notebook's requirements, show the PASS/FAIL table, write metrics.json.

        In strict mode, raise RequirementsFailed when any requirement failed or was not done.
        """
        outcomes = self.check_requirements()
        self.metrics["checks"] = [o.record() for o in outcomes]
        earned, possible = score(outcomes)
        self.metrics["points"], self.metrics["max_points"] = earned, possible
        self.metrics["finished"] = True
        self._save()
        table = outcome_table(outcomes)
        failed = failures(outcomes)
        if failed and self.strict:
            _show(styled(table))
            raise RequirementsFailed(self.notebook, failed)
        words = {"PASS": "passed", "FAIL": "failed", "not done": "not done", "n/a": "n/a"}
        counts = ", ".join(f"{sum(o.status == status for o in outcomes)} {word}" for status, word in words.items())
        print(f"{self.notebook} ({self.profile} profile): {earned:g}/{possible:g} points; {counts}")
        return styled(table) if in_notebook() else table

