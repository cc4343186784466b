"""Open prepared models from the cache, verified by hash. Never converts or downloads:
a missing or corrupt file is a clear start-up error (run ``make models``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.shared.errors import ModelUnavailableError
from services.shared.model_store.hashing import sha256_file
from services.shared.model_store.manifest import ModelSpec, load_manifest
from services.shared.settings import default_cache_dir


@dataclass(frozen=True)
class PreparedModel:
    """A verified model file and its manifest entry."""

    spec: ModelSpec
    path: Path


class ModelStore:
    """The cache of converted models: ``<cache_dir>/<name>-<version>.tflite``."""

    def __init__(self, cache_dir: Path | None = None, manifest: dict[str, ModelSpec] | None = None):
        self.cache_dir = cache_dir or default_cache_dir() / "models"
        self.manifest = manifest if manifest is not None else load_manifest()

    def spec(self, name: str) -> ModelSpec:
        """The manifest entry for a model, or ModelUnavailableError."""
        try:
            return self.manifest[name]
        except KeyError:
            known = ", ".join(sorted(self.manifest)) or "none"
            raise ModelUnavailableError(
                f"model {name!r} is not in the manifest (known: {known})"
            ) from None

    def path_for(self, spec: ModelSpec) -> Path:
        """Where the converted file of this model lives in the cache."""
        suffix = Path(spec.conversion.output).suffix or ".tflite"
        return self.cache_dir / f"{spec.key}{suffix}"

    def open(self, name: str) -> PreparedModel:
        """Return the verified file for a model; raise ModelUnavailableError otherwise."""
        spec = self.spec(name)
        path = self.path_for(spec)
        if not path.is_file():
            raise ModelUnavailableError(
                f"model {spec.key} is not prepared: {path} is missing. Run `make models`."
            )
        actual = sha256_file(path)
        if not spec.conversion.accepts(actual):
            raise ModelUnavailableError(
                f"model {spec.key} at {path} is corrupt: sha256 {actual} does not match the "
                f"manifest's {spec.conversion.sha256}. Delete it and run `make models`."
            )
        return PreparedModel(spec=spec, path=path)
