"""Fixtures: one real stack for the client tests of this folder, and an SDK client on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from faceflow_sdk import FaceflowClient
from tests.clients.stack import Stack, running_stack


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real processes, started once for the tests of this package."""
    with running_stack(tmp_path_factory.mktemp("clients-stack")) as started:
        yield started


@pytest.fixture
def client(stack: Stack) -> Iterator[FaceflowClient]:
    """An SDK client with the demo tenant's key."""
    with FaceflowClient(stack.url, stack.api_key, timeout=60) as sdk:
        yield sdk
