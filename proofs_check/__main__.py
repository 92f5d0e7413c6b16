"""``python -m proofs_check``: run every check of arXiv 2009.11848 and print a table."""

from __future__ import annotations

import sys

from proofs_check._framework import main

if __name__ == "__main__":
    sys.exit(main())
