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
* :mod:`~rfprobe.runs.hf_model` — a local Hugging Face snapshot of a zoo codec.
* :mod:`~rfprobe.runs.decoder_field` — decoder reads per phase, one frame's influence, round trips.
* :mod:`~rfprobe.runs.chunking` — exact encode and decode chunk plans, proven by running them.
* :mod:`~rfprobe.runs.output_lengths` — frames for n samples, samples for f frames, per codec.
* :mod:`~rfprobe.runs.quantizer_locality` — does a codec's quantizer mix frames?
* :mod:`~rfprobe.runs.codec_helpers` — a codec's own chunking helper (DAC compress, EnCodec
  48 kHz segments) against its whole-file call.
* :mod:`~rfprobe.runs.streaming` — Mimi's streaming APIs against offline.
* :mod:`~rfprobe.runs.position_field` — a receptive field that depends on the frame's position.
* :mod:`~rfprobe.runs.timings` — wall time per named step of a run, for bench.py's floors.
"""
