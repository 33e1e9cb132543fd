"""Wall time per named step of a run: what `scripts/bench.py` reports, in floors, for each part
of `python scripts/probe.py` from the same run (verification, edges, effective RF, taint, ...).

A step is timed where the run calls it, never inside the probes, and the totals are written only
when the environment variable ``RFPROBE_TIMINGS`` names a file (see :func:`write_if_asked`):
a plain run pays two clock reads per step and writes nothing.

>>> reset()
>>> with timed("edges"):
...     pass
>>> sorted(step_seconds())
['edges']
>>> with timed("edges"):
...     pass
>>> len(step_seconds())  # a step run twice is summed under its one name
1
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from typing import Iterator

ENVIRONMENT_VARIABLE = "RFPROBE_TIMINGS"

_seconds: dict[str, float] = {}


@contextlib.contextmanager
def timed(name: str) -> Iterator[None]:
    """Adds the wall seconds of the block to `name`'s total (also when the block raises)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        _seconds[name] = _seconds.get(name, 0.0) + time.perf_counter() - started


def step_seconds() -> dict[str, float]:
    """Each step's total wall seconds so far, in the order the steps first ran."""
    return dict(_seconds)


def reset() -> None:
    """Forgets every total (a test, or a caller timing runs one by one)."""
    _seconds.clear()


def write_if_asked(main_started_unix_s: float) -> None:
    """Writes the totals as JSON to the file ``RFPROBE_TIMINGS`` names, if it names one:
    ``{"steps": {name: seconds}, "main_started_unix_s": ..., "finished_unix_s": ...}``: the two
    wall-clock times are for the caller to compare with its own clock (from starting the process to
    `main_started_unix_s`: the interpreter's start and rfprobe's imports)."""
    path = os.environ.get(ENVIRONMENT_VARIABLE)
    if not path:
        return
    record = {
        "steps": step_seconds(),
        "main_started_unix_s": main_started_unix_s,
        "finished_unix_s": time.time(),
    }
    try:
        with open(path, "w", encoding="utf-8") as file:
            json.dump(record, file, indent=1)
    except OSError as error:  # the run itself is done and its outputs written: say so, keep its exit code
        print(
            f"rfprobe: warning: {ENVIRONMENT_VARIABLE}={path}: cannot write the timings ({error.strerror})",
            file=sys.stderr,
        )
