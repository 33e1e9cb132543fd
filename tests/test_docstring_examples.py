"""The examples in the package's docstrings run, and print what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import rfprobe

PACKAGE = Path(rfprobe.__file__).parent
MODULES_WITH_EXAMPLES = sorted(
    info.name
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="rfprobe.")
    if ">>> "
    in (PACKAGE.parent / (info.name.replace(".", "/") + ("/__init__.py" if info.ispkg else ".py"))).read_text()
)


def test_the_package_has_docstring_examples():
    assert "rfprobe.probes.run" in MODULES_WITH_EXAMPLES


@pytest.mark.parametrize("name", MODULES_WITH_EXAMPLES)
def test_docstring_examples_run_as_written(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, f"{name}: {result.failed} of {result.attempted} failed"
