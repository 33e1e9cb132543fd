"""Torch-free records and rules shared by every method.

* :mod:`~rfprobe.arithmetic.geometry` — :class:`Side`, :class:`ReceptiveField`,
  :class:`MethodResult`, :class:`LayerRow`; samples and milliseconds.
* :mod:`~rfprobe.arithmetic.verdict` — when the methods agree (PASS) and why not (FAIL).
* :mod:`~rfprobe.arithmetic.lookahead` — samples after a frame's anchor and after its hop.
"""
