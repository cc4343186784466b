"""Accuracy evaluations over real photos in ../shared/data; each prints its figures."""
