"""Face attributes: age regression + gender classification from UTKFace-style file names.

Data: a folder of face crops named ``<age>_<gender>_<race>_<date>.jpg`` (UTKFace; the aligned
release's ``.jpg.chip.jpg`` suffix is accepted). Gender is UTKFace's: 0 = male, 1 = female.
Files whose names do not parse (UTKFace itself has a few, e.g. a missing race field) or whose
age is outside 0-120 are counted, logged and skipped; a folder with no usable file is a layout
error. The network is a small CNN (conv-BN-ReLU pairs and max pooling, global average pooling,
dropout) with two heads: ``age`` in years (L1 loss) and ``gender`` (2 logits, cross-entropy).
It takes RGB 0-255 (the [-1, 1] scaling is its first layer). Evaluation: age MAE in years and
gender accuracy.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from numpy.typing import NDArray

from training.data.folders import IMAGE_SUFFIXES, load_images
from training.errors import DatasetLayoutError, TrainingError
from training.recipes.runner import fit, prepare_run

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^(\d{1,3})_([01])_(\d)_(\d+)\.")
EXPECTED = "expected <age>_<gender>_<race>_<date>.jpg file names (UTKFace), gender 0 or 1"
MAX_AGE = 120
AGE_SCALE = 50.0  # the age head's dense output is in units of 50 years
GENDERS = ("male", "female")


@dataclass
class AttributesConfig:
    """Options of one attribute run."""

    data_dir: Path
    run_dir: Path
    input_size: int = 64
    width: int = 32
    val_dir: Path | None = None
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-3
    age_weight: float = 1.0 / AGE_SCALE
    resume: bool = False
    seed: int = 0
    progress: bool = True


@dataclass(frozen=True)
class AttributeData:
    """RGB uint8 crops with ages, genders, and the files skipped for bad names."""

    images: NDArray[np.uint8]
    ages: NDArray[np.float32]
    genders: NDArray[np.int64]
    skipped: list[str] = field(default_factory=list)


def parse_name(name: str) -> tuple[int, int] | None:
    """(age, gender) from a UTKFace file name, or None when it does not parse."""
    match = NAME_PATTERN.match(name)
    if match is None or int(match.group(1)) > MAX_AGE:
        return None
    return int(match.group(1)), int(match.group(2))


def scan_attributes(root: Path) -> tuple[list[Path], list[tuple[int, int]], list[str]]:
    """Usable image paths with (age, gender) and the names skipped; errors on a wrong layout."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetLayoutError(f"dataset folder {root} does not exist ({EXPECTED})")
    files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    paths: list[Path] = []
    targets: list[tuple[int, int]] = []
    skipped: list[str] = []
    for path in files:
        parsed = parse_name(path.name)
        if parsed is None:
            skipped.append(path.name)
        else:
            paths.append(path)
            targets.append(parsed)
    if skipped:
        log.warning(
            "skipped %d files with names that do not parse (first: %s)", len(skipped), skipped[0]
        )
    if not paths:
        found = f"{len(files)} images, none named correctly" if files else "no images"
        raise DatasetLayoutError(f"{root} has {found} ({EXPECTED})")
    return paths, targets, skipped


def load_attributes(root: Path, input_size: int) -> AttributeData:
    """All usable crops of a folder, resized to input_size."""
    paths, targets, skipped = scan_attributes(root)
    images = load_images(paths, size=(input_size, input_size))
    ages = np.asarray([t[0] for t in targets], dtype=np.float32)
    genders = np.asarray([t[1] for t in targets], dtype=np.int64)
    return AttributeData(images, ages, genders, skipped)


def build_attribute_net(input_size: int, width: int) -> Any:
    """RGB 0-255 -> {"age": years (N, 1), "gender": 2 logits}."""
    image = keras.Input((input_size, input_size, 3), name="image")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="to_unit_range")(image)
    for stage, multiplier in enumerate((1, 2, 4, 8)):
        for index in range(2):
            x = keras.layers.Conv2D(
                width * multiplier,
                3,
                padding="same",
                use_bias=False,
                name=f"stage{stage}.conv{index}",
            )(x)
            x = keras.layers.BatchNormalization(momentum=0.9, name=f"stage{stage}.bn{index}")(x)
            x = keras.layers.ReLU(name=f"stage{stage}.relu{index}")(x)
        x = keras.layers.MaxPooling2D(name=f"stage{stage}.pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dropout(0.3, name="dropout")(x)
    age = keras.layers.Dense(1, kernel_initializer="zeros", name="age_units")(x)
    age = keras.layers.Rescaling(AGE_SCALE, offset=AGE_SCALE / 2, name="age")(age)
    gender = keras.layers.Dense(2, name="gender")(x)
    return keras.Model(image, {"age": age, "gender": gender}, name="attributes")


def start_at_mean_age(model: Any, ages: NDArray[np.float32]) -> None:
    """Set the age head's bias so an untrained model predicts the training set's mean age."""
    layer = model.get_layer("age_units")
    kernel, bias = layer.get_weights()
    bias[:] = (float(np.mean(ages)) - AGE_SCALE / 2) / AGE_SCALE
    layer.set_weights([kernel, bias])


def compile_model(model: Any, config: AttributesConfig) -> None:
    """Adam; L1 on age (years) weighted by age_weight, cross-entropy on gender."""
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss={
            "age": keras.losses.MeanAbsoluteError(),
            "gender": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        },
        loss_weights={"age": config.age_weight, "gender": 1.0},
        metrics={"gender": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]},
    )


def make_dataset(data: AttributeData, batch_size: int, seed: int) -> Any:
    """Shuffled batches with flips and brightness jitter: (float image, {"age", "gender"})."""

    def augment(images: Any, targets: Any) -> Any:
        images = tf.cast(images, tf.float32)
        batch = tf.shape(images)[0]
        flips = tf.random.uniform([batch, 1, 1, 1]) < 0.5
        images = tf.where(flips, tf.reverse(images, axis=[2]), images)
        shift = tf.random.uniform([batch, 1, 1, 1], -20.0, 20.0)
        return tf.clip_by_value(images + shift, 0.0, 255.0), targets

    targets = {"age": data.ages[:, None], "gender": data.genders}
    ds = tf.data.Dataset.from_tensor_slices((data.images, targets))
    ds = ds.shuffle(len(data.ages), seed=seed, reshuffle_each_iteration=True).repeat()
    return ds.batch(batch_size).map(augment).prefetch(2)


def predict(model: Any, images: NDArray[np.uint8]) -> tuple[NDArray[Any], NDArray[Any]]:
    """(ages in years, gender logits) from a Keras model or a callable on uint8 arrays."""
    if hasattr(model, "predict"):
        out = model.predict(images.astype(np.float32), batch_size=64, verbose=0)
    else:
        out = model(images)
    return np.asarray(out["age"]).reshape(-1), np.asarray(out["gender"]).reshape(len(images), -1)


def evaluate_model(model: Any, data: AttributeData) -> dict[str, Any]:
    """Age MAE (years) and gender accuracy; the mean-age baseline for comparison."""
    ages, logits = predict(model, data.images)
    return {
        "images": len(data.ages),
        "age_mae": float(np.mean(np.abs(ages - data.ages))),
        "age_mae_predict_mean": float(np.mean(np.abs(data.ages - data.ages.mean()))),
        "gender_accuracy": float(np.mean(np.argmax(logits, axis=1) == data.genders)),
        "gender_majority": float(max(np.mean(data.genders), 1 - np.mean(data.genders))),
        "skipped": len(data.skipped),
    }


OUTPUTS = {"age": 1, "gender": 2}


def tflite_attributes(path: Path, input_size: int) -> Any:
    """A function uint8 RGB (N, H, W, 3) -> {"age", "gender"} running a TFLite file (checked to
    take input_size x input_size images)."""
    from services.shared.runtime import LiteModel
    from training.checkpoints import check_model_io, lite_io

    model = LiteModel(path, 2)
    check_model_io(path, lite_io(model), (input_size, input_size, 3), OUTPUTS, "--input-size")

    def run(images: NDArray[np.uint8]) -> dict[str, NDArray[np.float32]]:
        outputs = [
            model.run(**{model.input_name: image[np.newaxis].astype(np.float32)})
            for image in images
        ]
        return {
            key: np.concatenate([o[key].reshape(1, -1) for o in outputs])
            for key in ("age", "gender")
        }

    return run


def train(config: AttributesConfig) -> dict[str, Any]:
    """Train (or resume) an attribute run; returns history, skipped names and the evaluation."""
    keras.utils.set_random_seed(config.seed)
    data = load_attributes(config.data_dir, config.input_size)
    log.info("attributes: %d images, %d skipped", len(data.ages), len(data.skipped))
    fresh = build_attribute_net(config.input_size, config.width)
    kept = {  # the model and its loss weights were made from these
        "recipe": "attributes",
        "input_size": config.input_size,
        "width": config.width,
        "learning_rate": config.learning_rate,
        "age_weight": config.age_weight,
    }
    model, initial_epoch, best = prepare_run(config.run_dir, config.resume, fresh, kept)
    if initial_epoch == 0:
        start_at_mean_age(model, data.ages)
        compile_model(model, config)
    validation = load_attributes(config.val_dir, config.input_size) if config.val_dir else None
    steps = max(1, int(np.ceil(len(data.ages) / config.batch_size)))
    history = fit(
        model,
        make_dataset(data, config.batch_size, config.seed),
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
    result: dict[str, Any] = {
        "history": history,
        "initial_epoch": initial_epoch,
        "skipped": len(data.skipped),
        "skipped_files": data.skipped[:20],
        "train": evaluate_model(model, data),
    }
    if validation is not None:
        result["validation"] = evaluate_model(model, validation)
    return result


def to_tflite_multi(model: Any) -> bytes:
    """Float32 TFLite, batch 1, outputs named ``age`` and ``gender``."""
    from training.export import quiet_stdout

    image = keras.Input(tuple(model.inputs[0].shape[1:]), batch_size=1, name="image")
    outputs = model(image)
    wrapped = keras.Model(image, {"age": outputs["age"], "gender": outputs["gender"]})
    with quiet_stdout():
        result: bytes = tf.lite.TFLiteConverter.from_keras_model(wrapped).convert()
    return result


def export_attributes(
    checkpoint: Path,
    output: Path,
    name: str,
    version: str,
    manifest_dir: Path | None = None,
    cache_dir: Path | None = None,
) -> dict[str, str]:
    """TFLite (outputs ``age`` in years, ``gender`` logits 0=male/1=female) into the store."""
    from services.shared.model_store.local import register_local_model
    from services.shared.model_store.manifest import ManifestError
    from services.shared.settings import default_cache_dir
    from training.checkpoints import load_checkpoint
    from training.export import default_manifest_dir

    model = load_checkpoint(checkpoint)
    size = int(model.inputs[0].shape[1])
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(to_tflite_multi(model))
    manifest_dir = manifest_dir or default_manifest_dir()
    cache_dir = cache_dir or default_cache_dir() / "models"
    try:
        toml = register_local_model(
            output,
            name,
            version,
            "attributes",
            manifest_dir,
            cache_dir,
            description=f"age (years) + gender (logits, 0 = male, 1 = female) CNN trained with "
            f"python -m training train attributes: {size}x{size} RGB 0-255 face crop",
            input_spec={
                "name": "image",
                "shape": [1, size, size, 3],
                "dtype": "float32",
                "color": "RGB",
                "range": "0-255",
            },
            params={"genders": ",".join(GENDERS)},
        )
    except ManifestError as error:
        raise TrainingError(str(error)) from error
    return {"tflite": str(output), "manifest": str(toml), "cache_dir": str(cache_dir)}
