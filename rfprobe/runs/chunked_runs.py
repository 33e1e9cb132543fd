"""Running a chunk plan: the model on each chunk of a plan, the kept parts joined.

Shared, with what counts as float64 rounding (ROUNDING), by the proofs of exact plans
(:mod:`rfprobe.runs.chunking`), the price of plans that cannot be exact
(:mod:`rfprobe.runs.context_price`) and the codecs' own chunking helpers.
"""

from __future__ import annotations

from typing import Callable

import torch

from rfprobe.arithmetic.chunking import DecodePlan, EncodePlan

Run = Callable[[torch.Tensor], torch.Tensor]
ROUNDING = 1e-14  # relative differences up to this are float64 rounding, not a missing sample


def encode_in_chunks(
    encode: Run, inputs: torch.Tensor, plan: EncodePlan, total_frames: int, chunk_frames: int
) -> torch.Tensor:
    """The frames of `inputs`, encoded chunk by chunk as `plan` says, joined."""
    pieces = []
    for chunk in plan.chunks(inputs.shape[-1], total_frames, chunk_frames):
        output = encode(inputs[..., chunk.input_start_samples : chunk.input_end_samples])
        pieces.append(output[..., chunk.drop_frames : chunk.drop_frames + chunk.keep_frames])
    return torch.cat(pieces, dim=-1)


def decode_in_chunks(
    decode: Run, latents: torch.Tensor, plan: DecodePlan, total_samples: int, chunk_frames: int
) -> torch.Tensor:
    """The samples of `latents`, decoded chunk by chunk as `plan` says, joined."""
    pieces = []
    for chunk in plan.chunks(latents.shape[-1], total_samples, chunk_frames):
        output = decode(latents[..., chunk.latent_start_frames : chunk.latent_end_frames])
        pieces.append(output[..., chunk.crop_samples : chunk.crop_samples + chunk.keep_samples])
    return torch.cat(pieces, dim=-1)
