"""Tests of the deployment tooling: Docker images, docker-compose.yml, Kubernetes manifests."""
