"""Run the camfilters benchmark from a checkout: ``python benchmarks/bench.py [--quick] [--json out.json]``.

The same as ``camfilters bench``; see ``--help`` and the `camfilters.bench` package.
"""

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from camfilters.bench.options import configure_parser  # noqa: E402
from camfilters.bench.run import main  # noqa: E402
from camfilters.errors import CamfiltersError  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bench.py")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    configure_parser(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="bench: %(message)s")
    try:
        sys.exit(main(args))
    except CamfiltersError as exc:
        sys.exit(f"bench: error: {exc}")
