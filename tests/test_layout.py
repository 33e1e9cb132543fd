"""The package's layers keep their roles: the arithmetic and the core's position logic need no torch."""

from __future__ import annotations

import subprocess
import sys

TORCH_FREE = [
    "rfprobe.arithmetic.geometry",
    "rfprobe.arithmetic.verdict",
    "rfprobe.arithmetic.lookahead",
    "rfprobe.core.intervals",
    "rfprobe.core.readers",
    "rfprobe.arithmetic.methods",
]

# Any attempt to import torch raises, so an import anywhere below the listed modules fails.
BLOCK_TORCH = """
import importlib.abc, sys
import pytest

pytestmark = pytest.mark.fast  # runs no model
class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch imported by a torch-free layer")
sys.meta_path.insert(0, NoTorch())
"""


def _imports_without_torch(modules: list[str]) -> subprocess.CompletedProcess:
    code = BLOCK_TORCH + "".join(f"import {module}\n" for module in modules)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_the_arithmetic_layer_and_the_cores_readers_import_without_torch():
    result = _imports_without_torch(TORCH_FREE)
    assert result.returncode == 0, result.stderr


def test_the_torch_blocker_catches_a_module_that_needs_torch():
    result = _imports_without_torch(["rfprobe.probes.gradient"])
    assert result.returncode != 0 and "torch imported by a torch-free layer" in result.stderr


def test_the_public_names_still_load_from_the_package():
    import rfprobe

    assert callable(rfprobe.probe_module) and callable(rfprobe.verify_config)
    from rfprobe.frontends.testing import assert_receptive_field

    assert callable(assert_receptive_field)
