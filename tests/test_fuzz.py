"""Property: on random SEANet architectures every method agrees (bounded CI run; scripts/fuzz.py runs thousands)."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from rfprobe.fuzzing import architectures, check_architecture


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(architectures())
def test_all_methods_agree_on_random_architectures(config):
    check = check_architecture(config)
    assert not check.problems, (config, check.problems)
