# safetygap: `make demo` and `make test` work on a fresh machine with python3 (>= 3.11).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo
# two worker processes (pytest-xdist): about 10 minutes on 2 cores instead of 17;
# PYTEST_ARGS= runs the suite in one process
PYTEST_ARGS ?= -n 2

.PHONY: demo test lint venv clean bench

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/safetygap demo --out $(DEMO_DIR)

test: $(STAMP)
	$(PY) -m ruff check safetygap tests bench
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check safetygap tests bench
	$(PY) -m ruff format --check safetygap tests bench || true

bench: $(STAMP)
	$(PY) bench/demo.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .ruff_cache
