"""Fixtures of the gallery store tests: each behavioural test runs on both real backends.

The pgvector backend needs a running PostgreSQL with pgvector, whose URL is in
FACEFLOW_TEST_POSTGRES_URL (``make test`` starts one with scripts/test_services.sh). Without it
those tests skip with a reason locally, and fail in CI (CI=true), where skipping would hide them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from services.embedding.store import GalleryStore, open_store
from tests.services.embedding.store.synthetic import DIMENSION, FaceMaker

POSTGRES_URL_ENV = "FACEFLOW_TEST_POSTGRES_URL"

StoreFactory = Callable[..., GalleryStore]


def postgres_url() -> str:
    """The test database URL, or skip (locally) / fail (CI) when there is none."""
    url = os.environ.get(POSTGRES_URL_ENV, "")
    if url:
        return url
    message = (
        f"{POSTGRES_URL_ENV} is not set: run `bash scripts/test_services.sh` to start PostgreSQL"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI must run the pgvector tests)")
    pytest.skip(message)


@pytest.fixture(params=["sqlite", "pgvector"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens stores of one backend with options; closes them (and drops pg schemas) after."""
    opened: list[GalleryStore] = []
    schemas: list[str] = []
    url = postgres_url() if request.param == "pgvector" else f"sqlite://{tmp_path}/gallery"

    def factory(**options: Any) -> GalleryStore:
        if request.param == "pgvector":
            schema = options.pop("schema", None) or f"test_{uuid.uuid4().hex[:12]}"
            schemas.append(schema)
            store = open_store(url, DIMENSION, schema=schema, **options)
        else:
            store = open_store(f"sqlite://{tmp_path}/gallery-{len(opened)}", DIMENSION, **options)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()
    if schemas:
        with psycopg.connect(url, autocommit=True) as connection:
            for schema in schemas:
                connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def store(make_store: StoreFactory) -> GalleryStore:
    """A fresh, empty store of the parametrised backend."""
    return make_store()


@pytest.fixture
def faces() -> FaceMaker:
    """Makes synthetic embeddings and image hashes."""
    return FaceMaker()
