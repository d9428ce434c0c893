"""`python -m bench` (`make bench`): the benchmarks a user of the lab book cares about, written to bench/results.md.

    python -m bench                      throughput, time to 99%, precision (many minutes)
    python -m bench --notebooks          the notebook suite too (quick and full profiles: add half an hour or more)
    python -m bench --only precision     fit's step of every lab model in fp32 and bf16, and what auto picks
    python -m bench --only notebooks --profiles quick --precisions auto fp32
    python -m bench --simulate avx2      the same on this CPU with torch's and oneDNN's ISA lowered to AVX2, as on a
                                         laptop without native bf16: precision, time to 99%, the notebook suite
    python -m bench --quick              tiny sizes, prints the tables, writes nothing unless --output is given

The design studies (recipe choice, seed spread, compute bound, ...) are apart: `python -m studies`.
Each run replaces its own block of results.md: the machine as it is ("native") or the simulated one, so the
simulated rows stand beside the native ones. Benchmarks use labkit's public API only.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from bench.common import (
    RESULTS,
    SIMULATED,
    SIMULATIONS,
    check_simulation,
    machine,
    markdown_table,
    simulation,
    simulation_label,
    write_block,
)

HERE = Path(__file__).resolve().parent
BENCHMARKS = {  # name: section title, in the order they run
    "throughput": "Training throughput, lab A",
    "time_to_accuracy": "Time to 99% test accuracy, lab A",
    "precision": "fit's step in fp32 and bf16, and the auto choice",
    "notebooks": "Notebook suite",
}
SIMULATED_DEFAULT = ("time_to_accuracy", "precision", "notebooks")  # what --simulate runs unless --only says
INTRO = """\
Each benchmark times labkit and the conventional way in the same process, on the same machine, with
the same seed, the two sides interleaved run by run after a warm-up; the tables give the median of
the runs and the min–max spread. Absolute times depend on the machine and on whatever else runs on
it; the ratios are the numbers to read. The rule: no machine timing is written into labkit's docstrings
or the benchmarks'; the numbers live here, each block with its machine and date. Reproduce with
`make bench` (`python -m bench`); the notebook suite is off by default (`python -m bench --notebooks`);
`python -m bench --simulate avx2` writes the simulated AVX2 block. GPU rows: [results-gpu.md](results-gpu.md).
The design studies and their results: [studies/results.md](../studies/results.md)."""
HEADER = f"# labkit benchmarks\n\n{INTRO}\n"


def section(number: int, name: str, table, reading: str, doc: str, measured: str = "") -> str:
    description = doc.strip().split("\n", 1)
    heading = f"### {number}. {BENCHMARKS[name]}" + (f" — {measured}" if measured else "")
    lines = [heading, "", f"`bench/{name}.py`: {description[0]}", ""]
    if len(description) > 1:
        lines += [description[1].strip(), ""]
    lines += [f"**Reading:** {reading}", ""] if table is not None else []
    lines += [markdown_table(table), ""] if table is not None else [reading, ""]
    return "\n".join(lines)


def block_key() -> str:
    """The block of results.md this process writes: "native", or the simulation's ("simulated-avx2")."""
    name = simulation()
    return f"simulated-{name}" if name else "native"


def report(machine_info: dict, sections: list[str], seconds: float) -> str:
    """One block: its title (the machine as it is, or the simulated one), the machine table, the sections."""
    label = simulation_label()
    title = f"## {label[0].upper() + label[1:] if label else 'Native'}: {machine_info['cpu']}, {machine_info['date']}"
    rows = "\n".join(f"| {key} | {value} |" for key, value in machine_info.items())
    wall = f"| this run's wall time | {seconds / 60:.1f} min |"
    return "\n".join([title, "", "| | |", "| --- | --- |", rows, wall, "", *sections])


def run_all(names: list[str], quick: bool, options: dict | None = None) -> dict[str, tuple]:
    """{name: (table, reading)} for the chosen benchmarks, each printed as it finishes; `options` holds the
    keyword arguments of a benchmark's run beside `quick` ({"notebooks": {"profiles": ...}})."""
    results = {}
    for name in names:
        print(f"\n== {name}", flush=True)
        began = time.perf_counter()
        module = importlib.import_module(f"bench.{name}")
        table = module.run(quick, **(options or {}).get(name, {}))
        results[name] = (table, module.reading(table))
        print(markdown_table(table), results[name][1], f"({time.perf_counter() - began:.0f} s)", sep="\n", flush=True)
    return results


def earlier_sections(path: Path | None, key: str) -> dict[int, str]:
    """{number: text} of the sections block `key` of `path` holds from earlier runs (those that were measured)."""
    if path is None or not path.is_file():
        return {}
    text = path.read_text()
    begin, end = f"<!-- block {key}: begin -->", f"<!-- block {key}: end -->"
    if begin not in text or end not in text:
        return {}
    block = text[text.index(begin) + len(begin):text.index(end)]
    parts = re.split(r"(?m)^(?=### \d+\. )", block)[1:]
    found = {int(part.split(".", 1)[0][4:]): part.strip() for part in parts}
    return {number: part for number, part in found.items() if "Not run in this report" not in part}


def sections_for(results: dict[str, tuple], measured: str, earlier: dict[int, str]) -> list[str]:
    """One section per benchmark, in the fixed order: those run now (headed with `measured`, the machine and
    date), else the section an earlier run measured, as it was (its heading says when), else how to run it."""
    sections = []
    for number, name in enumerate(BENCHMARKS, 1):
        doc = ast.get_docstring(ast.parse((HERE / f"{name}.py").read_text()))  # not imported: a section not run
        # needs none of its benchmark's packages (the notebook suite's nbformat, say)
        if name in results:
            sections.append(section(number, name, *results[name], doc, measured))
        elif number in earlier:
            sections.append(earlier[number] + "\n")
        else:
            why = "pass `--notebooks`; it takes minutes" if name == "notebooks" else "not chosen with `--only`"
            sections.append(section(number, name, None, f"Not run in this report ({why}).", doc))
    return sections


def without_simulate(argv: list[str]) -> list[str]:
    """`argv` less `--simulate NAME` (or `--simulate=NAME`): what the re-executed process is given."""
    kept, skip = [], False
    for argument in argv:
        if skip:
            skip = False
        elif argument == "--simulate":
            skip = True
        elif not argument.startswith("--simulate="):
            kept.append(argument)
    return kept


def simulate(name: str, argv: list[str]) -> int:
    """Run `python -m bench` with `argv` less --simulate in a new process whose torch and oneDNN are limited to the
    simulation's instruction set (set before torch loads: they are read once, at import)."""
    lowered, _, label = SIMULATIONS[name]
    environment = {**os.environ, **lowered, SIMULATED: name, "LABKIT_DEVICE": "cpu"}
    print(f"{label}: re-executing with " + " ".join(f"{k}={v}" for k, v in lowered.items()), flush=True)
    return subprocess.run([sys.executable, "-m", "bench", *without_simulate(argv)], env=environment).returncode


def parser() -> argparse.ArgumentParser:
    from bench.notebooks import PRECISIONS, PROFILES

    parse = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parse.add_argument("--quick", action="store_true", help="tiny sizes: checks that everything runs")
    parse.add_argument("--notebooks", action="store_true", help="also time the notebook suite (slow: minutes)")
    parse.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run just these benchmarks")
    parse.add_argument("--profiles", nargs="+", choices=("quick", "full", "smoke"), default=list(PROFILES),
                       help="the notebook suite's profiles")
    parse.add_argument("--precisions", nargs="+", choices=("auto", "fp32", "bf16"), default=list(PRECISIONS),
                       help="the notebook suite's PRECISION")
    parse.add_argument("--simulate", choices=list(SIMULATIONS),
                       help="re-execute on this CPU with torch's and oneDNN's instruction set lowered to it")
    parse.add_argument("--output", type=Path, help=f"where to write the report (default {RESULTS}; "
                                                   "with --quick, nowhere)")
    return parse


def chosen(args) -> list[str]:
    if args.only:
        wanted = set(args.only)
    elif simulation():
        wanted = set(SIMULATED_DEFAULT)
    else:
        wanted = {name for name in BENCHMARKS if name != "notebooks" or args.notebooks}
    return [name for name in BENCHMARKS if name in wanted]  # always in the report's order


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    if args.simulate:
        if simulation():
            raise SystemExit(f"--simulate {args.simulate} inside a simulation ({simulation()}): nothing to re-execute")
        return simulate(args.simulate, argv)
    check_simulation()  # a simulated process that does not run the simulated ISA stops here
    output = args.output or (None if args.quick else RESULTS)
    names = chosen(args)

    machine_info = machine()  # before the runs: the load average says how busy the machine was
    for key, value in machine_info.items():
        print(f"{key}: {value}")
    start = time.perf_counter()
    results = run_all(names, args.quick, {"notebooks": {"profiles": tuple(args.profiles),
                                                        "precisions": tuple(args.precisions)}})
    measured = f"{machine_info['cpu']} (capability {machine_info.get('cpu capability', '?')}), {machine_info['date']}"
    sections = sections_for(results, measured, earlier_sections(output, block_key()))
    if hasattr(os, "getloadavg"):
        machine_info["load average after"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    if args.quick:
        machine_info["mode"] = "--quick: tiny sizes, the numbers mean nothing"
    text = report(machine_info, sections, time.perf_counter() - start)
    if output is not None:
        write_block(output, block_key(), text, HEADER)  # never half a results.md; the other blocks stay
        print(f"\nwrote the {block_key()} block of {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
