"""Device and dtype choice, and the arithmetic settings under which probes are exact."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import warnings
from typing import Iterator

import torch

from rfprobe.errors import UsageError

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def resolve_device(name: str) -> torch.device:
    """'cpu', 'cuda', 'cuda:N' or 'auto' (cuda when available); UsageError when impossible."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            built = (
                "built without CUDA"
                if torch.version.cuda is None
                else f"CUDA {torch.version.cuda} build, no GPU visible"
            )
            raise UsageError(
                f"--device {name}: CUDA is not available (torch {torch.__version__}, {built}); "
                "use --device cpu or --device auto"
            )
        try:
            device = torch.device(name)
        except RuntimeError:
            raise UsageError(f"--device {name}: not a valid CUDA device name; use cuda or cuda:N") from None
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(
                f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) visible; use cuda:0 or --device auto"
            )
        return device
    raise UsageError(f"--device {name}: unknown device; use cpu, cuda, cuda:N or auto")


def resolve_dtype(name: str) -> torch.dtype:
    """float64 or float32 by name; anything else is a UsageError."""
    if name not in DTYPES:
        raise UsageError(f"--dtype {name}: unknown dtype; use float64 or float32")
    return DTYPES[name]


def device_description(device: torch.device) -> str:
    """ "cpu", or the CUDA device with its name."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return "cpu"


@contextlib.contextmanager
def exact_zeros() -> Iterator[None]:
    """Convolution backends that keep a structural zero exactly zero.

    FFT and Winograd convolutions (which cuDNN, and oneDNN for float32, may pick) spread
    rounding noise to positions that do not depend on the input at all; a probe reading
    "nonzero" as "depends on" would then report a receptive field that is too wide. The
    direct and im2col kernels used with these backends off multiply by exact zeros.
    """
    with warnings.catch_warnings():
        # Toggling mkldnn re-sets its TF32 flag, which warns on builds without Intel GPU support.
        warnings.simplefilter("ignore", UserWarning)
        mkldnn_off = torch.backends.mkldnn.flags(enabled=False)
        mkldnn_off.__enter__()
    try:
        with torch.backends.cudnn.flags(enabled=False):
            yield
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            mkldnn_off.__exit__(None, None, None)


@contextlib.contextmanager
def forward_mode() -> Iterator[None]:
    """What every forward-mode AD pass (`torch.func.jvp`) runs under: :func:`exact_zeros`, no
    autograd graph, and torch's math attention backend, the one scaled_dot_product_attention
    backend with forward-mode derivatives (the CPU flash kernel has none)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    with exact_zeros(), torch.no_grad(), sdpa_kernel([SDPBackend.MATH]):
        yield


# glibc's mallopt parameters (malloc.h), and the values asked for: blocks of up to 1 GiB from
# the heap rather than from mmap (glibc before 2.26 caps this at 32 MiB: the fallback), and
# the heap's top kept up to INT_MAX bytes (mallopt takes C ints).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLDS_BYTES = (1 << 30, 32 << 20)
_TRIM_THRESHOLD_BYTES = (1 << 31) - 1


def keep_freed_memory() -> bool:
    """Keep freed memory in the process for the next allocation (glibc's malloc only).

    The probes allocate and free the same large float64 buffers again and again. By default
    glibc hands every freed block above its mmap threshold back to the kernel, and the next
    allocation page-faults it in again: that system time was a quarter of
    `python scripts/probe.py` (6.5 s of 26.7 s on a 2-core machine). The process keeps its
    peak memory instead. Returns False where it does not apply (another C library, or a
    value refused): a speed setting, never a correctness one.
    """
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        return False
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    mmap_set = any(mallopt(_M_MMAP_THRESHOLD, size) for size in _MMAP_THRESHOLDS_BYTES)
    trim_set = bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES))
    return mmap_set and trim_set


def synchronize(device: torch.device) -> None:
    """Waits for the device's queued kernels (CUDA runs them asynchronously), so a timing is the work's."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
