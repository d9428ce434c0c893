"""`python -m labkit data`: fetch MNIST if missing, verify it, say where it is."""

import argparse
import sys

from .data import MNISTError, acquire_mnist, data_root


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="labkit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    data = commands.add_parser("data", help="fetch and verify MNIST")
    data.add_argument("--root", help="folder that holds (or will hold) MNIST/raw/; default: $LABKIT_DATA or data/")
    args = parser.parse_args(argv)
    try:
        folder = acquire_mnist(args.root)
    except MNISTError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"MNIST verified (4 files, MD5 match) in {folder}  (root {data_root(args.root)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
