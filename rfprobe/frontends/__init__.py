"""Front ends: thin layers over the runs and the output.

* :mod:`~rfprobe.frontends.cli` — ``rfprobe`` / ``python -m rfprobe`` / ``scripts/probe.py``.
* :mod:`~rfprobe.frontends.zoo_cli` — ``rfprobe zoo``.
* :mod:`~rfprobe.frontends.testing` — the pytest helper (``assert_receptive_field``).
"""
