"""labkit's command line.

    python -m labkit data      fetch MNIST if missing, verify it, say where it is
    python -m labkit results   the results table of every notebook's metrics.json, as markdown
                               (--readme README.md rewrites the block between the results markers)
"""

import argparse
import json
import sys
from pathlib import Path

from .mnist import MNISTError, acquire_mnist, data_root
from .records import figures_root

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def results_table(figures: Path) -> str:
    """One row per trained run of every notebook: accuracies from figures/<notebook>/metrics.json."""
    lines = ["| notebook | run | model | parameters | epochs | train accuracy | test accuracy | checks passed |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for path in sorted(figures.glob("*/metrics.json")):
        metrics = json.loads(path.read_text())
        passed = f"{sum(c['passed'] for c in metrics['checks'])}/{len(metrics['checks'])}"
        for name, run in metrics["runs"].items():
            lines.append(f"| {metrics['notebook']} | {name} | {run['model']} | {run['parameters']:,} | {run['epochs']} "
                         f"| {run['train_accuracy']:.4f} | {run['test_accuracy']:.4f} | {passed} |")
        if not metrics["runs"]:
            lines.append(f"| {metrics['notebook']} | (no training) | | | | | | {passed} |")
    return "\n".join(lines)


def rewrite_readme(readme: Path, table: str) -> None:
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"error: {readme} has no {BEGIN} ... {END} block to rewrite")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    readme.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="labkit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    data = commands.add_parser("data", help="fetch and verify MNIST")
    data.add_argument("--root", help="folder that holds (or will hold) MNIST/raw/; default: $LABKIT_DATA or data/")
    results = commands.add_parser("results", help="results table from figures/*/metrics.json")
    results.add_argument("--readme", type=Path, help="rewrite the results block of this file instead of printing")
    args = parser.parse_args(argv)
    if args.command == "data":
        try:
            folder = acquire_mnist(args.root)
        except MNISTError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"MNIST verified (4 files, MD5 match) in {folder}  (root {data_root(args.root)})")
        return 0
    table = results_table(figures_root())
    if args.readme:
        rewrite_readme(args.readme, table)
    else:
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
