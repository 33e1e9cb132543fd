"""Recurrences (LSTM, GRU, plain RNNs), recorded whole: on CPU they decompose into one op
per step.
"""

from __future__ import annotations

import torch

from rfprobe.core.call import Call, Output
from rfprobe.core.readers import Everything, Recurrence
from rfprobe.core.registry import register_rule


@register_rule("lstm", high_level=torch.lstm)
@register_rule("gru", high_level=torch.gru)
@register_rule("rnn_tanh", high_level=torch.rnn_tanh)
@register_rule("rnn_relu", high_level=torch.rnn_relu)
def recurrence(call: Call) -> list[Output]:
    """torch.lstm / gru / rnn_tanh / rnn_relu (what nn.LSTM, nn.GRU, nn.RNN call)."""
    name = call.name
    packed = isinstance(call.args[1], torch.Tensor) if name == "lstm" else isinstance(call.args[2], torch.Tensor)
    if packed:
        return call.refuse("packed sequences are not understood")
    data = call.args[0]
    info = call.tracked(data)
    batch_first, bidirectional = bool(call.args[-1]), bool(call.args[-2])
    expected = 1 if batch_first else 0
    if info is None:
        return call.refuse("a recurrence whose initial state depends on the input")
    if info.time_dim != expected:
        return call.refuse(f"a recurrence over dim {expected}, but the time axis is dim {info.time_dim}")
    reader = Recurrence(info.length, f"{name.upper()} (recurrence over time)", bidirectional)
    out = call.outputs[0]
    states = Everything(info.length, f"{name.upper()} final state")
    return [Output(expected, out.shape[expected], [(info.node, reader)])] + [
        Output(None, 1, [(info.node, states)]) for _ in call.outputs[1:]
    ]
