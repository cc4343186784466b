"""TensorFlow training toolkit: recipes, architectures, losses, evaluation, export, compression.

Entry point: ``python -m training`` (see ``training/cli.py``).
"""
