"""Does a codec's quantizer mix frames? Its own latents -> codes -> latents path, proven two ways.

A quantizer's codes are integers: no gradient flows through them, so the gradient and
forward-mode probes cannot read it. Two independent methods can:

* the analytic core walks the real quantizer (its argmin over the codebook, the lookup, the
  projections) and reports which latent frames each dequantized frame reads; frame-local
  means exactly frame k for frame k (left and right extents 0, one latent frame per step);
* perturbation, run for real: the encoder's own latents of a test chord go through the
  quantizer once as they are and once with one latent frame j moved far (a seeded direction
  at several times the latents' spread); the dequantized frames that change must be frame j
  and only frame j. A perturbation that changes nothing at j proves nothing, and is reported
  as such (the check would hold vacuously, as it does for transformers' EnCodec and Mimi
  codebooks at init, which are all zeros: see rfprobe.families.codecs.seeded_codebooks).

Frame-local only when both say so; a walk that cannot read the quantizer names why and the
result is not called frame-local.

    >>> from torch import nn
    >>> class Rounding(nn.Module):  # a frame-local "quantizer": rounds each value
    ...     def forward(self, latents):
    ...         return (latents * 4).round() / 4
    >>> latents = torch.linspace(-2, 2, 4 * 30, dtype=torch.float64).view(1, 4, 30)
    >>> quantizer_locality("rounding", Rounding(), latents).frame_local
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from rfprobe.probes.threads import one_thread

PERTURBATION_SPREADS = 8.0  # how far frame j is moved, in standard deviations of the latents


@dataclass(frozen=True)
class QuantizerLocality:
    """One quantizer's reads: analytic (latent frames left / right of frame k) and perturbed."""

    codec: str
    latent_frames: int
    analytic_left_frames: Optional[int]  # None: the walk could not read it (analytic_reason says why)
    analytic_right_frames: Optional[int]
    analytic_reason: str
    perturbed_frames: tuple[int, ...]
    changed_elsewhere: tuple[tuple[int, tuple[int, ...]], ...]  # (j, the other frames that changed)
    unchanged_at_own_frame: tuple[int, ...]  # j whose own frame did not change: no evidence

    @property
    def frame_local(self) -> bool:
        """Proven frame-local: the walk reads frame k alone, and each perturbed frame changed only itself."""
        return (
            self.analytic_left_frames == 0
            and self.analytic_right_frames == 0
            and not self.changed_elsewhere
            and not self.unchanged_at_own_frame
            and bool(self.perturbed_frames)
        )

    @property
    def finding(self) -> str:
        """The finding in words: frame-local (proven), or what the walk and each perturbation showed."""
        if self.frame_local:
            return (
                f"frame-local (proven): the walk reads frame k alone; moving latent frame j changed "
                f"frame j only, for j in {list(self.perturbed_frames)} of {self.latent_frames}"
            )
        parts = []
        if self.analytic_left_frames is None:
            parts.append(f"the walk cannot read it ({self.analytic_reason})")
        elif self.analytic_left_frames or self.analytic_right_frames:
            parts.append(
                f"the walk reads {self.analytic_left_frames} frames before and {self.analytic_right_frames} after"
            )
        if self.analytic_left_frames is None and not self.changed_elsewhere and not self.unchanged_at_own_frame:
            parts.append(
                f"perturbation alone: moving latent frame j changed frame j only, for j in "
                f"{list(self.perturbed_frames)} of {self.latent_frames}"
            )
        for frame, others in self.changed_elsewhere:
            listed = (
                f"frames {list(others)}"
                if len(others) <= 6
                else f"{len(others)} other frames, {others[0]} to {others[-1]}"
            )
            parts.append(f"moving frame {frame} changed {listed}")
        if self.unchanged_at_own_frame:
            parts.append(f"moving frames {list(self.unchanged_at_own_frame)} changed nothing there (no evidence)")
        return "not proven frame-local: " + "; ".join(parts)


def _walked_frames(
    quantizer: nn.Module, latent_dim: int, frames_multiple: int = 1
) -> tuple[Optional[int], Optional[int], str]:
    from rfprobe.core.walk import walk_receptive_field

    walked = walk_receptive_field(quantizer, channels=latent_dim, length_multiple=frames_multiple)
    field = walked.receptive_field
    if field is None:
        return None, None, walked.unavailable_reason
    if field.global_in_time or field.left.unbounded or field.right.unbounded:
        return None, None, "it reads an unbounded span of frames"
    if field.hop_samples != 1 or field.left.samples is None or field.right.samples is None:
        return None, None, f"it changes the frame rate (hop {field.hop_samples})"
    return field.left.samples, field.right.samples, ""


def perturbed_frames_changed(quantizer: nn.Module, latents: torch.Tensor, frame: int, seed: int = 0) -> tuple[int, ...]:
    """The dequantized frames that change when latent frame `frame` alone is moved far."""
    generator = torch.Generator().manual_seed(seed + frame)
    direction = torch.randn(latents.shape[:-1], generator=generator, dtype=latents.dtype)
    moved = latents.clone()
    moved[..., frame] += PERTURBATION_SPREADS * latents.std() * direction
    with torch.no_grad():
        changed = (quantizer(moved) != quantizer(latents)).flatten(0, -2).any(dim=0)
    return tuple(changed.nonzero().flatten().tolist())


def quantizer_locality(
    codec: str, quantizer: nn.Module, latents: torch.Tensor, frames_multiple: int = 1
) -> QuantizerLocality:
    """`quantizer` (latents (1, dim, frames) -> dequantized latents of that shape) checked on
    `latents`: the walk, then a perturbation of frames at both ends and inside. A quantizer that
    takes only multiples of `frames_multiple` frames (SNAC's pooled levels) gets the latents cut
    to one, and the walk traces only such lengths."""
    latents = latents[..., : latents.shape[-1] - latents.shape[-1] % frames_multiple]
    frames = latents.shape[-1]
    left, right, reason = _walked_frames(quantizer, latents.shape[1], frames_multiple)
    chosen = tuple(sorted({0, 1, frames // 3, frames // 2, frames - 2, frames - 1} & set(range(frames))))
    elsewhere, unchanged = [], []
    with one_thread():
        for frame in chosen:
            changed = perturbed_frames_changed(quantizer, latents, frame)
            if frame not in changed:
                unchanged.append(frame)
            others = tuple(other for other in changed if other != frame)
            if others:
                elsewhere.append((frame, others))
    return QuantizerLocality(codec, frames, left, right, reason, chosen, tuple(elsewhere), tuple(unchanged))


def codec_quantizer_locality(name: str, tiny: bool = True, seconds: float = 1.0) -> Optional[QuantizerLocality]:
    """The zoo codec `name`'s own quantizer (None: no quantizer path here), on its encoder's
    latents of a `seconds` test chord, in float64."""
    from rfprobe.families.codecs import find_codec
    from rfprobe.runs.signals import chord_signal

    codec = find_codec(name)
    torch.manual_seed(0)
    parts = codec.build(tiny)
    if parts.quantize is None:
        return None
    encoder, quantizer = parts.encoder.double(), parts.quantize.double()
    audio = chord_signal(round(seconds * codec.row.sample_rate), codec.row.sample_rate)
    audio = audio.expand(1, codec.row.channels, -1).contiguous()
    with torch.no_grad(), one_thread():
        latents = encoder(audio)
    return quantizer_locality(name, quantizer, latents, parts.quantizer_frames_multiple)
