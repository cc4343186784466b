"""The arithmetic of the threshold and accuracy evaluations (evaluation/*.py)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from evaluation import impostor_table
from services.shared.model_store.local import replace_params
from services.shared.model_store.manifest import ManifestError


def test_measured_table_matches_a_brute_force_count() -> None:
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(1500), 2)  # 3000 photos, pairs of one person
    vectors = rng.normal(size=(len(labels), 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    table = impostor_table.measure_table(vectors, labels)
    scores = vectors @ vectors.T
    impostor = scores[np.triu(np.ones(scores.shape, bool), k=1) & (labels[:, None] != labels)]
    assert table.impostor_pairs == len(impostor) == 3000 * 2999 // 2 - 1500
    measured = [row for row in zip(table.fars, table.similarities, strict=True)]
    measured = [(far, s) for far, s in measured if far >= table.strictest_measured_far]
    assert table.strictest_measured_far == pytest.approx(2.51e-7)  # 4.5 million pairs
    for far, similarity in measured:
        assert np.mean(impostor >= similarity) <= far
        # The threshold is the lowest that holds the FAR: one impostor more gets through below.
        assert np.sum(impostor >= similarity - 2e-6) > np.floor(far * len(impostor))
    # Below the measured rows, the normal tail of these scores continues to 1e-8.
    assert table.fars[-1] == 1e-8 and len(table.fars) == 71 > len(measured)
    assert measured[-1][1] < table.similarities[len(measured)] <= table.similarities[-1] <= 1.0
    subset = np.arange(len(labels)) < 1000
    assert impostor_table.measure_table(vectors, labels, subset).impostor_pairs == (
        1000 * 999 // 2 - 500
    )


def test_gallery_photos_only_meet_probes() -> None:
    rng = np.random.default_rng(2)
    labels = np.arange(300)
    vectors = rng.normal(size=(300, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    galleries = np.arange(300) >= 100  # 100 probes, 200 gallery photos
    table = impostor_table.measure_table(vectors, labels, galleries=galleries)
    assert table.impostor_pairs == 100 * 99 // 2 + 100 * 200


def test_tail_check_compares_a_sample_fit_with_the_measured_rows() -> None:
    rng = np.random.default_rng(3)
    labels = np.arange(3000)
    vectors = rng.normal(size=(3000, 128)).astype(np.float32)  # cosines close to normal
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    table = impostor_table.measure_table(vectors, labels)
    check = impostor_table.tail_check(vectors, labels, table)
    assert check["pairs_fitted"] == pytest.approx(0.01 * table.impostor_pairs, rel=0.05)
    rows = {far: row for far, row in check.items() if far != "pairs_fitted"}
    assert set(rows) == {"1e-05", "1e-06"}
    for row in rows.values():
        assert isinstance(row, dict)
        # Random unit vectors' cosines are bounded, so their tail is a little lighter than the
        # normal fit: the prediction errs strict, by about 0.02 at 1e-6.
        assert 0.0 <= row["predicted"] - row["measured"] < 0.03


def test_replace_params_is_idempotent_and_keeps_the_manifest_valid(tmp_path: Path) -> None:
    manifest = tmp_path / "sface.toml"
    manifest.write_text('name = "sface"\n\n[convert]\nsha256 = "x"\n')
    replace_params(manifest, {"far_table_far": [0.1, 0.01]}, note="first")
    replace_params(
        manifest,
        {"far_table_far": [0.01, 0.001], "far_table_impostor_pairs": 5},
        drop=("similarity_far_",),
        note="second\nline",
    )
    data = tomllib.loads(manifest.read_text())
    assert data["params"] == {"far_table_far": [0.01, 0.001], "far_table_impostor_pairs": 5}
    assert manifest.read_text().count("far_table_far") == 1
    assert "first" not in manifest.read_text() and "# line" in manifest.read_text()
    assert data["convert"]["sha256"] == "x"
    manifest.write_text("[params]\nsimilarity_far_1e3 = 0.3\nkeep = 1\n\n[input]\nshape = 1\n")
    with pytest.raises(ManifestError, match="last table"):
        replace_params(manifest, {"x": 1}, drop=("similarity_far_",))


def test_open_set_curve_plots_a_size_and_names_the_missing_one(tmp_path: Path) -> None:
    from evaluation import open_set_curve

    point = {"threshold": 50.0, "rank1_dir": 0.9, "strangers_accepted": 0.01}
    run = {
        "sizes": {
            "100": {
                "curve": [point, {**point, "threshold": 60.0, "strangers_accepted": 0.0}],
                "default": point,
            }
        }
    }
    path = tmp_path / "run.json"
    path.write_text(json.dumps(run))
    with pytest.raises(SystemExit, match=r"no gallery of 20000 faces \(it has 100\)"):
        open_set_curve.load_size(path, "20000")
    output = tmp_path / "curve.png"
    open_set_curve.plot({"a": open_set_curve.load_size(path, "100")}, "100", output)
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_detect_run_posts_each_sample_row_and_collects_models(tmp_path: Path) -> None:
    import httpx

    from evaluation.http_setups import DetectRun, sample_rows

    (tmp_path / "utk").mkdir()
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / "utk" / name).write_bytes(b"jpeg " + name.encode())
    (tmp_path / "labels.csv").write_text("image,age\nutk/a.jpg,30\nfer/x.png,\nutk/b.jpg,40\n")
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["x-api-key"] == "k"
        paths.append(request.url.path)
        if b"jpeg b.jpg" in request.read():
            return httpx.Response(
                200, json={"models": [{"name": "m2", "version": "1"}], "faces": []}
            )
        return httpx.Response(200, json={"models": [{"name": "m1", "version": "1"}], "faces": [1]})

    def upload(path: Path) -> tuple[str, bytes, str]:
        return (path.name, path.read_bytes(), "image/jpeg")

    rows = sample_rows(tmp_path, "utk/")
    assert [r["image"] for r in rows] == ["utk/a.jpg", "utk/b.jpg"]
    run = DetectRun()
    transport = httpx.MockTransport(handler)
    answered = list(run.each("http://x", "k", tmp_path, rows, "age", upload, transport))
    assert [(row["age"], body["faces"]) for row, body in answered] == [("30", [1]), ("40", [])]
    assert paths == ["/api/v1/detect"] * 2
    assert run.summary()["models"] == ["m1-1", "m2-1"] and len(run.seconds) == 2

    def failing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"error": {"code": "UNAVAILABLE"}})

    broken, failed_run = httpx.MockTransport(failing), DetectRun()
    # a failed request is recorded (the image counts as unanswered), the run goes on
    assert list(failed_run.each("http://x", "k", tmp_path, rows, "age", upload, broken)) == []
    assert sorted(failed_run.failed) == ["utk/a.jpg", "utk/b.jpg"]
    assert failed_run.failed["utk/a.jpg"].startswith("HTTP 503")


@pytest.mark.parametrize(
    ("labels", "said"),
    [
        (None, "has no labels.csv"),
        ("image,emotion\nutk/a.jpg,happy\n", "has no column age"),
        ("image,age\nfer/x.png,3\n", "lists no image under utk/"),
        ("image,age\nutk/a.jpg,30\nutk/gone.jpg,4\n", "1 images of .* are missing .*gone"),
    ],
)
def test_a_bad_sample_is_one_line_before_any_service_starts(
    labels: str | None, said: str, tmp_path: Path
) -> None:
    from evaluation.http_setups import sample_rows

    (tmp_path / "utk").mkdir()
    (tmp_path / "utk" / "a.jpg").write_bytes(b"jpeg")
    if labels is not None:
        (tmp_path / "labels.csv").write_text(labels)
    with pytest.raises(SystemExit, match=said):
        sample_rows(tmp_path, "utk/", ("age",))


def test_lfw_pairs_and_error_bodies_are_checked(tmp_path: Path) -> None:
    import httpx

    from evaluation.lfw_accuracy import error_code, read_pairs

    with pytest.raises(SystemExit, match=r"has no pairs\.csv"):
        read_pairs(tmp_path)
    (tmp_path / "a.jpg").write_bytes(b"jpeg")
    (tmp_path / "pairs.csv").write_text("img_a,img_b,same\na.jpg,b.jpg,0\n")
    with pytest.raises(SystemExit, match=r"1 images are missing \(first: b\.jpg\)"):
        read_pairs(tmp_path)
    (tmp_path / "b.jpg").write_bytes(b"jpeg")
    assert read_pairs(tmp_path) == [("a.jpg", "b.jpg", False)]
    envelope = {"error": {"code": "NO_FACE", "message": "none"}}
    assert error_code(httpx.Response(400, json=envelope)) == "NO_FACE"
    assert error_code(httpx.Response(502, text="<html>Bad Gateway</html>")) == "HTTP_502"
