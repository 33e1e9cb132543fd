"""`python -m rfprobe`: the same command as `rfprobe` and `python scripts/probe.py`."""

import sys

from rfprobe.frontends.cli import main

sys.exit(main())
