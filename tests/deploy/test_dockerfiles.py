"""Invariants of the two Dockerfiles that the e2e run cannot see at a glance: the base is a build
argument with the documented default, serving stages run as a non-root user with a health check,
and nothing is compiled or fetched in the FaceFlow images."""

from __future__ import annotations

import re

from deploy.docker.components import REPO_ROOT

SERVICE_DOCKERFILE = REPO_ROOT / "deploy" / "docker" / "Dockerfile"
POSTGRES_DOCKERFILE = REPO_ROOT / "deploy" / "docker" / "postgres" / "Dockerfile"


def stages(path: str) -> list[str]:
    """The text of each FROM stage, in order (the part before the first FROM is dropped)."""
    text = (REPO_ROOT / path).read_text()
    return re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]


def test_base_image_is_a_build_argument_with_the_slim_default() -> None:
    text = SERVICE_DOCKERFILE.read_text()
    assert "ARG BASE_IMAGE=python:3.11-slim-bookworm" in text
    assert all(stage.startswith("${BASE_IMAGE}") for stage in stages("deploy/docker/Dockerfile"))
    assert all(
        stage.startswith("${BASE_IMAGE}") for stage in stages("deploy/docker/postgres/Dockerfile")
    )


def test_faceflow_images_install_only_local_wheels() -> None:
    builder, final = stages("deploy/docker/Dockerfile")
    assert "--no-index --find-links /tmp/build/wheels" in builder
    for stage in (builder, final):
        assert "apt-get" not in stage
        assert "gcc" not in stage
    assert "tensorflow" not in (REPO_ROOT / "requirements" / "serve.txt").read_text().lower()


def test_serving_stages_are_non_root_with_a_health_check() -> None:
    final = stages("deploy/docker/Dockerfile")[-1]
    assert "USER 10001:10001" in final
    assert 'CMD ["python", "-m", "deploy.docker.healthcheck"]' in final
    postgres_final = stages("deploy/docker/postgres/Dockerfile")[-1]
    assert "USER postgres" in postgres_final
    assert "HEALTHCHECK" in postgres_final and "pg_isready" in postgres_final
    assert "gcc" not in postgres_final and "server-dev" not in postgres_final


def test_shared_layers_come_before_the_service_argument() -> None:
    final = stages("deploy/docker/Dockerfile")[-1]
    assert final.index("COPY --from=builder /opt/venv") < final.index("ARG SERVICE")
    assert final.index("ARG SERVICE") < final.index("COPY models/${SERVICE}/")
