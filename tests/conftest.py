"""Fixtures shared by the test files (plain helpers are in ``support.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import INFO, save_tiny_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny untrained three-channel classifier saved the way the train stage saves models."""
    return save_tiny_model(tmp_path_factory.mktemp("model") / "checkpoint", INFO)
