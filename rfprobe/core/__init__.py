"""The analytic core: exact receptive fields of any PyTorch model, read off its operators.

Data flow, one file a step:

* :mod:`~rfprobe.core.intervals` — sets of positions on a time axis (Python and numpy);
* :mod:`~rfprobe.core.readers` — per kind of op, which input positions a set of output
  positions reads (convolution, padding, slicing, interpolation, attention masks,
  recurrences, global ops); pure Python and numpy;
* :mod:`~rfprobe.core.graph` — the recorded op graph and the backward walk that turns
  "output frame n" into its exact set of input samples;
* :mod:`~rfprobe.core.call` — one op call as a rule sees it, and the records a rule returns;
* :mod:`~rfprobe.core.registry` — the rule registry: which rule reads each op (a public
  ``register_rule`` for ops of your own);
* :mod:`~rfprobe.core.rules` — the rules, one concern a file (elementwise, layout, windows,
  global ops, attention and its two-time-axis tensors, recurrence);
* :mod:`~rfprobe.core.trace` — runs the model once on a concrete input under a
  `TorchDispatchMode` (and a `TorchFunctionMode` for attention and RNNs) and records the graph;
* :mod:`~rfprobe.core.naming` — which module ran each recorded op (for the layer table);
* :mod:`~rfprobe.core.sizing` — grows the trace until a frame is interior, within the
  memory budget of :mod:`~rfprobe.core.budget`;
* :mod:`~rfprobe.core.hop` — the hop, from two neighbouring frames or the strides;
* :mod:`~rfprobe.core.layer_table` — the convs, recurrences and global ops, in order;
* :mod:`~rfprobe.core.analysis` — left, right, hop and holes of the sized frame; a side is
  *open* (unbounded) only through a recurrence or global op;
* :mod:`~rfprobe.core.clip` — the frames at a clip's two ends;
* :mod:`~rfprobe.core.walk` — the "module walk" method.
"""
