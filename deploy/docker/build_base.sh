#!/usr/bin/env bash
# Make the local base image without Docker Hub: a Debian bookworm root filesystem built with
# debootstrap (minbase + Python 3.11 and its venv module), cleaned, and `docker import`ed as
# ${FACEFLOW_BASE_IMAGE:-faceflow/base:bookworm}. It stands in for python:3.11-slim-bookworm,
# the Dockerfile's default BASE_IMAGE.
#
# Idempotent: nothing happens when the image exists; the root filesystem tarball is cached in
# ${FACEFLOW_DOCKER_CACHE:-~/.cache/faceflow/docker} so a new engine only re-imports it.
# Needs root, debootstrap and a reachable Debian mirror (DEBIAN_MIRROR).
set -euo pipefail

TAG="${FACEFLOW_BASE_IMAGE:-faceflow/base:bookworm}"
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CACHE="${FACEFLOW_DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faceflow/docker}"
TARBALL="${CACHE}/base-${SUITE}.tar"
PACKAGES=python3,python3-venv,ca-certificates

say() { echo "build_base: $*" >&2; }

if docker image inspect "$TAG" >/dev/null 2>&1; then
  say "$TAG exists"
  exit 0
fi

if [[ ! -s "$TARBALL" ]]; then
  command -v debootstrap >/dev/null || { say "debootstrap is missing (apt-get install debootstrap)"; exit 1; }
  mkdir -p "$CACHE"
  ROOTFS="$(mktemp -d "${CACHE}/rootfs.XXXXXX")"
  trap 'rm -rf "$ROOTFS"' EXIT
  say "debootstrap --variant=minbase $SUITE (+ $PACKAGES) from $MIRROR"
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR" >&2
  cat > "${ROOTFS}/etc/apt/sources.list" <<EOF
deb ${MIRROR} ${SUITE} main
deb ${MIRROR} ${SUITE}-updates main
deb http://deb.debian.org/debian-security ${SUITE}-security main
EOF
  # What a container never needs: package caches and lists, docs, man pages, translations.
  rm -rf "${ROOTFS}"/var/cache/apt/archives/*.deb "${ROOTFS}"/var/cache/apt/*.bin \
    "${ROOTFS}"/var/lib/apt/lists/* "${ROOTFS}"/usr/share/doc/* "${ROOTFS}"/usr/share/man/* \
    "${ROOTFS}"/usr/share/info/* "${ROOTFS}"/var/log/*.log "${ROOTFS}"/tmp/*
  find "${ROOTFS}/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'C.*' -exec rm -rf {} +
  # Keep apt from downloading docs again inside images built on this base.
  cat > "${ROOTFS}/etc/dpkg/dpkg.cfg.d/01-faceflow-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/C.*
EOF
  tar --numeric-owner -C "$ROOTFS" -cf "${TARBALL}.partial" .
  mv "${TARBALL}.partial" "$TARBALL"
fi

say "docker import $TARBALL as $TAG"
docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' \
  "$TARBALL" "$TAG" >/dev/null
docker image inspect "$TAG" --format 'build_base: {{.RepoTags}} {{.Size}} bytes' >&2
