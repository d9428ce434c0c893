"""`python -m bench` (`make bench`): run every benchmark and write bench/results.md.

    python -m bench                  all but the notebook suite, writes bench/results.md (many minutes)
    python -m bench --notebooks      the notebook suite too (add minutes per notebook)
    python -m bench --only pairs_build throughput
    python -m bench --only precision  one training step per model, fp32 vs bf16 (about a minute)
    python -m bench --only step_test_cost  the per-step test loss against the training step, per lab (2 minutes)
    python -m bench --quick          tiny sizes, prints the tables, writes nothing unless --output is given
"""

from __future__ import annotations

import argparse
import ast
import importlib
import os
import sys
import time
from pathlib import Path

from bench.common import RESULTS, machine, markdown_table
from labkit.records import write_atomically

HERE = Path(__file__).resolve().parent
BENCHMARKS = {  # name: section title, in the order they run
    "throughput": "Training throughput, lab A",
    "time_to_accuracy": "Time to 99% test accuracy, lab A",
    "pairs_build": "Pair construction, lab B",
    "eval_overhead": "Evaluation overhead",
    "notebooks": "Notebook suite",
    "precision": "Training step in float32 and bf16, and the auto choice",
    "step_test_cost": "Per-step test loss against the training step, labs A and B",
}
INTRO = """\
Each benchmark times labkit and the conventional way in the same process, on the same machine, with
the same seed, the two sides interleaved run by run after a warm-up; the tables give the median of
the runs and the min–max spread. Absolute times depend on the machine and on whatever else runs on
it; the ratios are the numbers to read. Reproduce with `make bench` (`python -m bench`); the
notebook suite is off by default (`python -m bench --notebooks`)."""


def section(number: int, name: str, table, reading: str, doc: str) -> str:
    description = doc.strip().split("\n", 1)
    lines = [f"## {number}. {BENCHMARKS[name]}", "", f"`bench/{name}.py`: {description[0]}", ""]
    if len(description) > 1:
        lines += [description[1].strip(), ""]
    lines += [f"**Reading:** {reading}", ""] if table is not None else []
    lines += [markdown_table(table), ""] if table is not None else [reading, ""]
    return "\n".join(lines)


def report(machine_info: dict, sections: list[str], seconds: float) -> str:
    rows = "\n".join(f"| {key} | {value} |" for key, value in machine_info.items())
    return "\n".join([
        "# labkit benchmarks", "", INTRO, "", "## Machine", "", "| | |", "| --- | --- |", rows,
        f"| suite wall time | {seconds / 60:.1f} min |", "", *sections,
    ])


def run_all(names: list[str], quick: bool) -> dict[str, tuple]:
    """{name: (table, reading)} for the chosen benchmarks, each printed as it finishes."""
    results = {}
    for name in names:
        print(f"\n== {name}", flush=True)
        began = time.perf_counter()
        module = importlib.import_module(f"bench.{name}")
        table = module.run(quick)
        results[name] = (table, module.reading(table))
        print(markdown_table(table), results[name][1], f"({time.perf_counter() - began:.0f} s)", sep="\n", flush=True)
    return results


def sections_for(results: dict[str, tuple]) -> list[str]:
    """One section per benchmark, in the fixed order; those not run say how to run them."""
    sections = []
    for number, name in enumerate(BENCHMARKS, 1):
        doc = ast.get_docstring(ast.parse((HERE / f"{name}.py").read_text()))  # not imported: a section not run
        # needs none of its benchmark's packages (the notebook suite's nbformat, say)
        if name in results:
            sections.append(section(number, name, *results[name], doc))
        else:
            why = "pass `--notebooks`; it takes minutes" if name == "notebooks" else "not chosen with `--only`"
            sections.append(section(number, name, None, f"Not run in this report ({why}).", doc))
    return sections


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that everything runs")
    parser.add_argument("--notebooks", action="store_true", help="also time the notebook suite (slow: minutes)")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run just these benchmarks")
    parser.add_argument("--output", type=Path, help=f"where to write the report (default {RESULTS}; "
                                                    "with --quick, nowhere)")
    args = parser.parse_args(argv)
    output = args.output or (None if args.quick else RESULTS)
    wanted = set(args.only) if args.only else {name for name in BENCHMARKS if name != "notebooks" or args.notebooks}
    chosen = [name for name in BENCHMARKS if name in wanted]  # always in the report's order

    machine_info = machine()  # before the runs: the load average says how busy the machine was
    for key, value in machine_info.items():
        print(f"{key}: {value}")
    start = time.perf_counter()
    results = run_all(chosen, args.quick)
    sections = sections_for(results)
    if hasattr(os, "getloadavg"):
        machine_info["load average after"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    if args.quick:
        machine_info["mode"] = "--quick: tiny sizes, the numbers mean nothing"
    text = report(machine_info, sections, time.perf_counter() - start)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(output, lambda tmp: tmp.write_text(text))  # never half a results.md
        print(f"\nwrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
