"""Chunk plans: how to encode a long input, or decode long codes, in pieces whose joined result
is the whole file's (torch-free arithmetic; :mod:`rfprobe.runs.chunking` proves a plan by
running the model).

Encoding. A frame's anchor is ``frame x hop``; it reads ``left`` samples before its anchor and
``right`` after. To encode frames ``[first, end)`` a chunk's input starts ``context_frames =
ceil(left / hop)`` whole hops before the first frame's anchor (on the hop grid, so the chunk's
frames are the file's frames shifted by a whole number of frames) and ends
``right_context_frames`` whole hops after the end of the last frame's own hop, the fewest that
hold its ``right`` samples; the first ``drop_frames`` frames of its output are context, and
``end - first`` frames are kept. Both contexts are whole frames: one frame less on either side
cuts samples the first or last kept frame reads. At the file's start and end the chunk is cut by the file itself
(then it reads the same padding as the whole file).

    >>> plan = EncodePlan(hop_samples=4, left_samples=6, right_samples=5)
    >>> plan.context_frames
    2
    >>> [(c.input_start_samples, c.input_end_samples, c.drop_frames, c.keep_frames)
    ...  for c in plan.chunks(total_samples=40, total_frames=10, chunk_frames=4)]
    [(0, 20, 0, 4), (8, 36, 2, 4), (24, 40, 2, 2)]

Decoding. An output sample ``n`` of frame ``k = n // hop`` reads latent frames
``[k - past, k + future]``. To decode the samples of frames ``[first, end)`` a chunk takes latent
frames ``[first - past, end + future)`` (cut by the file), and crops ``(first - start) x hop``
samples at its start.

    >>> decode = DecodePlan(hop_samples=4, past_frames=1, future_frames=2)
    >>> [(c.latent_start_frames, c.latent_end_frames, c.crop_samples, c.keep_samples)
    ...  for c in decode.chunks(total_frames=10, total_samples=40, chunk_frames=4)]
    [(0, 6, 0, 16), (3, 10, 4, 16), (7, 10, 4, 8)]
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class EncodeChunk:
    """One chunk of an encode plan: the input slice to run, and the output frames to keep."""

    first_frame: int
    input_start_samples: int
    input_end_samples: int  # exclusive
    drop_frames: int  # context frames at the start of the chunk's output
    keep_frames: int


@dataclass(frozen=True)
class EncodePlan:
    """Context for encoding in chunks, from the encoder's exact receptive field."""

    hop_samples: int
    left_samples: int
    right_samples: int

    @property
    def context_frames(self) -> int:
        """Whole hops of context before a chunk's first frame (its left extent, rounded up)."""
        return -(-self.left_samples // self.hop_samples)

    @property
    def left_context_samples(self) -> int:
        """The context before a chunk's first frame, in samples: `context_frames` whole hops."""
        return self.context_frames * self.hop_samples

    @property
    def right_context_frames(self) -> int:
        """Whole hops after the last kept frame's own hop: ``(last + 1 + this) x hop`` is the
        first multiple of the hop past ``last x hop + right``."""
        return max(-(-(self.right_samples + 1) // self.hop_samples) - 1, 0)

    @property
    def right_context_samples(self) -> int:
        """The context after the last kept frame's own hop, in samples: `right_context_frames` hops."""
        return self.right_context_frames * self.hop_samples

    def chunks(self, total_samples: int, total_frames: int, chunk_frames: int) -> list[EncodeChunk]:
        """The chunks of `chunk_frames` frames (the last one shorter) covering all `total_frames`."""
        if chunk_frames < 1:
            raise ValueError(f"a chunk needs at least one frame, not {chunk_frames}")
        chunks = []
        for first in range(0, total_frames, chunk_frames):
            keep = min(chunk_frames, total_frames - first)
            start_frame = max(first - self.context_frames, 0)
            end = min((first + keep + self.right_context_frames) * self.hop_samples, total_samples)
            chunks.append(EncodeChunk(first, start_frame * self.hop_samples, end, first - start_frame, keep))
        return chunks

    def one_less(self, side: str) -> "EncodePlan":
        """The same plan with one frame less of context on `side` ("left" or "right")."""
        if side == "left":
            return replace(self, left_samples=self.left_context_samples - self.hop_samples)
        return replace(self, right_samples=self.right_context_samples - 1)


@dataclass(frozen=True)
class DecodeChunk:
    """One chunk of a decode plan: the latent frames to run, and the output samples to keep."""

    first_frame: int
    latent_start_frames: int
    latent_end_frames: int  # exclusive
    crop_samples: int  # context samples at the start of the chunk's output
    keep_samples: int


@dataclass(frozen=True)
class DecodePlan:
    """Overlap for decoding in chunks, from the decoder's reads (max over phases)."""

    hop_samples: int
    past_frames: int
    future_frames: int

    def chunks(self, total_frames: int, total_samples: int, chunk_frames: int) -> list[DecodeChunk]:
        """The chunks of `chunk_frames` latent frames covering the whole output of `total_samples`
        (which may end short of ``total_frames x hop``: the codec trims its tail)."""
        if chunk_frames < 1:
            raise ValueError(f"a chunk needs at least one frame, not {chunk_frames}")
        chunks = []
        for first in range(0, total_frames, chunk_frames):
            end = min(first + chunk_frames, total_frames)
            start = max(first - self.past_frames, 0)
            stop = min(end + self.future_frames, total_frames)
            keep = min(end * self.hop_samples, total_samples) - first * self.hop_samples
            chunks.append(DecodeChunk(first, start, stop, (first - start) * self.hop_samples, keep))
        return chunks

    def one_less(self, side: str) -> "DecodePlan":
        """The same plan with one latent frame less of overlap on `side` ("past" or "future")."""
        if side == "past":
            return replace(self, past_frames=self.past_frames - 1)
        return replace(self, future_frames=self.future_frames - 1)
