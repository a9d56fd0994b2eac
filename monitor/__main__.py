"""`python -m monitor`."""

import sys

from monitor.cli import main

if __name__ == "__main__":  # not when a parse process imports it (multiprocessing)
    sys.exit(main())
