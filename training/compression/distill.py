"""Knowledge distillation (Hinton et al., 2015): a small student learns from a teacher.

Loss = ``alpha * CE(labels, student) + (1 - alpha) * T^2 * KL(softmax(t/T) || softmax(s/T))``
with the teacher frozen. ``Distiller`` is a Keras model whose ``train_step`` computes both
terms; evaluation runs the student alone.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


class Distiller(keras.Model):  # type: ignore[misc]
    """Wraps a student and a frozen teacher (both output logits)."""

    def __init__(
        self, student: Any, teacher: Any, temperature: float = 4.0, alpha: float = 0.3
    ) -> None:
        super().__init__(name="distiller")
        self.student = student
        self.teacher = teacher
        self.teacher.trainable = False
        self.temperature = float(temperature)
        self.alpha = float(alpha)
        self.hard_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.soft_tracker = keras.metrics.Mean(name="distill_loss")
        self.accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")

    @property
    def metrics(self) -> list[Any]:
        return [self.loss_tracker, self.soft_tracker, self.accuracy]

    def call(self, inputs: Any, training: bool = False) -> Any:
        return self.student(inputs, training=training)

    def soft_loss(self, teacher_logits: Any, student_logits: Any) -> Any:
        """T^2-scaled KL divergence between the softened distributions."""
        t = self.temperature
        teacher = tf.nn.softmax(teacher_logits / t)
        student_log = tf.nn.log_softmax(student_logits / t)
        kl = tf.reduce_sum(teacher * (tf.math.log(teacher + 1e-12) - student_log), axis=-1)
        return tf.reduce_mean(kl) * t * t

    def train_step(self, data: Any) -> dict[str, Any]:
        images, labels = data
        teacher_logits = self.teacher(images, training=False)
        with tf.GradientTape() as tape:
            student_logits = self.student(images, training=True)
            soft = self.soft_loss(teacher_logits, student_logits)
            loss = self.alpha * self.hard_loss(labels, student_logits) + (1 - self.alpha) * soft
        variables = self.student.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        self.loss_tracker.update_state(loss)
        self.soft_tracker.update_state(soft)
        self.accuracy.update_state(labels, student_logits)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data: Any) -> dict[str, Any]:
        images, labels = data
        logits = self.student(images, training=False)
        self.loss_tracker.update_state(self.hard_loss(labels, logits))
        self.accuracy.update_state(labels, logits)
        return {m.name: m.result() for m in self.metrics}
