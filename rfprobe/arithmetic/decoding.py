"""Torch-free records of a decoder's receptive field and of a codec's round trip.

Conventions. A decoder maps latent frames to samples with `hop` samples per frame; output
sample n = k x hop + p has frame k = n // hop and phase p = n % hop. Its *reads* are the
latent frames it depends on, relative to k: [low, high]. Past frames = max over phases of
-low, future frames (the decoder's lookahead) = max over phases of high. One latent frame j
*influences* the output samples [low, high] relative to j x hop.

The round trip decode(encode(x)) maps samples to samples: output sample n reads the input
samples n - left .. n + right. Its latency is the largest right extent over the phases: output
sample n can be made once input sample n + right has arrived. That wait already holds the
buffering of a frame-based codec (the first sample of a frame waits for the other hop - 1 samples
of its hop before the frame is encoded), so latency = buffering + lookahead, split at the phase
p that needs the most: buffering is its wait for the rest of its hop, min(hop - 1 - p, right),
and lookahead the input it needs beyond its frame's own hop. Adding a whole hop of buffering on
top of the right extent would count that wait twice: EnCodec 24 kHz, causal, has a right extent
of 319 samples (13.3 ms, the paper's "320 samples"), not 639.

    >>> reach_from_reads({0: Span(-1, 0), 1: Span(0, 1)}, hop=2)
    Span(low=-1, high=2, low_unbounded=False, high_unbounded=False)
    >>> field = DecoderField("x", 2, 16000, {0: Span(-1, 0), 1: Span(0, 1)}, Span(-1, 2), {}, None)
    >>> field.past_frames, field.future_frames
    (1, 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from rfprobe.arithmetic.geometry import Side


@dataclass(frozen=True)
class Span:
    """An interval with possibly unbounded ends."""

    low: int
    high: int
    low_unbounded: bool = False
    high_unbounded: bool = False

    @property
    def count(self) -> Optional[int]:
        """How many positions the span holds; None when an end is unbounded."""
        return None if self.low_unbounded or self.high_unbounded else self.high - self.low + 1

    def agrees_with(self, other: Optional["Span"]) -> bool:
        """Equal ends; an unbounded end only has to be unbounded in both."""
        if other is None:
            return False
        return Side(self.low, self.low_unbounded).agrees_with(Side(other.low, other.low_unbounded)) and Side(
            self.high, self.high_unbounded
        ).agrees_with(Side(other.high, other.high_unbounded))

    def describe(self, unit: str) -> str:
        """The span as "[-2 .. +1] <unit>"; an unbounded end reads "unbounded past" / "unbounded future"."""
        low = "unbounded past" if self.low_unbounded else f"{self.low:+d}"
        high = "unbounded future" if self.high_unbounded else f"{self.high:+d}"
        return f"[{low} .. {high}] {unit}"


def reach_from_reads(reads: dict[int, Span], hop: int) -> Span:
    """Output samples one latent frame influences, relative to its anchor: the inverse of the
    reads (sample m x hop + p is reached when -high_p <= m <= -low_p)."""
    low = min(-span.high * hop + phase for phase, span in reads.items())
    high = max(-span.low * hop + phase for phase, span in reads.items())
    return Span(
        low,
        high,
        low_unbounded=any(s.high_unbounded for s in reads.values()),
        high_unbounded=any(s.low_unbounded for s in reads.values()),
    )


def reads_agree(analytic: dict[int, Span], measured: dict[int, Span]) -> bool:
    """Every measured phase is an analytic phase with an agreeing span (and one was measured)."""
    return bool(measured) and all(p in analytic and analytic[p].agrees_with(s) for p, s in measured.items())


def max_extent(spans: list[Span], past: bool) -> Optional[int]:
    """Max over phases of -low (past) or high (future); None when any phase is unbounded there."""
    if any(s.low_unbounded if past else s.high_unbounded for s in spans):
        return None
    return max(-s.low if past else s.high for s in spans)


@dataclass(frozen=True)
class DecoderField:
    """A decoder's reads per phase and one frame's influence, analytic and measured."""

    name: str
    hop_samples: int
    sample_rate: int
    reads_by_phase: dict[int, Span]  # analytic: phase -> latent frames relative to k = n // hop
    influence: Span  # analytic: output samples relative to j x hop
    measured_reads: dict[int, Span]  # gradient probe, at the phases it checked
    measured_influence: Optional[Span]  # forward-mode probe
    output_shortfall_samples: int = 0  # frames x hop minus the decoder's output length (trimmed tail)

    @property
    def past_frames(self) -> Optional[int]:
        """Latent frames before k that some phase reads; None: unbounded past."""
        return max_extent(list(self.reads_by_phase.values()), past=True)

    @property
    def future_frames(self) -> Optional[int]:
        """The decoder's lookahead in latent frames; None: unbounded future."""
        return max_extent(list(self.reads_by_phase.values()), past=False)

    @property
    def agrees(self) -> bool:
        """Analytic and measured agree: the reads at every measured phase, and one frame's influence."""
        return reads_agree(self.reads_by_phase, self.measured_reads) and self.influence.agrees_with(
            self.measured_influence
        )


@dataclass(frozen=True)
class RoundTrip:
    """decode(quantize(encode(x))): input samples each output phase reads, analytic and measured.

    Spans are relative to the output sample n: [-left, +right].
    """

    name: str
    hop_samples: int
    sample_rate: int
    quantizer: str  # "skipped (latents decoded as encoded)" or what ran
    reads_by_phase: dict[int, Span]
    measured_reads: dict[int, Span]
    undecided: str = ""  # a method that could not decide, by name, and why (then never `agrees`)

    @property
    def left_samples(self) -> Optional[int]:
        """Input samples before the output sample that some phase reads; None: unbounded past."""
        return max_extent(list(self.reads_by_phase.values()), past=True)

    @property
    def right_samples(self) -> Optional[int]:
        """Input samples after the output sample that some phase reads; None: unbounded future."""
        return max_extent(list(self.reads_by_phase.values()), past=False)

    @property
    def latency_samples(self) -> Optional[int]:
        """How far ahead of an output sample its input must have arrived (the right extent), the wait
        for the frame's own hop included; None: unbounded."""
        return self.right_samples

    @property
    def buffering_samples(self) -> Optional[int]:
        """The part of the latency spent waiting for the rest of a frame's hop, at the phase p that needs
        the most input ahead (the smallest such phase): min(hop - 1 - p, right); None: unbounded."""
        right = self.right_samples
        if right is None:
            return None
        phase = min(p for p, span in self.reads_by_phase.items() if span.high == right)
        return max(min(self.hop_samples - 1 - phase, right), 0)

    @property
    def lookahead_samples(self) -> Optional[int]:
        """The rest of the latency: input needed beyond the frame's own hop (0 for a causal codec)."""
        right, buffering = self.right_samples, self.buffering_samples
        return None if right is None or buffering is None else right - buffering

    def ms(self, samples: Optional[int]) -> Optional[float]:
        """A count of samples at this round trip's rate, in milliseconds (None stays None)."""
        return None if samples is None else 1000.0 * samples / self.sample_rate

    @property
    def agrees(self) -> bool:
        """Every measured phase agrees with the analytic reads, and no method was left undecided."""
        return not self.undecided and reads_agree(self.reads_by_phase, self.measured_reads)
