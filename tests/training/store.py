"""The model store for training tests, skipping a test whose models are not prepared."""

from __future__ import annotations

import pytest

from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelStore


def prepared_store(*names: str) -> ModelStore:
    """The default store, or skip when one of ``names`` is not prepared (``make models``)."""
    store = ModelStore()
    for name in names:
        try:
            store.open(name)
        except ModelUnavailableError as error:
            pytest.skip(f"model {name} not prepared: {error}")
    return store
