"""NeuCodec: transformers' `NeuCodecModel`, X-codec 2's layout (acoustic `NeuCodecEncoder`,
wav2vec2-BERT semantic branch on mel features); 16 kHz in, hop 320. See xcodec2.py.
"""

from __future__ import annotations

from rfprobe.families.xcodec2 import family_models

MODELS = family_models("NeuCodec", "neucodec", "NeuCodec", "transformers.models.neucodec.modeling_neucodec")
