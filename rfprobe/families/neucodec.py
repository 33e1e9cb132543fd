"""NeuCodec: transformers' `NeuCodecModel`, X-codec 2's layout (acoustic `NeuCodecEncoder`,
wav2vec2-BERT semantic branch on mel features); 16 kHz in, hop 320. See xcodec2.py.
"""
from __future__ import annotations

from . import ZooModel
from .xcodec2 import acoustic, semantic

MODULE = "transformers.models.neucodec.modeling_neucodec"
MODELS = [
    ZooModel(name="neucodec_acoustic", family="NeuCodec", package="transformers", sample_rate=16000, channels=1,
             kind="conv", hop_samples=320,
             build=lambda tiny: acoustic("NeuCodecConfig", MODULE, "NeuCodecEncoder", tiny),
             note="NeuCodecEncoder (NeuCodecModel.acoustic_encoder)"),
    ZooModel(name="neucodec_semantic", family="NeuCodec", package="transformers", sample_rate=16000, channels=160,
             kind="attention", hop_samples=1, input_unit="feature frames",
             build=lambda tiny: semantic("NeuCodecConfig", MODULE, "NeuCodecSemanticAdapter", tiny),
             note="wav2vec2-BERT on 160-dim stacked mel features + semantic adapter"),
]
