"""The released model: where it is found, which thresholds it ships, and under which names."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support import FIXTURES, ROOT

from transit_classifier.errors import UserError
from transit_classifier.judge.evaluate_run import method_names, operating_points
from transit_classifier.params import load_params, validate
from transit_classifier.serve import artifact

REPORTS = {
    "network": {
        "threshold": 0.42,  # the headline threshold: whatever evaluate.threshold chose
        "detection": {
            "fpr_1pct": {"threshold": {"value": 0.42}},
            "fpr_0p1pct": {"threshold": {"value": 0.9}},
        },
    }
}


def test_a_target_fpr_threshold_is_not_stored_as_max_f1() -> None:
    assert operating_points(REPORTS, "target_fpr") == {"fpr_1pct": 0.42, "fpr_0p1pct": 0.9}
    assert operating_points(REPORTS, "max_f1")["max_f1"] == 0.42


def test_release_point_follows_params_and_must_exist() -> None:
    params = load_params(ROOT / "params.yaml")
    assert params["evaluate"]["release_point"] == "fpr_1pct"
    bad = copy.deepcopy(params)
    bad["evaluate"]["threshold"] = "target_fpr"
    bad["evaluate"]["release_point"] = "max_f1"  # no max_f1 point is made under target_fpr
    with pytest.raises(UserError, match="release_point = 'max_f1'.*fpr_0p1pct"):
        validate(bad)
    strict = copy.deepcopy(params)
    strict["evaluate"]["release_point"] = "fpr_0p1pct"
    assert validate(strict) is strict


def test_baseline_legend_names_the_search_that_ran() -> None:
    assert method_names({"evaluate": {"baseline": {"method": "bls"}}})["baseline"] == "wotan+BLS"
    assert method_names({"evaluate": {"baseline": {"method": "tls"}}})["combined"] == (
        "network or TLS"
    )


def test_clone_finds_the_committed_model() -> None:
    assert artifact.DEFAULT_MODEL_DIR == ROOT / "model"
    assert (artifact.DEFAULT_MODEL_DIR / "thresholds.json").is_file()


@pytest.mark.slow
def test_wheel_ships_the_model_and_predicts_outside_the_repository(tmp_path: Path) -> None:
    """A built wheel carries ``model/`` as package data; imported from an unpacked wheel in a
    folder far from the repository, predict scores a real Kepler FITS with it."""
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "-q", "-w", str(tmp_path / "dist")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("transit_classifier-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    assert (site / "transit_classifier" / "release" / "model.weights.h5").is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "TF_CPP_MIN_LOG_LEVEL": "3"}
    fits = FIXTURES / "kplr011442793-2010174085026_llc.fits"
    done = subprocess.run(
        [sys.executable, "-c",
         "import transit_classifier.serve.artifact as a, sys; print(a.DEFAULT_MODEL_DIR); "
         "from transit_classifier.serve.cli import main; sys.exit(main(sys.argv[1:]))",
         "predict", str(fits), "--json"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    first, rest = done.stdout.split("\n", 1)
    assert Path(first) == site / "transit_classifier" / "release"
    record = json.loads(rest)
    assert record["inputs"][0]["n_scored"] > 0 and 0 < record["threshold"] < 1
