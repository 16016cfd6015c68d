# ngss: every target is a thin wrapper over uv, bootstrapped from the machine's Python 3.11.
# `make demo` and `make test` are the two commands of the README quick start.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
SYNCED := .venv/.ngss-synced

export UV_COMPILE_BYTECODE := 1
export UV_LINK_MODE := copy

.PHONY: demo test test-fast lint format sources-check status clean bench

$(UV):
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "ngss needs Python 3.11, found " + sys.version' 
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(SYNCED): $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

## Install, then run the main job on the bundled data through the real Airflow DAGs.
demo: $(SYNCED)
	$(UV) run --frozen --no-sync ngss demo

## Install, then run every test (slow end-to-end tests included).
test: $(SYNCED)
	$(UV) run --frozen --no-sync pytest -n 2 --dist loadgroup

## Tests without the slow end-to-end ones.
test-fast: $(SYNCED)
	$(UV) run --frozen --no-sync pytest -n 2 -m "not slow"

lint: $(SYNCED)
	$(UV) run --frozen --no-sync ruff check transforms expectations warehouse dags tests

format: $(SYNCED)
	$(UV) run --frozen --no-sync ruff format transforms expectations warehouse dags tests

sources-check: $(SYNCED)
	$(UV) run --frozen --no-sync ngss sources check

status: $(SYNCED)
	$(UV) run --frozen --no-sync ngss status

clean:
	rm -rf .ngss .pytest_cache

## Benchmark at central-government scale against DuckDB's own ingest (issue 6; not part of
## `make test`). A tenth: `make bench BENCH_ARGS="--scale 0.1"`. See bench/README.md.
bench: $(SYNCED)
	$(UV) run --frozen --no-sync python bench/run.py $(BENCH_ARGS)
