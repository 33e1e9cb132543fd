"""The names of the four methods, written once: results, verdicts, tables and JSON keys use these.

`FORMULA` is the hand method the mission checks (arithmetic over a config); `MODULE_WALK` the
analytic core reading the real module; `GRADIENT` and `IMPULSE` the two probes.
"""

FORMULA = "formula"
MODULE_WALK = "module walk"
GRADIENT = "gradient"
IMPULSE = "impulse"

ANALYTIC = (FORMULA, MODULE_WALK)
EMPIRICAL = (GRADIENT, IMPULSE)
ALL = (*ANALYTIC, *EMPIRICAL)
