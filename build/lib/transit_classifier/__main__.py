"""``python -m transit_classifier predict ...``: the same command line as ``transit-classifier``."""

import sys

from transit_classifier.serve.cli import main

if __name__ == "__main__":
    sys.exit(main())
