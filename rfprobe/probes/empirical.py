"""What the empirical probes share: the probe window, and growing it to tell bounded from unbounded.

A probe looks at one interior output frame `n` and its neighbour `n + 1` (their shift is
the measured hop). The window is sized from an analytic guess of the extents plus a
margin of hops on each side: never a fixed audio duration, since the LSTM backward cost
grows with length. If the measured support reaches an end of the input, that side is
either wider than guessed or unbounded: the window grows on that side and the probe runs
again. A side whose support reaches the input's end at two lengths, growing with it, is
reported unbounded; a side that stops short of the end is bounded, whatever the guess was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from torch import nn

from rfprobe.arithmetic.geometry import MethodResult, ReceptiveField, Side
from rfprobe.arithmetic.lengths import round_up
from rfprobe.core.intervals import holes_between, mask_intervals

MARGIN_HOPS = 1
GROWTH_ROUNDS = 5
UNBOUNDED_ROOM_HOPS = 8


@dataclass(frozen=True)
class ProbeWindow:
    """An input of `length_samples` whose frames `frame` and `frame + 1` are probed."""

    length_samples: int
    frame: int
    hop_samples: int

    @property
    def anchor(self) -> int:
        """The probed frame's anchor: frame x hop, in samples."""
        return self.frame * self.hop_samples


def plan_window(
    left_samples: int,
    right_samples: int,
    hop_samples: int,
    left_margin_hops: int = MARGIN_HOPS,
    right_margin_hops: int = MARGIN_HOPS,
    length_multiple: int = 1,
) -> ProbeWindow:
    """Smallest window keeping frames n and n+1 `margin` hops clear of both input ends,
    its length rounded up to a multiple of `length_multiple` (extra room on the right)."""
    frame = math.ceil((left_samples + left_margin_hops * hop_samples) / hop_samples)
    length = (frame + 1) * hop_samples + right_samples + right_margin_hops * hop_samples + 1
    return ProbeWindow(length_samples=round_up(length, length_multiple), frame=frame, hop_samples=hop_samples)


@dataclass(frozen=True)
class ObservedSupport:
    """Input samples (absolute indices, inclusive) one output frame was seen to depend on."""

    first: int
    last: int
    holes: tuple[tuple[int, int], ...] = ()


@dataclass
class Observation:
    """One probe run: supports of frames n and n+1 in one window, for one seed."""

    window: ProbeWindow
    seed: int
    this_frame: ObservedSupport
    next_frame: ObservedSupport
    output_frames: int
    details: dict = field(default_factory=dict)

    def touches_start(self) -> bool:
        """Whether frame n's seen support reaches the window's first sample (so it may be cut there)."""
        return self.this_frame.first == 0

    def touches_end(self) -> bool:
        """Whether frame n's seen support reaches the window's last sample (so it may be cut there)."""
        return self.this_frame.last == self.window.length_samples - 1

    def to_json(self) -> dict:
        """The window, seed, both frames' supports and frame n's holes (in samples), and the details."""
        return {
            "length_samples": self.window.length_samples,
            "frame": self.window.frame,
            "seed": self.seed,
            "anchor_sample": self.window.anchor,
            "output_frames": self.output_frames,
            "frame_support": [self.this_frame.first, self.this_frame.last],
            "next_frame_support": [self.next_frame.first, self.next_frame.last],
            "holes": [list(h) for h in self.this_frame.holes],
            **self.details,
        }


Probe = Callable[[nn.Module, ProbeWindow, int], Observation]


class ProbeError(RuntimeError):
    """A probe could not produce a trustworthy observation; the message says why."""


class WindowTooShort(ProbeError):
    """The module returned too few frames for the window (e.g. unpadded convolutions)."""


def _measure_seed(
    probe: Probe, module: nn.Module, seed: int, guess: ReceptiveField, length_multiple: int = 1
) -> list[Observation]:
    """Run the probe, growing the window on a side whose support reaches the input's end.

    The guess decides only how hard to look, never the answer. A side the guess calls
    unbounded is settled once it reaches the end at two lengths (growing by a quarter of
    the window, at least two hops). A side the guess calls bounded that still reaches the
    end keeps doubling its room, up to GROWTH_ROUNDS runs, so that a wide bounded side is
    measured rather than mistaken for an unbounded one.
    """

    # An unbounded side beside a bounded one gets its finite part (the local ops' reach) as room:
    # the padding at that end of the input, carried to the frame by the recurrence, lands at most
    # that far in; with less room it would land right of the anchor and widen the bounded side
    # (a causal encoder with reflect padding and an LSTM read 19 samples of future, not 3, with
    # 8 hops of room). Both sides unbounded: no bounded side to spoil, so only room to show
    # growth; a long window would let a decaying recurrence's gradient underflow to exact zero
    # far back (the NaN taint proves those sides).
    def room(side: Side, other: Side) -> int:
        if not side.unbounded or not other.unbounded:
            return side.samples
        return min(side.samples, UNBOUNDED_ROOM_HOPS * guess.hop_samples)

    room = [room(guess.left, guess.right), room(guess.right, guess.left)]
    window = plan_window(room[0], room[1], guess.hop_samples, length_multiple=length_multiple)
    expect_unbounded = (guess.left.unbounded, guess.right.unbounded)
    observations: list[Observation] = []
    for _ in range(GROWTH_ROUNDS):
        try:
            observation = probe(module, window, seed)
        except WindowTooShort:
            if window.length_samples > (1 << 22):
                raise
            window = ProbeWindow(
                length_samples=round_up(2 * window.length_samples + 2 * window.hop_samples, length_multiple),
                frame=window.frame,
                hop_samples=window.hop_samples,
            )
            continue
        previous = observations[-1] if observations else None
        observations.append(observation)
        touched = (observation.touches_start(), observation.touches_end())
        touched_before = (previous.touches_start(), previous.touches_end()) if previous else (False, False)
        if all(
            not now or (before and expected) for now, before, expected in zip(touched, touched_before, expect_unbounded)
        ):
            break
        frames = window.length_samples // window.hop_samples
        grow = [
            (max(frames // 4, 2) if expected else max(frames, 4)) if now else 0
            for now, expected in zip(touched, expect_unbounded)
        ]
        window = ProbeWindow(
            length_samples=round_up(window.length_samples + (grow[0] + grow[1]) * window.hop_samples, length_multiple),
            frame=window.frame + grow[0],
            hop_samples=window.hop_samples,
        )
    if not observations:
        raise ProbeError(f"the module returned too few frames even for {window.length_samples} input samples")
    return observations


def _side(observations: list[Observation], start_side: bool, hop: int, analytic: Side) -> tuple[Side, list[int]]:
    """Extent of one side from the last observation.

    A side whose support stops short of the input's end is exact. One that reaches it is
    unbounded only when proven: the analytic side is open (a recurrence or global op on
    the path) *and* the support reached the end in the last two runs, at two lengths,
    growing with the input. Otherwise it is only "at least" what was seen.
    """

    def extent(obs: Observation) -> int:
        anchor = obs.window.frame * hop
        return anchor - obs.this_frame.first if start_side else obs.this_frame.last - anchor

    def touches(obs: Observation) -> bool:
        return obs.touches_start() if start_side else obs.touches_end()

    seen = [extent(obs) for obs in observations]
    if not touches(observations[-1]):
        return Side(seen[-1]), seen
    grew = len(observations) >= 2 and touches(observations[-2]) and seen[-1] > seen[-2]
    if analytic.unbounded and grew:
        return Side(seen[-1], unbounded=True), seen
    return Side(seen[-1], at_least=True), seen


def _measured_hop(observation: Observation, left_bounded: bool, right_bounded: bool) -> Optional[int]:
    if left_bounded:
        return observation.next_frame.first - observation.this_frame.first
    if right_bounded:
        return observation.next_frame.last - observation.this_frame.last
    return None


def _hop_from_lengths(observations: list[Observation]) -> Optional[int]:
    """With both sides unbounded, the hop is what adding samples does to the frame count."""
    for a, b in zip(observations, observations[1:]):
        added_frames = b.output_frames - a.output_frames
        added_samples = b.window.length_samples - a.window.length_samples
        if added_frames > 0 and added_samples % added_frames == 0:
            return added_samples // added_frames
    return None


def measure(
    method: str, probe: Probe, modules_by_seed: dict[int, nn.Module], guess: ReceptiveField, length_multiple: int = 1
) -> MethodResult:
    """Run `probe` for every seed and reduce to one receptive field.

    The seeds must agree exactly on every quantity; if they do not, the method reports
    no receptive field and names the disagreement (a structural dependence cannot vary
    with the weights; a seed that misses it hit an exact cancellation).
    """
    per_seed: dict[int, ReceptiveField] = {}
    evidence: dict = {"runs": []}
    for seed, module in modules_by_seed.items():
        try:
            observations = _measure_seed(probe, module, seed, guess, length_multiple)
        except ProbeError as error:
            return MethodResult(
                method=method, receptive_field=None, evidence=evidence, unavailable_reason=f"seed {seed}: {error}"
            )
        evidence["runs"].extend(obs.to_json() for obs in observations)
        last = observations[-1]
        hop = (
            _measured_hop(last, not last.touches_start(), not last.touches_end())
            or _hop_from_lengths(observations)
            or 0
        )
        left, left_seen = _side(observations, True, hop, guess.left)
        right, right_seen = _side(observations, False, hop, guess.right)
        if left.unbounded or right.unbounded:
            evidence.setdefault("unbounded_growth", {})[seed] = {
                "lengths_samples": [obs.window.length_samples for obs in observations],
                "left_seen_samples": left_seen,
                "right_seen_samples": right_seen,
            }
        per_seed[seed] = ReceptiveField(
            left=left,
            right=right,
            hop_samples=hop,
            holes=_relative_holes(last, hop),
            global_in_time=left.unbounded and right.unbounded,
        )
    first_seed, reference = next(iter(per_seed.items()))
    for seed, other in per_seed.items():
        if seed != first_seed and not _same(reference, other):
            return MethodResult(
                method=method,
                receptive_field=None,
                evidence=evidence,
                unavailable_reason=f"seeds disagree: seed {first_seed} gives {_brief(reference)}, "
                f"seed {seed} gives {_brief(other)}",
            )
    evidence["seeds"] = list(per_seed)
    return MethodResult(method=method, receptive_field=reference, evidence=evidence)


def _relative_holes(observation: Observation, hop: int) -> tuple[tuple[int, int], ...]:
    anchor = observation.window.frame * hop
    return tuple((a - anchor, b - anchor) for a, b in observation.this_frame.holes)


def _same_side(a: Side, b: Side) -> bool:
    """Two seeds saw the same side: both unbounded (however far each looked), or the same
    extent with the same "at least" flag (an "at least" side agrees with no method, but two
    seeds can see the same lower bound)."""
    if a.unbounded or b.unbounded:
        return a.unbounded and b.unbounded
    return a.samples == b.samples and a.at_least == b.at_least


def _same(a: ReceptiveField, b: ReceptiveField) -> bool:
    return (
        _same_side(a.left, b.left)
        and _same_side(a.right, b.right)
        and a.hop_samples == b.hop_samples
        and a.holes == b.holes
    )


def _brief(field_: ReceptiveField) -> str:
    return f"left {field_.left}, right {field_.right}, hop {field_.hop_samples}, holes {list(field_.holes)}"


def nonzero_runs(mask: Sequence[bool]) -> tuple[int, int, tuple[tuple[int, int], ...]]:
    """(first, last, holes) of the True entries of a 1-D mask; holes are runs of False inside."""
    intervals = mask_intervals(mask)
    if not intervals:
        raise ProbeError("the frame does not depend on any input sample")
    return intervals[0][0], intervals[-1][1], holes_between(intervals)
