"""The liveness recipe on tiny generated real/spoof crops: both losses fall, the classifier
exports to TFLite that matches Keras and loads through the model store by name, and every
layout mistake is one ``error:`` line with exit status 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from services.shared.model_store import ModelStore
from services.shared.model_store.manifest import load_manifest
from services.shared.runtime import LiteModel
from training.checkpoints import load_checkpoint
from training.cli import main
from training.recipes.attributes import build_attribute_net
from training.recipes.liveness import (
    LivenessConfig,
    build_training_model,
    classifier_of,
    error_rates,
    fourier_target,
    load_liveness,
    train,
)

SIZE = 32
PTH = Path(__file__).resolve().parents[3] / "shared" / "models" / "minifasnet"


def _write(root: Path, per_class: int = 6) -> Path:
    """real/ = smooth noise, spoof/ = noise with bright moire-like stripes."""
    rng = np.random.default_rng(0)
    for name in ("real", "spoof"):
        (root / name).mkdir(parents=True)
        for index in range(per_class):
            image = rng.integers(0, 200, (40, 40, 3)).astype(np.uint8)
            if name == "spoof":
                image[:, ::3] = 255
            Image.fromarray(image).save(root / name / f"{index}.png")
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, object]]:
    root = tmp_path_factory.mktemp("liveness")
    data = _write(root / "data")
    run = root / "run"
    result = train(
        LivenessConfig(data, run, input_size=SIZE, epochs=2, batch_size=12, progress=False)
    )
    return data, run, result


def test_both_losses_fall(trained: tuple[Path, Path, dict[str, object]]) -> None:
    _, run, result = trained
    history = result["history"]
    assert isinstance(history, list) and len(history) == 2
    assert history[-1]["loss"] < history[0]["loss"], history
    assert history[-1]["ft_loss"] < history[0]["ft_loss"], history
    assert (run / "checkpoints" / "last.keras").is_file()
    assert (run / "history.csv").is_file()
    rates = result["train"]
    assert isinstance(rates, dict) and rates["real"] == 6 and rates["spoof"] == 6


def test_export_matches_keras_and_loads_by_name(
    trained: tuple[Path, Path, dict[str, object]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data, run, _ = trained
    manifests, cache = tmp_path / "manifests", tmp_path / "cache"
    code = main(
        [
            "export",
            "liveness",
            "--checkpoint",
            str(run / "checkpoints" / "last.keras"),
            "--name",
            "tiny-liveness",
            "--version",
            "t1",
            "--output",
            str(tmp_path / "live.tflite"),
            "--manifest-dir",
            str(manifests),
            "--cache-dir",
            str(cache),
        ]
    )
    assert code == 0
    monkeypatch.setenv("FACEFLOW_EXTRA_MANIFESTS", str(manifests))
    assert "tiny-liveness" in load_manifest()
    prepared = ModelStore(cache_dir=cache).open("tiny-liveness")
    assert prepared.spec.task == "liveness"
    assert prepared.spec.params["crop_scale"] == 2.7  # what the liveness service requires
    assert prepared.spec.input["color"] == "BGR"

    lite = LiteModel(prepared.path)
    assert lite.input_shapes[lite.input_name] == (1, SIZE, SIZE, 3)
    crops = load_liveness(data, SIZE).images[:4]
    expected = classifier_of(load_checkpoint(run)).predict(crops.astype(np.float32), verbose=0)
    got = np.stack(
        [lite.run(**{lite.input_name: c[None].astype(np.float32)})["logits"][0] for c in crops]
    )
    assert np.max(np.abs(got - expected)) < 1e-3

    assert (
        main(
            [
                "evaluate",
                "liveness",
                "--model",
                str(tmp_path / "live.tflite"),
                "--data",
                str(data),
                "--input-size",
                str(SIZE),
            ]
        )
        == 0
    )


def test_export_refuses_another_variant_or_recipe(
    trained: tuple[Path, Path, dict[str, object]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The run records its variant and recipe: an export that would describe the model wrongly
    in its manifest, or serve a model of another recipe as liveness, writes nothing."""
    _, run, _ = trained
    argv = ["export", "liveness", "--checkpoint", str(run), "--name", "wrong-liveness"]
    argv += ["--output", str(tmp_path / "live.tflite"), "--manifest-dir", str(tmp_path / "m")]
    assert main([*argv, "--variant", "MiniFASNetV1SE"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == f"error: --variant MiniFASNetV1SE: {run} was trained as MiniFASNetV2"

    other = tmp_path / "cifar-run"
    (other / "checkpoints").mkdir(parents=True)
    (other / "run.json").write_text('{"recipe": "cifar10"}')
    (other / "checkpoints" / "best.keras").write_bytes(
        (run / "checkpoints" / "best.keras").read_bytes()
    )
    argv[3] = str(other / "checkpoints" / "best.keras")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == f"error: {argv[3]} is from a cifar10 run, not a liveness run"

    bare = tmp_path / "attributes.keras"  # no run.json: the model's shape decides
    build_attribute_net(32, 8).save(bare)
    argv[3] = str(bare)
    assert main(argv) == 2
    assert "is not a model of this recipe: expected output logits with 3 values" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "live.tflite").exists() and not (tmp_path / "m").exists()


def test_error_rates() -> None:
    scores = np.array([0.9, 0.2, 0.7, 0.6, 0.1])
    labels = np.array([1, 1, 0, 0, 0])
    rates = error_rates(scores, labels)
    assert rates["bpcer"] == 0.5  # one of two real faces rejected
    assert rates["apcer"] == pytest.approx(2 / 3)  # two of three spoofs accepted
    assert rates["acer"] == pytest.approx((0.5 + 2 / 3) / 2)


def test_fourier_target_is_the_normalised_log_spectrum() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (1, 16, 16, 3)).astype(np.float32)
    target = fourier_target(image, 16).numpy()[0, ..., 0]
    grey = 0.114 * image[0, ..., 0] + 0.587 * image[0, ..., 1] + 0.299 * image[0, ..., 2]
    spectrum = np.log(np.abs(np.fft.fftshift(np.fft.fft2(grey))) + 1)
    spectrum = (spectrum - spectrum.min()) / (spectrum.max() - spectrum.min())
    assert np.max(np.abs(target - spectrum)) < 1e-3


@pytest.mark.skipif(
    not (PTH / "2.7_80x80_MiniFASNetV2.pth").is_file(),
    reason="../shared/models/minifasnet (the published weights) is absent",
)
def test_pretrained_start_keeps_the_published_network(tmp_path: Path) -> None:
    from training.importers.minifasnet_export import keras_model_from_pth

    source = PTH / "2.7_80x80_MiniFASNetV2.pth"
    model = build_training_model(LivenessConfig(tmp_path, tmp_path, pretrained=str(source)))
    crop = np.random.default_rng(2).integers(0, 255, (1, 80, 80, 3)).astype(np.float32)
    published = keras_model_from_pth(source, "MiniFASNetV2")(crop).numpy()
    assert np.max(np.abs(classifier_of(model)(crop).numpy() - published)) < 1e-4
    inner = model.get_layer("minifasnet")
    norms = [layer for layer in inner.layers if "bn" in layer.name]
    assert norms and not any(layer.trainable for layer in norms)  # published statistics kept


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("missing", "does not exist"),
        ("no_spoof", "spoof is missing or holds no images"),
        ("extra", "unexpected folders"),
    ],
)
def test_wrong_layout_is_one_error_line(
    layout: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "data"
    if layout != "missing":
        _write(root, per_class=1)
    if layout == "no_spoof":
        for path in (root / "spoof").iterdir():
            path.unlink()
    if layout == "extra":
        (root / "fake").mkdir()
    code = main(
        ["train", "liveness", "--data", str(root), "--run-dir", str(tmp_path / "run"), "--quiet"]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1], err
    assert "expected <root>/real/*.jpg and <root>/spoof/*.jpg" in err[-1]


def test_a_wrong_validation_folder_fails_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, run = _write(tmp_path / "d", 1), tmp_path / "run"
    argv = ["train", "liveness", "--data", str(data), "--run-dir", str(run), "--quiet"]
    assert main([*argv, "--val", str(tmp_path / "absent")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "does not exist" in err[-1], err
    assert not run.exists()  # no epoch was trained, nothing was written


def test_pretrained_must_match_the_variant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "train",
            "liveness",
            "--data",
            str(_write(tmp_path / "d", 1)),
            "--run-dir",
            str(tmp_path / "run"),
            "--pretrained",
            "minifasnet_v1se",
            "--quiet",
        ]
    )
    assert code == 2
    assert "pass --variant MiniFASNetV1SE" in capsys.readouterr().err
