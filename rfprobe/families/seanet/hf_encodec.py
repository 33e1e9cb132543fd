"""Hugging Face transformers' EnCodec encoder, and a cross-check against audiocraft's.

transformers reimplements the SEANet encoder (`EncodecEncoder`). For the same
hyperparameters both must see exactly the same input: same RF, left, right, hop and the
same supports for the edge frames of a clip. Any difference is reported as a finding.
transformers is an optional extra (`pip install -e ".[hf]"`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .config import EncoderConfig, parse_config
from ...core.clip import clip_edges
from .encoder import build_encoder
from ...errors import UsageError, shown
from ...probes.gradient import measured_supports
from ...module_probe import probe_module
from ...verify import Verification, verify_config
from ...yaml_reading import MAX_BYTES
from ...subject import fold_weight_norms, probe_subject

# transformers EncodecConfig field -> audiocraft seanet key
FIELD_MAP = {
    "audio_channels": "channels", "hidden_size": "dimension", "num_filters": "n_filters",
    "num_residual_layers": "n_residual_layers", "upsampling_ratios": "ratios", "norm_type": "norm",
    "kernel_size": "kernel_size", "last_kernel_size": "last_kernel_size",
    "residual_kernel_size": "residual_kernel_size", "dilation_growth_rate": "dilation_base",
    "use_causal_conv": "causal", "pad_mode": "pad_mode", "compress": "compress", "num_lstm_layers": "lstm",
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
            raise UsageError(f"--hf-config {path}: {path.stat().st_size} bytes; an EncodecConfig config.json is "
                             f"about 2 kB (at most {MAX_BYTES} bytes)")
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
            raise UsageError(f"--hf-config {path}: key {shown(key)} is a {type(value).__name__}; EncodecConfig "
                             "takes numbers, strings and the lists upsampling_ratios and target_bandwidths")
    try:
        hf_config = transformers.EncodecConfig(**{k: v for k, v in values.items() if k != "model_type"})
        audiocraft_equivalent(hf_config, path.stem)
        for key in ("codebook_size", "codebook_dim", "num_quantizers"):
            value = getattr(hf_config, key)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1 << 20:
                raise UsageError(f"{key} must be an integer in [1, {1 << 20}], got {shown(value)}")
    except UsageError as error:
        raise UsageError(f"--hf-config {path}: {str(error).replace(f'transformers config {path.stem}: ', '')}") from None
    except Exception as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        detail = lines[-1] if lines else type(error).__name__  # transformers puts the reason last
        raise UsageError(f"--hf-config {path}: transformers refuses it ({shown(detail, 160)[1:-1]}); "
                         "fix the config") from None
    return hf_config


def hf_extra_parameters(hf_config: Any) -> int:
    """Parameters EncodecModel builds besides the encoder: the decoder (about as many) and the codebooks."""
    equivalent = audiocraft_equivalent(hf_config, "estimate")
    from ...cost import _encoder_shape

    return _encoder_shape(equivalent).parameters + int(hf_config.num_quantizers) * hf_config.codebook_size * \
        hf_config.codebook_dim


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


@dataclass(frozen=True)
class CrossCheck:
    transformers: Verification
    audiocraft: Verification
    length_samples: int
    edge_frames: tuple[int, ...]
    differences: tuple[str, ...]

    @property
    def identical(self) -> bool:
        return not self.differences


def cross_check(hf_config: Any, name: str, length_samples: int | None = None,
                device: torch.device = torch.device("cpu"), dtype: torch.dtype = torch.float64,
                seeds: tuple[int, ...] = (0,)) -> CrossCheck:
    """Probe both implementations; compare RF, left, right, hop and edge-frame supports.

    Each side is itself fully verified (all its methods must agree); one seed by default,
    since the comparison is between implementations, not between weight draws.
    """
    equivalent = audiocraft_equivalent(hf_config, name)
    hf_encoder = build_hf_encoder(hf_config)
    theirs = probe_module(hf_encoder, name=f"{name} (transformers)", sample_rate=hf_config.sampling_rate,
                          hop_samples=equivalent.hop_samples, device=device, dtype=dtype, seeds=seeds)
    ours = verify_config(equivalent, "transformers equivalent", device, dtype, seeds=seeds)
    differences = []
    for quantity in ("left", "right", "hop_samples", "global_in_time"):
        a, b = getattr(theirs.truth, quantity, None), getattr(ours.truth, quantity, None)
        if (a.agrees_with(b) if hasattr(a, "agrees_with") and b is not None else a == b) is False:
            differences.append(f"{quantity}: transformers {a}, audiocraft {b}")
    length = length_samples or 3 * equivalent.hop_samples * 8 + 123
    audiocraft_encoder = fold_weight_norms(build_encoder(equivalent))  # CPU float64, whatever the verification used
    edges = clip_edges(audiocraft_encoder, equivalent.channels, length, equivalent.hop_samples, length)
    frames_total, k, m = edges.frames, edges.left_padded_frames, edges.right_padded_frames
    frames = sorted({0, min(k, frames_total - 1), max(frames_total - m - 1, 0), frames_total - 1})
    hf_subject = probe_subject(hf_encoder, "cpu", torch.float64)
    hf_supports, _ = measured_supports(hf_subject, equivalent.channels, length, frames, seed=0)
    audiocraft_supports, _ = measured_supports(audiocraft_encoder, equivalent.channels, length, frames, seed=0)
    for frame, a, b in zip(frames, hf_supports, audiocraft_supports):
        if a != b:
            differences.append(f"frame {frame} of a {length}-sample input: transformers reads {list(a)}, "
                               f"audiocraft reads {list(b)}")
    return CrossCheck(transformers=theirs, audiocraft=ours, length_samples=length, edge_frames=tuple(frames),
                      differences=tuple(differences))
