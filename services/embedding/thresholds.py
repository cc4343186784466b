"""Decision thresholds of the served embedding model, from its measured impostor-score table.

The manifest ``[params]`` of an embedding model holds a table measured on real impostor pairs
(``evaluation/impostor_table.py``): the cosine similarity that at most a given share of impostor
pairs reach, for false-accept rates from 1e-1 down to as far as the measurement allows (1e-6 for
SFace, on the 1.2 million lfw-devtest pairs), then continued to 1e-8 along the normal curve
fitted to those pairs (``FarTable.with_normal_tail``; ``far_table_measured_far`` says where
measurement ends). The service refuses to start without it (no guessed fallback). A search
whose gallery needs a FAR below the table uses the strictest row, and its answer's ``fpir``
says what that gives.

Two decisions read it:
- 1:1 ``Verify`` publishes the per-pair thresholds at FAR 1e-3 / 1e-4 / 1e-5 (``same_person``
  at 1e-4);
- 1:N ``Search`` holds the false-positive identification rate (FPIR) of the search: for N
  candidates each comparison may have FAR ``1 - (1 - FPIR)^(1/N)`` (``services.shared.open_set``),
  and the table gives the similarity at that FAR, interpolated linearly in log(FAR).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import NDArray

from services.embedding.scores import similarity_to_score
from services.shared.errors import ModelUnavailableError
from services.shared.open_set import far_for_fpir, fpir_for_far

log = logging.getLogger("faceflow.embedding")

PARAM_FARS = "far_table_far"
PARAM_SIMILARITIES = "far_table_similarity"
PARAM_PAIRS = "far_table_impostor_pairs"
PARAM_MEASURED_FAR = "far_table_measured_far"

VERIFY_FARS = {"1e-3": 1e-3, "1e-4": 1e-4, "1e-5": 1e-5}
"""The per-pair thresholds /verify publishes, keyed as in its response."""

DEFAULT_VERIFY_FAR = "1e-4"
"""The FAR of ``same_person``."""

STEPS_PER_DECADE = 10


def table_fars(largest: float = 1e-1, smallest: float = 1e-8) -> list[float]:
    """The FARs a table is measured at: 10 per decade from ``largest`` down to ``smallest``."""
    decades = round(math.log10(largest / smallest))
    count = decades * STEPS_PER_DECADE + 1
    top = math.log10(largest)
    return [float(f"{10 ** (top - i / STEPS_PER_DECADE):.3g}") for i in range(count)]


def threshold_at_far(
    ordered_top_scores: NDArray[np.float64], impostor_pairs: int, far: float
) -> float | None:
    """The lowest similarity (``>=`` accepts) that lets at most ``far`` of the impostors through.

    ``ordered_top_scores``: the highest impostor scores, highest first, at least the
    ``far x impostor_pairs + 1`` top ones. None when the pairs cannot measure ``far`` (not one
    impostor to spare). Every threshold-at-FAR in the project is this one.
    """
    allowed = math.floor(far * impostor_pairs)
    if allowed < 1:
        return None
    if allowed >= len(ordered_top_scores):
        raise ValueError(
            f"FAR {far:g} needs the top {allowed + 1} impostor scores, "
            f"got {len(ordered_top_scores)}"
        )
    return round(float(ordered_top_scores[allowed]) + 1e-6, 6)


@dataclass(frozen=True)
class Decision:
    """A search's threshold and what it means for the gallery searched."""

    similarity: float
    """The cosine a match must reach."""
    fpir: float
    """The expected share of strangers matched to someone at this threshold."""
    gallery_size: int
    """Candidates (users) searched."""
    far: float
    """The per-comparison false-accept rate used."""

    @property
    def score(self) -> float:
        """The threshold as a 0-100 score."""
        return similarity_to_score(self.similarity)


@dataclass(frozen=True)
class FarTable:
    """Cosine similarity at each false-accept rate, FARs strictly decreasing."""

    fars: tuple[float, ...]
    similarities: tuple[float, ...]
    impostor_pairs: int
    measured_far: float = 0.0
    """The smallest FAR measured on impostor pairs; rows below it are extrapolated
    (``with_normal_tail``). 0 (the default) means every row was measured."""

    def __post_init__(self) -> None:
        if len(self.fars) != len(self.similarities) or len(self.fars) < 2:
            raise ValueError("a FAR table needs two or more (far, similarity) rows of equal count")
        if self.measured_far and self.measured_far not in self.fars:
            raise ValueError("the measured FAR must be one of the table's FARs")
        if any(not 0.0 < far < 1.0 for far in self.fars):
            raise ValueError("table FARs must lie in (0, 1)")
        if any(b >= a for a, b in zip(self.fars, self.fars[1:], strict=False)):
            raise ValueError("table FARs must decrease strictly")
        if any(b < a for a, b in zip(self.similarities, self.similarities[1:], strict=False)):
            raise ValueError("table similarities must not decrease as the FAR falls")

    # ------------------------------------------------------------- building

    @classmethod
    def measure(
        cls, top_scores: NDArray[np.floating], impostor_pairs: int, fars: Sequence[float]
    ) -> FarTable:
        """The table from the highest impostor similarities of ``impostor_pairs`` pairs.

        ``top_scores`` must hold at least the ``max(fars) x impostor_pairs`` highest scores
        (more is fine). The threshold at FAR f lets at most ``floor(f x pairs)`` impostors
        through; a FAR with no impostor to spare (``f x pairs < 1``) cannot be measured and is
        left out of the table.
        """
        ordered = np.sort(np.asarray(top_scores, dtype=np.float64))[::-1]
        rows_far, rows_similarity = [], []
        for far in sorted(fars, reverse=True):
            similarity = threshold_at_far(ordered, impostor_pairs, far)
            if similarity is not None:
                rows_far.append(float(far))
                rows_similarity.append(similarity)
        return cls(tuple(rows_far), tuple(rows_similarity), int(impostor_pairs))

    def with_normal_tail(self, mean: float, std: float, smallest: float = 1e-8) -> FarTable:
        """This table with rows below its strictest FAR, down to ``smallest``, extrapolated.

        Impostor cosines of a face embedder are close to normal in their upper tail: for SFace
        on lfw-devtest a normal fit (mean and standard deviation) of 1% of the impostor pairs
        gives the two decades below that sample's own floor within 0.002 of what all the pairs
        measure (``evaluation/impostor_table.py`` prints this check). A new row takes the
        stricter of the normal fit, ``mean + std * z(f)``, and the fit's slope continued from
        the strictest measured row, ``similarity(floor) + std * (z(f) - z(floor))`` (``z``:
        the standard normal quantile at ``1 - f``), so a tail measured heavier than normal
        stays heavier. ``measured_far`` keeps where measurement ends.
        """
        if std <= 0.0:
            raise ValueError("the impostor scores' standard deviation must be positive")
        floor, floor_similarity = self.fars[-1], self.similarities[-1]
        extra = [far for far in table_fars(smallest=smallest) if far < floor]
        normal = NormalDist()
        anchor = normal.inv_cdf(1.0 - floor)
        similarities: list[float] = []
        previous = floor_similarity  # never below it: rounding, or a cosine a hair over 1
        for far in extra:
            z = normal.inv_cdf(1.0 - far)
            fitted = mean + std * z
            continued = floor_similarity + std * (z - anchor)
            previous = max(previous, round(min(1.0, max(fitted, continued)), 6))
            similarities.append(previous)
        return FarTable(
            self.fars + tuple(extra),
            self.similarities + tuple(similarities),
            self.impostor_pairs,
            measured_far=self.strictest_measured_far,
        )

    @property
    def strictest_measured_far(self) -> float:
        """The smallest FAR that rests on measured impostor pairs."""
        return self.measured_far or self.fars[-1]

    def params(self) -> dict[str, Any]:
        """The manifest params holding this table."""
        params: dict[str, Any] = {
            PARAM_FARS: list(self.fars),
            PARAM_SIMILARITIES: list(self.similarities),
            PARAM_PAIRS: self.impostor_pairs,
        }
        if self.measured_far:
            params[PARAM_MEASURED_FAR] = self.measured_far
        return params

    @classmethod
    def from_params(cls, params: Mapping[str, Any], model: str) -> FarTable:
        """Read it from a manifest's params; ModelUnavailableError when absent or unusable."""
        missing = [
            name for name in (PARAM_FARS, PARAM_SIMILARITIES, PARAM_PAIRS) if name not in params
        ]
        if missing:
            raise ModelUnavailableError(
                f"models/{model}.toml [params] lacks {', '.join(missing)}: run "
                "evaluation/impostor_table.py --write"
            )
        try:
            table = cls(
                tuple(float(v) for v in params[PARAM_FARS]),
                tuple(float(v) for v in params[PARAM_SIMILARITIES]),
                int(params[PARAM_PAIRS]),
                measured_far=float(params.get(PARAM_MEASURED_FAR, 0.0)),
            )
        except (TypeError, ValueError) as error:
            raise ModelUnavailableError(f"models/{model}.toml far table: {error}") from None
        floor = table.strictest_measured_far
        uncovered = [key for key, far in VERIFY_FARS.items() if far < floor]
        if uncovered:
            raise ModelUnavailableError(
                f"models/{model}.toml far table is measured down to FAR {floor:g}: the /verify "
                f"thresholds at {', '.join(uncovered)} need more impostor pairs"
            )
        return table

    # -------------------------------------------------------------- lookups

    def similarity_at_far(self, far: float) -> float:
        """The cosine at a FAR, interpolated in log(FAR); clamped to the table's ends."""
        logs = np.log10(np.asarray(self.fars[::-1]))
        values = np.asarray(self.similarities[::-1])
        return float(np.interp(math.log10(far), logs, values))

    def far_at_similarity(self, similarity: float) -> float:
        """The FAR of a cosine threshold (inverse lookup); clamped to the table's ends."""
        values = np.asarray(self.similarities)
        logs = np.log10(np.asarray(self.fars))
        # np.interp needs increasing x: similarities rise as the FAR falls; on a tie the
        # larger FAR (first row) is the honest one.
        unique, first = np.unique(values, return_index=True)
        return float(10 ** np.interp(similarity, unique, logs[first]))

    def verify_thresholds(self) -> dict[str, float]:
        """The published per-pair cosine thresholds keyed "1e-3", "1e-4", "1e-5"."""
        return {key: self.similarity_at_far(far) for key, far in VERIFY_FARS.items()}

    @property
    def verify_default(self) -> float:
        """The cosine of ``same_person`` (FAR 1e-4)."""
        return self.similarity_at_far(VERIFY_FARS[DEFAULT_VERIFY_FAR])

    def search_decision(self, fpir: float, gallery_size: int) -> Decision:
        """The threshold that holds ``fpir`` over ``gallery_size`` candidates.

        Past the table's strictest FAR (a gallery too large for the measured tail) the strictest
        measured threshold is used and the decision's ``fpir`` says what it gives instead.
        """
        far = far_for_fpir(fpir, gallery_size)
        if self.fars[-1] <= far < self.strictest_measured_far:
            log.info(
                "FPIR %g over %d candidates needs FAR %.2g: an extrapolated row of the table "
                "(measured down to %g)",
                fpir,
                gallery_size,
                far,
                self.strictest_measured_far,
            )
        if far < self.fars[-1]:
            log.warning(
                "FPIR %g over %d candidates needs FAR %.2g, below the table's %g: using the "
                "strictest threshold of the table",
                fpir,
                gallery_size,
                far,
                self.fars[-1],
            )
            far = self.fars[-1]
            fpir = fpir_for_far(far, gallery_size)
        return Decision(self.similarity_at_far(far), fpir, gallery_size, far)

    def explicit_decision(self, similarity: float, gallery_size: int) -> Decision:
        """What a caller's own threshold means for ``gallery_size`` candidates."""
        far = self.far_at_similarity(similarity)
        return Decision(similarity, fpir_for_far(far, gallery_size), gallery_size, far)
