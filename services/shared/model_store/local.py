"""Register a locally trained TFLite model so services can load it by name.

``register_local_model`` keeps the file at a stable path, writes a manifest TOML with a
``local`` source into a manifest folder (point ``FACEFLOW_EXTRA_MANIFESTS`` at it) and puts
the verified file into the model cache, exactly where ``ModelStore.open`` looks for it.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from services.shared.model_store.hashing import sha256_file
from services.shared.model_store.manifest import ManifestError, load_manifest
from services.shared.model_store.store import ModelStore

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ManifestError(f"cannot write {value!r} ({type(value).__name__}) to a manifest")


def _table(name: str, values: Mapping[str, Any]) -> str:
    lines = [f"[{name}]"] + [f"{key} = {_toml_value(v)}" for key, v in values.items()]
    return "\n".join(lines) + "\n"


def replace_params(
    toml_path: Path, params: Mapping[str, Any], drop: Sequence[str] = (), note: str = ""
) -> None:
    """Rewrite the ``[params]`` table (the last table) of a manifest TOML.

    Keys in ``params`` are set, keys starting with a prefix in ``drop`` are removed, the others
    kept; ``note`` becomes the comment above the new keys. A manifest whose ``[params]`` is not
    its last table is refused rather than reordered.
    """
    text = toml_path.read_text()
    match = re.search(r"^\[params\]\n", text, flags=re.MULTILINE)
    head, rest = (text[: match.start()], text[match.end() :]) if match else (text, "")
    if re.search(r"^\[", rest, flags=re.MULTILINE):
        raise ManifestError(f"{toml_path}: [params] must be the last table to be rewritten")
    existing = dict(tomllib.loads(text).get("params", {}))
    kept = {
        key: value
        for key, value in existing.items()
        if key not in params and not key.startswith(tuple(drop))
    }
    lines = [f"{key} = {_toml_value(value)}" for key, value in kept.items()]
    lines += [f"# {line}" for line in note.splitlines()]
    lines += [f"{key} = {_toml_value(value)}" for key, value in params.items()]
    toml_path.write_text(head.rstrip("\n") + "\n\n[params]\n" + "\n".join(lines) + "\n")


def check_local_name(name: str, version: str = "1") -> None:
    """ManifestError unless name/version are valid and name shadows no manifest model."""
    if not NAME_PATTERN.match(name) or not NAME_PATTERN.match(version):
        raise ManifestError(f"model name/version must match {NAME_PATTERN.pattern}: {name!r}")
    if name in load_manifest():
        raise ManifestError(f"model name {name!r} is already in the manifest; choose another")


def register_local_model(
    model_file: Path,
    name: str,
    version: str,
    task: str,
    manifest_dir: Path,
    cache_dir: Path,
    description: str = "",
    license_text: str = "trained locally",
    input_spec: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``<manifest_dir>/<name>.toml`` for model_file and cache it; returns the TOML path.

    The name must not shadow a model of ``models/`` (a ManifestError says so). A model file
    inside manifest_dir is recorded by its path relative to it (a file committed next to its
    manifest, e.g. ``models/files/``); any other by its absolute path.
    """
    check_local_name(name, version)
    model_file = Path(model_file).resolve()
    digest = sha256_file(model_file)
    manifest_root = Path(manifest_dir).resolve()
    recorded = (
        model_file.relative_to(manifest_root)
        if model_file.is_relative_to(manifest_root)
        else model_file
    )
    output = f"{name}_{version}{model_file.suffix or '.tflite'}"
    document = "\n".join(
        [
            f"name = {_toml_value(name)}",
            f"version = {_toml_value(version)}",
            f"task = {_toml_value(task)}",
            f"license = {_toml_value(license_text)}",
            f"description = {_toml_value(description)}",
            "",
            _table("source", {"kind": "local", "path": str(recorded), "sha256": digest}),
            _table("convert", {"method": "copy", "output": output, "sha256": digest}),
            _table("input", dict(input_spec or {})),
            _table("params", dict(params or {})),
        ]
    )
    manifest_dir.mkdir(parents=True, exist_ok=True)
    toml_path = manifest_dir / f"{name}.toml"
    toml_path.write_text(document)
    store = ModelStore(cache_dir=cache_dir, manifest=load_manifest(manifest_dir))
    target = store.path_for(store.spec(name))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    shutil.copyfile(model_file, partial)
    partial.replace(target)
    store.open(name)
    return toml_path
