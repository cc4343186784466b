"""Metric-learning losses: ArcFace and CosFace margin heads, batch-hard triplet loss.

- CosFace (Wang et al., 2018): logit of the true class ``s * (cos θ - m)``.
- ArcFace (Deng et al., 2019): logit of the true class ``s * cos(θ + m)``; where ``θ + m`` would
  pass π the logit falls back to ``s * (cos θ - m sin m)`` (insightface's rule) so it stays
  monotonic.
Both normalise embeddings and class weights, so logits are scaled cosines; train them with
sparse cross-entropy on logits.
- Triplet with batch-hard mining (Hermans et al., 2017): for each anchor in a P x K batch, the
  farthest positive and the closest negative; ``mean(max(0, d(a,p) - d(a,n) + margin))`` on
  L2-normalised embeddings.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import tensorflow as tf

MARGIN_KINDS = ("arcface", "cosface")


@keras.saving.register_keras_serializable(package="faceflow")
class MarginHead(keras.layers.Layer):  # type: ignore[misc]
    """Classifier head for margin losses: ``[embeddings, labels] -> scaled cosine logits``."""

    def __init__(
        self,
        num_classes: int,
        kind: str = "arcface",
        scale: float = 64.0,
        margin: float = 0.5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if kind not in MARGIN_KINDS:
            raise ValueError(f"margin kind must be one of {MARGIN_KINDS}, not {kind!r}")
        self.num_classes = int(num_classes)
        self.kind = kind
        self.scale = float(scale)
        self.margin = float(margin)
        self.embedding_size = 0

    def build(self, input_shape: Any) -> None:
        self.embedding_size = int(input_shape[0][-1])
        self.class_weights = self.add_weight(
            name="class_weights",
            shape=(self.embedding_size, self.num_classes),
            initializer="glorot_uniform",
        )

    def cosines(self, embeddings: Any) -> Any:
        """cos θ between each embedding and each class centre."""
        x = tf.math.l2_normalize(embeddings, axis=1)
        w = tf.math.l2_normalize(self.class_weights, axis=0)
        return tf.matmul(x, w)

    def call(self, inputs: Any) -> Any:
        embeddings, labels = inputs
        cosine = self.cosines(embeddings)
        if self.kind == "cosface":
            target = cosine - self.margin
        else:
            clipped = tf.clip_by_value(cosine, -1.0 + 1e-7, 1.0 - 1e-7)
            with_margin = tf.cos(tf.acos(clipped) + self.margin)
            threshold = math.cos(math.pi - self.margin)
            fallback = cosine - math.sin(math.pi - self.margin) * self.margin
            target = tf.where(cosine > threshold, with_margin, fallback)
        one_hot = tf.one_hot(tf.cast(tf.reshape(labels, [-1]), tf.int32), self.num_classes)
        return self.scale * (one_hot * target + (1.0 - one_hot) * cosine)

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, int]:
        return (input_shape[0][0], self.num_classes)

    def formula_counts(self) -> tuple[int, int]:
        """(params, MACs): the D x classes weight matrix and one matmul (see training.flops)."""
        size = self.embedding_size * self.num_classes
        return size, size

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update(
            num_classes=self.num_classes, kind=self.kind, scale=self.scale, margin=self.margin
        )
        return config


@keras.saving.register_keras_serializable(package="faceflow")
class L2Normalize(keras.layers.Layer):  # type: ignore[misc]
    """Scale each embedding to unit length."""

    def call(self, inputs: Any) -> Any:
        return tf.math.l2_normalize(inputs, axis=-1)


def pairwise_distances(embeddings: Any) -> Any:
    """Euclidean distances between all rows (stable at zero)."""
    dot = tf.matmul(embeddings, embeddings, transpose_b=True)
    norms = tf.linalg.diag_part(dot)
    squared = tf.maximum(norms[:, None] - 2.0 * dot + norms[None, :], 0.0)
    zero = tf.cast(tf.equal(squared, 0.0), squared.dtype)
    return tf.sqrt(squared + zero * 1e-16) * (1.0 - zero)


def batch_hard_triplet_loss(labels: Any, embeddings: Any, margin: float = 0.3) -> Any:
    """Batch-hard triplet loss over L2-normalised embeddings (labels shape (B,) or (B, 1))."""
    labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
    embeddings = tf.math.l2_normalize(embeddings, axis=1)
    distances = pairwise_distances(embeddings)
    same = tf.equal(labels[:, None], labels[None, :])
    not_self = tf.logical_not(tf.eye(tf.shape(labels)[0], dtype=tf.bool))
    positive_mask = tf.cast(tf.logical_and(same, not_self), distances.dtype)
    negative_mask = tf.cast(tf.logical_not(same), distances.dtype)
    hardest_positive = tf.reduce_max(distances * positive_mask, axis=1)
    largest = tf.reduce_max(distances, axis=1, keepdims=True)
    hardest_negative = tf.reduce_min(distances + largest * (1.0 - negative_mask), axis=1)
    valid = tf.cast(
        tf.logical_and(
            tf.reduce_any(positive_mask > 0, axis=1), tf.reduce_any(negative_mask > 0, axis=1)
        ),
        distances.dtype,
    )
    losses = tf.maximum(hardest_positive - hardest_negative + margin, 0.0) * valid
    return tf.reduce_sum(losses) / tf.maximum(tf.reduce_sum(valid), 1.0)


@keras.saving.register_keras_serializable(package="faceflow")
class BatchHardTripletLoss(keras.losses.Loss):  # type: ignore[misc]
    """Keras wrapper of :func:`batch_hard_triplet_loss`."""

    def __init__(self, margin: float = 0.3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.margin = float(margin)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return batch_hard_triplet_loss(y_true, y_pred, self.margin)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update(margin=self.margin)
        return config
