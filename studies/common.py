"""What the studies share beyond bench.common: where their results go, and what a recorded run planned."""

from __future__ import annotations

import math
from pathlib import Path

from bench.common import ROOT

RESULTS = ROOT / "studies" / "results.md"  # the studies' tables as measured, one section each


def append_section(results: Path, title: str, script: str, description: str, body: str) -> None:
    """Append `## title` (the script's name and one-line description, then `body`) to a results file, written
    whole to a temporary file and then renamed."""
    from labkit.files import write_atomically

    text = results.read_text() if results.is_file() else ""
    section = f"\n## {title}\n\n`{script}`: {description}\n\n{body.rstrip()}\n"
    write_atomically(results, lambda tmp: tmp.write_text(text.rstrip("\n") + "\n" + section))


def method(doc: str) -> str:
    """A study's docstring less its question (the first line) and its recorded result (the paragraph after it):
    how it measures, for a new section of the results."""
    paragraphs = doc.strip().split("\n\n")
    return "\n\n".join(paragraphs[2:] if paragraphs[1].startswith("Result") else paragraphs[1:]).strip()


def run_plan(notebook: str, name: str, record: dict) -> dict:
    """What one metrics.json run entry planned: epochs, batch sizes and set sizes, from its "recipe" and "sizes"
    (labkit's Recipe.record() and History.sizes), and its training steps."""
    if "recipe" not in record or "sizes" not in record:
        raise SystemExit(f"{notebook}: run {name!r} was recorded without 'recipe' and 'sizes' (an older labkit's "
                         f"'settings'); execute the notebooks again with this labkit (make run)")
    recipe, sizes = record["recipe"], record["sizes"]
    plan = {"epochs": recipe["epochs"], "batch_size": recipe["batch_size"],
            "test_batch_size": recipe["test_batch_size"],
            "train_size": sizes["train"], "test_size": sizes["test"], "val_size": sizes.get("val")}
    plan["steps"] = plan["epochs"] * math.ceil(plan["train_size"] / plan["batch_size"])
    return plan
