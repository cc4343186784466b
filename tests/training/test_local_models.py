"""Registering a locally trained model in the model store (``local`` source kind)."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelStore
from services.shared.model_store.__main__ import prepare_one
from services.shared.model_store.local import register_local_model
from services.shared.model_store.manifest import (
    MANIFEST_DIR,
    ManifestError,
    load_manifest,
    parse_spec,
)


def test_register_open_and_reprepare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model_file = tmp_path / "trained.tflite"
    model_file.write_bytes(b"TFL3 not really a model but bytes with a hash")
    manifests, cache = tmp_path / "manifests", tmp_path / "cache"
    toml = register_local_model(
        model_file,
        "my-embedder",
        "7",
        "embedding",
        manifests,
        cache,
        input_spec={"shape": [1, 112, 112, 3], "range": "0-255"},
        params={"threshold": 0.3},
    )
    assert toml == manifests / "my-embedder.toml"
    monkeypatch.setenv("FACEFLOW_EXTRA_MANIFESTS", str(manifests))
    store = ModelStore(cache_dir=cache)
    prepared = store.open("my-embedder")
    assert prepared.path.read_bytes() == model_file.read_bytes()
    assert prepared.spec.input["shape"] == [1, 112, 112, 3]
    assert prepared.spec.params["threshold"] == 0.3
    assert "yunet" in store.manifest  # the shipped models are still there

    prepared.path.unlink()  # `prepare` restores the cache copy from the local source
    prepare_one(store, store.spec("my-embedder"), 1, 1)
    assert store.open("my-embedder").path.is_file()

    prepared.path.unlink()
    model_file.unlink()
    shutil.rmtree(cache.parent / "downloads")  # the fetched-source cache of the first prepare
    with pytest.raises(ModelUnavailableError, match="export the model again"):
        prepare_one(store, store.spec("my-embedder"), 1, 1)


def test_extra_manifests_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without FACEFLOW_EXTRA_MANIFESTS the only local sources are files committed next to
    their manifest in models/ (a fresh clone has them), never a path on some machine."""
    monkeypatch.delenv("FACEFLOW_EXTRA_MANIFESTS", raising=False)
    local = [spec for spec in load_manifest().values() if spec.source.kind == "local"]
    for spec in local:
        raw = tomllib.loads((MANIFEST_DIR / f"{spec.name}.toml").read_text())
        assert not Path(raw["source"]["path"]).is_absolute(), spec.name
        path = Path(spec.source.path)
        assert path.is_relative_to(MANIFEST_DIR) and path.is_file(), spec.name
    assert sorted(spec.name for spec in local) == [
        "age_gender_sface",
        "emotion_fer2013",
        "sface_dlib",
        "sface_facenet",
    ]


def test_a_file_inside_the_manifest_folder_is_recorded_relative(tmp_path: Path) -> None:
    manifests = tmp_path / "models"
    (manifests / "files").mkdir(parents=True)
    model_file = manifests / "files" / "head.tflite"
    model_file.write_bytes(b"TFL3 bytes")
    toml = register_local_model(model_file, "in-repo", "1", "t", manifests, tmp_path / "cache")
    assert tomllib.loads(toml.read_text())["source"]["path"] == "files/head.tflite"
    assert load_manifest(manifests)["in-repo"].source.path == str(model_file)
    outside = tmp_path / "elsewhere.tflite"
    outside.write_bytes(b"TFL3 other")
    toml = register_local_model(outside, "outside", "1", "t", manifests, tmp_path / "cache")
    assert tomllib.loads(toml.read_text())["source"]["path"] == str(outside)


def test_shipped_name_refused(tmp_path: Path) -> None:
    model_file = tmp_path / "m.tflite"
    model_file.write_bytes(b"x")
    with pytest.raises(ManifestError, match="already in the manifest"):
        register_local_model(model_file, "sface", "1", "embedding", tmp_path, tmp_path)
    with pytest.raises(ManifestError, match="must match"):
        register_local_model(model_file, "Bad Name", "1", "embedding", tmp_path, tmp_path)


def test_local_source_needs_path() -> None:
    document = {
        "name": "x",
        "version": "1",
        "task": "t",
        "license": "l",
        "source": {"kind": "local", "sha256": "0" * 64},
        "convert": {"method": "copy", "output": "x.tflite", "sha256": "0" * 64},
    }
    with pytest.raises(ManifestError, match="missing field 'path'"):
        parse_spec(document, "x.toml")
