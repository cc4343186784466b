"""Decision thresholds published with the model (manifest ``[params]``), as cosine and score.

``evaluation/verify_thresholds.py`` measures the cosine similarity at false-accept rates 1e-3,
1e-4 and 1e-5 on real LFW View-1 faces and writes them to ``models/sface.toml``; the service
refuses to start without them (no guessed fallback).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.embedding.model import similarity_to_score
from services.shared.errors import ModelUnavailableError

PARAM_NAMES = {
    "1e-3": "similarity_far_1e3",
    "1e-4": "similarity_far_1e4",
    "1e-5": "similarity_far_1e5",
}


@dataclass(frozen=True)
class Thresholds:
    """Cosine similarity at each false-accept rate."""

    far_1e3: float
    far_1e4: float
    far_1e5: float

    @classmethod
    def from_params(cls, params: dict[str, Any], model: str) -> Thresholds:
        """Read them from a manifest's params; ModelUnavailableError when absent."""
        missing = [name for name in PARAM_NAMES.values() if name not in params]
        if missing:
            raise ModelUnavailableError(
                f"models/{model}.toml [params] lacks {', '.join(missing)}: run "
                "evaluation/verify_thresholds.py"
            )
        return cls(*(float(params[name]) for name in PARAM_NAMES.values()))

    @property
    def default(self) -> float:
        """The decision threshold of /verify and /search: FAR 1e-4."""
        return self.far_1e4

    def scores(self) -> dict[str, float]:
        """The thresholds as 0-100 scores keyed "1e-3", "1e-4", "1e-5"."""
        return {
            "1e-3": similarity_to_score(self.far_1e3),
            "1e-4": similarity_to_score(self.far_1e4),
            "1e-5": similarity_to_score(self.far_1e5),
        }
