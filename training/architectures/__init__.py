"""Model architectures from the course: VGG-style, small ResNet, MobileNetV2, MobileFaceNet.

``build(name, input_shape, num_classes)`` returns a Keras classifier; ``NAMES`` lists the choices.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from training.architectures.mobilenetv2 import mobilenet_v2
from training.architectures.resnet import resnet_small
from training.architectures.vgg import vgg_small
from training.errors import TrainingError

BUILDERS: dict[str, Callable[..., Any]] = {
    "vgg": vgg_small,
    "resnet": resnet_small,
    "mobilenetv2": mobilenet_v2,
}
NAMES = tuple(sorted(BUILDERS))


def build(name: str, input_shape: tuple[int, int, int], num_classes: int, **options: Any) -> Any:
    """A compiled-free Keras classifier of the named architecture."""
    if name not in BUILDERS:
        raise TrainingError(f"unknown architecture {name!r}; choose one of {', '.join(NAMES)}")
    accepted = inspect.signature(BUILDERS[name]).parameters
    unknown = sorted(key for key in options if key not in accepted)
    if unknown:
        raise TrainingError(f"{', '.join(unknown)} does not apply to the {name} architecture")
    return BUILDERS[name](input_shape=input_shape, num_classes=num_classes, **options)
