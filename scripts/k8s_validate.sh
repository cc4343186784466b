#!/usr/bin/env bash
# Check the Kubernetes manifests: rendered from deploy/kubernetes/render.py (not edited by hand)
# and valid against the Kubernetes JSON schemas bundled in the PyPI package kubernetes-validate
# (offline, strict: unknown fields are errors). tests/deploy/test_kubernetes.py does the same
# inside `make test`; this is the stand-alone command (`make k8s-validate`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VERSION="${KUBERNETES_VERSION:-1.33.0}"
.venv/bin/python -m deploy.kubernetes.render --check
mapfile -t FILES < <(ls deploy/kubernetes/*.yaml | grep -v '/kustomization.yaml$')
.venv/bin/kubernetes-validate --strict --quiet -k "$VERSION" "${FILES[@]}"
echo "k8s_validate: ${#FILES[@]} files valid against Kubernetes ${VERSION}"
