"""Entry point for `python -m analytics`."""

import sys

from analytics.cli import main

sys.exit(main())
