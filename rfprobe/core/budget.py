"""The budget of a sizing trace: how large a tensor the next, longer trace may make, and, under
a :func:`time_limit`, how long it may take (predicted from the last trace, so that a run too
long for its limit stops with the reason in seconds instead of running into it)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator, Optional

import torch

from rfprobe.core.trace import Trace


def memory_budget_bytes(device: torch.device) -> int:
    """The largest single tensor a sizing trace may make: 1/32 of the free memory (a run
    holds several tensors that size at once, eager attention a few per layer)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0] // 32
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 // 32
    except OSError:
        pass
    return 1 << 29


_DEADLINES: list[float] = []  # time.monotonic() values, innermost last


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Within the block, a sizing trace predicted to end past `seconds` from now is not run."""
    _DEADLINES.append(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINES.pop()


def seconds_left() -> Optional[float]:
    """Seconds until the innermost :func:`time_limit` ends (None outside one)."""
    return _DEADLINES[-1] - time.monotonic() if _DEADLINES else None


def predicted_largest_bytes(trace: Trace, longer: int) -> float:
    """The largest tensor a run `longer` samples long makes, scaled from `trace` (linearly, or
    with the length squared where the trace held a tensor with two time axes)."""
    growth = longer / trace.input_length
    return trace.largest_tensor_bytes * (growth**2 if trace.quadratic else growth)


def over_budget(trace: Trace, longer: int, device: torch.device) -> str:
    """Why a trace `longer` samples long is not run (its predicted largest tensor is over
    the budget), or "" when it may run."""
    growth = longer / trace.input_length
    predicted = predicted_largest_bytes(trace, longer)
    budget = memory_budget_bytes(device)
    left = seconds_left()
    needed_s = trace.seconds * (growth**2 if trace.quadratic else growth)
    if left is not None and needed_s > left:
        return (
            f"a trace of {longer} samples would take about {needed_s:.0f} s (the last, of {trace.input_length} "
            f"samples, took {trace.seconds:.1f} s), past the {max(left, 0):.0f} s left of the time limit"
        )
    if predicted <= budget:
        return ""
    why = (
        "it has a tensor with two time axes (eager attention), growing with the length squared; "
        if trace.quadratic
        else ""
    )
    return (
        f"a trace of {longer} samples would make a tensor of about {predicted / 2**30:.1f} GiB "
        f"({why}the budget is {budget / 2**30:.2f} GiB, 1/32 of the free memory)"
    )
