"""Shared fixtures: shipped configs, and each config verified once per test session."""
from __future__ import annotations

from pathlib import Path

import pytest

from rfprobe.families.seanet.config import EncoderConfig
from rfprobe.families.seanet.config_files import load_config
from rfprobe.verify import Verification, verify_config

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
