"""Emotion: seven classes from the served 64x64 grey crop (FER2013 cut by the serving code).

Data: an ``emotion-chips`` cache (``training.data.emotion_chips``: every FER-style crop framed,
detected by YuNet and cut by ``emotion_crop``, exactly as ``/detect?fields=emotion`` does), split
by the hash of the file name (10% held out). The network is VGG-style
(``training.architectures.vgg``) on the crop reduced to 48x48 inside the model (FER's own
resolution: the 64 px crop of a 48 px face adds nothing). It takes the served input (64x64 grey
in [-1, 1], ``services.shared.model_zoo.emotion``) and ends in a softmax in the served label
order, so the export is the trained model itself. (Fine-tuning the served FER mini-Xception
instead crashed in TensorFlow 2.21's oneDNN kernels, a heap corruption in the
SeparableConv2D gradient; it trains with ``TF_ENABLE_ONEDNN_OPTS=0``, not tried further.)
Augmentation: horizontal flip, shifts, small rotations and zoom, contrast. Cross-entropy with
label smoothing, Adam with cosine decay; accuracy on the held-out split every epoch.
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

from services.shared.model_zoo.emotion import EMOTION_LABELS, emotion_tensor
from services.shared.model_zoo.face_chips import EMOTION_SIZE
from training.architectures.vgg import vgg_small
from training.data.emotion_chips import VALIDATION_PERCENT, EmotionChips, load_emotion_chips
from training.errors import DatasetLayoutError, TrainingError
from training.precision import float32_copy, training_precision
from training.provenance import read_provenance, run_dir_of, run_provenance, write_provenance
from training.recipes.runner import fit, prepare_run

log = logging.getLogger(__name__)

INNER_SIZE = 48  # the network's working resolution (FER2013's)
SCRATCH_STAGES = ((64, 2), (128, 2), (256, 2))
LICENSE = "weights trained by FaceFlow on FER2013 (research use, which these weights inherit)"


@dataclass
class EmotionConfig:
    """Options of one emotion run (the CLI fills these)."""

    chips: Path
    run_dir: Path
    width: float = 0.5
    epochs: int = 20
    batch_size: int = 64
    learning_rate: float = 1e-3
    label_smoothing: float = 0.1
    limit: int | None = None
    precision: str = "float32"  # or "bfloat16" (mixed; training.precision)
    resume: bool = False
    seed: int = 0
    progress: bool = True
    command: str | None = None  # the command line, recorded as provenance


def build_emotion_net(width: float) -> Any:
    """Served crop -> 48x48 -> VGG-style stages -> 7 probabilities."""
    image = keras.Input((EMOTION_SIZE, EMOTION_SIZE, 1), name="image")
    small = keras.layers.Resizing(INNER_SIZE, INNER_SIZE, name="to_48")(image)
    body = vgg_small((INNER_SIZE, INNER_SIZE, 1), len(EMOTION_LABELS), width, SCRATCH_STAGES)
    # float32 softmax: under mixed bfloat16 the loss needs full-precision probabilities
    probabilities = keras.layers.Softmax(name="probabilities", dtype="float32")(body(small))
    return keras.Model(image, probabilities, name="emotion_vgg")


def to_input(chips: Any) -> Any:
    """(n, 64, 64) uint8 grey -> (n, 64, 64, 1) float32 in [-1, 1], as the service feeds it."""
    return (tf.cast(chips, tf.float32) / 127.5 - 1.0)[..., tf.newaxis]


def augmenter(seed: int) -> Any:
    """Flip, shift, rotate, zoom, contrast (training only)."""
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomTranslation(0.08, 0.08, fill_mode="nearest", seed=seed),
            keras.layers.RandomRotation(0.03, fill_mode="nearest", seed=seed),
            keras.layers.RandomZoom(0.1, fill_mode="nearest", seed=seed),
            # value_range: Keras clips to (0, 255) by default, which zeroed every dark pixel
            keras.layers.RandomContrast(0.2, value_range=(-1.0, 1.0), seed=seed),
        ],
        name="augment",
    )


def make_dataset(data: EmotionChips, batch_size: int, training: bool, seed: int) -> Any:
    """Batches of (served input, one-hot label)."""
    onehot = np.eye(len(EMOTION_LABELS), dtype=np.float32)[data.labels]
    ds = tf.data.Dataset.from_tensor_slices((data.chips, onehot))
    if training:
        ds = ds.shuffle(len(data.labels), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(lambda x, y: (to_input(x), y))
    if training:
        augment = augmenter(seed)
        ds = ds.map(lambda x, y: (tf.clip_by_value(augment(x, training=True), -1.0, 1.0), y))
    return ds.prefetch(2)


def split_chips(chips: EmotionChips) -> tuple[EmotionChips, EmotionChips]:
    """Training and held-out faces (the hash split)."""
    held_out = chips.validation_mask()
    train, validation = chips.subset(~held_out), chips.subset(held_out)
    if not len(train) or not len(validation):
        raise DatasetLayoutError(
            f"the {VALIDATION_PERCENT}% hash split of {len(chips)} faces leaves "
            f"{len(train)} for training and {len(validation)} for validation"
        )
    return train, validation


def predict(model: Any, chips: NDArray[np.uint8], flip: bool = False) -> NDArray[np.float32]:
    """Class probabilities per chip (the mean with the mirrored chip when flip)."""
    p = model.predict(to_input(chips), batch_size=256, verbose=0)
    if flip:
        p = (p + model.predict(to_input(chips[:, :, ::-1]), batch_size=256, verbose=0)) / 2
    return np.asarray(p, dtype=np.float32)


def evaluate_model(model: Any, data: EmotionChips) -> dict[str, Any]:
    """Accuracy (and with flip), per-class accuracy and the confusion matrix."""
    probabilities = predict(model, data.chips)
    predicted = np.argmax(probabilities, axis=1)
    flipped = np.argmax(predict(model, data.chips, flip=True), axis=1)
    classes = len(EMOTION_LABELS)
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (data.labels, predicted), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    majority = np.bincount(data.labels, minlength=classes).max() / max(1, len(data.labels))
    return {
        "images": len(data.labels),
        "accuracy": float(np.mean(predicted == data.labels)),
        "accuracy_with_flip": float(np.mean(flipped == data.labels)),
        "majority_class": float(majority),
        "per_class": {name: float(a) for name, a in zip(EMOTION_LABELS, per_class, strict=True)},
        "confusion": confusion.tolist(),
    }


def train(config: EmotionConfig) -> dict[str, Any]:
    """Train (or resume) a run; returns history and the training/held-out evaluation."""
    keras.utils.set_random_seed(config.seed)
    chips = load_emotion_chips(config.chips)
    if config.limit is not None:
        chips = chips.subset(np.arange(len(chips)) < config.limit)
    training_set, validation = split_chips(chips)
    log.info("emotion: %d training, %d held-out faces", len(training_set), len(validation))
    with training_precision(config.precision):
        fresh = build_emotion_net(config.width) if not config.resume else None
    kept = {  # the schedule and optimizer saved in the checkpoint were made from these
        "recipe": "emotion",
        "width": config.width,
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "learning_rate": config.learning_rate,
        "label_smoothing": config.label_smoothing,
        "limit": config.limit,
        "precision": config.precision,
    }
    model, initial_epoch, best = prepare_run(
        config.run_dir, config.resume, fresh, kept, added={"precision": "float32"}
    )
    steps = max(1, int(np.ceil(len(training_set) / config.batch_size)))
    if initial_epoch == 0:
        schedule = keras.optimizers.schedules.CosineDecay(
            config.learning_rate, steps * config.epochs
        )
        model.compile(
            optimizer=keras.optimizers.Adam(schedule),
            loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
            metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        )
        write_provenance(config.run_dir, run_provenance(config.command, config.chips))
    history = fit(
        model,
        make_dataset(training_set, config.batch_size, True, config.seed),
        make_dataset(validation, 256, False, config.seed),
        config.run_dir,
        config.epochs,
        initial_epoch,
        steps,
        monitor="val_accuracy",
        best=best,
        progress=config.progress,
    )
    return {
        "history": history,
        "initial_epoch": initial_epoch,
        "split": f"sha256(file name) mod 100 < {VALIDATION_PERCENT} is validation",
        "no_face": len(chips.no_face),
        "train": evaluate_model(model, training_set),
        "validation": evaluate_model(model, validation),
    }


def export_emotion(
    checkpoint: Path,
    output: Path,
    name: str,
    version: str,
    manifest_dir: Path | None = None,
    cache_dir: Path | None = None,
) -> dict[str, str]:
    """TFLite registered as task ``emotion`` with the run's provenance in its params."""
    from training.checkpoints import load_checkpoint
    from training.export import export_model

    model = float32_copy(load_checkpoint(checkpoint))  # a bfloat16 run is served in float32
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    if shape != (EMOTION_SIZE, EMOTION_SIZE, 1):
        raise TrainingError(f"{checkpoint}: input {shape} is not the served (64, 64, 1) crop")
    provenance = read_provenance(run_dir_of(checkpoint))
    return export_model(
        model,
        output,
        name,
        version,
        "emotion",
        description="emotion classifier trained by FaceFlow on FER2013 crops cut by the "
        "serving code: 64x64 grey face in [-1, 1] -> 7 emotion probabilities",
        input_spec={
            "name": "image",
            "shape": [1, EMOTION_SIZE, EMOTION_SIZE, 1],
            "dtype": "float32",
            "color": "GREY",
            "range": "-1-1",
        },
        params={
            "labels": list(EMOTION_LABELS),
            **{f"trained_{key}": value for key, value in provenance.items()},
        },
        manifest_dir=manifest_dir,
        cache_dir=cache_dir,
        output_name="probabilities",
        license_text=LICENSE,
        check=lambda tflite: check_export(model, tflite),  # before it is registered
    )


def check_export(model: Any, tflite: Path) -> None:
    """The TFLite file gives the Keras model's probabilities on a fixed random crop."""
    from services.shared.runtime import LiteModel

    crop = np.random.default_rng(0).integers(0, 256, (EMOTION_SIZE, EMOTION_SIZE), np.uint8)
    lite = LiteModel(tflite, num_threads=1)
    outputs = lite.run(**{lite.input_name: emotion_tensor(crop)})
    served = np.asarray(next(iter(outputs.values()))[0])
    expected = np.asarray(model(emotion_tensor(crop), training=False))[0]
    if not np.allclose(served, expected, atol=1e-4):
        raise TrainingError(f"{tflite}: TFLite output differs from the Keras model's")
