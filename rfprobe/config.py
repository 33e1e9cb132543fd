"""Encoder configs: audiocraft's `seanet:` keys, plus `sample_rate` and optional `claims:`.

A config file is YAML whose keys are exactly those of audiocraft's `seanet:` section
(without its `encoder:`/`decoder:` sub-dicts). Keys left out take the values of
audiocraft's `config/model/encodec/default.yaml`. `claims:` holds figures somebody
computed by hand, to be checked against the real module.

Every problem is a :class:`UsageError` naming the file and the key.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Optional

import yaml

from .errors import UsageError

PAD_MODES = ("constant", "reflect", "replicate", "circular")
NORMS = ("none", "weight_norm", "spectral_norm", "time_group_norm")


@dataclass(frozen=True)
class ClaimedLayer:
    """One row of a hand-written layer table: what the claimant thinks a conv is."""

    name: str
    kernel: int
    stride: int = 1
    dilation: int = 1


@dataclass(frozen=True)
class Claims:
    """Figures to check. Any field may be absent (None)."""

    source: str = ""
    receptive_field_samples: Optional[int] = None
    receptive_field_ms: Optional[float] = None
    receptive_field_tokens: Optional[float] = None
    left_samples: Optional[int] = None
    right_samples: Optional[int] = None
    hop_samples: Optional[int] = None
    frame_rate_hz: Optional[float] = None
    layers: tuple[ClaimedLayer, ...] = ()


@dataclass(frozen=True)
class EncoderConfig:
    """Hyperparameters of one `SEANetEncoder`, named exactly as audiocraft names them.

    Defaults are audiocraft's `encodec/default.yaml` `seanet:` values.
    """

    sample_rate: int
    name: str = "unnamed"
    description: str = ""
    channels: int = 1
    dimension: int = 128
    n_filters: int = 32
    n_residual_layers: int = 1
    ratios: tuple[int, ...] = (8, 5, 4, 2)
    activation: str = "ELU"
    activation_params: dict = field(default_factory=lambda: {"alpha": 1.0})
    norm: str = "weight_norm"
    norm_params: dict = field(default_factory=dict)
    kernel_size: int = 7
    last_kernel_size: int = 7
    residual_kernel_size: int = 3
    dilation_base: int = 2
    causal: bool = False
    pad_mode: str = "constant"
    true_skip: bool = True
    compress: int = 2
    lstm: int = 2
    disable_norm_outer_blocks: int = 0
    claims: Optional[Claims] = None

    def seanet_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `SEANetEncoder(...)`."""
        skip = {"sample_rate", "name", "description", "claims"}
        kwargs = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        kwargs["ratios"] = list(self.ratios)
        return kwargs

    @property
    def hop_samples(self) -> int:
        hop = 1
        for ratio in self.ratios:
            hop *= ratio
        return hop


_INT_KEYS = {
    "channels": 1, "dimension": 1, "n_filters": 1, "n_residual_layers": 0, "kernel_size": 1,
    "last_kernel_size": 1, "residual_kernel_size": 1, "dilation_base": 1, "compress": 1, "lstm": 0,
    "disable_norm_outer_blocks": 0, "sample_rate": 1,
}  # key -> smallest allowed value
_BOOL_KEYS = ("causal", "true_skip")
_STR_KEYS = {"pad_mode": PAD_MODES, "norm": NORMS, "activation": None, "name": None, "description": None}
_DICT_KEYS = ("activation_params", "norm_params")
_CLAIM_INT_KEYS = ("receptive_field_samples", "left_samples", "right_samples", "hop_samples")
_CLAIM_FLOAT_KEYS = ("receptive_field_ms", "receptive_field_tokens", "frame_rate_hz")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _type_name(value: Any) -> str:
    return type(value).__name__


def _parse_claims(where: str, raw: Any) -> Claims:
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: key 'claims' must be a mapping, got {_type_name(raw)}")
    known = {"source", "layers", *_CLAIM_INT_KEYS, *_CLAIM_FLOAT_KEYS}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise UsageError(f"{where}: unknown key 'claims.{key}' (known: {', '.join(sorted(known))})")
        if key == "source":
            if not isinstance(value, str):
                raise UsageError(f"{where}: key 'claims.source' must be a string")
            values[key] = value
        elif key in _CLAIM_INT_KEYS:
            if not _is_int(value) or value < 1:
                raise UsageError(f"{where}: key 'claims.{key}' must be a positive integer, got {value!r}")
            values[key] = value
        elif key in _CLAIM_FLOAT_KEYS:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise UsageError(f"{where}: key 'claims.{key}' must be a positive number, got {value!r}")
            values[key] = float(value)
        else:
            values[key] = _parse_claimed_layers(where, value)
    return Claims(**values)


def _parse_claimed_layers(where: str, raw: Any) -> tuple[ClaimedLayer, ...]:
    if not isinstance(raw, list) or not raw:
        raise UsageError(f"{where}: key 'claims.layers' must be a non-empty list of {{name, kernel, stride, dilation}}")
    layers = []
    for index, row in enumerate(raw):
        key = f"claims.layers[{index}]"
        if not isinstance(row, dict):
            raise UsageError(f"{where}: key '{key}' must be a mapping, got {_type_name(row)}")
        unknown = set(row) - {"name", "kernel", "stride", "dilation"}
        if unknown:
            raise UsageError(f"{where}: unknown key '{key}.{sorted(unknown)[0]}' (known: name, kernel, stride, dilation)")
        for int_key in ("kernel", "stride", "dilation"):
            if int_key in row and (not _is_int(row[int_key]) or row[int_key] < 1):
                raise UsageError(f"{where}: key '{key}.{int_key}' must be a positive integer, got {row[int_key]!r}")
        if "kernel" not in row:
            raise UsageError(f"{where}: key '{key}.kernel' is missing")
        layers.append(ClaimedLayer(
            name=str(row.get("name", f"layer {index}")), kernel=row["kernel"],
            stride=row.get("stride", 1), dilation=row.get("dilation", 1)))
    return tuple(layers)


def parse_config(raw: Any, where: str, default_name: str = "unnamed") -> EncoderConfig:
    """Validate a decoded YAML mapping; `where` names its origin in error messages."""
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: expected a mapping of seanet keys at top level, got {_type_name(raw)}")
    known = {f.name for f in fields(EncoderConfig)}
    values: dict[str, Any] = {"name": default_name}
    for key, value in raw.items():
        if not isinstance(key, str) or key not in known:
            raise UsageError(f"{where}: unknown key '{key}' (known: {', '.join(sorted(known))})")
        if key in _INT_KEYS:
            if not _is_int(value):
                raise UsageError(f"{where}: key '{key}' must be an integer, got {_type_name(value)} {value!r}")
            if value < _INT_KEYS[key]:
                raise UsageError(f"{where}: key '{key}' must be >= {_INT_KEYS[key]}, got {value}")
        elif key in _BOOL_KEYS:
            if not isinstance(value, bool):
                raise UsageError(f"{where}: key '{key}' must be true or false, got {value!r}")
        elif key in _STR_KEYS:
            if not isinstance(value, str):
                raise UsageError(f"{where}: key '{key}' must be a string, got {_type_name(value)} {value!r}")
            allowed = _STR_KEYS[key]
            if allowed is not None and value not in allowed:
                raise UsageError(f"{where}: key '{key}' is {value!r}; use one of {', '.join(allowed)}")
        elif key in _DICT_KEYS:
            if not isinstance(value, dict):
                raise UsageError(f"{where}: key '{key}' must be a mapping, got {_type_name(value)}")
        elif key == "ratios":
            if not isinstance(value, list) or not value:
                raise UsageError(f"{where}: key 'ratios' must be a non-empty list of positive integers, got {value!r}")
            if not all(_is_int(ratio) and ratio >= 1 for ratio in value):
                raise UsageError(f"{where}: key 'ratios' must hold positive integers only, got {value!r}")
            value = tuple(value)
        elif key == "claims":
            value = _parse_claims(where, value)
        values[key] = value
    if "sample_rate" not in values:
        raise UsageError(f"{where}: key 'sample_rate' is missing (samples per second, e.g. 32000)")
    config = EncoderConfig(**values)
    _check_buildable(config, where)
    return config


def _check_buildable(config: EncoderConfig, where: str) -> None:
    """Reject architectures audiocraft would refuse or build degenerate."""
    if config.n_filters // config.compress < 1:
        raise UsageError(
            f"{where}: key 'compress' is {config.compress} but n_filters is {config.n_filters}: "
            "the residual branch would have 0 channels; use compress <= n_filters")
    if config.causal and config.norm == "time_group_norm":
        raise UsageError(f"{where}: key 'norm' time_group_norm is not causal; audiocraft refuses it with causal: true")
    n_blocks = len(config.ratios) + 2
    if config.disable_norm_outer_blocks > n_blocks:
        raise UsageError(
            f"{where}: key 'disable_norm_outer_blocks' is {config.disable_norm_outer_blocks}; "
            f"the encoder has only {n_blocks} blocks")
    import torch.nn  # only to validate the activation's name

    if not hasattr(torch.nn, config.activation):
        raise UsageError(f"{where}: key 'activation' is {config.activation!r}, not a torch.nn module name (e.g. ELU)")


def load_config(path: str | Path) -> EncoderConfig:
    """Read and validate one YAML config file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{path}: cannot read config ({error.strerror}); check the path") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{path}: malformed YAML{at}; fix the syntax") from None
    if raw is None:
        raise UsageError(f"{path}: the file is empty; write the seanet keys and sample_rate")
    from .audiocraft_config import from_audiocraft, is_audiocraft_config

    if is_audiocraft_config(raw):  # audiocraft's own YAML: a `seanet:` section, maybe interpolated
        return from_audiocraft(raw, where=str(path), name=path.stem).config
    return parse_config(raw, where=str(path), default_name=path.stem)
