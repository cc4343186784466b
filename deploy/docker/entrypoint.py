"""Container entry point: run the component named by FACEFLOW_SERVICE in place of this process.

In a container a service must listen on every interface (the settings default to 127.0.0.1 for
local runs), so ``FACEFLOW_<NAME>_HOST`` defaults to ``0.0.0.0`` here unless it is set. The
process is replaced (``exec``), so it receives SIGTERM from the runtime directly and shuts
down gracefully.
"""

from __future__ import annotations

import logging
import os
import sys

from deploy.docker.components import Component, UnknownComponentError, current

log = logging.getLogger("faceflow.entrypoint")

# A container listens on its own network namespace: every interface is the right default.
CONTAINER_HOST = "0.0.0.0"


def environment(comp: Component, environ: dict[str, str]) -> dict[str, str]:
    """The environment for the component's process: the given one plus the container defaults."""
    env = dict(environ)
    env.setdefault(f"{comp.env_prefix}HOST", CONTAINER_HOST)
    return env


def command(comp: Component, extra: list[str]) -> list[str]:
    """argv of the component's process."""
    return [sys.executable, "-m", comp.module, *extra]


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        comp = current()
    except UnknownComponentError as error:
        log.error("%s", error)
        return 2
    args = command(comp, list(sys.argv[1:] if argv is None else argv))
    log.info("starting %s: %s", comp.name, " ".join(args[1:]))
    os.execve(args[0], args, environment(comp, dict(os.environ)))
    return 0  # not reached: execve replaces the process


if __name__ == "__main__":
    raise SystemExit(main())
