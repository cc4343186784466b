"""``python -m gateway``: serve the gateway with uvicorn on the configured host and port."""

from __future__ import annotations

import logging

import uvicorn

from gateway.core.config import GatewaySettings
from gateway.main import create_app
from services.shared.memory import MallocTuning, tune_malloc


def main() -> None:
    settings = GatewaySettings()
    if settings.malloc_tuning:
        tune_malloc(MallocTuning())  # 1080p uploads faulted ~280 fresh pages per request
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=settings.access_log,
    )


if __name__ == "__main__":
    main()
