"""Benchmark scripts: each prints figures; none is a pass/fail test."""
