"""Open-set identification arithmetic: from a target false-positive identification rate (FPIR)
to the false-accept rate (FAR) each comparison of a search may have, and back.

A 1:1 decision bounds one comparison's false accepts (FAR). A 1:N search of a stranger against
N candidates makes N comparisons; the stranger is wrongly identified when any of them passes,
so with independent comparisons ``FPIR = 1 - (1 - FAR)^N`` (about ``N x FAR``). Holding FPIR
fixed as the gallery grows therefore needs a per-comparison FAR of ``1 - (1 - FPIR)^(1/N)``.
A candidate is one user (their best face): the faces of one person are strongly correlated, so
their best score behaves like one comparison, not like one per face
(``evaluation/open_set.py`` measures the result).

The bounds live here so the gateway (request validation, OpenAPI) and the embedding service
(the decision) use the same numbers.
"""

from __future__ import annotations

import math

DEFAULT_FPIR = 1e-3
"""The default target: one stranger in a thousand matched to someone."""

MIN_FPIR = 1e-6
"""The strictest FPIR a request may ask for."""

MAX_FPIR = 0.1
"""The loosest FPIR a request may ask for."""


def far_for_fpir(fpir: float, candidates: int) -> float:
    """The per-comparison FAR that gives ``fpir`` over ``candidates`` comparisons."""
    if not 0.0 < fpir < 1.0:
        raise ValueError(f"fpir must be in (0, 1), got {fpir}")
    n = max(1, candidates)
    return -math.expm1(math.log1p(-fpir) / n)


def fpir_for_far(far: float, candidates: int) -> float:
    """The FPIR that a per-comparison FAR gives over ``candidates`` comparisons."""
    if not 0.0 <= far <= 1.0:
        raise ValueError(f"far must be in [0, 1], got {far}")
    if far == 1.0:
        return 1.0
    return -math.expm1(max(0, candidates) * math.log1p(-far))
