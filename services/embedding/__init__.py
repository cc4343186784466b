"""The embedding service: face embeddings, 1:1 verification, 1:N search and the gallery."""
