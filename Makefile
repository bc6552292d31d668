# CommentGate: `make run` starts the whole service, `make test` runs the whole test suite.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
DATA ?= ../shared/data

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/commentgate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

install: $(BIN)/commentgate ## Create .venv and install CommentGate with its test tools

run: install ## Run the whole service (API + worker) on http://127.0.0.1:8000 with embedded defaults
	$(BIN)/commentgate run

test: install ## Run every test against real Redis, PostgreSQL, Celery workers and Chromium
	./scripts/ensure-services.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

model: install ## Rebuild the shipped model (classifier/default_model) from DATA (the public data sets)
	$(BIN)/commentgate train --data $(DATA) --data training_data/seed --no-project-data \
		--out classifier/default_model
	$(BIN)/commentgate models card --shipped > MODEL_CARD.md

lint: install ## ruff check and format check
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench-install: install ## Install the benchmark-only extras (peers with pinned versions)
	$(BIN)/pip install -q -e '.[test,bench]'

.PHONY: help install run test model lint bench-install
