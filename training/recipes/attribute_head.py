"""Age + gender from the served face embedding: a small MLP head on SFace's 128-d unit vectors.

Input: the feature cache of ``python -m training attribute-features`` (SFace embeddings of the
112x112 crops the services align, the mirrored crops' embeddings, UTKFace labels), split by
:func:`training.data.attribute_features.is_validation` (a hash of the photo timestamp).

Network: ``hidden`` units x ``layers`` (Dense-ReLU-Dropout), then two softmax heads:

- ``age``: a distribution over whole years ``AGE_MIN..AGE_MAX`` trained with cross-entropy
  against a Gaussian around the true age (``age_sigma`` years; label smoothing of a DEX-style
  classifier) plus ``age_l1_weight`` x the L1 error of its expectation (a fixed, non-trainable
  layer ``age_years``). The served age is the expectation, its range a central probability
  interval of the same distribution;
- ``gender``: (female, male) probabilities, the order the attributes service reports.

Training picks the embedding of the crop or of its mirror image at random per sample
(``flip``). The export keeps ``age`` and ``gender`` (the inputs the zoo's
:class:`services.shared.model_zoo.age_gender_head.AgeGenderHead` reads).
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

from training.data.attribute_features import (
    VALIDATION_PERCENT,
    AttributeFeatures,
    load_features,
)
from training.errors import DatasetLayoutError, TrainingError
from training.provenance import read_provenance, run_dir_of, run_provenance, write_provenance
from training.recipes.runner import fit, prepare_run

log = logging.getLogger(__name__)

AGE_MIN = 0
AGE_MAX = 100  # older faces are trained as 100 (UTKFace has a few dozen above it)
AGE_BINS = AGE_MAX - AGE_MIN + 1
GENDER_LABELS = ("female", "male")  # the head's output order (UTKFace names: 0 male, 1 female)
RANGE_INTERVAL = 0.8  # the reported age range holds this much of the predicted distribution
LICENSE = (
    "weights trained by FaceFlow on UTKFace (non-commercial research use only, which these "
    "weights inherit); reads SFace (Apache-2.0) embeddings"
)


@dataclass
class AttributeHeadConfig:
    """Options of one head run."""

    features: Path
    run_dir: Path
    hidden: int = 256
    layers: int = 2
    dropout: float = 0.3
    epochs: int = 40
    batch_size: int = 128
    learning_rate: float = 1e-3
    age_sigma: float = 2.0
    age_l1_weight: float = 0.1
    flip: bool = True
    validation_percent: int = VALIDATION_PERCENT
    limit: int | None = None
    command: str | None = None  # the command line, recorded as provenance
    resume: bool = False
    seed: int = 0
    progress: bool = True


def gender_index(utk_genders: NDArray[np.int64]) -> NDArray[np.int64]:
    """UTKFace gender (0 male, 1 female) -> index into GENDER_LABELS."""
    return np.where(np.asarray(utk_genders) == 1, 0, 1).astype(np.int64)


def age_targets(ages: NDArray[np.float32], sigma: float) -> NDArray[np.float32]:
    """A Gaussian over the age bins around each (clipped) age, rows summing to 1."""
    bins = np.arange(AGE_MIN, AGE_MAX + 1, dtype=np.float32)
    clipped = np.clip(np.asarray(ages, dtype=np.float32), AGE_MIN, AGE_MAX)[:, None]
    weights = np.exp(-0.5 * ((bins[None, :] - clipped) / sigma) ** 2)
    return np.asarray(weights / weights.sum(axis=1, keepdims=True), dtype=np.float32)


def build_head(dimension: int, hidden: int, layers: int, dropout: float) -> Any:
    """embedding -> {"age": AGE_BINS probabilities, "age_years": expectation, "gender": 2}."""
    embedding = keras.Input((dimension,), name="embedding")
    x = embedding
    for index in range(layers):
        x = keras.layers.Dense(hidden, activation="relu", name=f"hidden{index}")(x)
        x = keras.layers.Dropout(dropout, name=f"dropout{index}")(x)
    age = keras.layers.Dense(AGE_BINS, activation="softmax", name="age")(x)
    years = keras.layers.Dense(1, use_bias=False, trainable=False, name="age_years")
    expectation = years(age)
    years.set_weights([np.arange(AGE_MIN, AGE_MAX + 1, dtype=np.float32)[:, None]])
    gender = keras.layers.Dense(len(GENDER_LABELS), activation="softmax", name="gender")(x)
    return keras.Model(
        embedding, {"age": age, "age_years": expectation, "gender": gender}, name="age_gender"
    )


def compile_head(model: Any, config: AttributeHeadConfig) -> None:
    """Adam; soft-label cross-entropy + weighted L1 (years) on age, cross-entropy on gender."""
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss={
            "age": keras.losses.CategoricalCrossentropy(),
            "age_years": keras.losses.MeanAbsoluteError(),
            "gender": keras.losses.SparseCategoricalCrossentropy(),
        },
        loss_weights={"age": 1.0, "age_years": config.age_l1_weight, "gender": 1.0},
        metrics={
            "age_years": [keras.metrics.MeanAbsoluteError(name="mae")],
            "gender": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        },
    )


def targets_of(features: AttributeFeatures, sigma: float) -> dict[str, NDArray[Any]]:
    """The three training targets of a feature set."""
    return {
        "age": age_targets(features.ages, sigma),
        "age_years": features.ages[:, None].astype(np.float32),
        "gender": gender_index(features.genders),
    }


def make_dataset(features: AttributeFeatures, config: AttributeHeadConfig) -> Any:
    """Shuffled, repeated batches; each sample's embedding or its mirror's, at random."""
    targets = targets_of(features, config.age_sigma)
    ds = tf.data.Dataset.from_tensor_slices(
        ((features.embeddings, features.embeddings_flipped), targets)
    )

    def choose(pair: Any, target: Any) -> Any:
        original, mirrored = pair
        if not config.flip:
            return original, target
        return tf.where(tf.random.uniform([]) < 0.5, original, mirrored), target

    ds = ds.shuffle(len(features), seed=config.seed, reshuffle_each_iteration=True).repeat()
    return ds.map(choose).batch(config.batch_size).prefetch(2)


def age_summary(
    probabilities: NDArray[np.floating], interval: float = RANGE_INTERVAL
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(expected age, range low, range high) per row: the central ``interval`` of each row.

    The same arithmetic as the served class (``age_gender_head.age_from_distribution``)."""
    from services.shared.model_zoo.age_gender_head import age_from_distribution

    rows = [age_from_distribution(p, AGE_MIN, interval) for p in np.asarray(probabilities)]
    return (
        np.array([r.value for r in rows]),
        np.array([r.low for r in rows]),
        np.array([r.high for r in rows]),
    )


def evaluate_head(
    model: Any, features: AttributeFeatures, mirrored: bool = False
) -> dict[str, Any]:
    """Age MAE, range coverage and gender accuracy; with ``mirrored``, the mean of the crop's and
    its mirror's outputs (test-time flip, which costs a second SFace run per face)."""
    outputs = model.predict(features.embeddings, batch_size=512, verbose=0)
    age, gender = np.asarray(outputs["age"]), np.asarray(outputs["gender"])
    if mirrored:
        flipped = model.predict(features.embeddings_flipped, batch_size=512, verbose=0)
        age = (age + np.asarray(flipped["age"])) / 2
        gender = (gender + np.asarray(flipped["gender"])) / 2
    value, low, high = age_summary(age)
    truth = gender_index(features.genders)
    errors = np.abs(value - features.ages)
    return {
        "faces": len(features),
        "age_mae": float(errors.mean()),
        "age_median_error": float(np.median(errors)),
        "age_mae_predict_mean": float(np.mean(np.abs(features.ages - features.ages.mean()))),
        "age_inside_range": float(np.mean((low <= features.ages) & (features.ages <= high))),
        "gender_accuracy": float(np.mean(np.argmax(gender, axis=1) == truth)),
        "gender_majority": float(max(np.mean(truth), 1 - np.mean(truth))),
    }


def split_features(
    features: AttributeFeatures, percent: int
) -> tuple[AttributeFeatures, AttributeFeatures]:
    """(training, validation) by the photo-timestamp hash."""
    held_out = features.validation_mask(percent)
    train, validation = features.subset(~held_out), features.subset(held_out)
    if not len(train) or not len(validation):
        raise DatasetLayoutError(
            f"the {percent}% hash split of {len(features)} faces leaves "
            f"{len(train)} for training and {len(validation)} for validation"
        )
    return train, validation


def train(config: AttributeHeadConfig) -> dict[str, Any]:
    """Train (or resume) a head run; returns history and the training/validation evaluation."""
    keras.utils.set_random_seed(config.seed)
    features = load_features(config.features)
    if config.limit is not None:
        features = features.subset(np.arange(len(features)) < config.limit)
    training_set, validation = split_features(features, config.validation_percent)
    log.info("attribute head: %d training, %d validation faces", len(training_set), len(validation))
    fresh = build_head(features.embeddings.shape[1], config.hidden, config.layers, config.dropout)
    kept = {  # the model, its targets and its validation split were made from these
        "recipe": "attribute-head",
        "hidden": config.hidden,
        "layers": config.layers,
        "dropout": config.dropout,
        "learning_rate": config.learning_rate,
        "age_sigma": config.age_sigma,
        "validation_percent": config.validation_percent,
        "limit": config.limit,
    }
    model, initial_epoch, best = prepare_run(config.run_dir, config.resume, fresh, kept)
    if initial_epoch == 0:
        compile_head(model, config)
        write_provenance(config.run_dir, run_provenance(config.command, config.features))
    steps = max(1, int(np.ceil(len(training_set) / config.batch_size)))
    history = fit(
        model,
        make_dataset(training_set, config),
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
    return {
        "history": history,
        "initial_epoch": initial_epoch,
        "split": f"sha256(timestamp) mod 100 < {config.validation_percent} is validation",
        "no_face": len(features.no_face),
        "train": evaluate_head(model, training_set),
        "validation": evaluate_head(model, validation),
        "validation_mirrored": evaluate_head(model, validation, mirrored=True),
    }


def served_head(model: Any) -> Any:
    """The exported graph: batch 1, outputs ``age`` (distribution) and ``gender``."""
    dimension = int(model.inputs[0].shape[-1])
    embedding = keras.Input((dimension,), batch_size=1, name="embedding")
    outputs = model(embedding)
    return keras.Model(embedding, {"age": outputs["age"], "gender": outputs["gender"]})


def export_head(
    checkpoint: Path,
    output: Path,
    name: str,
    version: str,
    embedding_model: str = "sface",
    manifest_dir: Path | None = None,
    cache_dir: Path | None = None,
    license_text: str = LICENSE,
) -> dict[str, str]:
    """TFLite (``age`` distribution, ``gender`` probabilities) registered as ``age-gender-head``.

    ``embedding_model`` names the store model whose vectors the head was trained on; the
    attributes service refuses to pair the head with another. The run's provenance (data,
    command, commit; ``provenance.json`` of the run folder) goes into the manifest's params.
    """
    from services.shared.errors import ModelUnavailableError
    from services.shared.model_store import ModelStore
    from services.shared.model_store.local import register_local_model
    from services.shared.model_store.manifest import ManifestError
    from services.shared.settings import default_cache_dir
    from training.checkpoints import load_checkpoint
    from training.export import default_manifest_dir, quiet_stdout

    model = load_checkpoint(checkpoint)
    dimension = int(model.inputs[0].shape[-1])
    try:
        embedder = ModelStore().spec(embedding_model)
    except ModelUnavailableError as error:
        raise TrainingError(str(error)) from error
    run_dir = run_dir_of(checkpoint)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with quiet_stdout():
        output.write_bytes(tf.lite.TFLiteConverter.from_keras_model(served_head(model)).convert())
    manifest_dir = manifest_dir or default_manifest_dir()
    cache_dir = cache_dir or default_cache_dir() / "models"
    params: dict[str, Any] = {
        "embedding_model": embedder.name,
        "embedding_version": embedder.version,
        "age_min": AGE_MIN,
        "age_interval": RANGE_INTERVAL,
        "gender_labels": list(GENDER_LABELS),
        **{f"trained_{key}": value for key, value in read_provenance(run_dir).items()},
    }
    try:
        toml = register_local_model(
            output,
            name,
            version,
            "age-gender-head",
            manifest_dir,
            cache_dir,
            description=f"age (distribution over {AGE_MIN}-{AGE_MAX} years) + gender "
            f"(female, male) MLP on the {embedder.key} embedding of the aligned 112x112 crop",
            license_text=license_text,
            input_spec={"name": "embedding", "shape": [1, dimension], "dtype": "float32"},
            params=params,
        )
    except ManifestError as error:
        raise TrainingError(str(error)) from error
    return {"tflite": str(output), "manifest": str(toml), "cache_dir": str(cache_dir)}
