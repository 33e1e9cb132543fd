"""Runs: each combines the layers below into one answer, and owns its sequence of steps.

* :mod:`~rfprobe.runs.verify` — a SEANet config, four methods (formula, walk, gradient,
  impulse), judged.
* :mod:`~rfprobe.runs.module_probe` — any module: walk, gradient and impulse, judged.
* :mod:`~rfprobe.runs.context` — a verified config's context map: edges, lookahead, taint,
  effective RF.
* :mod:`~rfprobe.runs.cost` — memory estimates before a run, against a budget.
* :mod:`~rfprobe.runs.zoo` — one row per zoo codec, each in its own process.
* :mod:`~rfprobe.runs.hf_encodec` — transformers' EnCodec cross-checked against audiocraft's.
* :mod:`~rfprobe.runs.seanet_decoder` — audiocraft's SEANetDecoder: reads and reach.
* :mod:`~rfprobe.runs.fuzzing` — random SEANet architectures for property checks.
"""
