"""Kubernetes manifests for FaceFlow, rendered from one table (render.py)."""
