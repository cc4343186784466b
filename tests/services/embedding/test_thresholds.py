"""The impostor table and the two decisions read from it (1:1 FAR, 1:N FPIR)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from services.embedding.thresholds import FarTable, table_fars
from services.shared.errors import ModelUnavailableError
from services.shared.open_set import far_for_fpir, fpir_for_far

# A synthetic table: cosine rises by 0.05 per decade of FAR, from 0.2 at 1e-1 to 0.55 at 1e-8.
TABLE = FarTable(
    tuple(10.0**-k for k in range(1, 9)),
    tuple(round(0.15 + 0.05 * k, 2) for k in range(1, 9)),
    300_000_000,
)


def test_table_fars_are_ten_per_decade() -> None:
    fars = table_fars()
    assert len(fars) == 71 and fars[0] == 0.1 and fars[-1] == 1e-8
    assert fars[10] == 0.01 and fars[5] == pytest.approx(10**-1.5, rel=1e-2)


def test_lookups_interpolate_in_log_far_and_clamp() -> None:
    assert TABLE.similarity_at_far(1e-4) == pytest.approx(0.35)
    assert TABLE.similarity_at_far(10**-4.5) == pytest.approx(0.375)
    assert TABLE.similarity_at_far(1e-12) == pytest.approx(0.55)  # strictest measured
    assert TABLE.similarity_at_far(0.5) == pytest.approx(0.2)
    assert TABLE.far_at_similarity(0.375) == pytest.approx(10**-4.5)
    assert TABLE.far_at_similarity(0.99) == pytest.approx(1e-8)
    assert TABLE.verify_thresholds() == pytest.approx({"1e-3": 0.3, "1e-4": 0.35, "1e-5": 0.4})


def test_fpir_arithmetic() -> None:
    # A gallery of N faces gets the threshold for FPIR / N (1 - (1 - FPIR)^(1/N) exactly).
    for n in (1, 100, 20_000):
        far = far_for_fpir(1e-3, n)
        assert far == pytest.approx(1e-3 / n, rel=1e-3)
        assert fpir_for_far(far, n) == pytest.approx(1e-3)
    assert far_for_fpir(0.5, 2) == pytest.approx(1 - math.sqrt(0.5))
    assert fpir_for_far(0.0, 10) == 0.0 and fpir_for_far(1.0, 10) == 1.0
    assert far_for_fpir(1e-3, 0) == pytest.approx(1e-3)  # an empty gallery: one comparison
    with pytest.raises(ValueError):
        far_for_fpir(0.0, 10)


def test_search_threshold_grows_with_the_gallery() -> None:
    small, large = TABLE.search_decision(1e-3, 100), TABLE.search_decision(1e-3, 10_000)
    assert small.far == pytest.approx(1e-5, rel=1e-3)
    assert small.similarity == pytest.approx(0.4, abs=1e-4)
    assert large.similarity == pytest.approx(0.5, abs=1e-4)
    assert small.fpir == large.fpir == 1e-3 and large.gallery_size == 10_000
    assert large.score == pytest.approx(50.0, abs=0.01)


def test_gallery_past_the_table_uses_the_strictest_row_and_says_so() -> None:
    decision = TABLE.search_decision(1e-3, 10**7)  # needs FAR 1e-10
    assert decision.similarity == pytest.approx(0.55)
    assert decision.far == 1e-8
    assert decision.fpir == pytest.approx(fpir_for_far(1e-8, 10**7))
    assert decision.fpir > 1e-3


def test_explicit_threshold_reports_its_fpir() -> None:
    decision = TABLE.explicit_decision(0.4, 100)
    assert decision.similarity == 0.4 and decision.far == pytest.approx(1e-5)
    assert decision.fpir == pytest.approx(1e-3, rel=1e-3)


def test_measure_leaves_out_fars_it_cannot_measure() -> None:
    scores = np.linspace(-1.0, 1.0, 1000)
    table = FarTable.measure(scores, 1000, [1e-1, 1e-2, 1e-3, 1e-4])
    assert table.fars == (1e-1, 1e-2, 1e-3)
    for far, similarity in zip(table.fars, table.similarities, strict=True):
        assert np.mean(scores >= similarity) <= far
    with pytest.raises(ValueError, match="needs the top"):
        FarTable.measure(scores[-5:], 1000, [1e-1])


def test_bad_tables_are_refused() -> None:
    with pytest.raises(ValueError, match="decrease strictly"):
        FarTable((1e-3, 1e-3), (0.3, 0.4), 10)
    with pytest.raises(ValueError, match="must not decrease"):
        FarTable((1e-3, 1e-4), (0.4, 0.3), 10)
    with pytest.raises(ValueError, match="two or more"):
        FarTable((1e-3,), (0.4,), 10)


# A measured table down to 1e-4 whose scores are normal with mean 0.1 and deviation 0.1.
NORMAL_MEASURED = FarTable(
    (1e-2, 1e-3, 1e-4),
    (round(0.1 + 0.1 * 2.3263, 6), round(0.1 + 0.1 * 3.0902, 6), round(0.1 + 0.1 * 3.7190, 6)),
    100_000,
)


def test_normal_tail_continues_the_table_to_1e8_and_keeps_where_measurement_ends() -> None:
    table = NORMAL_MEASURED.with_normal_tail(0.1, 0.1)
    assert table.fars[-1] == 1e-8 and len(table.fars) == 3 + 40
    assert table.strictest_measured_far == 1e-4 and NORMAL_MEASURED.strictest_measured_far == 1e-4
    assert table.similarity_at_far(1e-6) == pytest.approx(0.1 + 0.1 * 4.7534, abs=1e-4)
    assert table.similarity_at_far(1e-8) == pytest.approx(0.1 + 0.1 * 5.6121, abs=1e-4)
    deeper = FarTable(table.fars[:13], table.similarities[:13], 10**6).with_normal_tail(0.1, 0.1)
    assert deeper.strictest_measured_far == 1e-5 and deeper.params()["far_table_measured_far"]
    assert FarTable.from_params(deeper.params(), "m") == deeper
    with pytest.raises(ValueError, match="standard deviation"):
        NORMAL_MEASURED.with_normal_tail(0.1, 0.0)


def test_a_tail_measured_heavier_than_normal_stays_heavier() -> None:
    heavy = FarTable((1e-2, 1e-3, 1e-4), (0.33, 0.41, 0.60), 100_000)
    table = heavy.with_normal_tail(0.1, 0.1)
    # The normal fit says 0.575 at 1e-5, below the measured 0.60 at 1e-4: the curve's slope is
    # continued from the measured row instead.
    step = 0.1 * (4.2649 - 3.7190)
    assert table.similarity_at_far(1e-5) == pytest.approx(0.60 + step, abs=1e-4)


def test_the_tail_never_falls_below_the_strictest_measured_row() -> None:
    """A barely trained model's impostors can score a float hair over 1.0: the rows below
    stay at that value (a table never decreases), instead of the clamp to 1.0 breaking it."""
    measured = FarTable((1e-2, 1e-3, 1e-4), (0.999, 1.0000001, 1.0000001), 100_000)
    table = measured.with_normal_tail(0.99, 0.001)
    assert table.similarities[3:] == (1.0000001,) * (len(table.fars) - 3)


def test_search_reads_extrapolated_rows_and_verify_needs_measured_ones() -> None:
    table = NORMAL_MEASURED.with_normal_tail(0.1, 0.1)
    decision = table.search_decision(1e-3, 1000)  # FAR 1e-6: extrapolated, not clamped
    assert decision.far == pytest.approx(1e-6, rel=1e-3) and decision.fpir == 1e-3
    assert decision.similarity == pytest.approx(0.1 + 0.1 * 4.7534, abs=1e-3)
    with pytest.raises(ModelUnavailableError, match=r"measured down to FAR 0\.0001"):
        FarTable.from_params(table.params(), "m")  # /verify's 1e-5 would be extrapolated


def test_measured_far_must_be_a_row() -> None:
    with pytest.raises(ValueError, match="measured FAR"):
        FarTable((1e-2, 1e-3), (0.2, 0.3), 1000, measured_far=1e-4)
