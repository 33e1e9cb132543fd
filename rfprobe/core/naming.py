"""Which module was running when each op was recorded: names for the layer table."""

from __future__ import annotations

import torch
from torch import nn

from rfprobe.core.trace import Trace


class ModuleNames:
    """Which module was running when each node was recorded (for the layer table)."""

    def __init__(self, root: nn.Module) -> None:
        self.root = root
        self.stack: list[str] = []
        self.at_node: dict[int, str] = {}
        self.handles: list = []

    def __enter__(self) -> "ModuleNames":
        names = {id(m): n for n, m in self.root.named_modules()}

        def enter(module: nn.Module, _: object) -> None:
            self.stack.append(names.get(id(module), type(module).__name__))

        def leave(module: nn.Module, _: object, __: object) -> None:
            if self.stack:
                self.stack.pop()

        self.handles = [
            torch.nn.modules.module.register_module_forward_pre_hook(enter),
            torch.nn.modules.module.register_module_forward_hook(leave),
        ]
        return self

    def current(self) -> str:
        """The innermost module whose forward is running now ("" when none is)."""
        return self.stack[-1] if self.stack else ""

    def __exit__(self, *_: object) -> None:
        for handle in self.handles:
            handle.remove()

    def by_node(self, trace: Trace) -> dict[int, str]:
        """Node index -> its layer-table name (the outermost module around it with no other conv or RNN)."""
        modules = dict(self.root.named_modules())  # once per table: a model has hundreds of nodes
        temporal = (nn.Conv1d, nn.ConvTranspose1d, nn.Conv2d, nn.RNNBase)
        counts = {path: sum(isinstance(m, temporal) for m in module.modules()) for path, module in modules.items()}
        owners: dict[str, str] = {}
        for node in trace.graph.nodes:
            if node.module and node.module not in owners:
                owners[node.module] = self.owner(node.module, counts)
        return {index: owners[node.module] for index, node in enumerate(trace.graph.nodes) if node.module}

    @staticmethod
    def owner(name: str, temporal_counts: dict[str, int]) -> str:
        """The outermost module around `name` that holds no other conv or RNN: a conv
        wrapped in a norm wrapper in a padding wrapper is named after the outer wrapper.
        `temporal_counts`: the convs and RNNs inside each module, by its path."""
        parts = name.split(".")
        best = name
        for cut in range(len(parts) - 1, 0, -1):
            parent = ".".join(parts[:cut])
            if temporal_counts.get(parent, 0) != 1:
                break
            best = parent
        return best
