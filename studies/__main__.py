"""`python -m studies NAME [ARGS]`: run one design study; without a name, list them with their questions."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
STUDIES = ("recipe_choice", "seed_spread", "compute_bound", "downsampling", "float32_targets", "eval_overhead",
           "training_overhead", "pairs_build")
RETIRED = ("step_test_cost", "compile_payback")  # question and answer in studies/README.md; code deleted


def question(name: str) -> str:
    """The first line of a study's docstring, read without importing it (nor torch)."""
    return ast.get_docstring(ast.parse((HERE / f"{name}.py").read_text())).splitlines()[0]


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.splitlines()[0], "", *(f"  {name:18} {question(name)}" for name in STUDIES), "",
              f"Retired (question and answer in studies/README.md): {', '.join(RETIRED)}.", sep="\n")
        return 0
    name, rest = argv[0], argv[1:]
    if name in RETIRED:
        raise SystemExit(f"study {name!r} is retired: its question and recorded answer are in studies/README.md")
    if name not in STUDIES:
        raise SystemExit(f"unknown study {name!r}; the studies are {', '.join(STUDIES)}")
    sys.argv = [f"python -m studies {name}", *rest]  # argparse's usage line
    return importlib.import_module(f"studies.{name}").main(rest) or 0


if __name__ == "__main__":
    raise SystemExit(main())
