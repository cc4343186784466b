"""Passive liveness: MiniFASNet with the Fourier-spectrum auxiliary loss (Silent-Face).

Data: ``<root>/real/*.jpg`` and ``<root>/spoof/*.jpg`` face crops (anything else is a one-line
layout error). Crops are resized to the input size and fed as **BGR 0-255**, exactly what the
liveness service feeds the shipped MiniFASNets; labels follow the service: class 1 = real,
class 0 = spoof (the network keeps upstream's 3 logits).

Training model (upstream ``MultiFTNet``): the MiniFASNet of ``training/models/minifasnet.py``
plus an FT generator on the ``conv_4`` features (3x3 conv 128 -> BN -> ReLU, 3x3 conv 64 -> BN
-> ReLU, 3x3 conv 1 -> BN -> ReLU) that predicts the log-magnitude 2-D FFT of the grey crop
(``fftshift(log(|FFT| + 1))``, min-max normalised, resized to the feature map's 10x10 for 80x80
inputs). Loss = cross-entropy + ``ft_weight`` x MSE (upstream: 0.5 / 0.5). ``--pretrained``
starts from the published weights (``minifasnet_v2`` / ``minifasnet_v1se`` sources in the model
store, or a ``.pth`` path) with the backbone's BatchNorm frozen unless ``train_bn``. Only the
classifier is exported; the FT branch is training-only. Spoofs are labelled 0; the published
nets also use class 2 for some spoof kinds, which only matters for the loss, not for the
real-class score the service thresholds.
Evaluation: APCER (spoofs accepted), BPCER (real faces rejected) and ACER (their mean).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from numpy.typing import NDArray

from training.data.folders import IMAGE_SUFFIXES, load_images
from training.errors import DatasetLayoutError, TrainingError
from training.models.minifasnet import ARCHITECTURES, Variant, build_minifasnet
from training.recipes.runner import fit, prepare_run

log = logging.getLogger(__name__)

REAL_CLASS = 1
SPOOF_CLASS = 0
CLASS_FOLDERS = {"real": REAL_CLASS, "spoof": SPOOF_CLASS}
EXPECTED = "expected <root>/real/*.jpg and <root>/spoof/*.jpg"
FEATURE_LAYER = "conv_4.model.5.add"  # output of the last conv_4 block (upstream MultiFTNet)
PRETRAINED = {"minifasnet_v2": "MiniFASNetV2", "minifasnet_v1se": "MiniFASNetV1SE"}
DEFAULT_VARIANT = "MiniFASNetV2"


@dataclass
class LivenessConfig:
    """Options of one liveness run."""

    data_dir: Path
    run_dir: Path
    variant: str = DEFAULT_VARIANT
    input_size: int = 80
    pretrained: str | None = None
    val_dir: Path | None = None
    epochs: int = 10
    batch_size: int = 16
    learning_rate: float = 1e-3
    ft_weight: float = 1.0
    train_bn: bool = False
    resume: bool = False
    seed: int = 0
    progress: bool = True


@dataclass(frozen=True)
class LivenessData:
    """BGR uint8 crops and their labels (1 = real, 0 = spoof)."""

    images: NDArray[np.uint8]
    labels: NDArray[np.int64]
    paths: list[Path]


def scan_liveness_folder(root: Path) -> tuple[list[Path], NDArray[np.int64]]:
    """Image paths under real/ and spoof/ with labels; DatasetLayoutError when the layout is off."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetLayoutError(f"dataset folder {root} does not exist ({EXPECTED})")
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    unknown = [name for name in folders if name not in CLASS_FOLDERS]
    if unknown:
        raise DatasetLayoutError(
            f"{root} has unexpected folders {', '.join(unknown[:5])} ({EXPECTED})"
        )
    paths: list[Path] = []
    labels: list[int] = []
    for name, label in CLASS_FOLDERS.items():
        folder = root / name
        images = (
            sorted(
                p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
            if folder.is_dir()
            else []
        )
        if not images:
            raise DatasetLayoutError(f"{folder} is missing or holds no images ({EXPECTED})")
        paths.extend(images)
        labels.extend([label] * len(images))
    return paths, np.asarray(labels, dtype=np.int64)


def load_liveness(root: Path, input_size: int) -> LivenessData:
    """All crops of a real/spoof folder, resized, as BGR uint8."""
    paths, labels = scan_liveness_folder(root)
    rgb = load_images(paths, size=(input_size, input_size))
    return LivenessData(np.ascontiguousarray(rgb[..., ::-1]), labels, paths)


def fourier_target(images_bgr: Any, size: int) -> Any:
    """Upstream ``generate_FT``: grey, 2-D FFT, shift, log(|.|+1), min-max, resized to size."""
    bgr = tf.cast(images_bgr, tf.float32)
    grey = 0.114 * bgr[..., 0] + 0.587 * bgr[..., 1] + 0.299 * bgr[..., 2]
    spectrum = tf.signal.fftshift(tf.signal.fft2d(tf.complex(grey, 0.0)), axes=(1, 2))
    magnitude = tf.math.log(tf.abs(spectrum) + 1.0)
    low = tf.reduce_min(magnitude, axis=(1, 2), keepdims=True)
    high = tf.reduce_max(magnitude, axis=(1, 2), keepdims=True)
    normalised = (magnitude - low) / tf.maximum(high - low, 1e-6)
    return tf.image.resize(normalised[..., tf.newaxis], (size, size), method="bilinear")


def _ft_generator(features: Any) -> Any:
    """Upstream FTGenerator: three 3x3 conv-BN-ReLU layers, 128 -> 64 -> 1 channels."""
    x = features
    for index, channels in enumerate((128, 64, 1)):
        x = keras.layers.Conv2D(channels, 3, padding="same", name=f"ft.conv{index}")(x)
        x = keras.layers.BatchNormalization(name=f"ft.bn{index}")(x)
        x = keras.layers.ReLU(name=f"ft.relu{index}")(x)
    return x


def load_pretrained(variant: str, pretrained: str) -> Any:
    """The MiniFASNet with published weights: a store model name or a ``.pth`` path."""
    from services.shared.errors import ModelUnavailableError
    from services.shared.model_store.fetch import fetch_source
    from services.shared.model_store.manifest import load_manifest
    from services.shared.settings import default_cache_dir
    from training.importers.minifasnet_export import keras_model_from_pth

    path = Path(pretrained)
    if pretrained in PRETRAINED:
        if PRETRAINED[pretrained] != variant:
            raise TrainingError(
                f"--pretrained {pretrained} is a {PRETRAINED[pretrained]}; "
                f"pass --variant {PRETRAINED[pretrained]}"
            )
        try:
            path = fetch_source(load_manifest()[pretrained].source, default_cache_dir())
        except ModelUnavailableError as error:
            raise TrainingError(str(error)) from error
    elif not path.is_file():
        raise TrainingError(
            f"--pretrained {pretrained} is neither {' nor '.join(PRETRAINED)} nor a .pth file"
        )
    try:
        return keras_model_from_pth(path, variant)  # type: ignore[arg-type]
    except (ValueError, OSError) as error:
        raise TrainingError(f"cannot load {path} into {variant}: {error}") from error


def freeze_batch_norm(model: Any) -> None:
    """Keep the published BN statistics: frozen BN layers run in inference mode in Keras 3.

    Fine-tuning on small batches otherwise replaces the running statistics with noisy
    few-image estimates (measured: the smoke run's ACER went 0 -> 0.25 with batches of 4).
    """
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


def build_training_model(config: LivenessConfig) -> Any:
    """Inputs BGR 0-255 -> {"logits": 3 logits, "ft": predicted Fourier map}, compiled."""
    if config.variant not in ARCHITECTURES:
        raise TrainingError(
            f"unknown variant {config.variant!r}; choose one of {', '.join(ARCHITECTURES)}"
        )
    variant: Variant = config.variant  # type: ignore[assignment]
    if config.pretrained:
        if config.input_size != 80:
            raise TrainingError("--pretrained weights need --input-size 80")
        base = load_pretrained(variant, config.pretrained)
        if not config.train_bn:
            freeze_batch_norm(base)
    else:
        base = build_minifasnet(variant, config.input_size)
    inner = keras.Model(
        base.input, [base.get_layer(FEATURE_LAYER).output, base.output], name="minifasnet"
    )
    image = keras.Input((config.input_size, config.input_size, 3), name="image_bgr")
    features, logits = inner(image)
    outputs = {
        "logits": keras.layers.Identity(name="logits")(logits),
        "ft": _ft_generator(features),
    }
    model = keras.Model(image, outputs, name="multi_ft_net")
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss={
            "logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            "ft": keras.losses.MeanSquaredError(),
        },
        loss_weights={"logits": 1.0, "ft": config.ft_weight},
        metrics={"logits": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]},
    )
    return model


CLASSIFIER_OUTPUT = {"logits": 3}  # real, print, replay


def classifier_of(model: Any) -> Any:
    """The exportable classifier (image -> 3 logits) of a training model or a classifier."""
    if model.name != "multi_ft_net":
        return model
    inner = model.get_layer("minifasnet")
    image = keras.Input(tuple(model.inputs[0].shape[1:]), name="image_bgr")
    return keras.Model(image, inner(image)[1], name="minifasnet_classifier")


def make_dataset(data: LivenessData, batch_size: int, ft_size: int, seed: int) -> Any:
    """Shuffled, flip-augmented batches of (BGR float, {"logits": label, "ft": Fourier map})."""

    def add_targets(images: Any, labels: Any) -> Any:
        flips = tf.random.uniform([tf.shape(images)[0], 1, 1, 1]) < 0.5
        images = tf.where(flips, tf.reverse(images, axis=[2]), images)
        floats = tf.cast(images, tf.float32)
        return floats, {"logits": labels, "ft": fourier_target(floats, ft_size)}

    ds = tf.data.Dataset.from_tensor_slices((data.images, data.labels))
    ds = ds.shuffle(len(data.labels), seed=seed, reshuffle_each_iteration=True).repeat()
    return ds.batch(batch_size).map(add_targets).prefetch(2)


def real_scores(classifier: Any, images_bgr: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Softmax probability of the real class per crop (Keras model or a callable on arrays)."""
    if hasattr(classifier, "predict"):
        logits = classifier.predict(images_bgr.astype(np.float32), batch_size=32, verbose=0)
    else:
        logits = classifier(images_bgr)
    logits = np.asarray(logits, dtype=np.float64)
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.asarray(exp[:, REAL_CLASS] / exp.sum(axis=1))


def error_rates(
    scores: NDArray[np.float64], labels: NDArray[np.int64], threshold: float = 0.5
) -> dict[str, Any]:
    """ISO/IEC 30107-3 rates: APCER (spoofs accepted), BPCER (real rejected), ACER (mean)."""
    accepted = scores >= threshold
    spoof, real = labels == SPOOF_CLASS, labels == REAL_CLASS
    apcer = float(np.mean(accepted[spoof])) if spoof.any() else None
    bpcer = float(np.mean(~accepted[real])) if real.any() else None
    acer = (apcer + bpcer) / 2 if apcer is not None and bpcer is not None else None
    return {
        "apcer": apcer,
        "bpcer": bpcer,
        "acer": acer,
        "threshold": threshold,
        "real": int(real.sum()),
        "spoof": int(spoof.sum()),
    }


def evaluate_classifier(
    classifier: Any, data: LivenessData, threshold: float = 0.5
) -> dict[str, Any]:
    """APCER/BPCER/ACER of a classifier on a loaded real/spoof set."""
    return error_rates(real_scores(classifier, data.images), data.labels, threshold)


def tflite_classifier(path: Path, input_size: int) -> Any:
    """A function BGR uint8 (N, H, W, 3) -> (N, 3) logits running a TFLite file (checked to
    take input_size x input_size images)."""
    from services.shared.runtime import LiteModel
    from training.checkpoints import check_model_io, lite_io

    model = LiteModel(path, 2)
    check_model_io(
        path, lite_io(model), (input_size, input_size, 3), CLASSIFIER_OUTPUT, "--input-size"
    )
    name = model.output_names[0]

    def run(images: NDArray[np.uint8]) -> NDArray[np.float32]:
        rows = [
            model.run(**{model.input_name: image[np.newaxis].astype(np.float32)})[name].reshape(-1)
            for image in images
        ]
        return np.stack(rows).astype(np.float32)

    return run


def train(config: LivenessConfig) -> dict[str, Any]:
    """Train (or resume) a liveness run; returns history and APCER/BPCER/ACER."""
    keras.utils.set_random_seed(config.seed)
    data = load_liveness(config.data_dir, config.input_size)
    # read before training, so a wrong --val is an error now rather than after the last epoch
    held_out = None if config.val_dir is None else load_liveness(config.val_dir, config.input_size)
    log.info(
        "liveness: %d real, %d spoof crops",
        int((data.labels == REAL_CLASS).sum()),
        int((data.labels == SPOOF_CLASS).sum()),
    )
    fresh = build_training_model(config)
    kept = {  # the model and its loss weights were made from these
        "recipe": "liveness",
        "variant": config.variant,
        "input_size": config.input_size,
        "learning_rate": config.learning_rate,
        "ft_weight": config.ft_weight,
        "train_bn": config.train_bn,
    }
    model, initial_epoch, best = prepare_run(config.run_dir, config.resume, fresh, kept)
    ft_size = int(model.get_layer("ft.relu2").output.shape[1])
    steps = max(1, int(np.ceil(len(data.labels) / config.batch_size)))
    history = fit(
        model,
        make_dataset(data, config.batch_size, ft_size, config.seed),
        None,
        config.run_dir,
        config.epochs,
        initial_epoch,
        steps,
        monitor="loss",
        mode="min",
        best=best,
        progress=config.progress,
    )
    classifier = classifier_of(model)
    result: dict[str, Any] = {
        "history": history,
        "initial_epoch": initial_epoch,
        "images": len(data.labels),
        "train": evaluate_classifier(classifier, data),
    }
    if held_out is not None:
        result["validation"] = evaluate_classifier(classifier, held_out)
    return result


def published_crop_scale(variant: str) -> float:
    """The crop scale the served published model of this variant uses (its manifest's
    ``params.crop_scale``): the one home of that number."""
    from services.shared.model_store.manifest import load_manifest

    names = [name for name, published in PRETRAINED.items() if published == variant]
    if not names:
        raise TrainingError(f"no published {variant} model; pass --crop-scale")
    return float(load_manifest()[names[0]].params["crop_scale"])


def export_liveness(
    checkpoint: Path,
    output: Path,
    name: str,
    version: str,
    variant: str | None = None,
    crop_scale: float | None = None,
    manifest_dir: Path | None = None,
    cache_dir: Path | None = None,
) -> dict[str, str]:
    """TFLite of the classifier (output ``logits``) registered as a ``liveness`` model.

    ``variant`` defaults to the one the run recorded (else MiniFASNetV2); another than the
    recorded one, or a checkpoint that is not a 3-class classifier of square images, is a
    TrainingError before anything is written.
    """
    from training.checkpoints import check_model_io, keras_io, load_checkpoint
    from training.export import export_model
    from training.recipes.runner import recorded_settings

    trained = recorded_settings(checkpoint).get("variant")
    if variant is not None and trained is not None and variant != trained:
        raise TrainingError(f"--variant {variant}: {checkpoint} was trained as {trained}")
    variant = variant or trained or DEFAULT_VARIANT
    classifier = classifier_of(load_checkpoint(checkpoint))
    size = int(classifier.inputs[0].shape[1] or 0)
    check_model_io(checkpoint, keras_io(classifier), (size, size, 3), CLASSIFIER_OUTPUT)
    scale = crop_scale if crop_scale is not None else published_crop_scale(variant)
    return export_model(
        classifier,
        output,
        name,
        version,
        "liveness",
        f"{variant} fine-tuned with python -m training train liveness: {size}x{size} BGR 0-255 "
        f"crop of {scale}x the face box -> 3 logits (class 1 = real).",
        {
            "name": "image",
            "shape": [1, size, size, 3],
            "dtype": "float32",
            "color": "BGR",
            "range": "0-255",
        },
        params={"crop_scale": scale, "real_class": REAL_CLASS},
        manifest_dir=manifest_dir,
        cache_dir=cache_dir,
        output_name="logits",
    )
