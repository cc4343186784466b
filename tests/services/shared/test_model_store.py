"""The model store: manifest parsing, verified loading, clear errors for missing/corrupt files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelStore, load_manifest
from services.shared.model_store.fetch import fetch_source
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
