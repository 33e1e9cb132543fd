"""The recorded op graph, and the backward walk from output positions to input samples.

Node 0 is the model's input; every other node is one tensor an op produced that depends
on it, in the order the ops ran (so a reverse sweep visits consumers before producers).
A node has a time axis of `length` positions, or none (`length` 1, `timeless`): a value
reduced over time, or one step picked out of it; eager attention's scores and weights
have a second one (`keys`), and are read entry by entry. Each node lists, per input node it
depends on, the reader that maps its positions to that input's. Python and numpy; no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from rfprobe.core.intervals import Intervals
from rfprobe.core.readers import Everything, NotUnderstood, Pad, Reach, Recurrence


@dataclass
class Node:
    """One input-dependent tensor of a trace: the op that made it, its time axis and length, what it reads."""

    op: str
    length: int
    time_dim: Optional[int]  # None: no time axis
    reads: list = field(default_factory=list)  # [(input node index, reader)]
    refusal: str = ""  # set when the op producing this node is not understood
    module: str = ""  # the module whose forward was running (for the layer table)
    keys: int = 0  # length of a second time axis (eager attention's keys); 0: none

    @property
    def paired(self) -> bool:
        """Two time axes (queries x keys): requests to it are entries, not intervals."""
        return self.keys > 0

    @property
    def timeless(self) -> bool:
        """No time axis (a value reduced over time, or one step picked out of it)."""
        return self.time_dim is None


@dataclass
class Graph:
    """The trace's nodes in the order the ops ran (node 0 is the input), and a refusal if one was met."""

    nodes: list[Node] = field(default_factory=list)
    refusal: str = ""  # something in the run that makes every answer untrustworthy

    def add(self, node: Node) -> int:
        """Append `node` and return its index in the graph."""
        self.nodes.append(node)
        return len(self.nodes) - 1

    def first_refusal_above(self, nodes: list[int]) -> str:
        """The refusal of the earliest-made refused node among `nodes` and what they read ("": none)."""
        seen: set[int] = set()
        stack, refused = list(nodes), []
        while stack:
            index = stack.pop()
            if index in seen:
                continue
            seen.add(index)
            if self.nodes[index].refusal:
                refused.append(index)
            stack.extend(source for source, _ in self.nodes[index].reads)
        return self.nodes[min(refused)].refusal if refused else ""

    def reach(self, output: int, positions: Intervals, local_only: bool = False) -> Reach:
        """The input samples (node 0) that `positions` of node `output` read, with flags.

        Padding and axis ends met anywhere on the way are carried to the answer, so a
        caller can tell a truncated set from a complete one. With `local_only`, a recurrence
        or a global op that keeps the time axis reads each position itself: the reach of the
        local ops alone, the finite part of an unbounded side.
        """
        if self.refusal:
            raise NotUnderstood(self.refusal)
        requests: dict[int, Reach] = {output: Reach(positions)}
        for index in range(output, 0, -1):
            request = requests.pop(index, None)
            if request is None or request.empty:
                continue
            node = self.nodes[index]
            if node.refusal:
                raise NotUnderstood(node.refusal)
            read_at: Any = request.entries if node.paired else request.intervals
            for source, reader in node.reads:
                if local_only and isinstance(reader, (Recurrence, Everything)) and reader.input_length == node.length:
                    reached = Reach(request.intervals).carrying(request)
                else:
                    read = reader.read(read_at)
                    _refuse_a_wrapped_open_side(node, reader, read, request)
                    reached = read.carrying(request)
                reached = self._met_ends(source, reached)
                requests[source] = requests[source].union(reached) if source in requests else reached
        return requests.get(0, Reach(()))

    def ancestors(self, output: int) -> set[int]:
        """The nodes `output` depends on, itself included (ops whose results it never uses are not)."""
        found = {output}
        for index in range(output, 0, -1):
            if index in found:
                found.update(source for source, _ in self.nodes[index].reads)
        return found

    def _met_ends(self, index: int, reach: Reach) -> Reach:
        """Flag a read that includes the first or last position of a time axis: the
        set may have been cut there, so a frame reading it is not interior."""
        node = self.nodes[index]
        if node.timeless or node.paired or not reach.intervals:
            return reach
        start = reach.intervals[0][0] == 0
        end = reach.intervals[-1][1] == node.length - 1
        return reach.meeting_ends(start, end)


def _refuse_a_wrapped_open_side(node: Node, reader: object, read: Reach, request: Reach) -> None:
    """A read carried to an end of the input by a recurrence or global op (an open side) that
    then meets a circular pad at that end wraps around to the *other* end: every frame reads
    the input's last (first) samples, at any length, across a gap that grows with the length.
    No (left, right) receptive field describes that, so the core says so instead of sizing
    the input forever."""
    if not (isinstance(reader, Pad) and reader.mode == "circular"):
        return
    # Open on both sides already (a global op), the frame reads everything: the wrap adds nothing.
    if (request.open_start and read.padding_start and not request.open_end) or (
        request.open_end and read.padding_end and not request.open_start
    ):
        opened = ", ".join(request.via) or "a recurrence"
        raise NotUnderstood(
            f"circular padding ({node.op}) wraps what {opened} carries from one end of the input "
            "to the other: every frame reads samples at both ends, at any length, so no (left, "
            "right) receptive field describes it (use another pad mode)"
        )
