"""audiocraft's SEANet (MusicGen, AudioGen, EnCodec): the family rfprobe started with.

* :mod:`~rfprobe.families.seanet.config` — :class:`EncoderConfig`, its claims, validation.
* :mod:`~rfprobe.families.seanet.config_files` — reading a config file (ours or audiocraft's).
* :mod:`~rfprobe.families.seanet.audiocraft_files` — audiocraft's YAML and checkpoints.
* :mod:`~rfprobe.families.seanet.source` — importing the installed audiocraft's SEANet.
* :mod:`~rfprobe.families.seanet.encoder` — building the real encoder (and loading trained
  weights into it); its conv-only twin is the same config with ``lstm: 0``.
* :mod:`~rfprobe.families.seanet.hf_config` — transformers' EnCodec config: reading it, its
  encoder, the audiocraft hyperparameters it mirrors.
* :mod:`~rfprobe.families.seanet.audiocraft` — audiocraft's own classes, for users.
* :mod:`~rfprobe.families.seanet.yaml_reading` — safe, bounded YAML reading.
* :mod:`~rfprobe.families.seanet.formula` — the hand method: arithmetic over a config.
* :mod:`~rfprobe.families.seanet.padding` — ``StreamableConv1d``'s padding rule.
* :mod:`~rfprobe.families.seanet.claims` — a hand analysis's claims against the module.

Runs over this family live in :mod:`rfprobe.runs` (:mod:`~rfprobe.runs.verify`,
:mod:`~rfprobe.runs.seanet_decoder`, :mod:`~rfprobe.runs.hf_encodec`).
"""
