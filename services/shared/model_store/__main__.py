"""``python -m services.shared.model_store``: prepare (fetch + convert + verify) models.

Usage: ``python -m services.shared.model_store prepare [NAME ...]`` (default: all);
``python -m services.shared.model_store list``; ``... verify``.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from services.shared.errors import ModelUnavailableError
from services.shared.model_store.convert import convert
from services.shared.model_store.fetch import fetch_source
from services.shared.model_store.hashing import sha256_file
from services.shared.model_store.manifest import ModelSpec
from services.shared.model_store.store import ModelStore

log = logging.getLogger("faceflow.models")


def prepare_one(store: ModelStore, spec: ModelSpec, index: int, total: int) -> None:
    """Make sure spec's converted file is in the cache and matches the manifest."""
    prefix = f"[{index}/{total}] {spec.key}"
    target = store.path_for(spec)
    if target.is_file() and spec.conversion.accepts(sha256_file(target)):
        log.info("%s: ready (%s)", prefix, target)
        return
    started = time.monotonic()
    log.info("%s: fetching %s", prefix, spec.source.filename)
    source = fetch_source(spec.source, store.cache_dir.parent / "downloads")
    log.info("%s: converting (%s)", prefix, spec.conversion.method)
    with tempfile.TemporaryDirectory(prefix=f"faceflow-{spec.name}-") as tmp:
        produced = convert(spec, source, Path(tmp))
        actual = sha256_file(produced)
        if not spec.conversion.accepts(actual):
            raise ModelUnavailableError(
                f"{spec.key}: converted file sha256 {actual} differs from the manifest's "
                f"{spec.conversion.sha256} (a different converter version?)"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        # A unique partial name: two `prepare` runs may race; each rename is atomic.
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        shutil.copyfile(produced, partial)
        partial.replace(target)
    log.info("%s: done in %.1f s -> %s", prefix, time.monotonic() - started, target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.shared.model_store")
    parser.add_argument("command", choices=["prepare", "list", "verify"])
    parser.add_argument("names", nargs="*", help="model names (default: all)")
    parser.add_argument("--cache-dir", type=Path, default=None)
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    store = ModelStore(cache_dir=options.cache_dir)
    names = options.names or sorted(store.manifest)
    try:
        specs = [store.spec(name) for name in names]
        if options.command == "list":
            for spec in specs:
                sys.stdout.write(
                    f"{spec.key}\t{spec.task}\t{spec.license}\t{store.path_for(spec)}\n"
                )
        elif options.command == "verify":
            for spec in specs:
                store.open(spec.name)
                log.info("%s: ok", spec.key)
        else:
            failures = 0
            for index, spec in enumerate(specs, start=1):
                try:
                    prepare_one(store, spec, index, len(specs))
                except ModelUnavailableError as error:
                    failures += 1
                    log.error("error: %s", error)
            if failures:
                log.error("%d of %d models could not be prepared", failures, len(specs))
                return 1
    except ModelUnavailableError as error:
        log.error("error: %s", error)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
