"""The released model: where it is found, which thresholds it ships, and under which names."""

from __future__ import annotations

import copy
import json
import os
import site
import subprocess
import sys
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
def test_wheel_installed_in_a_venv_predicts_outside_the_repository(tmp_path: Path) -> None:
    """``pip install`` of a built wheel into a fresh venv, run from a folder far from the
    repository: the ``transit-classifier`` command scores a real Kepler FITS and
    ``tc.load_model()`` loads, both with the model shipped as package data.

    The venv reaches this environment's dependencies through a ``.pth`` line (a path, so the
    repository's editable install is not activated): installing TensorFlow afresh would need
    the network.
    """
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "-q", "-w", str(tmp_path / "dist")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("transit_classifier-*.whl")
    bin_dir = _venv_with_wheel(tmp_path / "venv", wheel)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    fits = FIXTURES / "kplr011442793-2010174085026_llc.fits"
    done = subprocess.run(
        [str(bin_dir / "transit-classifier"), "predict", str(fits), "--json"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads(done.stdout)
    assert record["inputs"][0]["n_scored"] > 0 and 0 < record["threshold"] < 1
    loaded = subprocess.run(
        [str(bin_dir / "python"), "-c",
         "import transit_classifier as tc; from transit_classifier.serve import artifact; "
         "print(artifact.DEFAULT_MODEL_DIR); print(tc.load_model().threshold)"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    model_dir, threshold = loaded.stdout.split()
    assert Path(model_dir).is_relative_to(tmp_path / "venv")
    assert (Path(model_dir) / "model.weights.h5").is_file()
    assert float(threshold) == record["threshold"]


def _venv_with_wheel(venv: Path, wheel: Path) -> Path:
    """A venv holding ``wheel`` (installed by pip), with this environment's dependencies."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    bin_dir = venv / "bin"
    probe = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    own = subprocess.run(
        [str(bin_dir / "python"), "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    (Path(own) / "_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install",
         "--no-deps", "--no-index", "-q", str(wheel)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    return bin_dir
