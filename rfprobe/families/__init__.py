"""The codec zoo's family seam: one file per codec family, one `ZooModel` record per row.

A family file says how to build an encoder from a local config with random weights (the
receptive field depends on the architecture only), at full width or at a `tiny` width
(small hidden sizes, same kernels, strides, dilations, padding, attention windows and
layer counts), and how to adapt its call to (batch, channels, time) -> (batch, dim, frames).
Nothing is ever downloaded.

    >>> from rfprobe.families import ZOO, find
    >>> find("dac_16khz").family
    'DAC'
    >>> len({model.name for model in ZOO}) == len(ZOO)
    True
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, field
from typing import Callable, Optional

from torch import nn

from rfprobe.errors import UsageError


class Unavailable(RuntimeError):
    """A zoo model cannot be built here (package missing, class absent); the message says why."""


@dataclass(frozen=True)
class ZooModel:
    """One row of the zoo.

    `build(tiny)` returns a module mapping (batch, channels, time) -> (batch, dim, frames),
    or raises `Unavailable`. `input_unit` is "samples" for waveform encoders; a semantic
    branch fed features (e.g. mel frames) reports its extents in those units.
    """

    name: str
    family: str
    package: str  # distribution whose version is reported (importlib.metadata)
    sample_rate: int
    channels: int
    build: Callable[[bool], nn.Module] = field(repr=False)
    kind: str  # conv | conv+lstm | conv+attention | attention
    length_multiple: int = 1  # the input length must be a multiple of this (moshi)
    hop_samples: Optional[int] = None  # None: detected
    twin_of: Optional[str] = None  # this row is the conv-only twin of that row
    input_unit: str = "samples"
    note: str = ""

    def source(self) -> str:
        """The package and its installed version, "<package> <version>" (or "<package> not installed")."""
        return f"{self.package} {package_version(self.package)}"


@dataclass(frozen=True)
class SnapshotBranch:
    """One encoder of a loaded Hugging Face snapshot (rfprobe.families.hf_snapshots), as a zoo
    row's `build` would return it: `module` maps (batch, channels, time) -> (batch, dim, frames).
    A codec with two encoders (X-codec's acoustic and semantic branches) has two branches.
    `sample_rate` is None where the input is not audio samples (mel feature frames)."""

    name: str  # "encoder", or the branch's name ("acoustic", "semantic")
    module: nn.Module = field(repr=False)
    channels: int
    sample_rate: Optional[int]
    input_unit: str = "samples"
    hop_samples: Optional[int] = None  # None: detected
    length_multiple: int = 1


def package_version(distribution: str) -> str:
    """The installed version of a distribution, or "not installed"."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def require_transformers_class(name: str):
    """`transformers.<name>`, or Unavailable naming what is missing."""
    try:
        import transformers
    except ImportError:
        raise Unavailable('transformers is not installed (pip install -e ".[hf]")') from None
    try:
        return getattr(transformers, name)
    except (AttributeError, ImportError) as error:
        raise Unavailable(f"transformers {transformers.__version__} has no {name} ({error})") from None


class Adapter(nn.Module):
    """Wraps an encoder whose call or output is not (batch, channels, time) -> (batch, dim, frames).

    `call(inner, inputs)` is a plain function (so the wrapper deep-copies cleanly).
    """

    def __init__(self, inner: nn.Module, call: Callable[[nn.Module, "object"], "object"]):
        super().__init__()
        self.inner = inner
        self.call = call

    def forward(self, inputs):
        """The wrapped encoder, run through `call`: (batch, channels, time) -> (batch, dim, frames)."""
        return self.call(self.inner, inputs)


def _all_models() -> list[ZooModel]:
    from rfprobe.families import dac, encodec, mimi, neucodec, pocket_tts, snac, wavtokenizer, xcodec, xcodec2

    models: list[ZooModel] = []
    for family in (encodec, dac, mimi, wavtokenizer, xcodec, xcodec2, neucodec, snac, pocket_tts):
        models += family.MODELS
    return models


ZOO: list[ZooModel] = _all_models()


def find(name: str) -> ZooModel:
    """The zoo model named `name`, or a UsageError listing them."""
    for model in ZOO:
        if model.name == name:
            return model
    raise UsageError(f"--only {name}: no such zoo model; choose from {', '.join(m.name for m in ZOO)}")
