# CommentGate: `make run` starts the whole service, `make test` runs the whole test suite.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# The public data sets, as `commentgate data fetch --out data/public` writes them.
DATA ?= data/public
# Where `make run` serves; set on the command line: make run PORT=8080 HOST=0.0.0.0
HOST := 127.0.0.1
PORT := 8000
# Stamps of what pip installed from pyproject.toml: the runtime alone, or with the test tools.
# `make test` after `make run` upgrades the same venv; a changed pyproject.toml redoes either.
RUNTIME := $(VENV)/.installed-runtime
TEST_TOOLS := $(VENV)/.installed-test

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-13s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(TEST_TOOLS): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	@touch $@ $(RUNTIME)

install: $(RUNTIME) ## Create .venv with CommentGate and its runtime dependencies only
install-test: $(TEST_TOOLS) ## The same venv plus the test tools (pytest, ruff, Playwright, ...)

run: install ## Run API + worker on http://127.0.0.1:8000, embedded defaults (make run PORT=8080 HOST=0.0.0.0)
	$(BIN)/commentgate run --host $(HOST) --port $(PORT)

test: install-test ## Run every test against real Redis, PostgreSQL, Celery workers and Chromium
	./scripts/ensure-services.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

test-fast: install-test ## Run the unit tests that need no servers, workers or model training, in under a minute
	$(BIN)/python -m pytest tests/unit -m "not slow"

model: install ## Rebuild the shipped model (classifier/default_model) from DATA (the public data sets)
	$(BIN)/commentgate train --data $(DATA) --data training_data/seed --no-project-data \
		--out classifier/default_model
	$(BIN)/commentgate models card --shipped > MODEL_CARD.md

lint: install-test ## ruff check and format check, and the layers (lint-imports)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports

typecheck: install-test ## mypy on classifier/, service/, workers/ (strict on classifier/ and service/decisions/)
	$(BIN)/mypy

bench-install: install-test ## Install the benchmark-only extras (peers with pinned versions)
	$(BIN)/pip install -q -e '.[test,bench]'

.PHONY: help install install-test run test test-fast model lint typecheck bench-install
