"""Instantiate the real `SEANetEncoder` for a config, on a device, in a dtype."""

from __future__ import annotations

import warnings
from typing import Mapping

import torch
from torch import nn

from rfprobe.errors import UsageError
from rfprobe.families.seanet.config import EncoderConfig
from rfprobe.families.seanet.source import load_audiocraft


def build_encoder(
    config: EncoderConfig, seed: int = 0, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float64
) -> nn.Module:
    """audiocraft's `SEANetEncoder(**config)` with weights drawn under `seed`, in eval mode."""
    seanet = load_audiocraft().seanet
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        # audiocraft uses the deprecated torch.nn.utils.weight_norm; the warning is noise here.
        warnings.simplefilter("ignore", FutureWarning)
        encoder = seanet.SEANetEncoder(**config.seanet_kwargs())
    return encoder.to(device=device, dtype=dtype).eval()


def build_decoder(
    config: EncoderConfig,
    trim_right_ratio: float = 1.0,
    seed: int = 0,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
) -> nn.Module:
    """audiocraft's `SEANetDecoder` for an encoder config (the same architecture, mirrored), with
    weights drawn under `seed`, in eval mode."""
    seanet = load_audiocraft().seanet
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # audiocraft's deprecated weight_norm, as above
        decoder = seanet.SEANetDecoder(**config.seanet_kwargs(), trim_right_ratio=trim_right_ratio)
    return decoder.to(device=device, dtype=dtype).eval()


def load_encoder_weights(encoder: torch.nn.Module, state: Mapping[str, torch.Tensor], where: str) -> torch.nn.Module:
    """Load trained weights; a mismatch with the architecture is a usage error naming keys."""
    reference = encoder.state_dict()
    missing = sorted(set(reference) - set(state))
    unexpected = sorted(set(state) - set(reference))
    wrong_shape = sorted(k for k in set(reference) & set(state) if tuple(reference[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong_shape:
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing[:3])}" if missing else "",
                f"unexpected {', '.join(unexpected[:3])}" if unexpected else "",
                f"wrong shape {', '.join(wrong_shape[:3])}" if wrong_shape else "",
            )
            if part
        )
        raise UsageError(f"{where}: the encoder weights do not fit the configured architecture ({detail})")
    non_finite = sorted(k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all())
    if non_finite:
        raise UsageError(
            f"{where}: encoder weight {non_finite[0]} holds NaN or inf; a receptive field cannot be "
            "probed through non-finite weights: use a finite checkpoint"
        )
    encoder.load_state_dict({k: v.to(reference[k]) for k, v in state.items()})
    return encoder
