"""Shared fixtures: shipped configs, and each config verified once per test process.

The suite runs in two worker processes (pytest-xdist, `-n 2` unless told otherwise, below),
each with torch on one intra-op thread (and tells the commands it starts to do the same): its models
are small, so a second thread in one process buys little, and on a CPU shared with other
work OpenMP's barriers made the whole suite 3.6x slower (1049 s against 291 s on a shared
2-core machine, load average about 5 in both runs). On an idle 2-core machine: 95 s in one
process, 57-62 s in two.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import shutil
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported; inherited by subprocesses
# MKL's reproducible path, as `rfprobe chunk` asks for it (rfprobe.probes.threads.reproducible_blas):
# read once, at the first matrix product, so set before any test computes.
os.environ.setdefault("MKL_CBWR", "COMPATIBLE")

from pathlib import Path  # noqa: E402
from typing import Callable, TypeVar  # noqa: E402

import pytest  # noqa: E402
from filelock import FileLock  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))  # OMP_NUM_THREADS=2 etc. to override

from rfprobe.probes.device import keep_freed_memory  # noqa: E402
from rfprobe.families.seanet.config import EncoderConfig  # noqa: E402
from rfprobe.families.seanet.config_files import load_config  # noqa: E402
from rfprobe.runs.verify import Verification, verify_config  # noqa: E402

keep_freed_memory()  # as the command line does: no page faults for buffers freed and allocated again

# Two worker processes of one torch thread each use both cores of a 2-core machine (the
# suite's timing target): pass -n N on a bigger one, -n 0 or -p no:xdist for one process.
WORKERS = 2


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """`-n 2` unless -n was given, as an addopts entry would, except that without xdist
    (`-p no:xdist`) the suite still runs instead of failing on an unknown option. Not in
    the workers: xdist starts them with no -n, and they must not start workers of their own."""
    if (
        config.pluginmanager.hasplugin("xdist")
        and not hasattr(config, "workerinput")
        and config.getoption("numprocesses", None) is None
    ):
        config.option.numprocesses = WORKERS
        if config.getoption("dist", "no") in ("no", "load"):
            # A worker that runs out of tests takes some from the other one's queue: the long
            # tests (a full-width MusicGen, the README's example) no longer end the run alone.
            config.option.dist = "worksteal"


CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
SHIPPED = sorted(path.stem for path in CONFIG_DIR.glob("*.yaml"))


def shipped_config(name: str) -> EncoderConfig:
    return load_config(CONFIG_DIR / f"{name}.yaml")


_SHARED_CACHE = "RFPROBE_TEST_VERIFIED_DIR"  # set by the main process, inherited by the workers


_CACHE_PREFIX = "rfprobe-tests-"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _remove_orphaned_caches() -> None:
    """A run killed before pytest_unconfigure leaves its cache behind; its name holds the pid
    of the run that made it, so a later run removes those whose run is gone."""
    for directory in Path(tempfile.gettempdir()).glob(f"{_CACHE_PREFIX}*"):
        pid = directory.name[len(_CACHE_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and "-" in directory.name[len(_CACHE_PREFIX) :]:
            orphaned = not _process_alive(int(pid))
        else:  # named before runs put their pid in the name: orphaned once a day old
            orphaned = time.time() - directory.stat().st_mtime > 24 * 3600
        if orphaned:
            shutil.rmtree(directory, ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the main process: before any worker starts
        _remove_orphaned_caches()
        os.environ[_SHARED_CACHE] = tempfile.mkdtemp(prefix=f"{_CACHE_PREFIX}{os.getpid()}-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        shutil.rmtree(os.environ.pop(_SHARED_CACHE, ""), ignore_errors=True)


_SHARED: dict[str, object] = {}
T = TypeVar("T")


def shared_once(key: str, compute: Callable[[], T], saved_as: Callable[[T], object] = lambda value: value) -> T:
    """`compute()` once per test run, whichever worker process asks first: the others load
    its pickle (`saved_as(value)`: what of it to share) instead of running the model again."""
    if key not in _SHARED:
        directory = Path(os.environ[_SHARED_CACHE])
        saved = directory / f"{key}.pickle"
        with FileLock(str(directory / f"{key}.lock")):
            if saved.exists():
                _SHARED[key] = pickle.loads(saved.read_bytes())
            else:
                value = compute()
                saved.write_bytes(pickle.dumps(saved_as(value)))
                _SHARED[key] = value
    return _SHARED[key]  # type: ignore[return-value]


def verified(name: str) -> Verification:
    """verify_config on a shipped config, computed once per test run (it runs the real
    module) and shared by the worker processes, encoders left out (a context map rebuilds
    them from their seeds)."""
    return shared_once(
        f"verified-{name}",
        lambda: verify_config(shipped_config(name), str(CONFIG_DIR / f"{name}.yaml")),
        saved_as=lambda verification: dataclasses.replace(verification, modules={}),
    )


@pytest.fixture
def write_config(tmp_path: Path):
    """Write YAML text to a config file and return its path."""

    def write(text: str, name: str = "candidate.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
