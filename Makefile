# FaceFlow developer entry points. `make run` and `make test` do all setup themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH_STAMP := $(VENV)/.torch-installed
SHARED_MODELS := $(abspath ../shared/models)
export FACEFLOW_MODEL_MIRROR ?= $(SHARED_MODELS)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: setup venv models protos run test lint typecheck unit e2e bench clean-models docker-images docker-e2e k8s-validate

setup: $(STAMP) models

$(STAMP): requirements/serve.txt requirements/dev.txt requirements/nodeps.txt faceflow_sdk/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "FaceFlow needs Python 3.11 (set PYTHON=python3.11)")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements/dev.txt
	$(PY) -m pip install -q --no-deps -r requirements/nodeps.txt
	$(PY) -m pip install -q --no-deps -e ./faceflow_sdk   # the `faceflow` command in .venv/bin
	@echo "$(CURDIR)" > $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/faceflow-dev.pth
	@echo "$(CURDIR)/protos/gen" >> $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/faceflow-dev.pth
	@touch $(STAMP)

venv: $(STAMP)

# PyTorch is for one parity test only: `make run` never installs it (requirements/torch.txt).
$(TORCH_STAMP): $(STAMP) requirements/torch.txt
	$(PY) -m pip install -q -r requirements/torch.txt
	@touch $(TORCH_STAMP)

models: $(STAMP)
	$(PY) -m services.shared.model_store prepare

protos: $(STAMP)
	$(PY) scripts/gen_protos.py

run: setup
	$(PY) -m deploy.local.run

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy .

test: setup $(TORCH_STAMP) lint typecheck
	bash scripts/install_browser.sh
	url=$$(bash scripts/test_services.sh) && FACEFLOW_TEST_POSTGRES_URL=$$url $(VENV)/bin/pytest
	bash scripts/docker_e2e.sh --if-possible

# Docker: images from a debootstrap base + host-downloaded wheels (docs/deployment.md).
docker-images: setup
	bash scripts/docker_e2e.sh --build-only

# compose up, health, enroll + search through the gateway, restart embedding, tear down.
docker-e2e: setup
	bash scripts/docker_e2e.sh

k8s-validate: $(STAMP)
	bash scripts/k8s_validate.sh

bench: setup
	$(PY) bench/detection.py
