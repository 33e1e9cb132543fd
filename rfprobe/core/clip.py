"""The frames at a clip's two ends: which input samples each reads, padding included.

A clip of `clip_samples` is read through a shorter input with the same length modulo the
hop (:func:`probe_length`): every layer then sees the same lengths modulo its stride, so a
frame near either end reads the same samples relative to that end as in the clip. That
premise is checked, not assumed: the model is traced again one hop longer, and the end
frames' reads must move by exactly one hop while the start frames' stay where they are.
Otherwise :class:`~rfprobe.core.readers.NotUnderstood` says so and nothing is mapped.

A read that reaches an end of the input because a recurrence or a global op is on its path
(an open side) reaches that end of the clip too: it is stretched, not shifted.

    >>> import torch
    >>> conv = torch.nn.Conv1d(1, 1, kernel_size=3, stride=2, padding=1).double()
    >>> edges = clip_edges(conv, channels=1, clip_samples=1000, hop_samples=2, minimum_length_samples=16)
    >>> edges.frames, edges.left_padded_frames, edges.right_padded_frames
    (500, 1, 0)
    >>> edges.support(0).intervals, edges.support(499).intervals
    (((0, 1),), ((997, 999),))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Optional

import torch
from torch import nn

from rfprobe.core.intervals import Intervals
from rfprobe.core.readers import NotUnderstood, Reach
from rfprobe.core.trace import Trace, trace_module


@dataclass(frozen=True)
class FrameSupport:
    """Input samples one frame reads (inclusive intervals), and whether it reads padding."""

    frame: int
    intervals: Intervals
    reads_left_padding: bool
    reads_right_padding: bool

    @property
    def first(self) -> int:
        """The first input sample the frame reads."""
        return self.intervals[0][0]

    @property
    def last(self) -> int:
        """The last input sample the frame reads."""
        return self.intervals[-1][1]


def probe_length(clip_samples: int, hop_samples: int, minimum_samples: int) -> int:
    """The shortest input of at least `minimum_samples` with the clip's length modulo the hop
    (the clip itself when it is no longer than that)."""
    if clip_samples <= minimum_samples:
        return clip_samples
    return clip_samples - ((clip_samples - minimum_samples) // hop_samples) * hop_samples


def edge_probe_length(clip_samples: int, hop: int, left: int, right: int) -> int:
    """The input the edge frames are read and measured on: the clip's length modulo the hop.

    Its first half of frames stands for the clip's start and its second half for the end
    (:class:`ClipEdges`), so each half must hold the frames that read its
    end's padding (about left/hop at the start, right/hop at the end) and the few after them a
    picture shows, and a frame in one half must not read the other end: twice the wider side
    plus eight hops does all of it. The trace checks it (a frame that reads the other end
    does not move by one hop with it)."""
    return probe_length(clip_samples, hop, 2 * max(left, right) + 8 * hop)


def _moved(reach: Reach, length: int, delta: int, from_end: bool) -> Intervals:
    """`reach` (traced on `length` samples) in an input `delta` samples longer: a frame counted
    from the end moves with it; a read held at an end by an open side stays at that end. A
    frame near one end reads the other end only through a wrap (circular padding: the input
    is long enough that nothing else reaches that far), and that piece stays with the end it
    wrapped to: a start frame's piece ending at the last sample moves with the end, an end
    frame's piece starting at sample 0 stays."""
    pieces = []
    for low, high in reach.intervals:
        if from_end:
            # A piece from sample 0 that no open side holds there wrapped there: it stays.
            if low != 0 or reach.open_start:
                low, high = (0 if low == 0 else low + delta), high + delta
        elif high == length - 1:
            low, high = (low, high + delta) if reach.open_end else (low + delta, high + delta)
        pieces.append((low, high))
    return tuple(pieces)


class ClipEdges:
    """The frames near both ends of a clip, read by the core on a shorter, equivalent input."""

    def __init__(self, trace: Trace, longer: Optional[Trace], clip_samples: int, hop_samples: int) -> None:
        self.trace, self.longer = trace, longer
        self.clip_samples, self.hop_samples = clip_samples, hop_samples
        self.shift_samples = clip_samples - trace.input_length
        self.shift_frames = self.shift_samples // hop_samples
        self.frames = trace.output_length + self.shift_frames
        self._start_frames = trace.output_length // 2  # traced frames 0..half-1 stand for the clip's first ones
        self._reaches: dict[int, Reach] = {}
        traced = range(trace.output_length)
        self.left_padded_frames = self._count(traced, lambda reach: reach.padding_start)
        self.right_padded_frames = self._count(reversed(traced), lambda reach: reach.padding_end)

    def _reach(self, traced: int) -> Reach:
        """Traced frame `traced`'s read, checked to move with the end it is counted from."""
        if traced not in self._reaches:
            reach = self.trace.graph.reach(self.trace.output_node, ((traced, traced),))
            self._check_moves_by_one_hop(traced, reach, from_end=traced >= self._start_frames)
            self._reaches[traced] = reach
        return self._reaches[traced]

    def _count(self, order: Iterable[int], reads: Callable[[Reach], bool]) -> int:
        """Frames from one end that read that end's padding, up to the first that does not
        (reading one end's padding is monotone in the distance from that end)."""
        count = next((i for i, traced in enumerate(order) if not reads(self._reach(traced))), None)
        return self.frames if count is None else count  # every traced frame: every frame of the clip

    @property
    def start_frames(self) -> int:
        """How many of the clip's first frames can be read (all of them on a clip this short)."""
        return self.frames if self.shift_frames == 0 else self._start_frames

    @property
    def end_frames(self) -> int:
        """How many of the clip's last frames can be read."""
        return self.frames if self.shift_frames == 0 else self.trace.output_length - self._start_frames

    def traced_frame(self, frame: int) -> tuple[int, bool]:
        """(index on the traced input, counted from the end) of clip frame `frame`, which must lie
        near an end of the clip (within half the traced input's frames of it)."""
        if not 0 <= frame < self.frames:
            raise ValueError(f"frame {frame} outside 0..{self.frames - 1}")
        if frame < self._start_frames:
            return frame, False
        if frame >= self.frames - (self.trace.output_length - self._start_frames):
            return frame - self.shift_frames, True
        raise ValueError(
            f"frame {frame} is not near an end of the clip (frames 0..{self._start_frames - 1} "
            f"and {self.frames - self.end_frames}..{self.frames - 1} are)"
        )

    def traced_support(self, traced: int) -> FrameSupport:
        """What frame `traced` of the traced (shorter) input reads."""
        reach = self._reach(traced)
        return FrameSupport(traced, reach.intervals, reach.padding_start, reach.padding_end)

    def support(self, frame: int) -> FrameSupport:
        """The exact read of clip frame `frame` (near an end of the clip, see :meth:`traced_frame`)."""
        traced, from_end = self.traced_frame(frame)
        reach = self._reach(traced)
        intervals = _moved(reach, self.trace.input_length, self.shift_samples, from_end)
        return FrameSupport(frame, intervals, reach.padding_start, reach.padding_end)

    def _check_moves_by_one_hop(self, traced: int, reach: Reach, from_end: bool) -> None:
        if self.longer is None:
            return
        longer_frame = traced + 1 if from_end else traced
        seen = self.longer.graph.reach(self.longer.output_node, ((longer_frame, longer_frame),))
        expected = _moved(reach, self.trace.input_length, self.hop_samples, from_end)
        if seen.intervals != expected or (seen.padding_start, seen.padding_end) != (
            reach.padding_start,
            reach.padding_end,
        ):
            raise NotUnderstood(
                f"frame {traced} of a {self.trace.input_length}-sample input reads {list(reach.intervals)}, but one "
                f"hop longer the same frame{' counted from the end' if from_end else ''} reads "
                f"{list(seen.intervals)}, not {list(expected)}: the model is not periodic in its hop, so its "
                f"edges cannot be mapped to a {self.clip_samples}-sample clip"
            )


def clip_edges(
    module: nn.Module,
    channels: int,
    clip_samples: int,
    hop_samples: int,
    minimum_length_samples: int,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
) -> ClipEdges:
    """Trace `module` on an input equivalent to the clip at its ends (and one hop longer, to check
    the equivalence), ready to read the frames near both ends."""
    length = probe_length(clip_samples, hop_samples, minimum_length_samples)
    trace = trace_module(module, channels, length, device, dtype)
    longer = trace_module(module, channels, length + hop_samples, device, dtype) if length < clip_samples else None
    if longer is not None and longer.output_length != trace.output_length + 1:
        raise NotUnderstood(
            f"one hop more input ({length} -> {length + hop_samples} samples) gives "
            f"{longer.output_length - trace.output_length} more frames, not 1"
        )
    return ClipEdges(trace, longer, clip_samples, hop_samples)
