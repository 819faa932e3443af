# One-line entry points: `make demo` sets up and shows a real result; `make test` lints, type-checks and runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_HOME ?= $(CURDIR)/.triage-demo

.PHONY: setup demo test bench clean

setup: $(STAMP)

# CPU torch first (the ray extra lets CI run the Ray engine's tests): a looser pin lets pip fetch a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test,export,ray]'
	touch $(STAMP)

demo: setup
	TRIAGE_HOME=$(DEMO_HOME) $(VENV)/bin/triage score triage/data/examples/*.md
	TRIAGE_HOME=$(DEMO_HOME) $(VENV)/bin/triage similar --file triage/data/examples/interpretability_sae_draft.md -k 5

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -n 2 --dist loadgroup

clean:
	rm -rf $(VENV) $(DEMO_HOME) .pytest_cache .mypy_cache .ruff_cache
