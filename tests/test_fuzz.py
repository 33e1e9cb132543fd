"""Property: on random SEANet architectures every method agrees (bounded CI run; scripts/fuzz.py runs thousands)."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from rfprobe.fuzzing import architectures_and_lengths, check_architecture


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(architectures_and_lengths())
def test_all_methods_and_edge_supports_agree_on_random_architectures(case):
    config, length = case
    check = check_architecture(config, length)
    assert not check.problems, (config, length, check.problems)
