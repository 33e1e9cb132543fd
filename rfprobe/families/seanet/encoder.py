"""Instantiate the real `SEANetEncoder` for a config, on a device, in a dtype."""
from __future__ import annotations

import warnings

import torch
from torch import nn

from .source import load_audiocraft
from .config import EncoderConfig


def build_encoder(config: EncoderConfig, seed: int = 0, device: torch.device | str = "cpu",
                  dtype: torch.dtype = torch.float64) -> nn.Module:
    """audiocraft's `SEANetEncoder(**config)` with weights drawn under `seed`, in eval mode."""
    seanet = load_audiocraft().seanet
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        # audiocraft uses the deprecated torch.nn.utils.weight_norm; the warning is noise here.
        warnings.simplefilter("ignore", FutureWarning)
        encoder = seanet.SEANetEncoder(**config.seanet_kwargs())
    return encoder.to(device=device, dtype=dtype).eval()
