"""audiocraft's own SEANet classes, importable even from a `--no-deps` audiocraft install.

`from audiocraft.modules.seanet import SEANetEncoder` runs `audiocraft/__init__.py`, which
needs soundfile, av, xformers and more: a `pip install --no-deps audiocraft` (what rfprobe's
README installs) lacks them. This module hands out the very classes rfprobe probes, loaded
from the installed audiocraft files (see :mod:`rfprobe.families.seanet.source`):

    >>> from rfprobe.families.seanet.audiocraft import SEANetEncoder
    >>> int(SEANetEncoder(ratios=[4, 2], n_filters=4, lstm=0).hop_length)
    8

Attributes are resolved on first use, so importing rfprobe never loads audiocraft.
"""

from __future__ import annotations

from types import ModuleType

from rfprobe.families.seanet.source import load_audiocraft
from rfprobe.errors import UsageError

__all__ = ["SEANetEncoder", "SEANetDecoder", "seanet"]


def __getattr__(name: str) -> object:
    if name not in __all__:
        raise AttributeError(f"module 'rfprobe.families.seanet.audiocraft' has no attribute {name!r}")
    try:
        seanet: ModuleType = load_audiocraft().seanet
    except UsageError as error:  # `from ... import` callers expect an ImportError
        raise ImportError(str(error)) from None
    return seanet if name == "seanet" else getattr(seanet, name)
