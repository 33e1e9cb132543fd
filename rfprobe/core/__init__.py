"""The analytic core: exact receptive fields of any PyTorch model, read off its operators.

Data flow, one file a step:

* :mod:`~rfprobe.core.intervals` — sets of positions on a time axis (Python and numpy);
* :mod:`~rfprobe.core.readers` — per kind of op, which input positions a set of output
  positions reads (convolution, padding, slicing, interpolation, attention masks,
  recurrences, global ops); pure Python and numpy;
* :mod:`~rfprobe.core.graph` — the recorded op graph and the backward walk that turns
  "output frame n" into its exact set of input samples;
* :mod:`~rfprobe.core.operators` — the operator table: which reader each aten op (or
  attention / RNN call) gets, from the arguments it was really called with;
* :mod:`~rfprobe.core.pairs` — the rules for eager attention's scores and weights, tensors
  with two time axes (queries x keys), read entry by entry off the model's own mask;
* :mod:`~rfprobe.core.trace` — runs the model once on a concrete input under a
  `TorchDispatchMode` (and a `TorchFunctionMode` for attention and RNNs) and records the graph;
* :mod:`~rfprobe.core.analysis` — sizes the trace until a frame is interior (within a
  memory budget), then left, right, hop and holes; a side is *open* (unbounded) only
  through a recurrence or global op.
"""
