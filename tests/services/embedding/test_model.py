"""SFace wrapper, the score mapping, the manifest thresholds and the settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.embedding.scores import score_to_similarity, similarity_to_score
from services.embedding.settings import EmbeddingSettings
from services.embedding.thresholds import FarTable
from services.shared.errors import InvalidArgumentError, ModelUnavailableError
from services.shared.model_store import ModelStore
from services.shared.model_zoo.sface import SFace, l2_normalise


@pytest.mark.parametrize(
    ("cosine", "score"), [(-0.5, 0.0), (0.0, 0.0), (0.4251, 42.51), (0.99999, 100.0), (1.2, 100.0)]
)
def test_score_mapping(cosine: float, score: float) -> None:
    assert similarity_to_score(cosine) == score


def test_score_round_trip() -> None:
    for cosine in (0.1, 0.3672, 0.5, 0.87):
        assert score_to_similarity(similarity_to_score(cosine)) == pytest.approx(cosine, abs=1e-4)


def test_thresholds_come_from_the_manifest_table(model_store: ModelStore) -> None:
    spec = model_store.spec("sface")
    table = FarTable.from_params(spec.params, spec.name)
    verify = table.verify_thresholds()
    assert list(verify) == ["1e-3", "1e-4", "1e-5"]
    assert 0.0 < verify["1e-3"] < verify["1e-4"] < verify["1e-5"] < 1.0
    assert table.verify_default == verify["1e-4"]
    assert table.fars[-1] <= 1e-6 and table.impostor_pairs >= 1_000_000


def test_missing_table_is_a_start_up_error() -> None:
    with pytest.raises(ModelUnavailableError, match="impostor_table"):
        FarTable.from_params({"similarity_far_1e3": 0.3}, "sface")


def test_table_too_short_for_verify_is_a_start_up_error() -> None:
    params = {
        "far_table_far": [1e-2, 1e-3],
        "far_table_similarity": [0.2, 0.3],
        "far_table_impostor_pairs": 5000,
    }
    with pytest.raises(ModelUnavailableError, match="1e-4, 1e-5"):
        FarTable.from_params(params, "sface")


def test_unordered_table_is_a_start_up_error() -> None:
    params = {
        "far_table_far": [1e-3, 1e-4, 1e-5],
        "far_table_similarity": [0.4, 0.3, 0.5],
        "far_table_impostor_pairs": 10**6,
    }
    with pytest.raises(ModelUnavailableError, match="must not decrease"):
        FarTable.from_params(params, "sface")


def test_sface_rejects_wrong_crops(model_store: ModelStore) -> None:
    sface = SFace.from_store(model_store, "sface", 1)
    with pytest.raises(InvalidArgumentError):
        sface.embed(np.zeros((1, 100, 100, 3), dtype=np.uint8))
    single = sface.embed(np.full((112, 112, 3), 128, dtype=np.uint8))
    assert single.shape == (1, 128)


def test_l2_normalise_keeps_zero_rows() -> None:
    result = l2_normalise(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert np.allclose(result, [[0.6, 0.8], [0.0, 0.0]])


def test_default_store_url_is_under_data_dir(tmp_path: Path) -> None:
    settings = EmbeddingSettings(data_dir=tmp_path)
    assert settings.resolved_store_url() == f"sqlite:///{tmp_path.resolve() / 'gallery'}"
    assert settings.port == 50052
    assert (
        EmbeddingSettings(store_url="postgresql://x/y").resolved_store_url() == "postgresql://x/y"
    )
