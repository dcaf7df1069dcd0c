"""Train the tiny pipeline under CPU instruction-set caps and compare the weights bit for bit.

Issue 12, part 1: what makes the trained weights depend on the CPU? One
temporary copy of the repository gets the tiny params of
``tests/test_pipeline.py``; its data stages (synthesize, fetch_kepler, prepare)
run once, then ``src/train.py`` runs in a fresh subprocess per configuration
(and per repeat), each with its own environment:

* ``ONEDNN_MAX_CPU_ISA``       caps the oneDNN kernels TensorFlow may JIT (AVX512_CORE, AVX2, SSE41)
* ``TF_ENABLE_ONEDNN_OPTS``    0 (the stages' default, ``stage.quiet_tensorflow``) or 1
* ``NPY_DISABLE_CPU_FEATURES`` NumPy's runtime SIMD dispatch (X86_V4 = AVX-512, X86_V3 = AVX2)
* ``OPENBLAS_CORETYPE``        the OpenBLAS kernels behind NumPy/SciPy (Haswell = AVX2)
* ``NUMBA_CPU_NAME/FEATURES``  the host target numba compiles wotan's fastmath loops for
* ``ISA_CHECK_JIT``            asks for ``model.jit_compile`` (XLA) after compile; Keras refuses
                               it (stays False) while op determinism is enabled, as in training

For every run it records the sha256 of each file in ``checkpoint/``, the
validation metrics of ``metrics/train.json``, the resolved ``jit_compile`` and
the wall time; the weights files are kept so differences can be measured.

    python studies/isa_check.py                       # all configurations, 2 repeats
    python studies/isa_check.py --configs default avx2 --repeats 1
    python studies/isa_check.py --size medium --configs default  # timing of a larger run

Results go to ``reports/isa_check.json`` (``--out``). Never run it in the shared tree's
DVC workspace: it works in a temporary copy only.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from transit_classifier.io import sha256_file

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

NPY_NO_AVX512 = "X86_V4 AVX512_ICL AVX512_SPR"
NPY_NO_AVX2 = "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"
NUMBA_HASWELL = {"NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": ""}
NUMBA_GENERIC = {"NUMBA_CPU_NAME": "generic"}  # features "" (SSE2 only)
AVX2_MACHINE = {  # everything this script can cap, as on an AVX2-only CPU
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "NPY_DISABLE_CPU_FEATURES": NPY_NO_AVX512,
    "OPENBLAS_CORETYPE": "Haswell",
    **NUMBA_HASWELL,
}

CONFIGS: dict[str, dict[str, str]] = {
    # TensorFlow's oneDNN graph rewrites off: what every stage does by default
    "default": {},
    "avx512_core": {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"},
    "avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    "sse41": {"ONEDNN_MAX_CPU_ISA": "SSE41"},
    # oneDNN graph rewrites on (TensorFlow's own default on x86 outside the stages)
    "onednn1": {"TF_ENABLE_ONEDNN_OPTS": "1"},
    "onednn1_avx512_core": {"TF_ENABLE_ONEDNN_OPTS": "1", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE"},
    "onednn1_avx2": {"TF_ENABLE_ONEDNN_OPTS": "1", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "onednn1_sse41": {"TF_ENABLE_ONEDNN_OPTS": "1", "ONEDNN_MAX_CPU_ISA": "SSE41"},
    # ISA dispatch outside TensorFlow
    "numpy_no_avx512": {"NPY_DISABLE_CPU_FEATURES": NPY_NO_AVX512},
    "numpy_no_avx2": {"NPY_DISABLE_CPU_FEATURES": NPY_NO_AVX2},
    "openblas_haswell": {"OPENBLAS_CORETYPE": "Haswell"},
    "numba_haswell": dict(NUMBA_HASWELL),
    "numba_generic": dict(NUMBA_GENERIC),
    "avx2_machine": dict(AVX2_MACHINE),
    "avx2_machine_onednn1": {**AVX2_MACHINE, "TF_ENABLE_ONEDNN_OPTS": "1"},
    # XLA: "auto" resolves to False on a CPU-only host, and Keras refuses True under
    # enable_op_determinism; kept to show the resolved value (``jit_compile`` in the results)
    "xla": {"ISA_CHECK_JIT": "1"},
    "xla_avx2": {"ISA_CHECK_JIT": "1", "XLA_FLAGS": "--xla_cpu_max_isa=AVX2"},
}

# Extra params on top of tools/tiny_repo.TINY: the default network, a few more windows.
SIZES = {
    "tiny": {},
    "medium": {
        "dataset": {"synthetic_negatives": 600, "real_windows": 200},
        "inject": {"bank_size": 256, "per_epoch": 256},
        "train": {
            "conv_filters": [16, 32, 64],
            "pool_sizes": [4, 4, 2],
            "lstm_units": [32],
            "dense_units": [32],
            "epochs": 3,
            "patience": 3,
            "batch_size": 64,
        },
    },
}

# Runs src/train.py in the copy; reports the resolved jit_compile, optionally forces it.
RUNNER = """
import importlib.util, os, sys
from transit_classifier import stage
from transit_classifier.learn import training

_compile = training.compile_model

def compile_model(model, train_params, steps_per_epoch=None):
    _compile(model, train_params, steps_per_epoch)
    forced = os.environ.get("ISA_CHECK_JIT")
    if forced is not None:
        model.jit_compile = forced == "1"
    print(f"ISA_CHECK jit_compile={model.jit_compile}", file=sys.stderr, flush=True)

training.compile_model = compile_model
spec = importlib.util.spec_from_file_location("train_stage", "src/train.py")
train_stage = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train_stage)
if os.environ.get("ISA_CHECK_VAL_INJECTIONS"):  # fewer validation injections: a faster run
    from transit_classifier import params as params_module

    _load = params_module.load_params

    def load_params(path="params.yaml"):
        loaded = _load(path)
        loaded["train"]["validation_injections"] = int(os.environ["ISA_CHECK_VAL_INJECTIONS"])
        return loaded

    train_stage.load_params = load_params
import shlex, yaml  # the train stage's paths, as dvc.yaml sets them
sys.argv = shlex.split(yaml.safe_load(open("dvc.yaml"))["stages"]["train"]["cmd"])[1:]
stage.run(train_stage.main)
"""


def _pipeline_helpers():
    spec = importlib.util.spec_from_file_location("tiny_repo", ROOT / "tools" / "tiny_repo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_copy(dest: Path, size: str, from_head: bool = True) -> None:
    helpers = _pipeline_helpers()
    import yaml

    if from_head:  # the committed tree: immune to half-done edits in a shared working tree
        archive = subprocess.run(
            ["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        helpers.tiny_repo(dest)
    else:  # the working tree as tools/tiny_repo.py copies it
        helpers.copy_repo(dest)
    params = helpers.merge(yaml.safe_load((dest / "params.yaml").read_text()), SIZES[size])
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (dest / "_isa_runner.py").write_text(RUNNER)


def base_env(workdir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ONEDNN_", "DNNL_", "NPY_", "OPENBLAS_", "NUMBA_CPU", "XLA_"))
        and key not in ("TF_ENABLE_ONEDNN_OPTS", "ISA_CHECK_JIT")
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = str(workdir / "src")  # the copy's package, not the editable install
    return env


def run_data_stages(workdir: Path) -> dict[str, str]:
    result = subprocess.run(
        [str(BIN / "dvc"), "repro", "--quiet", "prepare"],
        cwd=workdir,
        env=base_env(workdir),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode != 0:
        sys.exit(f"data stages failed:\n{result.stderr[-4000:]}")
    import yaml

    lock = yaml.safe_load((workdir / "dvc.lock").read_text())
    return {
        out["path"]: out.get("md5")
        for stage in lock["stages"].values()
        for out in stage.get("outs", [])
    }


def train_once(
    workdir: Path, name: str, env_extra: dict[str, str], keep: Path, val_injections: int
) -> dict:
    shutil.rmtree(workdir / "checkpoint", ignore_errors=True)
    env = {**base_env(workdir), **env_extra}
    if val_injections:
        env["ISA_CHECK_VAL_INJECTIONS"] = str(val_injections)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "_isa_runner.py"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    wall = time.perf_counter() - start
    record: dict = {"config": name, "env": env_extra, "wall_s": round(wall, 1)}
    if result.returncode != 0:
        record["error"] = result.stderr[-3000:]
        return record
    jit = re.search(r"ISA_CHECK jit_compile=(\w+)", result.stderr)
    fit = re.search(r"train: \d+ epochs in (\d+) s", result.stdout)
    record["jit_compile"] = jit.group(1) if jit else None
    record["fit_s"] = int(fit.group(1)) if fit else None
    checkpoint = workdir / "checkpoint"
    record["files"] = {p.name: sha256_file(p) for p in sorted(checkpoint.iterdir()) if p.is_file()}
    info = json.loads((checkpoint / "model.json").read_text())
    weights = checkpoint / info["weights_file"]
    record["weights_sha256"] = sha256_file(weights)
    keep.mkdir(parents=True, exist_ok=True)
    kept = keep / f"{name}.weights.h5"
    shutil.copy2(weights, kept)
    record["weights_copy"] = str(kept)
    summary = json.loads((workdir / "metrics" / "train.json").read_text())
    record["best_epoch"] = summary["best_epoch"]
    record["epochs_run"] = summary["epochs_run"]
    record["val"] = summary["best"]["val"]
    return record


def weight_arrays(path: str) -> list:
    import h5py
    import numpy as np

    arrays: list = []
    with h5py.File(path, "r") as handle:
        handle.visititems(
            lambda key, obj: (
                arrays.append((key, np.asarray(obj))) if isinstance(obj, h5py.Dataset) else None
            )
        )
    return sorted(arrays, key=lambda item: item[0])


def max_weight_diff(a: str, b: str) -> float:
    import numpy as np

    diffs = [
        float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))) if x.size else 0.0
        for (_, x), (_, y) in zip(weight_arrays(a), weight_arrays(b), strict=True)
    ]
    return max(diffs) if diffs else 0.0


def machine() -> dict:
    cpu = ""
    flags: list[str] = []
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name") and not cpu:
            cpu = line.split(":", 1)[1].strip()
        if line.startswith("flags") and not flags:
            flags = line.split(":", 1)[1].split()
    versions = subprocess.run(
        [
            sys.executable,
            "-c",
            "import tensorflow as tf, keras, numpy, numba; "
            "print(tf.__version__, keras.__version__, numpy.__version__, numba.__version__)",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    ).stdout.split()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "isa_flags": [f for f in flags if re.match(r"(sse|avx|amx|fma)", f)],
        "python": platform.python_version(),
        "tensorflow": versions[0] if versions else None,
        "keras": versions[1] if len(versions) > 1 else None,
        "numpy": versions[2] if len(versions) > 2 else None,
        "numba": versions[3] if len(versions) > 3 else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--size", choices=list(SIZES), default="tiny")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "isa_check.json")
    parser.add_argument(
        "--val-injections",
        type=int,
        default=0,
        help="validation injections (0: train.validation_injections; fewer runs faster)",
    )
    parser.add_argument("--keep", help="keep the temporary copy in this directory")
    parser.add_argument(
        "--working-tree", action="store_true", help="copy the working tree, not git HEAD"
    )
    args = parser.parse_args()

    workdir = Path(args.keep or tempfile.mkdtemp(prefix="isa_check_"))
    workdir.mkdir(parents=True, exist_ok=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    report: dict = {
        "machine": machine(),
        "size": args.size,
        "val_injections": args.val_injections or 1000,
        "source": "working tree" if args.working_tree else f"git HEAD {head}",
        "runs": [],
    }
    if not (workdir / "dvc.lock").is_file():
        make_copy(workdir, args.size, from_head=not args.working_tree)
        start = time.perf_counter()
        report["data_hashes"] = run_data_stages(workdir)
        print(f"data stages: {time.perf_counter() - start:.0f} s", flush=True)
    else:
        (workdir / "_isa_runner.py").write_text(RUNNER)
        print(f"reusing {workdir}", flush=True)
    keep = workdir / "_weights"
    for name in args.configs:
        for repeat in range(args.repeats):
            record = train_once(
                workdir, f"{name}.{repeat}", CONFIGS[name], keep, args.val_injections
            )
            record["config"], record["repeat"] = name, repeat
            report["runs"].append(record)
            short = record.get("weights_sha256", "ERROR")[:12]
            print(
                f"{name:24s} #{repeat} weights {short} jit={record.get('jit_compile')} "
                f"val_pr_auc={record.get('val', {}).get('pr_auc')} {record['wall_s']} s",
                flush=True,
            )
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(report, indent=2) + "\n")
    ok = [r for r in report["runs"] if "weights_sha256" in r]
    if ok:
        reference = ok[0]
        for record in ok:
            record["max_abs_weight_diff_vs_first"] = max_weight_diff(
                reference["weights_copy"], record["weights_copy"]
            )
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}; work copy {workdir}")


if __name__ == "__main__":
    main()
