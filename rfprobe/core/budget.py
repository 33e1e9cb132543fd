"""The memory budget of a sizing trace: how large a tensor the next, longer trace may make."""
from __future__ import annotations

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

def over_budget(trace: Trace, longer: int, device: torch.device) -> str:
    """Why a trace `longer` samples long is not run (its predicted largest tensor is over
    the budget), or "" when it may run."""
    growth = longer / trace.input_length
    predicted = trace.largest_tensor_bytes * (growth ** 2 if trace.quadratic else growth)
    budget = memory_budget_bytes(device)
    if predicted <= budget:
        return ""
    why = "it has a tensor with two time axes (eager attention), growing with the length squared; " \
        if trace.quadratic else ""
    return (f"a trace of {longer} samples would make a tensor of about {predicted / 2**30:.1f} GiB "
            f"({why}the budget is {budget / 2**30:.2f} GiB, 1/32 of the free memory)")
