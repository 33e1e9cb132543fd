"""Errors a user can fix, and how a value from the user is quoted in a message.

Every problem with what the user handed us (a config file, a device, an install step, a
run too large for the memory budget) is raised as :class:`UsageError`. The CLI prints its
message as one line and exits 2; anything else escaping is a bug in rfprobe: exit 3, the
traceback saved to a file (see :mod:`rfprobe.frontends.cli`).
"""

from __future__ import annotations

import os
import sys
from typing import Any

SHOWN_CHARACTERS = 60
# A reader that closed our output early (`rfprobe | head`): the shell's code for SIGPIPE.
EXIT_OUTPUT_CLOSED = 141


class UsageError(Exception):
    """Bad input: the message names the problem and the fix, in one line."""

    def __str__(self) -> str:
        return " ".join(super().__str__().split("\n"))


def output_closed() -> int:
    """The reader of standard output went away (`rfprobe | head`): not an error of rfprobe
    nor of the input. Point stdout at /dev/null, so the interpreter's final flush cannot
    raise again, and return :data:`EXIT_OUTPUT_CLOSED`."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_OUTPUT_CLOSED


def shown(value: Any, limit: int = SHOWN_CHARACTERS) -> str:
    """`repr(value)` cut to `limit` characters: a message quotes user input, never echoes a megabyte of it.

    >>> shown("x" * 100, limit=10)
    "'xxxxxx..."
    """
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def first_line(error: BaseException, fallback: str = "") -> str:
    """The first line of an exception's message (`fallback` when it has none): what a one-line
    report quotes.

    >>> first_line(ValueError("bad length\\nat layer 3"))
    'bad length'
    >>> first_line(KeyError(), fallback="KeyError")
    'KeyError'
    """
    text = str(error)
    return text.splitlines()[0] if text.strip() else fallback


def is_out_of_memory(error: BaseException) -> bool:
    """torch's allocators raise RuntimeError (CPU) or torch.OutOfMemoryError (CUDA), not MemoryError."""
    if isinstance(error, MemoryError):
        return True
    message = str(error)
    return isinstance(error, RuntimeError) and (
        "can't allocate memory" in message or "out of memory" in message or "not enough memory" in message
    )
