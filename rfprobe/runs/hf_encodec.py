"""Hugging Face transformers' EnCodec encoder, and a cross-check against audiocraft's.

transformers reimplements the SEANet encoder (`EncodecEncoder`). For the same
hyperparameters both must see exactly the same input: same RF, left, right, hop and the
same supports for the edge frames of a clip. Any difference is reported as a finding.
transformers is an optional extra (`pip install -e ".[hf]"`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from rfprobe.core.clip import clip_edges
from rfprobe.families.seanet.encoder import build_encoder
from rfprobe.families.seanet.hf_config import audiocraft_equivalent, build_hf_encoder, load_hf_config
from rfprobe.probes.gradient import measured_supports
from rfprobe.probes.subject import fold_weight_norms, probe_subject
from rfprobe.runs.cost import encoder_shape
from rfprobe.runs.module_probe import probe_module
from rfprobe.runs.verify import Verification, verify_config

__all__ = ["CrossCheck", "cross_check", "hf_extra_parameters", "load_hf_config"]


def hf_extra_parameters(hf_config: Any) -> int:
    """Parameters EncodecModel builds besides the encoder: the decoder (about as many) and the codebooks."""
    equivalent = audiocraft_equivalent(hf_config, "estimate")
    return (
        encoder_shape(equivalent).parameters
        + int(hf_config.num_quantizers) * hf_config.codebook_size * hf_config.codebook_dim
    )


@dataclass(frozen=True)
class CrossCheck:
    """transformers' EnCodec against audiocraft's on the same config, and every difference found."""

    transformers: Verification
    audiocraft: Verification
    length_samples: int
    edge_frames: tuple[int, ...]
    differences: tuple[str, ...]

    @property
    def identical(self) -> bool:
        """No difference was found between the two implementations."""
        return not self.differences


def cross_check(
    hf_config: Any,
    name: str,
    length_samples: int | None = None,
    device: torch.device = torch.device("cpu"),
    dtype: torch.dtype = torch.float64,
    seeds: tuple[int, ...] = (0,),
) -> CrossCheck:
    """Probe both implementations; compare RF, left, right, hop and edge-frame supports.

    Each side is itself fully verified (all its methods must agree); one seed by default,
    since the comparison is between implementations, not between weight draws.
    """
    equivalent = audiocraft_equivalent(hf_config, name)
    hf_encoder = build_hf_encoder(hf_config)
    theirs = probe_module(
        hf_encoder,
        name=f"{name} (transformers)",
        sample_rate=hf_config.sampling_rate,
        hop_samples=equivalent.hop_samples,
        device=device,
        dtype=dtype,
        seeds=seeds,
    )
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
            differences.append(
                f"frame {frame} of a {length}-sample input: transformers reads {list(a)}, audiocraft reads {list(b)}"
            )
    return CrossCheck(
        transformers=theirs,
        audiocraft=ours,
        length_samples=length,
        edge_frames=tuple(frames),
        differences=tuple(differences),
    )
