"""The original (pre-conversion) file of a model for parity tests, from the download cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelStore
from services.shared.model_store.fetch import fetch_source
from services.shared.model_store.manifest import Source


def source_or_skip(model_store: ModelStore, source: Source) -> Path:
    """The sha256-verified source file (``make models`` has fetched it); the test is skipped
    only when it cannot be downloaded here. A hash mismatch fails."""
    try:
        return fetch_source(source, model_store.cache_dir.parent / "downloads")
    except ModelUnavailableError as error:
        if "could not download" not in str(error):
            raise
        pytest.skip(f"{source.filename} unavailable (no mirror, no internet): {error}")
