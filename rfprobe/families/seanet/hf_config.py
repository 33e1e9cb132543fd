"""transformers' EnCodec config as a SEANet family member: read a local `config.json`, build
transformers' encoder from it, and name the audiocraft hyperparameters it mirrors.

transformers is an optional extra (`pip install -e ".[hf]"`); nothing is fetched from a hub.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from rfprobe.errors import UsageError, shown
from rfprobe.families.seanet.config import EncoderConfig, parse_config
from rfprobe.families.seanet.yaml_reading import MAX_BYTES

# transformers EncodecConfig field -> audiocraft seanet key
FIELD_MAP = {
    "audio_channels": "channels",
    "hidden_size": "dimension",
    "num_filters": "n_filters",
    "num_residual_layers": "n_residual_layers",
    "upsampling_ratios": "ratios",
    "norm_type": "norm",
    "kernel_size": "kernel_size",
    "last_kernel_size": "last_kernel_size",
    "residual_kernel_size": "residual_kernel_size",
    "dilation_growth_rate": "dilation_base",
    "use_causal_conv": "causal",
    "pad_mode": "pad_mode",
    "compress": "compress",
    "num_lstm_layers": "lstm",
    "sampling_rate": "sample_rate",
}


def _transformers() -> Any:
    try:
        import transformers
    except ImportError:
        raise UsageError('transformers is not installed; install the extra with: pip install -e ".[hf]"') from None
    return transformers


def load_hf_config(path: str | Path) -> Any:
    """A local EncodecConfig `config.json` (never fetched from a hub)."""
    transformers = _transformers()
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise UsageError(
                f"--hf-config {path}: {path.stat().st_size} bytes; an EncodecConfig config.json is "
                f"about 2 kB (at most {MAX_BYTES} bytes)"
            )
        values = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as error:
        raise UsageError(f"--hf-config {path}: cannot read it ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise UsageError(f"--hf-config {path}: not UTF-8 text (byte {error.start}); save it as UTF-8") from None
    except json.JSONDecodeError as error:
        raise UsageError(f"--hf-config {path}: not valid JSON (line {error.lineno}); fix the syntax") from None
    except RecursionError:
        raise UsageError(f"--hf-config {path}: nested too deeply to read; a config.json is a flat mapping") from None
    if not isinstance(values, dict) or values.get("model_type", "encodec") != "encodec":
        raise UsageError(f"--hf-config {path}: not an EnCodec config (model_type must be encodec)")
    for key, value in values.items():
        if isinstance(value, (dict, list)) and key != "upsampling_ratios" and key != "target_bandwidths":
            raise UsageError(
                f"--hf-config {path}: key {shown(key)} is a {type(value).__name__}; EncodecConfig "
                "takes numbers, strings and the lists upsampling_ratios and target_bandwidths"
            )
    try:
        hf_config = transformers.EncodecConfig(**{k: v for k, v in values.items() if k != "model_type"})
        audiocraft_equivalent(hf_config, path.stem)
        for key in ("codebook_size", "codebook_dim", "num_quantizers"):
            value = getattr(hf_config, key)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1 << 20:
                raise UsageError(f"{key} must be an integer in [1, {1 << 20}], got {shown(value)}")
    except UsageError as error:
        raise UsageError(
            f"--hf-config {path}: {str(error).replace(f'transformers config {path.stem}: ', '')}"
        ) from None
    except Exception as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        detail = lines[-1] if lines else type(error).__name__  # transformers puts the reason last
        raise UsageError(
            f"--hf-config {path}: transformers refuses it ({shown(detail, 160)[1:-1]}); fix the config"
        ) from None
    return hf_config


def audiocraft_equivalent(hf_config: Any, name: str) -> EncoderConfig:
    """The audiocraft SEANetEncoder hyperparameters that transformers' encoder mirrors."""
    raw = {ours: getattr(hf_config, theirs) for theirs, ours in FIELD_MAP.items()}
    raw["ratios"] = list(raw["ratios"]) if isinstance(raw["ratios"], (list, tuple)) else raw["ratios"]
    raw["true_skip"] = not hf_config.use_conv_shortcut
    raw["description"] = f"audiocraft equivalent of transformers EncodecConfig {name}"
    return parse_config(raw, where=f"transformers config {name}", default_name=f"{name} (audiocraft)")


def build_hf_encoder(hf_config: Any, seed: int = 0) -> torch.nn.Module:
    """`transformers.EncodecModel(config).encoder`, weights drawn under `seed`."""
    transformers = _transformers()
    torch.manual_seed(seed)
    return transformers.EncodecModel(hf_config).encoder.eval()
