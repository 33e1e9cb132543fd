"""EnCodec (SEANet encoder): transformers' `EncodecModel` and audiocraft's `SEANetEncoder`.

The 24/32/48 kHz rows use the published configs shipped in configs/transformers/; the
audiocraft rows use the same hyperparameters (rfprobe.families.seanet.hf_config.audiocraft_equivalent),
and MusicGen / AudioGen the shipped audiocraft configs. Tiny width: 2 filters and an
8-wide latent; kernels, ratios, dilations, padding, norm and LSTM layers are unchanged.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from torch import nn

from rfprobe.families import SnapshotBranch, Unavailable, ZooModel, require_transformers_class

CONFIGS = Path(__file__).resolve().parent.parent.parent / "configs"
TINY_FILTERS, TINY_DIMENSION = 2, 8


def _hf_values(rate_khz: int) -> dict:
    values = json.loads((CONFIGS / "transformers" / f"encodec_{rate_khz}khz.json").read_text(encoding="utf-8"))
    values.pop("model_type", None)
    return values


def transformers_config(rate_khz: int, tiny: bool):
    """The `EncodecConfig` of the `encodec_{rate_khz}khz` row (tiny: 2 filters, 8-wide latent)."""
    values = _hf_values(rate_khz)
    if tiny:
        values.update(num_filters=TINY_FILTERS, hidden_size=TINY_DIMENSION, codebook_dim=TINY_DIMENSION)
    return require_transformers_class("EncodecConfig")(**values)


def snapshot_branches(model: nn.Module) -> list[SnapshotBranch]:
    """`EncodecModel.encoder`: the encoder alone, before the quantizer."""
    config = model.config
    return [
        SnapshotBranch(
            "encoder", model.encoder.eval(), channels=config.audio_channels, sample_rate=config.sampling_rate
        )
    ]


def transformers_encoder(rate_khz: int, tiny: bool) -> nn.Module:
    """`EncodecModel(config).encoder`: the encoder alone, before the quantizer."""
    model = require_transformers_class("EncodecModel")(transformers_config(rate_khz, tiny))
    return snapshot_branches(model)[0].module


def audiocraft_config(rate_khz: int):
    """The audiocraft SEANet config equivalent to transformers' EnCodec `rate_khz` (the zoo's audiocraft rows)."""
    from rfprobe.families.seanet.hf_config import audiocraft_equivalent

    return audiocraft_equivalent(
        require_transformers_class("EncodecConfig")(**_hf_values(rate_khz)), f"encodec_{rate_khz}khz"
    )


def sized(config, tiny: bool):
    """`config` at tiny width (2 filters, dimension 8: every kernel, stride and LSTM kept), or as it is."""
    return dataclasses.replace(config, n_filters=TINY_FILTERS, dimension=TINY_DIMENSION) if tiny else config


def audiocraft_encoder(config, tiny: bool) -> nn.Module:
    """audiocraft's real SEANetEncoder (loaded as rfprobe always loads it)."""
    from rfprobe.families.seanet.encoder import build_encoder
    from rfprobe.errors import UsageError

    config = sized(config, tiny)
    try:
        return build_encoder(config)
    except UsageError as error:  # audiocraft missing
        raise Unavailable(str(error)) from None


def facebook_encoder(rate_khz: int, tiny: bool) -> nn.Module:
    """facebook's `encodec` package: `SEANetEncoder(channels, norm, causal)` as its `_get_model`
    builds it for `encodec_model_24khz` (mono, weight_norm, causal) and `encodec_model_48khz`
    (stereo, time_group_norm, non-causal); every other hyperparameter is the constructor default."""
    from rfprobe.families.installed_files import load_files

    try:
        from encodec.modules import SEANetEncoder  # the normal import, when torchaudio is installed
    except Exception:
        SEANetEncoder = load_files(
            "encodec", "_rfprobe_encodec", ["modules.norm", "modules.conv", "modules.lstm", "modules.seanet"]
        )["modules.seanet"].SEANetEncoder
    channels, norm, causal = {24: (1, "weight_norm", True), 48: (2, "time_group_norm", False)}[rate_khz]
    widths = dict(n_filters=TINY_FILTERS, dimension=TINY_DIMENSION) if tiny else {}
    return SEANetEncoder(channels=channels, norm=norm, causal=causal, **widths).eval()


def shipped_config(name: str):
    """A config shipped in configs/ (MusicGen's and AudioGen's compression encoders)."""
    from rfprobe.families.seanet.config_files import load_config

    return load_config(CONFIGS / f"{name}.yaml")


def _rows() -> list[ZooModel]:
    rows = []
    channels = {24: 1, 32: 1, 48: 2}
    for rate in (24, 32, 48):
        kind = "conv+lstm"
        rows.append(
            ZooModel(
                name=f"encodec_{rate}khz",
                family="EnCodec",
                package="transformers",
                sample_rate=rate * 1000,
                channels=channels[rate],
                kind=kind,
                build=lambda tiny, rate=rate: transformers_encoder(rate, tiny),
                note="EncodecModel(config).encoder" + (", GroupNorm over time" if rate == 48 else ""),
            )
        )
        rows.append(
            ZooModel(
                name=f"encodec_{rate}khz_audiocraft",
                family="EnCodec",
                package="audiocraft",
                sample_rate=rate * 1000,
                channels=channels[rate],
                kind=kind,
                build=lambda tiny, rate=rate: audiocraft_encoder(audiocraft_config(rate), tiny),
                note=f"SEANetEncoder with encodec_{rate}khz's hyperparameters",
            )
        )
    for rate, channels_ in ((24, 1), (48, 2)):
        rows.append(
            ZooModel(
                name=f"encodec_{rate}khz_facebook",
                family="EnCodec",
                package="encodec",
                sample_rate=rate * 1000,
                channels=channels_,
                kind="conv+lstm",
                build=lambda tiny, rate=rate: facebook_encoder(rate, tiny),
                note=f"facebook encodec, encodec_model_{rate}khz's SEANetEncoder",
            )
        )
    for name, rate, note in (
        ("musicgen_32khz", 32000, "MusicGen's compression model (configs/musicgen_32khz.yaml)"),
        ("audiogen_16khz", 16000, "AudioGen's compression model (configs/audiogen_16khz.yaml)"),
    ):
        rows.append(
            ZooModel(
                name=name,
                family="EnCodec",
                package="audiocraft",
                sample_rate=rate,
                channels=1,
                kind="conv+lstm",
                build=lambda tiny, name=name: audiocraft_encoder(shipped_config(name), tiny),
                note=note,
            )
        )
        rows.append(
            ZooModel(
                name=f"{name}_conv",
                family="EnCodec",
                package="audiocraft",
                sample_rate=rate,
                channels=1,
                kind="conv",
                twin_of=name,
                build=lambda tiny, name=name: audiocraft_encoder(shipped_config(f"{name}_conv"), tiny),
                note="conv-only twin (lstm: 0)",
            )
        )
    return rows


MODELS = _rows()
