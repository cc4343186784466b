"""Run a TFLite model through TensorFlow's Lite runtime (LiteRT, package ``ai-edge-litert``).

Inputs and outputs are addressed by name, never by position: the converter shuffles the output
order. Models with one signature are run through its runner; files without signatures (such as
MediaPipe's) by their tensor names.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from numpy.typing import NDArray

from services.shared.errors import ModelUnavailableError


class LiteModel:
    """One TFLite interpreter; thread-safe (calls are serialised by a lock)."""

    def __init__(self, path: Path, num_threads: int = 2) -> None:
        try:
            self._interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        except (ValueError, RuntimeError) as error:
            raise ModelUnavailableError(f"cannot load TFLite model {path}: {error}") from error
        self._lock = threading.Lock()
        signatures = self._interpreter.get_signature_list()
        if len(signatures) > 1:
            raise ModelUnavailableError(f"{path} has {len(signatures)} signatures; expected one")
        if signatures:
            key = next(iter(signatures))
            self._runner = self._interpreter.get_signature_runner(key)
            inputs = self._runner.get_input_details()
            outputs = self._runner.get_output_details()
            self._input_index: dict[str, int] = {}
            self._output_index: dict[str, int] = {}
        else:
            self._runner = None
            self._interpreter.allocate_tensors()
            inputs = {d["name"]: d for d in self._interpreter.get_input_details()}
            outputs = {d["name"]: d for d in self._interpreter.get_output_details()}
            self._input_index = {name: int(d["index"]) for name, d in inputs.items()}
            self._output_index = {name: int(d["index"]) for name, d in outputs.items()}
        self.input_names: list[str] = list(inputs)
        self.output_names: list[str] = list(outputs)
        self.input_shapes: dict[str, tuple[int, ...]] = {
            name: tuple(int(v) for v in d["shape"]) for name, d in inputs.items()
        }
        self.output_shapes: dict[str, tuple[int, ...]] = {
            name: tuple(int(v) for v in d["shape"]) for name, d in outputs.items()
        }

    @property
    def input_name(self) -> str:
        """The first input's name (most models here have exactly one)."""
        return self.input_names[0]

    def run(self, **inputs: NDArray[np.generic]) -> dict[str, NDArray[np.float32]]:
        """Run the model; returns every output by name (copies, safe to keep)."""
        with self._lock:
            if self._runner is not None:
                outputs = self._runner(**inputs)
                return {name: np.array(value) for name, value in outputs.items()}
            for name, value in inputs.items():
                self._interpreter.set_tensor(self._input_index[name], value)
            self._interpreter.invoke()
            return {
                name: np.array(self._interpreter.get_tensor(index))
                for name, index in self._output_index.items()
            }
