"""What every model in the zoo has: its manifest entry, a runtime, warm-up and its identity.

A model class is built from a verified file and its manifest entry (``from_store``), reads and
checks its own parameters there (a bad manifest is a start-up error naming the file), and
knows how to run itself once on a blank input so that the first real request is not slow.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol, Self

from faceflow.common.v1 import common_pb2

from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelSpec, ModelStore
from services.shared.runtime import LiteModel


class ServedModel(Protocol):
    """The small interface every served model has: its identity and a warm-up."""

    @property
    def info(self) -> common_pb2.ModelInfo:
        """Name and version, as the services report them in every response."""
        ...

    def warm_up(self) -> None:
        """Run once on a blank input."""
        ...


class ZooModel(ABC):
    """One served model: a LiteRT runtime plus the manifest entry it was verified against."""

    task: ClassVar[str]
    """The manifest ``task`` this class serves; ``from_store`` refuses any other."""

    def __init__(self, runtime: LiteModel, spec: ModelSpec) -> None:
        self.runtime = runtime
        self.spec = spec

    @classmethod
    def from_store(cls, store: ModelStore, name: str, threads: int = 2) -> Self:
        """Open the verified file of the named model and build this class on it."""
        prepared = store.open(name)
        if prepared.spec.task != cls.task:
            raise ModelUnavailableError(
                f"model {name!r} is a {prepared.spec.task!r} model; "
                f"{cls.__name__} serves {cls.task!r} models"
            )
        return cls(LiteModel(prepared.path, threads), prepared.spec)

    @property
    def name(self) -> str:
        """The manifest name."""
        return self.spec.name

    @property
    def version(self) -> str:
        """The manifest version."""
        return self.spec.version

    @property
    def info(self) -> common_pb2.ModelInfo:
        """Name and version as the services report them in every response."""
        return common_pb2.ModelInfo(name=self.spec.name, version=self.spec.version)

    def float_param(self, key: str, low: float, high: float) -> float:
        """``params.<key>`` from the manifest: a number in [low, high], or a start-up error."""
        value: Any = self.spec.params.get(key)
        where = f"models/{self.spec.name}.toml params.{key}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ModelUnavailableError(f"{where} must be a number, got {value!r}")
        if not low <= float(value) <= high:
            raise ModelUnavailableError(f"{where} must be in [{low:g}, {high:g}], got {value}")
        return float(value)

    def input_shape(self) -> tuple[int, ...]:
        """Shape of the (first) input tensor."""
        return self.runtime.input_shapes[self.runtime.input_name]

    def require_input_shape(self, expected: tuple[int, ...]) -> None:
        """A start-up error unless the file's input shape is the one this class feeds."""
        if self.input_shape() != expected:
            raise ModelUnavailableError(
                f"{self.spec.key}: input shape {self.input_shape()}, expected {expected}"
            )

    def output_with_last_dim(self, size: int) -> str:
        """The output whose last dimension is size, or a start-up error."""
        for name in self.runtime.output_names:
            if self.runtime.output_shapes[name][-1] == size:
                return name
        shapes = {name: self.runtime.output_shapes[name] for name in self.runtime.output_names}
        raise ModelUnavailableError(f"{self.spec.key}: no output of size {size} in {shapes}")

    @abstractmethod
    def warm_up(self) -> None:
        """Run once on a blank input (the first call allocates; requests should not pay it)."""


def warm_up_all(models: Sequence[ServedModel]) -> None:
    """Warm up each model once."""
    for model in models:
        model.warm_up()
