"""The command lines' argument parser: a usage error is one line and exit 2, never argparse's
usage block (the CLI prints a :class:`~rfprobe.errors.UsageError` as one line)."""

from __future__ import annotations

import argparse
from typing import Any

from rfprobe.errors import UsageError


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors raise :class:`UsageError` as ``<prefix><message>; see <help>``."""

    def __init__(self, prefix: str, help_hint: str, **options: Any) -> None:
        super().__init__(**options)
        self.prefix, self.help_hint = prefix, help_hint

    def error(self, message: str) -> None:  # type: ignore[override]
        """Raise a one-line UsageError instead of printing argparse's usage block and exiting."""
        raise UsageError(f"{self.prefix}{message}; see {self.help_hint}")
