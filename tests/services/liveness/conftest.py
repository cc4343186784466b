"""Liveness fixtures: one real in-process server per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.shared.model_store import ModelStore
from tests.services.liveness.helpers import LivenessUnderTest, running_liveness


@pytest.fixture(scope="module")
def liveness(
    model_store: ModelStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LivenessUnderTest]:
    """A liveness gRPC server on a free port, sessions in a temporary folder."""
    with running_liveness(model_store, tmp_path_factory.mktemp("liveness")) as server:
        yield server
