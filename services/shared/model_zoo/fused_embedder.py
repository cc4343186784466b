"""Score-level fusion of several face embedders, served as one embedder.

A fusion is a model in the manifest like any other (``task = "embedding-fusion"``); its file
is a small JSON definition (hash-checked by the model store) naming the member embedders and,
for each, the weight and the impostor-score deviation measured on LFW View 1
(``evaluation/fusion.py --write``). The fused score of two faces is

    sum_i w_i * (cos_i - mean_i) / std_i     (each member's cosine z-normalised, then weighted)

which is, up to a constant shift and a positive scale, ``sum_i c_i * cos_i`` with
``c_i = (w_i / std_i) / sum_j (w_j / std_j)``. So the fused embedding is the concatenation of
each member's unit vector times ``sqrt(c_i)``: it has unit length and the dot product of two
fused embeddings is an increasing affine function of the fused score (the same ranking, the
same decisions at matching thresholds). Everything downstream (the gallery stores and their
indexes, the impostor table, 1:1 and 1:N decisions, clustering) treats it as one embedder of
dimension ``sum_i dim_i``; its impostor table is measured on fused scores like any model's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from faceflow.common.v1 import common_pb2
from numpy.typing import NDArray

from services.shared.alignment import ALIGNED_SIZE
from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelSpec, ModelStore
from services.shared.model_zoo.embedder import Embedder

FUSION_TASK = "embedding-fusion"
FUSION_FORMAT = "faceflow-score-fusion-1"


@dataclass(frozen=True)
class FusionMember:
    """One member embedder of a fusion and what its score is scaled by."""

    model: str
    version: str
    weight: float
    impostor_mean: float
    impostor_std: float

    def to_json(self) -> dict[str, Any]:
        """The member as its JSON object."""
        return {
            "model": self.model,
            "version": self.version,
            "weight": self.weight,
            "impostor_mean": self.impostor_mean,
            "impostor_std": self.impostor_std,
        }


def fusion_coefficients(members: Sequence[FusionMember]) -> NDArray[np.float64]:
    """``c_i``: each member's share of the fused cosine (positive, summing to 1)."""
    raw = np.array([m.weight / m.impostor_std for m in members], dtype=np.float64)
    return np.asarray(raw / raw.sum(), dtype=np.float64)


def _member(data: Any, where: str) -> FusionMember:
    if not isinstance(data, dict):
        raise ModelUnavailableError(f"{where}: each member must be an object, got {data!r}")
    try:
        member = FusionMember(
            model=str(data["model"]),
            version=str(data["version"]),
            weight=float(data["weight"]),
            impostor_mean=float(data["impostor_mean"]),
            impostor_std=float(data["impostor_std"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ModelUnavailableError(f"{where}: bad member {data!r} ({error!r})") from None
    if not (0 < member.weight <= 1 and 0 < member.impostor_std < 1):
        raise ModelUnavailableError(
            f"{where}: member {member.model!r} needs 0 < weight <= 1 and 0 < impostor_std < 1"
        )
    if not math.isfinite(member.impostor_mean):
        raise ModelUnavailableError(f"{where}: member {member.model!r} impostor_mean not finite")
    return member


def read_fusion(path: Path) -> list[FusionMember]:
    """The members of a fusion definition file; ModelUnavailableError when malformed."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelUnavailableError(f"{path}: not a fusion definition ({error})") from None
    if not isinstance(data, dict) or data.get("format") != FUSION_FORMAT:
        raise ModelUnavailableError(f"{path}: 'format' must be {FUSION_FORMAT!r}")
    raw = data.get("members")
    if not isinstance(raw, list) or len(raw) < 2:
        raise ModelUnavailableError(f"{path}: 'members' must list two or more embedders")
    members = [_member(item, str(path)) for item in raw]
    if len({m.model for m in members}) != len(members):
        raise ModelUnavailableError(f"{path}: a member is named twice")
    if abs(sum(m.weight for m in members) - 1.0) > 1e-6:
        raise ModelUnavailableError(f"{path}: the members' weights must sum to 1")
    return members


def fusion_json(members: Sequence[FusionMember]) -> str:
    """A fusion definition file's text."""
    document = {"format": FUSION_FORMAT, "members": [m.to_json() for m in members]}
    return json.dumps(document, indent=2) + "\n"


class FusedEmbedder:
    """Several embedders of the same aligned crop as one: concatenated, scaled unit vectors."""

    task = FUSION_TASK

    def __init__(
        self, spec: ModelSpec, members: Sequence[FusionMember], embedders: Sequence[Embedder]
    ) -> None:
        for member, embedder in zip(members, embedders, strict=True):
            if (embedder.info.name, embedder.info.version) != (member.model, member.version):
                raise ModelUnavailableError(
                    f"{spec.key}: fitted on {member.model} {member.version}, but the manifest "
                    f"serves {embedder.info.name} {embedder.info.version}: refit the fusion"
                )
        self.spec = spec
        self.members = list(members)
        self.embedders = list(embedders)
        self.scales = np.sqrt(fusion_coefficients(members)).astype(np.float32)
        self.dimension = sum(e.dimension for e in embedders)

    @classmethod
    def from_store(
        cls,
        store: ModelStore,
        name: str,
        open_member: Callable[[ModelStore, str, int], Embedder],
        threads: int = 2,
    ) -> FusedEmbedder:
        """Open the verified definition and each member through ``open_member``."""
        prepared = store.open(name)
        if prepared.spec.task != FUSION_TASK:
            raise ModelUnavailableError(f"model {name!r} is not an {FUSION_TASK!r} model")
        members = read_fusion(prepared.path)
        embedders = []
        for member in members:
            if store.spec(member.model).task == FUSION_TASK:
                raise ModelUnavailableError(f"{prepared.spec.key}: a member is itself a fusion")
            embedders.append(open_member(store, member.model, threads))
        return cls(prepared.spec, members, embedders)

    @property
    def name(self) -> str:
        """The manifest name."""
        return self.spec.name

    @property
    def info(self) -> common_pb2.ModelInfo:
        """Name and version of the fusion, as responses report them."""
        return common_pb2.ModelInfo(name=self.spec.name, version=self.spec.version)

    def warm_up(self) -> None:
        """One embedding of a blank crop (warms every member)."""
        self.embed(np.zeros((1, ALIGNED_SIZE, ALIGNED_SIZE, 3), dtype=np.uint8))

    def embed(self, crops: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Each member's unit vectors, scaled by sqrt(c_i) and concatenated: unit rows."""
        parts = [
            scale * embedder.embed(crops)
            for scale, embedder in zip(self.scales, self.embedders, strict=True)
        ]
        return np.asarray(np.concatenate(parts, axis=1), dtype=np.float32)
