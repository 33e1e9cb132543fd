"""Encoder configs: audiocraft's `seanet:` keys, plus `sample_rate` and optional `claims:`.

A config file is YAML whose keys are exactly those of audiocraft's `seanet:` section
(without its `encoder:`/`decoder:` sub-dicts). Keys left out take the values of
audiocraft's `config/model/encodec/default.yaml`. `claims:` holds figures somebody
computed by hand, to be checked against the real module.

Every problem is a :class:`UsageError` naming the file and the key.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field, fields
from typing import Any, Optional

from rfprobe.arithmetic.geometry import ConvLayer
from rfprobe.errors import UsageError, first_line, shown

PAD_MODES = ("constant", "reflect", "replicate", "circular")
NORMS = ("none", "weight_norm", "spectral_norm", "time_group_norm")


# One row of a hand-written layer table: what the claimant thinks a conv is.
ClaimedLayer = ConvLayer


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
        """Samples per frame: the product of the ratios."""
        hop = 1
        for ratio in self.ratios:
            hop *= ratio
        return hop


_INT_KEYS = {
    "channels": 1,
    "dimension": 1,
    "n_filters": 1,
    "n_residual_layers": 0,
    "kernel_size": 1,
    "last_kernel_size": 1,
    "residual_kernel_size": 1,
    "dilation_base": 1,
    "compress": 1,
    "lstm": 0,
    "disable_norm_outer_blocks": 0,
    "sample_rate": 1,
}  # key -> smallest allowed value
_INT_CAPS = {"n_residual_layers": 64, "lstm": 64}  # audiocraft's encoders use 1-3 and 0-2
MAX_INT = 2**31 - 1  # any larger size is refused here; the cost estimate refuses far smaller ones
MAX_RATIOS = 32
MAX_NAME_CHARACTERS = 200
MAX_DESCRIPTION_CHARACTERS = 10_000
GROUP_NORM_PARAMS = {"eps": "a positive number", "affine": "true or false"}  # what GroupNorm(1, C, **) takes
_BOOL_KEYS = ("causal", "true_skip")
_STR_KEYS = {"pad_mode": PAD_MODES, "norm": NORMS, "activation": None, "name": None, "description": None}
_DICT_KEYS = ("activation_params", "norm_params")
_CLAIM_INT_KEYS = ("receptive_field_samples", "left_samples", "right_samples", "hop_samples")
_CLAIM_FLOAT_KEYS = ("receptive_field_ms", "receptive_field_tokens", "frame_rate_hz")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _type_name(value: Any) -> str:
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _parse_claims(where: str, raw: Any) -> Claims:
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: key 'claims' must be a mapping, got {_type_name(raw)}")
    known = {"source", "layers", *_CLAIM_INT_KEYS, *_CLAIM_FLOAT_KEYS}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise UsageError(f"{where}: unknown key 'claims.{shown(key)[1:-1]}' (known: {', '.join(sorted(known))})")
        if key == "source":
            if not isinstance(value, str):
                raise UsageError(f"{where}: key 'claims.source' must be a string")
            values[key] = value
        elif key in _CLAIM_INT_KEYS:
            if not _is_int(value) or value < 1:
                raise UsageError(f"{where}: key 'claims.{key}' must be a positive integer, got {shown(value)}")
            values[key] = value
        elif key in _CLAIM_FLOAT_KEYS:
            if not _is_number(value) or value <= 0:
                raise UsageError(f"{where}: key 'claims.{key}' must be a positive finite number, got {shown(value)}")
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
            raise UsageError(
                f"{where}: unknown key '{key}.{shown(sorted(map(str, unknown))[0])[1:-1]}' "
                "(known: name, kernel, stride, dilation)"
            )
        if not isinstance(row.get("name", ""), (str, int)):
            raise UsageError(f"{where}: key '{key}.name' must be a string, got {_type_name(row['name'])}")
        for int_key in ("kernel", "stride", "dilation"):
            if int_key in row and (not _is_int(row[int_key]) or row[int_key] < 1):
                raise UsageError(
                    f"{where}: key '{key}.{int_key}' must be a positive integer, got {shown(row[int_key])}"
                )
        if "kernel" not in row:
            raise UsageError(f"{where}: key '{key}.kernel' is missing")
        layers.append(
            ClaimedLayer(
                name=str(row.get("name", f"layer {index}"))[:MAX_NAME_CHARACTERS],
                kernel=row["kernel"],
                stride=row.get("stride", 1),
                dilation=row.get("dilation", 1),
            )
        )
    return tuple(layers)


def parse_config(raw: Any, where: str, default_name: str = "unnamed") -> EncoderConfig:
    """Validate a decoded YAML mapping; `where` names its origin in error messages."""
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: expected a mapping of seanet keys at top level, got {_type_name(raw)}")
    known = {f.name for f in fields(EncoderConfig)}
    values: dict[str, Any] = {"name": default_name}
    for key, value in raw.items():
        if not isinstance(key, str) or key not in known:
            raise UsageError(f"{where}: unknown key {shown(str(key))} (known: {', '.join(sorted(known))})")
        if key in _INT_KEYS:
            if not _is_int(value):
                raise UsageError(f"{where}: key '{key}' must be an integer, got {_type_name(value)} {shown(value)}")
            if value < _INT_KEYS[key]:
                raise UsageError(f"{where}: key '{key}' must be >= {_INT_KEYS[key]}, got {value}")
            if value > _INT_CAPS.get(key, MAX_INT):
                raise UsageError(
                    f"{where}: key '{key}' is {shown(value)}; rfprobe accepts at most {_INT_CAPS.get(key, MAX_INT)}"
                )
        elif key in _BOOL_KEYS:
            if not isinstance(value, bool):
                raise UsageError(f"{where}: key '{key}' must be true or false, got {shown(value)}")
        elif key in _STR_KEYS:
            if not isinstance(value, str):
                raise UsageError(f"{where}: key '{key}' must be a string, got {_type_name(value)} {shown(value)}")
            allowed = _STR_KEYS[key]
            if allowed is not None and value not in allowed:
                raise UsageError(f"{where}: key '{key}' is {shown(value)}; use one of {', '.join(allowed)}")
            limit = MAX_DESCRIPTION_CHARACTERS if key == "description" else MAX_NAME_CHARACTERS
            if len(value) > limit or not value.isprintable():
                raise UsageError(
                    f"{where}: key '{key}' is {shown(value)}: use at most {limit} printable characters "
                    "(no control characters)"
                )
        elif key in _DICT_KEYS:
            _check_parameters(where, key, value)
        elif key == "ratios":
            if not isinstance(value, list) or not value or len(value) > MAX_RATIOS:
                raise UsageError(
                    f"{where}: key 'ratios' must be a non-empty list of at most {MAX_RATIOS} positive "
                    f"integers, got {shown(value)}"
                )
            if not all(_is_int(ratio) and 1 <= ratio <= MAX_INT for ratio in value):
                raise UsageError(f"{where}: key 'ratios' must hold positive integers only, got {shown(value)}")
            value = tuple(value)
        elif key == "claims":
            value = _parse_claims(where, value)
        values[key] = value
    if "sample_rate" not in values:
        raise UsageError(f"{where}: key 'sample_rate' is missing (samples per second, e.g. 32000)")
    config = EncoderConfig(**values)
    _check_buildable(config, where)
    return config


def _check_parameters(where: str, key: str, value: Any) -> None:
    """`activation_params` / `norm_params`: a flat mapping of names to finite numbers, booleans or strings."""
    if not isinstance(value, dict):
        raise UsageError(f"{where}: key '{key}' must be a mapping, got {_type_name(value)}")
    for name, parameter in value.items():
        if not isinstance(name, str):
            raise UsageError(f"{where}: key '{key}' has a non-string name {shown(name)}")
        if not (_is_number(parameter) or isinstance(parameter, (bool, str)) or parameter is None):
            raise UsageError(
                f"{where}: key '{key}.{shown(name)[1:-1]}' must be a finite number, true/false or a "
                f"string, got {_type_name(parameter)} {shown(parameter)}"
            )


def _activation_class(config: EncoderConfig, where: str) -> type:
    import torch.nn.modules.activation as activations

    names = [name for name in activations.__all__ if name != "MultiheadAttention"]  # attention is no activation
    if config.activation not in names:
        raise UsageError(
            f"{where}: key 'activation' is {shown(config.activation)}, not a torch.nn activation "
            f"(e.g. ELU, ReLU, LeakyReLU, GELU, Tanh)"
        )
    return getattr(activations, config.activation)


def _check_activation(config: EncoderConfig, where: str) -> None:
    """audiocraft calls `getattr(nn, activation)(**activation_params)`: every parameter must be one the
    class takes, and the activation must run and stay finite on a small input."""
    import torch

    cls = _activation_class(config, where)
    accepted = [name for name in inspect.signature(cls).parameters if name not in ("self", "device", "dtype")]
    for name in config.activation_params:
        if name not in accepted:
            raise UsageError(
                f"{where}: key 'activation_params.{shown(name)[1:-1]}' is not a parameter of "
                f"torch.nn.{config.activation} (it takes: {', '.join(accepted) or 'nothing'}); remove it"
                + (
                    " (activation_params defaults to ELU's {alpha: 1.0}: write activation_params: {})"
                    if config.activation_params == {"alpha": 1.0}
                    else ""
                )
            )
    try:
        probe = torch.linspace(-3, 3, 16, dtype=torch.float64).view(1, 2, 8)
        output = cls(**config.activation_params).to(torch.float64)(probe)
        finite = isinstance(output, torch.Tensor) and output.shape == probe.shape and bool(torch.isfinite(output).all())
    except Exception as error:
        raise UsageError(
            f"{where}: torch.nn.{config.activation}(**{shown(config.activation_params)}) fails "
            f"({type(error).__name__}: {shown(first_line(error))[1:-1]}); "
            "fix activation_params"
        ) from None
    if not finite:
        raise UsageError(
            f"{where}: torch.nn.{config.activation}(**{shown(config.activation_params)}) does not map a "
            "signal to a finite signal of the same shape; fix activation_params"
        )


def ignored_parameters(config: EncoderConfig) -> list[str]:
    """Parameters audiocraft accepts but never uses for this config (said in a warning, not an error).

    >>> ignored_parameters(EncoderConfig(sample_rate=16000, norm="weight_norm", norm_params={"eps": 0.1}))
    ["norm_params {'eps': 0.1} is ignored: audiocraft passes norm_params only to time_group_norm's GroupNorm"]
    """
    if config.norm_params and config.norm != "time_group_norm":
        return [
            f"norm_params {shown(config.norm_params)} is ignored: audiocraft passes norm_params only to "
            "time_group_norm's GroupNorm"
        ]
    return []


def _check_buildable(config: EncoderConfig, where: str) -> None:
    """Reject architectures audiocraft would refuse or build degenerate."""
    if config.n_filters // config.compress < 1:
        raise UsageError(
            f"{where}: key 'compress' is {config.compress} but n_filters is {config.n_filters}: "
            "the residual branch would have 0 channels; use compress <= n_filters"
        )
    if config.causal and config.norm == "time_group_norm":
        raise UsageError(f"{where}: key 'norm' time_group_norm is not causal; audiocraft refuses it with causal: true")
    n_blocks = len(config.ratios) + 2
    if config.disable_norm_outer_blocks > n_blocks:
        raise UsageError(
            f"{where}: key 'disable_norm_outer_blocks' is {config.disable_norm_outer_blocks}; "
            f"the encoder has only {n_blocks} blocks"
        )
    _check_activation(config, where)
    if config.norm == "time_group_norm":
        for name, value in config.norm_params.items():
            if name not in GROUP_NORM_PARAMS:
                raise UsageError(
                    f"{where}: key 'norm_params.{shown(name)[1:-1]}' is not a GroupNorm parameter "
                    f"audiocraft can pass (it takes: {', '.join(GROUP_NORM_PARAMS)}); remove it"
                )
            valid = isinstance(value, bool) if name == "affine" else _is_number(value) and value > 0
            if not valid:
                raise UsageError(
                    f"{where}: key 'norm_params.{name}' must be {GROUP_NORM_PARAMS[name]}, got {shown(value)}"
                )
