# One entry point for set-up and checks. `make demo` and `make check` are the README's two commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo check format lint types test bench

$(BIN)/ariane: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The checks add the spark extra, so that the Spark engine's tests run (pip's wheel cache
# keeps the PySpark wheel it builds from its sdist, ~6 min the first time only).
$(VENV)/.spark: $(BIN)/ariane
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $@

install: $(BIN)/ariane

demo: install
	$(BIN)/ariane demo

format: install
	$(BIN)/ruff format src tests benchmarks scripts
	$(BIN)/ruff check --fix src tests benchmarks scripts

lint: install
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/ruff check src tests benchmarks scripts

types: install
	$(BIN)/mypy src/ariane

test: install $(VENV)/.spark
	$(BIN)/pytest

check: lint types test

bench: install
	$(BIN)/python benchmarks/run_all.py
