"""Are a notebook's committed results complete, passing and fresh?

    problems(Path("figures/01_cnn"), "01_cnn")   -> [] when all is well, else one sentence per problem

Passing: the requirements re-evaluated from metrics.json and the history files all PASS under the full
profile, and the stored checks agree. Complete: the provenance a reader needs is recorded. Fresh: the
labkit code hash recorded equals the current code's, else the numbers came from other code: `make run`.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..records import code_hash
from .facts import Facts
from .requirements import check_requirements

PROVENANCE = ("profile", "parameters", "labkit_version", "labkit_code_hash", "git_commit", "machine", "torch",
              "date", "wall_seconds", "deterministic", "device", "seed")
MACHINE = ("cpu", "cpu_capability", "cpu_native_bf16")
RUN_PROVENANCE = ("recipe", "precision", "sizes", "history")


def problems(folder: Path, notebook: str, current_hash: str | None = None) -> list[str]:
    """Everything wrong with the committed results in `folder` (figures/<notebook>/), one sentence each."""
    path = Path(folder) / "metrics.json"
    if not path.is_file():
        return [f"{path} is missing: run `make run`"]
    metrics = json.loads(path.read_text())
    found = []
    if metrics.get("notebook") != notebook:
        found.append(f"{path} names notebook {metrics.get('notebook')!r}, expected {notebook!r}")
    missing = [key for key in PROVENANCE if metrics.get(key) is None]
    missing += [f"machine.{key}" for key in MACHINE if (metrics.get("machine") or {}).get(key) is None]
    if missing:
        found.append(f"{path} lacks provenance {missing}: written by older labkit code; run `make run`")
    if metrics.get("profile", "full") != "full":
        found.append(f"{path} comes from a {metrics['profile']} run; committed results must be the full profile")
    if not metrics.get("finished"):
        found.append(f"{path}: the notebook did not reach report.finish()")
    for name, run in metrics.get("runs", {}).items():
        absent = [key for key in RUN_PROVENANCE if run.get(key) is None]
        if absent:
            found.append(f"{path}: run {name!r} lacks {absent}")
        history = Path(folder) / run.get("history", f"history_{name}.csv")
        if not history.is_file():
            found.append(f"{path}: run {name!r} has no history file {history.name}")
    stored_failures = [c.get("id", c.get("requirement")) for c in metrics.get("checks", [])
                       if c.get("passed") is not True]
    if stored_failures:
        found.append(f"{path}: stored checks not passed: {stored_failures}")
    outcomes = check_requirements(notebook, Facts.load(folder), "full")
    failed = [f"{o.id} [{o.status}]: {o.detail}" for o in outcomes if o.status != "PASS"]
    if failed:
        found.append(f"{path}: requirements re-evaluated from the files do not pass: " + "; ".join(failed))
    now = current_hash or code_hash()
    recorded = metrics.get("labkit_code_hash")
    if recorded != now:
        found.append(f"{path} is stale: written by labkit code {str(recorded)[:12]}, the code now is {now[:12]}; "
                     "run `make run` to refresh the notebooks and figures")
    return found
