"""`python -m rfprobe`: the same command as `rfprobe` and `python scripts/probe.py`."""

from rfprobe.frontends.cli import console_main

console_main()
