"""The model store: a manifest of every model, fetching, conversion to TFLite, verified loading."""

from services.shared.model_store.manifest import ModelSpec, load_manifest
from services.shared.model_store.store import ModelStore

__all__ = ["ModelSpec", "ModelStore", "load_manifest"]
