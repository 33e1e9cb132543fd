"""Shared fixtures: shipped configs, and each config verified once per test session.

The suite runs torch on one intra-op thread (and tells the commands it starts to do the
same): its models are tiny, so a second thread buys nothing, and on a CPU shared with other
work OpenMP's barriers made the whole suite 3.6x slower (1049 s against 291 s on a shared
2-core machine, load average about 5 in both runs).
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported; inherited by subprocesses

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))  # OMP_NUM_THREADS=2 etc. to override

from rfprobe.families.seanet.config import EncoderConfig  # noqa: E402
from rfprobe.families.seanet.config_files import load_config  # noqa: E402
from rfprobe.verify import Verification, verify_config  # noqa: E402

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
SHIPPED = sorted(path.stem for path in CONFIG_DIR.glob("*.yaml"))


def shipped_config(name: str) -> EncoderConfig:
    return load_config(CONFIG_DIR / f"{name}.yaml")


_VERIFIED: dict[str, Verification] = {}


def verified(name: str) -> Verification:
    """verify_config on a shipped config, computed once per session (it runs the real module)."""
    if name not in _VERIFIED:
        _VERIFIED[name] = verify_config(shipped_config(name), str(CONFIG_DIR / f"{name}.yaml"))
    return _VERIFIED[name]


@pytest.fixture
def write_config(tmp_path: Path):
    """Write YAML text to a config file and return its path."""
    def write(text: str, name: str = "candidate.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
