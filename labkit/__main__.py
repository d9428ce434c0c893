"""labkit's command line.

    python -m labkit data      fetch MNIST if missing, verify it, say where it is
    python -m labkit run [NOTEBOOK...] [--timeout S]
                               `make run` without make: MNIST, each notebook executed in place, README's results
    python -m labkit test [--full]
                               `make test` (with --full, `make test-full`) without make: each step in order,
                               stopping at the first that fails
    python -m labkit results   the results table of every notebook's metrics.json, as markdown
                               (--readme README.md rewrites the block between the results markers)
    python -m labkit grade NOTEBOOK... [--execute] [--profile full|quick|smoke] [--out grades.csv] [--timeout S]
                               labkit's requirements per notebook: PASS/FAIL/n/a/not done, points
    python -m labkit profile NAME NOTEBOOK... --out DIR
                               copies of the notebooks with the profile's parameters injected (papermill)
    python -m labkit student OUT_DIR [--source notebooks] [--force]
                               the student edition: solutions stripped, answers emptied, outputs cleared
    python -m labkit nbgrader-metadata [--check] NOTEBOOK...
                               nbgrader's cell metadata from labkit's rubric: write it, or (--check) list what is
                               out of date and exit 1
"""

import argparse
import json
import sys
from pathlib import Path

from .mnist import MNISTError, data_root, ensure_mnist
from .records import figures_root

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def results_table(figures: Path) -> str:
    """One row per trained run of every notebook: accuracies from figures/<notebook>/metrics.json."""
    lines = ["| notebook | run | model | parameters | epochs | train accuracy | test accuracy | checks passed |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for path in sorted(figures.glob("*/metrics.json")):
        metrics = json.loads(path.read_text())
        graded = [c for c in metrics["checks"] if c.get("passed") is not None]  # n/a ones left out
        passed = f"{sum(c['passed'] for c in graded)}/{len(graded)}"
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
    subparsers = parser.add_subparsers(dest="command", required=True)
    data = subparsers.add_parser("data", help="fetch and verify MNIST")
    data.add_argument("--root", help="folder that holds (or will hold) MNIST/raw/; default: $LABKIT_DATA or data/")
    results = subparsers.add_parser("results", help="results table from figures/*/metrics.json")
    results.add_argument("--readme", type=Path, help="rewrite the results block of this file instead of printing")
    from .course import commands, grade, nbgrader, profiles, student

    commands.add_run_arguments(subparsers.add_parser("run", help="execute the notebooks in place, as `make run`"))
    commands.add_test_arguments(subparsers.add_parser("test", help="lint and test everything, as `make test`"))
    grade.add_arguments(subparsers.add_parser("grade", help="grade notebooks against labkit's requirements"))
    student.add_arguments(subparsers.add_parser("student", help="write the student edition of the notebooks"))
    nbgrader.add_arguments(subparsers.add_parser("nbgrader-metadata",
                                                 help="write (or --check) nbgrader's cell metadata from the rubric"))
    profile = subparsers.add_parser("profile", help="write copies of notebooks with a profile's parameters")
    profile.add_argument("name", choices=profiles.PROFILES, metavar="NAME", help=f"one of {profiles.PROFILES}")
    profile.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK")
    profile.add_argument("--out", type=Path, required=True, help="folder for the prepared copies")
    args = parser.parse_args(argv)
    if args.command == "run":
        return commands.run(args)
    if args.command == "test":
        return commands.test(args)
    if args.command == "grade":
        return grade.run(args)
    if args.command == "student":
        return student.run(args)
    if args.command == "nbgrader-metadata":
        return nbgrader.run(args)
    if args.command == "profile":
        try:
            for path in args.notebooks:
                print(profiles.prepare(path, args.name, args.out))
        except (OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0
    if args.command == "data":
        try:
            acquisition = ensure_mnist(args.root)  # says which files failed verification, and what it did
        except MNISTError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        for note in acquisition.notes():
            print(note)
        print(f"MNIST verified (4 files, MD5 match) in {acquisition.folder}  (root {data_root(args.root)})")
        return 0
    table = results_table(figures_root())
    if args.readme:
        rewrite_readme(args.readme, table)
    else:
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
