"""Causal lookahead: how much future audio a frame needs before it can be emitted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from rfprobe.arithmetic.geometry import ReceptiveField, Side


@dataclass(frozen=True)
class Lookahead:
    """Samples after the frame's anchor it depends on, and after the end of its own hop.

    A frame covers the hop [anchor, anchor + hop - 1]; a streaming encoder can emit it once
    `after_hop_end_samples` more samples have arrived: its minimum algorithmic latency
    beyond the hop itself. A causal SEANet has 0 there.
    """

    after_anchor: Side
    hop_samples: int

    @property
    def after_hop_end_samples(self) -> Optional[int]:
        """Samples needed after the end of the frame's own hop (at least 0); None: unbounded future."""
        if self.after_anchor.unbounded:
            return None
        return max(self.after_anchor.samples - (self.hop_samples - 1), 0)


def lookahead_of(field: ReceptiveField) -> Lookahead:
    """The lookahead of a receptive field: its right side against its hop."""
    return Lookahead(after_anchor=field.right, hop_samples=field.hop_samples)
