"""The codec zoo: `python scripts/zoo.py [--only NAME ...] [--tiny] [--json PATH] [--plot DIR] [--data PATH]`.

Same as `rfprobe zoo`; see `python scripts/zoo.py --help`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rfprobe.frontends.zoo_cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
