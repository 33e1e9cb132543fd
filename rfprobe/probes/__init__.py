"""The empirical methods: they run the model and look at what moves.

* :mod:`~rfprobe.probes.empirical` — the window plan and the loop both probes share (sizing
  from the analytic guess, growth at two lengths before a side is called unbounded).
* :mod:`~rfprobe.probes.gradient` — backprop of one frame: the exact set of nonzero samples.
* :mod:`~rfprobe.probes.impulse` — forward-mode AD (or exact differences): unit impulses at
  the ends and perturbations outside, independent of backward.
* :mod:`~rfprobe.probes.taint` — a NaN proves an unbounded side without magnitudes.
* :mod:`~rfprobe.probes.erf` — the effective receptive field (gradient mass widths).
* :mod:`~rfprobe.probes.threads` — one intra-op thread for a block (bit-for-bit comparisons).
"""
