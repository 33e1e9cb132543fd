"""`python -m rfprobe`: the same command as `rfprobe` and `python scripts/probe.py`."""
import sys

from .cli import main

sys.exit(main())
