"""Trained weights must not depend on the CPU's instruction set (issue 12); across CPU models,
the metrics of a retrain stay within the tolerance the docs state (issue 33).

Across CPU models (an Intel Xeon against an AMD EPYC, one EPYC generation against another) the
weights differ even under the ISA pin (reports/reproducibility.md), so there the check is on the
metrics: the tolerance of docs/reliability.md, derived by ``tools/update_readme.py`` from the
seed sweep (``reports/seeds.json``), must cover every retrain measured on two CPUs
(``tests/fixtures/cross_cpu.json``). On one machine the check is exact, as follows.

With ``TF_ENABLE_ONEDNN_OPTS=0`` TensorFlow still runs every MatMul and Conv1D
through oneDNN's ``gemm_api`` (Eigen's contraction kernel), whose JIT picks
AVX-512, AVX2 or SSE4.1 code from the host CPU: the last bits of the weights
then differ between an AVX-512 Xeon and an AVX2-only EPYC
(reports/reproducibility.md). The stages pin the oneDNN ISA before TensorFlow
starts, so a run on this machine must give the same weights as one with every
ISA dispatch capped to an AVX2 machine's (oneDNN, NumPy, OpenBLAS, numba).

Each case trains the tiny network for two epochs on fixed random data in a
fresh subprocess, set up exactly as a stage sets itself up
(``stage.quiet_tensorflow``, then ``training.configure_determinism``).
"""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT, load_script

TRAIN = r"""
import hashlib, sys, tempfile
from pathlib import Path
from transit_classifier import stage
stage.quiet_tensorflow()            # the stages' environment, set before TensorFlow starts
import numpy as np
from transit_classifier.learn import model as classifier, training
from transit_classifier.learn.train_settings import TrainSettings
from transit_classifier.params import load_params

train = load_params()["train"]
train.update(conv_filters=[8, 8], pool_sizes=[8, 4], lstm_units=[8], dense_units=[8],
             epochs=2, batch_size=32, patience=2)
train = TrainSettings.from_params({"train": train})
training.configure_determinism(1234, train.threads)
rng = np.random.default_rng(0)
X = rng.normal(size=(256, 1000, 2)).astype(np.float32)
y = (rng.random(256) < 0.3).astype(np.float32)
X[y == 1, 480:520, :] -= 3.0        # a dip the network can learn
net = classifier.build_model(1000, train, 2)
training.fit(net, (X[:192], y[:192]), (X[192:], y[192:]), train)
path = Path(tempfile.mkdtemp()) / "w.weights.h5"
net.save_weights(path)
print("WEIGHTS", hashlib.sha256(path.read_bytes()).hexdigest())
"""

ISA_ENV = ("ONEDNN_", "DNNL_", "NPY_", "OPENBLAS_", "NUMBA_CPU", "XLA_", "TF_ENABLE_ONEDNN")

AVX2_MACHINE = {
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
    "OPENBLAS_CORETYPE": "Haswell",
    "NUMBA_CPU_NAME": "haswell",
    "NUMBA_CPU_FEATURES": "",
}


def _weights_hash(extra: dict) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(ISA_ENV)}
    env.update(extra, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT / "src"))
    result = subprocess.run(
        [sys.executable, "-c", TRAIN],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("WEIGHTS "))
    return line.split()[1]


def _host_has_avx512() -> bool:
    try:
        return "avx512f" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


@pytest.mark.slow
def test_weights_do_not_depend_on_the_cpu_isa():
    if not _host_has_avx512():  # an AVX2 host has no other ISA to compare against
        pytest.skip("this host has no AVX-512: the AVX-512 vs AVX2 comparison cannot be made")
    host = _weights_hash({})
    assert host == _weights_hash({}), "same configuration, different weights"
    assert host == _weights_hash(AVX2_MACHINE), (
        "weights differ from an AVX2 machine's: pin ONEDNN_MAX_CPU_ISA before TensorFlow starts"
    )


def test_the_stated_cross_cpu_tolerance_covers_every_measured_retrain():
    update = load_script("tools", "update_readme")
    tolerance = update.cross_cpu_tolerance()
    moves = update.cross_cpu_moves()
    assert len(moves) >= 2 and "test ROC-AUC" in tolerance
    for run, measured in moves:
        assert set(measured) <= set(tolerance), f"{run}: a metric the seed sweep does not hold"
        outside = _beyond(tolerance, measured)
        assert not outside, f"{run} moved beyond the stated tolerance (move, tolerance): {outside}"


def _beyond(tolerance: dict[str, float], measured: dict[str, float]) -> dict[str, tuple]:
    """The metrics a retrain moved by more than the tolerance: ``(move, tolerance)``."""
    return {k: (v, tolerance[k]) for k, v in measured.items() if v > tolerance[k]}


def test_the_tolerance_is_the_95_percent_band_of_a_two_run_difference():
    """1.96 sqrt(2) sigma over the seeds; no spread over the seeds means no tolerance at all."""
    update = load_script("tools", "update_readme")
    seeds = {f"seed {i}": {"auc": auc, "koi": 1.0} for i, auc in enumerate((0.90, 0.92, 0.94))}
    tolerance = update.cross_cpu_tolerance(seeds)
    assert tolerance["auc"] == pytest.approx(1.96 * math.sqrt(2) * 0.02)
    assert tolerance["koi"] == 0.0
    assert _beyond(tolerance, {"auc": 0.05, "koi": 0.0}) == {}
    assert _beyond(tolerance, {"auc": 0.06, "koi": 0.003}) == {
        "auc": (0.06, tolerance["auc"]),
        "koi": (0.003, 0.0),
    }
