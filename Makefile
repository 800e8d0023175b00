# Quick start: `make demo` sets everything up and runs the bus against the mock agencies; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint schemas clean

# Two distributions: the bus (with the extras the tests and the demo use) and the mock agencies it runs against.
$(STAMP): pyproject.toml mock_agencies/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,testing,api,airflow]' -e ./mock_agencies
	touch $(STAMP)

install: $(STAMP)

demo: install
	MPP_ENVIRONMENT=development $(BIN)/mpp-bus demo

test: install browser
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check mpp_bus adapters mock_agencies dags tests
	$(BIN)/mypy

schemas: install
	$(BIN)/mpp-bus schemas write

clean:
	rm -rf $(VENV) var .pytest_cache

# Optional fragments (Airflow, benchmarks) add their own targets.
-include deploy/*.mk
