"""Verdict: every method that ran must agree exactly on left, right, hop (and holes).

Agreement is equality of integers, never closeness. A method that could not run is a
failure too when it was expected to run; the verdict names it and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from rfprobe.arithmetic.methods import ANALYTIC, EMPIRICAL, GRADIENT, MODULE_WALK
from rfprobe.arithmetic.geometry import MethodResult, ReceptiveField

# The config formula assumes nothing about holes and the impulse probe only locates the
# ends of the support; holes are compared between the methods that inspect every sample.
HOLE_METHODS = (MODULE_WALK, GRADIENT)
# PASS needs one analytic answer (from the config or the module's layers) and both probes.
ANALYTIC_METHODS = ANALYTIC
EMPIRICAL_METHODS = EMPIRICAL


@dataclass(frozen=True)
class Disagreement:
    """One quantity the methods measured differently, with each method's value as text."""

    quantity: str
    values: tuple[tuple[str, str], ...]  # (method, value as text)

    def __str__(self) -> str:
        return f"{self.quantity}: " + ", ".join(f"{method} {value}" for method, value in self.values)


@dataclass(frozen=True)
class Verdict:
    """PASS when every required method ran and all agree; else the disagreements and the methods not run."""

    passed: bool
    disagreements: tuple[Disagreement, ...] = ()
    not_run: tuple[tuple[str, str], ...] = ()  # (method, why)

    @property
    def label(self) -> str:
        """The verdict in a word: PASS or FAIL."""
        return "PASS" if self.passed else "FAIL"

    def reasons(self) -> list[str]:
        """Why it failed, one line each: the methods that could not run, then each disagreement."""
        lines = [f"{method} could not run: {why}" for method, why in self.not_run]
        lines += [f"disagreement on {d}" for d in self.disagreements]
        return lines


def _quantities(field: ReceptiveField) -> dict[str, str]:
    return {"left": str(field.left), "right": str(field.right), "hop": str(field.hop_samples)}


def _within(holes: tuple[tuple[int, int], ...], first: int, last: int) -> tuple[tuple[int, int], ...]:
    return tuple((max(low, first), min(high, last)) for low, high in holes if high >= first and low <= last)


def judge(results: Sequence[MethodResult], required: Sequence[str]) -> Verdict:
    """PASS iff every required method ran, an analytic method and both probes ran, and all
    methods that ran agree exactly."""
    by_method = {result.method: result for result in results}
    not_run = tuple(
        (method, by_method[method].unavailable_reason if method in by_method else "not run")
        for method in required
        if method not in by_method or not by_method[method].ran
    )
    ran = [result for result in results if result.ran]
    fields = [(result.method, result.receptive_field) for result in ran if result.receptive_field is not None]
    disagreements = []
    for quantity in ("left", "right", "hop"):
        values = tuple((method, _quantities(field)[quantity]) for method, field in fields)
        if len({value for _, value in values}) > 1:
            disagreements.append(Disagreement(quantity, values))
    hole_methods = [(method, field) for method, field in fields if method in HOLE_METHODS]
    # An unbounded side's holes go on forever; each method saw them only as far as its input
    # reached, so holes are compared within the span every method saw.
    first = -min((field.left.samples for _, field in hole_methods), default=0)
    last = min((field.right.samples for _, field in hole_methods), default=0)
    seen_holes = [(method, _within(field.holes, first, last)) for method, field in hole_methods]
    hole_values = tuple((method, str(list(holes)) if holes else "none") for method, holes in seen_holes)
    if len({value for _, value in hole_values}) > 1:
        disagreements.append(Disagreement("holes", hole_values))
    # Agreement needs an analytic method and both probes of the real module: two probes
    # agreeing with each other are not yet a check against what the layers say.
    ran_methods = {result.method for result in ran}
    if not ran_methods & set(ANALYTIC_METHODS):
        not_run += tuple(
            (r.method, f"{r.unavailable_reason} (PASS needs an analytic method)")
            for r in results
            if r.method in ANALYTIC_METHODS and not r.ran and r.method not in dict(not_run)
        )
        if not any(r.method in ANALYTIC_METHODS for r in results):
            not_run += (("an analytic method", "none was run (PASS needs one)"),)
    not_run += tuple(
        (method, "not run") for method in EMPIRICAL_METHODS if method not in ran_methods and method not in dict(not_run)
    )
    passed = not not_run and not disagreements
    return Verdict(passed=passed, disagreements=tuple(disagreements), not_run=not_run)
