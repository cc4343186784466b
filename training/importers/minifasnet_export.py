"""Model-store conversions for MiniFASNet: legacy PyTorch state dict -> Keras -> TFLite.

Named in the manifest as ``python:training.importers.minifasnet_export:<function>``; each
function takes the verified source ``.pth`` and a scratch folder and returns the TFLite file.
The TFLite model has one signature, input ``image_bgr`` (1, 80, 80, 3) float32 BGR 0-255 and
output ``logits`` (1, 3). The conversion is deterministic (same bytes every run) so the manifest
can pin the produced file's sha256. ``float_model`` gives the same named Keras network to
``python -m training quantize`` (float16 / int8 files that are drop-ins for the float one).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from training.export import keras_to_tflite
from training.importers.torch_legacy import load_state_dict
from training.models.minifasnet import Variant, build_minifasnet, load_torch_state

log = logging.getLogger(__name__)

INPUT_NAME = "image_bgr"
OUTPUT_NAME = "logits"
VARIANTS: dict[str, Variant] = {"export_v2": "MiniFASNetV2", "export_v1se": "MiniFASNetV1SE"}


def keras_model_from_pth(source: Path, variant: Variant):  # type: ignore[no-untyped-def]
    """The Keras network with the published weights loaded."""
    model = build_minifasnet(variant)
    load_torch_state(model, load_state_dict(source))
    return model


def named_model(model: Any) -> Any:
    """The network with one output named ``logits`` (its input is ``image_bgr``)."""
    import keras

    return keras.Model(model.inputs, {OUTPUT_NAME: model.outputs[0]}, name=model.name)


def float_model(function: str, source: Path) -> Any:
    """The named float Keras model that export function ``function`` converts (quantization).

    KeyError when ``function`` is not one of this module's export functions.
    """
    return named_model(keras_model_from_pth(source, VARIANTS[function]))


def tflite_bytes(model) -> bytes:  # type: ignore[no-untyped-def]
    """Float32 TFLite flatbuffer (no quantization) with one signature."""
    return keras_to_tflite(named_model(model))


def _export(source: Path, workdir: Path, variant: Variant, output: str) -> Path:
    target = workdir / output
    target.write_bytes(tflite_bytes(keras_model_from_pth(source, variant)))
    return target


def export_v2(source: Path, workdir: Path) -> Path:
    """MiniFASNetV2 (2.7x crop) -> ``minifasnet_v2.tflite``."""
    return _export(source, workdir, VARIANTS["export_v2"], "minifasnet_v2.tflite")


def export_v1se(source: Path, workdir: Path) -> Path:
    """MiniFASNetV1SE (4.0x crop) -> ``minifasnet_v1se.tflite``."""
    return _export(source, workdir, VARIANTS["export_v1se"], "minifasnet_v1se.tflite")
