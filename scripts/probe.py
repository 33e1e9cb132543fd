"""Verify the receptive field of the shipped SEANet encoder configs (see `--help`)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from rfprobe.frontends.cli import console_main  # noqa: E402

if __name__ == "__main__":
    console_main()
