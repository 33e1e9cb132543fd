"""One-line receptive-field pins for downstream test suites.

    from rfprobe.frontends.testing import assert_receptive_field

    def test_my_encoder_sees_what_it_should():
        assert_receptive_field(my_encoder(), samples=5428, left=2402, right=3025, hop=640)

Fails with a table of expected vs measured values, the methods' verdict and the per-layer
table, so a moved receptive field says where it moved.
"""

from __future__ import annotations

import warnings
from typing import Optional, Union

from torch import nn

from rfprobe.runs.module_probe import probe_module
from rfprobe.output.report import config_report
from rfprobe.runs.verify import Verification

UNBOUNDED = "unbounded"
Expected = Optional[Union[int, str]]


def _measured(verification: Verification) -> dict[str, object]:
    truth = verification.truth
    if truth is None:
        return {}
    return {
        "samples": truth.samples if truth.samples is not None else UNBOUNDED,
        "left": UNBOUNDED if truth.left.unbounded else truth.left.samples,
        "right": UNBOUNDED if truth.right.unbounded else truth.right.samples,
        "hop": truth.hop_samples,
    }


def assert_receptive_field(
    module: nn.Module,
    *,
    samples: Expected = None,
    left: Expected = None,
    right: Expected = None,
    hop: Optional[int] = None,
    channels: Optional[int] = None,
    **probe_options,
) -> Verification:
    """Probe `module` and assert its receptive field; pass "unbounded" for an unbounded side.

    Only the quantities given are checked; the methods must also agree with each other.
    """
    with warnings.catch_warnings():
        # torch builds its forward-mode AD decompositions with torch.jit.script, which it now
        # deprecates: our machinery, not the caller's code, so not the caller's warning.
        warnings.filterwarnings("ignore", message=".*torch.jit.script.* is deprecated", category=DeprecationWarning)
        verification = probe_module(module, channels=channels, hop_samples=hop, **probe_options)
    measured = _measured(verification)
    expected = {"samples": samples, "left": left, "right": right, "hop": hop}
    rows = [(quantity, want, measured.get(quantity)) for quantity, want in expected.items() if want is not None]
    wrong = [row for row in rows if row[1] != row[2]]
    if wrong or not verification.verdict.passed:
        lines = [
            "receptive field differs from the expectation" if wrong else "rfprobe's methods disagree",
            "",
            f"{'quantity':10s} {'expected':>12s} {'measured':>12s}",
        ]
        lines += [
            f"{quantity:10s} {str(want):>12s} {str(got):>12s}{'   <-- differs' if want != got else ''}"
            for quantity, want, got in rows
        ]
        lines += [
            "",
            f"verdict: {verification.verdict.label}",
            *verification.verdict.reasons(),
            "",
            config_report(verification),
        ]
        raise AssertionError("\n".join(lines))
    return verification
