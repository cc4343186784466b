"""Errors the training CLI reports as one clear line (exit status 2), never a traceback."""

from __future__ import annotations


class TrainingError(Exception):
    """A user-facing failure: bad arguments, missing files, a wrong dataset layout."""


class DatasetLayoutError(TrainingError):
    """A dataset folder does not have the layout a recipe expects."""
