# flrisk: `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
FLRISK := $(VENV)/bin/flrisk
DATA ?= data
LINES ?= 200000
SEED ?= 7
HOST ?= 127.0.0.1
PORT ?= 8000
MLFLOW_PORT ?= 5000
# Bumped whenever the venv's recipe below changes, so that a venv made by an older recipe
# is made again by the next `make` (2: bytecode compiled at install).
VENV_RECIPE := 2
STAMP := $(VENV)/.installed-$(VENV_RECIPE)
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true
export FLRISK_DATA_DIR ?= $(DATA)

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@# A venv whose creation was interrupted has python but no pip: rebuild it.
	@$(PY) -m pip --version >/dev/null 2>&1 || $(PYTHON) -m venv --clear $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check uv==0.13.8
	@# Bytecode compiled once here: where PYTHONDONTWRITEBYTECODE is set (as on the CI
	@# machines), every start of flrisk, and of each scoring worker, would otherwise compile
	@# its imports again (docs/performance.md, "Imports").
	$(UV) pip sync --python $(PY) -q --compile-bytecode requirements.lock
	$(UV) pip install --python $(PY) -q --no-deps -e .
	$(PY) -m compileall -q -j 0 models pipelines serving
	@touch $(STAMP)

.PHONY: venv
venv: $(STAMP) ## Create .venv from the lock file (idempotent)

.PHONY: lock
lock: ## Re-resolve requirements.lock from pyproject.toml
	@test -x $(UV) || $(MAKE) venv
	$(UV) pip compile pyproject.toml --extra dev --extra spark --python-version 3.11 --universal -q -o requirements.lock

.PHONY: data
data: $(STAMP) ## Simulate LINES entry lines into $(DATA)/sim (train.csv, score.csv, truth.csv, tips.csv)
	@test -f $(DATA)/sim/train.csv || $(FLRISK) simulate --lines $(LINES) --seed $(SEED) --out $(DATA)/sim

.PHONY: train
train: data ## Train on the simulated data, register the version, promote it to @champion if it passes
	@# A world simulated before tips.csv existed trains without tip features.
	$(FLRISK) train --data $(DATA)/sim/train.csv --truth $(DATA)/sim/truth.csv $(if $(wildcard $(DATA)/sim/tips.csv),--tips $(DATA)/sim/tips.csv) --promote champion
	@touch $(DATA)/.trained

$(DATA)/.trained:
	@$(MAKE) --no-print-directory train

.PHONY: run
run: data $(DATA)/.trained ## Simulate, train and register (first time), then serve API + workbench on :8000 (PORT=)
	@$(FLRISK) serve --host $(HOST) --port $(PORT) --demo-data $(DATA)/sim/score.csv

.PHONY: serve
serve: $(STAMP) ## Serve the current @champion on http://127.0.0.1:8000 (PORT=)
	@$(FLRISK) serve --host $(HOST) --port $(PORT)

.PHONY: mlflow-ui
mlflow-ui: $(STAMP) ## Open the MLflow UI on the project's runs and models: http://127.0.0.1:5000 (MLFLOW_PORT=)
	@uri="$$($(PY) -c 'from models.settings import get_settings; print(get_settings().tracking_uri())')"; \
	echo "MLflow UI on $$uri: open http://127.0.0.1:$(MLFLOW_PORT) (Ctrl+C stops it)"; \
	$(VENV)/bin/mlflow ui --backend-store-uri "$$uri" --host 127.0.0.1 --port $(MLFLOW_PORT) --workers 1

.PHONY: lint
lint: $(STAMP) ## ruff check, ruff format --check, mypy, lint-imports (the layers)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

.PHONY: fmt
fmt: $(STAMP) ## Format and auto-fix with ruff
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

.PHONY: browser
browser: ## Install Debian chromium for the browser tests (needs root)
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null)

.PHONY: test
test: $(STAMP) ## Lint and run every test (unit, data, model, API, notebooks, browser, spark)
	$(MAKE) lint
	$(PY) -m pytest -q -p no:cacheprovider

.PHONY: test-fast
test-fast: $(STAMP) ## Run the tests not marked slow, spark or browser
	$(PY) -m pytest -q -m "not slow and not spark and not browser"

MUTATE_CHILDREN ?= 2

.PHONY: mutate
mutate: $(STAMP) ## Mutation testing of the deciding modules (mutmut; hours on 2 shared cores); then the table
	rm -rf mutants
	nice -n 19 $(VENV)/bin/mutmut run --max-children $(MUTATE_CHILDREN)
	@$(MAKE) --no-print-directory mutate-report

.PHONY: mutate-report
mutate-report: $(STAMP) ## Per-module killed/survived table of the last `make mutate` (docs/testing.md)
	@$(PY) tests/mutation_report.py

.PHONY: bench
bench: $(STAMP) ## Run every benchmark in bench/ and print one table (writes bench/results/*.json)
	$(PY) bench/run_all.py

.PHONY: bench-quick
bench-quick: $(STAMP) ## Benchmarks at smaller sizes (a few minutes)
	$(PY) bench/run_all.py --quick

.PHONY: clean
clean: ## Remove generated data, MLflow store and caches (keeps .venv)
	rm -rf $(DATA) mlruns mutants .pytest_cache .mypy_cache .ruff_cache
