"""Container images: build context staging, the entry point and the health check they run."""
