"""Tests of the gallery store (both backends)."""
