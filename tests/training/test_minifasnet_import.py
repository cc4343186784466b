"""The legacy .pth reader and the Keras rebuild, without PyTorch.

Proves: the restricted unpickler reads both published files completely (334 / 370 tensors,
the value counts PROVENANCE.md states), refuses files that would run code or are truncated,
and that the Keras network consumes every tensor of each state dict. The converted TFLite
files are deterministic (the manifest pins their sha256).
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest

from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelStore
from services.shared.model_store.fetch import fetch_source
from training.importers.torch_legacy import (
    LEGACY_MAGIC,
    LEGACY_PROTOCOL,
    LegacyCheckpointError,
    load_legacy_checkpoint,
    load_state_dict,
)
from training.models.minifasnet import WeightMismatchError, build_minifasnet, load_torch_state


@pytest.fixture(scope="module")
def sources(model_store: ModelStore, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The two published .pth files, fetched (mirror or download) and sha256-verified."""
    downloads = model_store.cache_dir.parent / "downloads"
    try:
        return {
            name: fetch_source(model_store.spec(name).source, downloads)
            for name in ("minifasnet_v2", "minifasnet_v1se")
        }
    except ModelUnavailableError as error:
        if "could not download" not in str(error):
            raise  # a hash mismatch is a failure, not a reason to skip
        pytest.skip(f"MiniFASNet sources unavailable (no mirror, no internet): {error}")


def test_reads_published_state_dicts(sources: dict[str, Path]) -> None:
    v2 = load_state_dict(sources["minifasnet_v2"])
    assert len(v2) == 334
    assert sum(a.size for a in v2.values()) == 444_978  # PROVENANCE.md's count
    assert all(not k.startswith("module.") for k in v2)
    assert v2["conv1.conv.weight"].shape == (32, 3, 3, 3)
    assert v2["conv1.conv.weight"].dtype == np.float32
    assert v2["prob.weight"].shape == (3, 128)
    assert v2["conv1.bn.num_batches_tracked"].shape == ()
    assert v2["conv1.bn.num_batches_tracked"].dtype == np.int64
    v1se = load_state_dict(sources["minifasnet_v1se"])
    assert len(v1se) == 370
    assert v1se["conv_3.model.3.se_module.fc1.weight"].shape == (16, 64, 1, 1)


def _legacy_bytes(obj_pickle: bytes) -> bytes:
    header = b"".join(
        pickle.dumps(v, protocol=2)
        for v in (LEGACY_MAGIC, LEGACY_PROTOCOL, {"little_endian": True})
    )
    return header + obj_pickle


def test_refuses_code_execution(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (print, ("owned",))

    path = tmp_path / "evil.pth"
    path.write_bytes(_legacy_bytes(pickle.dumps(Evil(), protocol=2)))
    refused = r"refusing to load global (__builtin__|builtins)\.print"
    with pytest.raises(LegacyCheckpointError, match=refused):
        load_legacy_checkpoint(path)


def test_refuses_zip_format_and_garbage(tmp_path: Path) -> None:
    path = tmp_path / "new.pth"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    with pytest.raises(LegacyCheckpointError):
        load_legacy_checkpoint(path)
    path.write_bytes(pickle.dumps(12345))
    with pytest.raises(LegacyCheckpointError, match="not a legacy PyTorch file"):
        load_legacy_checkpoint(path)


def test_truncated_storage_is_an_error(sources: dict[str, Path], tmp_path: Path) -> None:
    data = sources["minifasnet_v2"].read_bytes()
    path = tmp_path / "short.pth"
    path.write_bytes(data[: len(data) - 1000])
    with pytest.raises(LegacyCheckpointError, match=r"short|truncated"):
        load_state_dict(path)


def test_keras_rebuild_uses_every_tensor(sources: dict[str, Path]) -> None:
    for name, variant in (("minifasnet_v2", "MiniFASNetV2"), ("minifasnet_v1se", "MiniFASNetV1SE")):
        state = load_state_dict(sources[name])
        model = build_minifasnet(variant)  # type: ignore[arg-type]
        load_torch_state(model, state)
        weights = sum(a.size for k, a in state.items() if not k.endswith("num_batches_tracked"))
        assert model.count_params() == weights


def test_wrong_weights_are_refused(sources: dict[str, Path]) -> None:
    state = load_state_dict(sources["minifasnet_v1se"])
    with pytest.raises(WeightMismatchError):
        load_torch_state(build_minifasnet("MiniFASNetV2"), state)


def test_conversion_is_deterministic(
    sources: dict[str, Path], model_store: ModelStore, tmp_path: Path
) -> None:
    """Converting again gives the bytes the manifest pins (and the cached file has)."""
    from training.importers.minifasnet_export import export_v2

    produced = export_v2(sources["minifasnet_v2"], tmp_path)
    digest = hashlib.sha256(produced.read_bytes()).hexdigest()
    assert model_store.spec("minifasnet_v2").conversion.accepts(digest)
