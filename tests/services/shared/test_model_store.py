"""The model store: manifest parsing, verified loading, clear errors for missing/corrupt files."""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelStore, load_manifest
from services.shared.model_store.fetch import fetch_source, npm_tarball_url
from services.shared.model_store.hashing import sha256_file
from services.shared.model_store.manifest import ManifestError, Source, parse_spec

MINIMAL = {
    "name": "m",
    "version": "1",
    "task": "t",
    "license": "MIT",
    "source": {"kind": "url", "url": "https://example.invalid/m.onnx", "sha256": "ab"},
    "convert": {"method": "copy", "output": "m.tflite", "sha256": "cd"},
}


def test_repository_manifest_is_complete() -> None:
    manifest = load_manifest()
    assert {"yunet", "facemesh"} <= set(manifest)
    for spec in manifest.values():
        assert len(spec.source.sha256) == 64, spec.name
        assert len(spec.conversion.sha256) == 64, spec.name
        assert spec.license


def test_missing_field_is_reported() -> None:
    data = {k: v for k, v in MINIMAL.items() if k != "license"}
    with pytest.raises(ManifestError, match="license"):
        parse_spec(data, "m.toml")


def test_bad_source_kind() -> None:
    data = {**MINIMAL, "source": {**MINIMAL["source"], "kind": "ftp"}}  # type: ignore[dict-item]
    with pytest.raises(ManifestError, match="kind"):
        parse_spec(data, "m.toml")


def test_prepared_models_open(model_store: ModelStore) -> None:
    prepared = model_store.open("yunet")
    assert prepared.path.is_file()
    assert sha256_file(prepared.path) == prepared.spec.conversion.sha256


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    store = ModelStore(cache_dir=tmp_path)
    with pytest.raises(ModelUnavailableError, match="make models"):
        store.open("yunet")


def test_unknown_model(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="not in the manifest"):
        ModelStore(cache_dir=tmp_path).open("nope")


def test_corrupt_model_is_refused(tmp_path: Path, model_store: ModelStore) -> None:
    good = model_store.open("yunet")
    store = ModelStore(cache_dir=tmp_path)
    target = store.path_for(good.spec)
    shutil.copyfile(good.path, target)
    with target.open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(ModelUnavailableError, match="corrupt"):
        store.open("yunet")


def test_detection_service_refuses_to_start_without_models(tmp_path: Path) -> None:
    from services.detection.server import build_servicer
    from services.detection.settings import DetectionSettings

    with pytest.raises(ModelUnavailableError, match="not prepared"):
        build_servicer(DetectionSettings(model_cache_dir=tmp_path))


def test_fetch_uses_mirror_and_checks_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "weights.bin").write_bytes(b"real bytes")
    good = Source(
        kind="url",
        sha256=sha256_file(mirror / "weights.bin"),
        filename="weights.bin",
        url="https://example.invalid/weights.bin",
    )
    monkeypatch.setenv("FACEFLOW_MODEL_MIRROR", str(mirror))
    fetched = fetch_source(good, tmp_path / "downloads")
    assert fetched.read_bytes() == b"real bytes"
    bad = Source(
        kind="url", sha256="0" * 64, filename="weights.bin", url="http://127.0.0.1:9/weights.bin"
    )
    with pytest.raises(ModelUnavailableError):
        fetch_source(bad, tmp_path / "downloads2")


NPM_TARBALL = b"the npm registry's tarball bytes"
NPM_PATH = "/@scope/pkg/-/pkg-1.2.3.tgz"


def _npm_source(version: str = "1.2.3", sha256: str = "") -> Source:
    data = {
        **MINIMAL,
        "source": {
            "kind": "npm",
            "package": "@scope/pkg",
            "package_version": version,
            "sha256": sha256 or hashlib.sha256(NPM_TARBALL).hexdigest(),
        },
    }
    return parse_spec(data, "m.toml").source


def test_npm_source_is_the_registry_tarball(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACEFLOW_NPM_REGISTRY", raising=False)
    source = _npm_source()
    assert (source.kind, source.package, source.package_version) == ("npm", "@scope/pkg", "1.2.3")
    assert source.filename == "scope-pkg-1.2.3.tgz"  # the name `npm pack` writes
    assert npm_tarball_url(source) == f"https://registry.npmjs.org{NPM_PATH}"
    missing = {**MINIMAL, "source": {"kind": "npm", "package": "pkg", "sha256": "ab"}}
    with pytest.raises(ManifestError, match="missing field 'package_version'"):
        parse_spec(missing, "m.toml")


@pytest.mark.parametrize(
    ("package", "version"),
    [("pkg", "1/../../x"), ("../pkg", "1.0.0"), ("@scope/../pkg", "1.0.0"), ("pkg", "latest")],
)
def test_npm_source_refuses_what_is_not_a_name_and_version(package: str, version: str) -> None:
    table = {"kind": "npm", "package": package, "package_version": version, "sha256": "ab"}
    with pytest.raises(ManifestError) as caught:
        parse_spec({**MINIMAL, "source": table}, "m.toml")
    assert str(caught.value) == (
        f"m.toml [source]: {package!r} {version!r} is not an npm package name and version "
        "(e.g. '@scope/name' '1.2.3')"
    )


@pytest.fixture()
def npm_registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[str]]:
    """A registry on 127.0.0.1 serving one tarball (404 otherwise); yields the requested paths."""
    requested: list[str] = []

    class Registry(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requested.append(self.path)
            found = self.path == NPM_PATH
            self.send_response(200 if found else 404)
            self.end_headers()
            if found:
                self.wfile.write(NPM_TARBALL)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("FACEFLOW_NPM_REGISTRY", f"http://127.0.0.1:{server.server_port}/")
    monkeypatch.setenv("FACEFLOW_MODEL_MIRROR", str(tmp_path / "no-mirror"))
    try:
        yield requested
    finally:
        server.shutdown()
        thread.join()


def test_fetch_npm_tarball_from_the_registry(npm_registry: list[str], tmp_path: Path) -> None:
    source = _npm_source()
    fetched = fetch_source(source, tmp_path / "downloads")
    assert fetched.read_bytes() == NPM_TARBALL
    assert npm_registry == [NPM_PATH]
    assert fetch_source(source, tmp_path / "downloads") == fetched
    assert npm_registry == [NPM_PATH], "a verified tarball is not downloaded again"
    with pytest.raises(ModelUnavailableError, match=r"sha256 .* does not match the manifest's 0+"):
        fetch_source(_npm_source(sha256="0" * 64), tmp_path / "other")
    with pytest.raises(ModelUnavailableError) as caught:
        fetch_source(_npm_source("9.9.9"), tmp_path / "other")
    assert "HTTP Error 404" in str(caught.value)
    assert str(caught.value).endswith(
        "set FACEFLOW_MODEL_MIRROR to a folder holding scope-pkg-9.9.9.tgz "
        "(`npm pack @scope/pkg@9.9.9` writes it)"
    )


def test_fetch_npm_tarball_from_a_mirror(
    npm_registry: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "scope-pkg-1.2.3.tgz").write_bytes(NPM_TARBALL)
    monkeypatch.setenv("FACEFLOW_MODEL_MIRROR", str(mirror))
    assert fetch_source(_npm_source(), tmp_path / "downloads").read_bytes() == NPM_TARBALL
    assert npm_registry == [], "the mirror's copy is used without asking the registry"


def failing_importer(source: Path, workdir: Path) -> Path:
    """A ``python:`` converter that fails the way an importer does on a bad source file."""
    raise ValueError(f"{source.name}: not the expected weights")


def test_an_importer_error_is_that_model_unavailable(tmp_path: Path) -> None:
    from services.shared.model_store.convert import convert

    method = f"python:{__name__}:failing_importer"
    conversion = {"method": method, "output": "m.tflite", "sha256": "cd"}
    spec = parse_spec({**MINIMAL, "convert": conversion}, "m.toml")
    with pytest.raises(ModelUnavailableError) as caught:
        convert(spec, tmp_path / "m.onnx", tmp_path)
    assert str(caught.value) == "m-1: conversion failed: m.onnx: not the expected weights"
