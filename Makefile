# Two commands on a fresh machine with Python 3.11 and git:
#   make repro   set up .venv and run the whole pipeline (dvc repro)
#   make test    set up .venv and run the test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export TF_CPP_MIN_LOG_LEVEL := 3
export PATH := $(abspath $(BIN)):$(PATH)  # dvc stage commands call `python`: the venv's

.PHONY: setup repro test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
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

clean:
	rm -rf $(VENV)
