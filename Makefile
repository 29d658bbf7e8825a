# CityGrid Command Centre — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install bench clean grids

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Set everything up and run the product on the embedded default (http://127.0.0.1:8050).
demo: $(STAMP)
	$(BIN)/citygrid demo

## Set up and run the whole test suite (real Redis, SQLite, PostgreSQL, headless Chromium).
test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -ra $(PYTEST_ARGS)

## Benchmarks recorded in the README (run on a quiet machine; they take a few minutes).
bench: $(STAMP)
	$(BIN)/python bench/worker.py
	$(BIN)/python bench/backfill.py --days 90
	$(BIN)/python bench/commands.py
	$(BIN)/python bench/wall.py
	$(BIN)/python bench/briefing.py
	$(BIN)/python bench/briefing_stats.py

## Regenerate communities and unit grids from the road network (output is committed).
grids: $(STAMP)
	$(BIN)/citygrid grids

clean:
	rm -rf var test-artifacts
