"""Stage the Docker build context (default ``var/docker/context``) for every component.

``python -m deploy.docker.stage [--context DIR] [--wheels DIR] [--no-download]`` writes:

- ``Dockerfile`` (a copy of deploy/docker/Dockerfile) and ``requirements/serve.txt``;
- ``wheels/``: the pinned runtime wheels, downloaded on this host with ``pip download`` into a
  cache (``~/.cache/faceflow/docker/wheels``) and hard-linked here; they are for CPython 3.11 on
  glibc x86-64 Linux, which is what the image's Debian bookworm Python is, so the host that
  downloads them must be the same (checked);
- ``app/``: the code the images run (services, gateway, generated stubs, the model manifest,
  this package) without tests, training or caches;
- ``models/<component>/``: the converted model files that component's settings name, taken from
  the host's model cache after their sha256 is checked against the manifest (a missing one is a
  clear error: run ``make models``). The gateway gets none.

The images then build with no network access of their own.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterable
from pathlib import Path

from deploy.docker.components import GATEWAY, REPO_ROOT, Component, model_services, settings_class
from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelStore

log = logging.getLogger("faceflow.docker.stage")

DEFAULT_CONTEXT = REPO_ROOT / "var" / "docker" / "context"
DEFAULT_WHEELS = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "faceflow"
    / "docker"
    / "wheels"
)
REQUIREMENTS = REPO_ROOT / "requirements" / "serve.txt"
APP_PARTS = ("services", "gateway", "protos/gen", "deploy/__init__.py", "deploy/docker")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", "*.egg-info")
IMAGE_PYTHON = (3, 11)


class StageError(RuntimeError):
    """The context cannot be staged (missing model, wrong host for the wheels, pip failed)."""


def models_of(comp: Component, manifest_names: Iterable[str]) -> list[str]:
    """Model names a component's settings refer to by default (str or list-of-str fields)."""
    if comp.is_gateway:
        return []
    known = set(manifest_names)
    names: list[str] = []
    fields = settings_class(comp).model_fields  # type: ignore[attr-defined]
    for field in fields.values():
        value = field.get_default(call_default_factory=True)
        values = value if isinstance(value, list | tuple) else [value]
        names.extend(v for v in values if isinstance(v, str) and v in known and v not in names)
    return names


def check_host_python() -> None:
    """The wheels pip picks match the image only on CPython 3.11 / Linux x86-64."""
    platform = sysconfig.get_platform()
    if sys.version_info[:2] != IMAGE_PYTHON or platform != "linux-x86_64":
        raise StageError(
            f"wheels for the image (CPython 3.11, linux-x86_64) must be downloaded by a matching "
            f"Python; this is {sys.version_info[0]}.{sys.version_info[1]} on {platform}"
        )


def download_wheels(cache: Path) -> None:
    """pip download the pinned runtime requirements into cache (a no-op when all are there)."""
    check_host_python()
    cache.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "-qq",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "-r",
        str(REQUIREMENTS),
        "-d",
        str(cache),
    ]
    log.info("pip download -r %s -d %s", REQUIREMENTS.relative_to(REPO_ROOT), cache)
    if subprocess.run(command, check=False).returncode != 0:
        raise StageError("pip download of requirements/serve.txt failed")


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def stage_code(app: Path) -> None:
    """Copy the runtime code into app/."""
    for part in APP_PARTS:
        source = REPO_ROOT / part
        target = app / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=IGNORED)
        else:
            shutil.copy2(source, target)
    (app / "models").mkdir()
    for manifest in sorted((REPO_ROOT / "models").glob("*.toml")):
        shutil.copy2(manifest, app / "models" / manifest.name)


def stage_models(comp: Component, store: ModelStore, target: Path) -> list[str]:
    """Link the component's verified model files into target; returns their file names."""
    target.mkdir(parents=True, exist_ok=True)
    staged = []
    for name in models_of(comp, store.manifest):
        prepared = store.open(name)  # sha256 checked here; raises ModelUnavailableError
        _link_or_copy(prepared.path, target / prepared.path.name)
        staged.append(prepared.path.name)
    if not staged:
        (target / ".none").write_text("this component bakes in no model\n")
    return staged


def stage(context: Path, wheels: Path, components: list[str], download: bool = True) -> None:
    """Write the whole build context (replacing an old one)."""
    if download:
        download_wheels(wheels)
    found = sorted(wheels.glob("*.whl"))
    if not found:
        raise StageError(f"no wheels in {wheels}: run without --no-download")
    if context.exists():
        shutil.rmtree(context)
    context.mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "deploy" / "docker" / "Dockerfile", context / "Dockerfile")
    (context / "requirements").mkdir()
    shutil.copy2(REQUIREMENTS, context / "requirements" / "serve.txt")
    for wheel in found:
        _link_or_copy(wheel, context / "wheels" / wheel.name)
    stage_code(context / "app")
    store = ModelStore()
    for name in components:
        files = stage_models(Component(name), store, context / "models" / name)
        log.info("%s: %s", name, ", ".join(files) or "no models")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.docker.stage",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--context", type=Path, default=DEFAULT_CONTEXT)
    parser.add_argument("--wheels", type=Path, default=DEFAULT_WHEELS)
    parser.add_argument("--no-download", action="store_true", help="use the cached wheels as is")
    parser.add_argument("--list", action="store_true", help="print the components and exit")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="stage: %(message)s", stream=sys.stderr)
    components = [*model_services(), GATEWAY]
    if options.list:
        sys.stdout.write("\n".join(components) + "\n")
        return 0
    try:
        stage(options.context, options.wheels, components, download=not options.no_download)
    except (StageError, ModelUnavailableError) as error:
        log.error("error: %s", error)
        return 1
    log.info("context ready: %s", options.context)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
