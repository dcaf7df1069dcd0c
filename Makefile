# Two commands on a fresh machine with Python 3.11 or 3.12 and git:
#   make repro   set up .venv and run the whole pipeline (dvc repro)
#   make test    set up .venv and run the test suite
# (`make setup` only installs: .venv, with the exact versions of requirements.lock;
#  `make lock` rewrites that file after a change to pyproject.toml's dependencies)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export TF_CPP_MIN_LOG_LEVEL := 3
export PATH := $(abspath $(BIN)):$(PATH)  # dvc stage commands call `python`: the venv's

LOCK := requirements.lock
# uv resolves the lock for Python 3.11 and 3.12 at once (pip-compile resolves for the running
# Python only). 3.11.5 is the floor of that resolution: the locked soupsieve needs it.
UV := uv==0.13.10
LOCK_PYTHON := 3.11.5

.PHONY: setup lock upgrade-lock repro test lint bench clean

setup: $(VENV)/.installed

# The ranges come from pyproject.toml, the exact versions from the lock, used as pip
# constraints: a package the lock pins for another platform or Python is not installed.
$(VENV)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[dev]'
	$(BIN)/python -c "import transit_classifier, tensorflow, batman, lightkurve, dvc"
	touch $@

repro: setup
	$(BIN)/dvc repro

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check src tests bench tools studies

bench: setup
	$(BIN)/python bench/run_all.py

# Rewrite the lock after a change to pyproject.toml, keeping every pin that still fits;
# `make upgrade-lock` moves every pin to the newest release inside the ranges.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet '$(UV)'
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version $(LOCK_PYTHON) \
		--custom-compile-command 'make lock' --quiet -o $(LOCK) $(UPGRADE)

upgrade-lock:
	$(MAKE) lock UPGRADE=--upgrade

clean:
	rm -rf $(VENV)
