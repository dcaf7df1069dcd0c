"""Run a stage script: quiet TensorFlow, reuse freed memory, one-line errors with exit 1."""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from transit_classifier.errors import UserError

DVC_FILE = "dvc.yaml"  # stages run from the repository root, as `dvc repro` runs them


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ log lines and pin its CPU kernels, before it is imported.

    Even with ``TF_ENABLE_ONEDNN_OPTS=0`` TensorFlow's float32 MatMul and Conv1D
    run oneDNN's sgemm, which picks its code by instruction set: an AVX-512
    CPU then sums in another order than an AVX2 one and trains other weights.
    Capping oneDNN at AVX2 gave the same weights on AVX-512 and AVX2 code paths
    (``reports/reproducibility.md``), for about 10% more training CPU time.
    A value already set in the environment wins, and is recorded in
    ``metrics/train.json``.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")


# glibc's mallopt options (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
KEEP_FREED_BYTES = 2**31 - 1  # mallopt takes a C int: up to 2 GiB of freed memory kept


def keep_freed_memory() -> bool:
    """Make glibc reuse freed memory instead of returning it to the kernel; True if applied.

    Every training epoch builds a few hundred MB of fresh arrays (injections,
    their detrending, gap masks, the shuffle). By default glibc serves each
    block above 32 MB with a new ``mmap`` and unmaps it when freed, so every
    epoch touches that much brand-new memory, and in a virtual machine each
    first touch of a page is a costly fault: here the kernel's time was as
    large as the training's own. Serving everything from the heap and keeping
    up to 2 GiB of it after a free cut the default train stage from 649 s to
    458 s on the 2-core VM of ``bench/RESULTS.md``; it changes where arrays
    live, never a computed bit. Without glibc's ``mallopt`` (macOS) it does nothing.
    """
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # the C library already loaded
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_FREED_BYTES))


def producing_stage(path: str | os.PathLike, dvc_file: str | Path = DVC_FILE) -> str | None:
    """The ``dvc.yaml`` stage whose outputs hold ``path``, or None if no stage makes it."""
    try:
        stages = yaml.safe_load(Path(dvc_file).read_text())["stages"]
    except (OSError, yaml.YAMLError, TypeError, KeyError):
        return None
    target = Path(path)
    if target.is_absolute() and target.is_relative_to(Path.cwd()):
        target = target.relative_to(Path.cwd())
    for name, spec in stages.items():
        for out in spec.get("outs", []) if isinstance(spec, dict) else []:
            out = Path(next(iter(out)) if isinstance(out, dict) else out)
            if target == out or out in target.parents:
                return name
    return None


def missing_input(exc: FileNotFoundError) -> str:
    """One line for an input file a stage needs but cannot find, naming the stage to rerun.

    A stage run by hand (``python src/train.py``) before its upstream stage
    would otherwise end in a traceback from deep inside numpy or pandas.
    """
    stage = producing_stage(exc.filename) if exc.filename else None
    if stage is not None:
        return (
            f"{exc.filename}: not found (an output of stage '{stage}'); run `dvc repro {stage}` "
            "first"
        )
    return f"{exc.filename}: not found; check the path, or run `dvc repro` to rebuild the outputs"


def paths(description: str, *names: str) -> argparse.Namespace:
    """The stage's input and output paths, each a required ``--name`` option.

    ``dvc.yaml`` sets every path once, on the stage's command line, as DVC's
    example-get-started does; the scripts hold none. Dashes in an option become
    underscores in the namespace (``--metrics-dir`` -> ``metrics_dir``).

    Examples
    --------
    >>> import sys
    >>> sys.argv = ["train.py", "--prepared", "data/prepared", "--out", "checkpoint"]
    >>> paths("train", "prepared", "out").out
    PosixPath('checkpoint')
    """
    parser = argparse.ArgumentParser(description=description)
    for name in names:
        parser.add_argument(f"--{name.replace('_', '-')}", type=Path, required=True)
    return parser.parse_args()


def run(main: Callable[[], None]) -> None:
    """Call ``main`` with TensorFlow quiet and freed memory kept for reuse
    (:func:`keep_freed_memory`); on a :class:`UserError` print ``error: <message>`` and exit 1."""
    quiet_tensorflow()
    keep_freed_memory()
    try:
        main()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except FileNotFoundError as exc:
        print(f"error: {missing_input(exc)}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("error: interrupted; no outputs were replaced", file=sys.stderr)
        sys.exit(130)
