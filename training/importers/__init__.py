"""Importers that turn other frameworks' weight files into numpy arrays and TensorFlow models."""
