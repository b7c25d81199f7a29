"""Run the camfilters benchmark from a checkout: ``python benchmarks/bench.py [--quick] [--json out.json]``.

The same as ``camfilters bench``; see ``--help`` and `camfilters.bench`.
"""

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from camfilters import bench  # noqa: E402
from camfilters.errors import CamfiltersError  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bench.py")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    bench.configure_parser(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="bench: %(message)s")
    try:
        sys.exit(bench.main(args))
    except CamfiltersError as exc:
        sys.exit(f"bench: error: {exc}")
