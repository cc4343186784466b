"""A FaceFlow gRPC app served in-process on a free port for the length of a ``with`` block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def serving(app: Any, servicer: Any = None) -> Iterator[str]:
    """Start ``app`` (from a service's ``create_app``) on port 0, mark it SERVING and yield
    ``127.0.0.1:<port>``; afterwards stop it and close ``servicer`` when one is given."""
    port = app.start(0)
    app.mark_serving()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        app.stop(grace=1.0)
        if servicer is not None:
            servicer.close()
