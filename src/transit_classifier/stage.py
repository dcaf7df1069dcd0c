"""Run a stage script: quiet TensorFlow, reuse freed memory, one-line errors with exit 1."""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from transit_classifier.errors import UserError

DVC_FILE = "dvc.yaml"  # stages run from the repository root, as `dvc repro` runs them


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ log lines and pin its CPU kernels, before it is imported.

    Even with ``TF_ENABLE_ONEDNN_OPTS=0`` TensorFlow's float32 MatMul and Conv1D
    run oneDNN's sgemm, which picks its code by instruction set: an AVX-512
    CPU then sums in another order than an AVX2 one and trains other weights.
    Capping oneDNN at AVX2 gave the same weights on AVX-512 and AVX2 code paths
    (``reports/reproducibility.md``, which also measures the training CPU time
    the cap costs).
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
    up to 2 GiB of it after a free made the default train stage faster on the
    machine of ``bench/RESULTS.md`` (its stage table holds the train stage's
    time; docs/experiments.md, *Memory reuse*); it changes where arrays live,
    never a computed bit. Without glibc's ``mallopt`` (macOS) it does nothing.
    """
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # the C library already loaded
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_FREED_BYTES))


@dataclass(frozen=True)
class Output:
    """One output ``dvc.yaml`` declares: the stage that makes it, and whether DVC caches it."""

    stage: str
    path: Path
    cached: bool

    def restore(self) -> str:
        """How to get this output back. An uncached output (``cache: false``, such as
        ``model/``) is committed to git instead: ``dvc checkout`` cannot restore it."""
        if self.cached:
            return f"run `dvc repro {self.stage}` first"
        return (
            f"restore the committed copy with `git checkout -- {self.path}`, or rebuild it with "
            f"`dvc repro {self.stage}`"
        )


def _output(stage: str, entry: str | dict[str, Any]) -> Output:
    """``- path`` or ``- path: {options}`` of a stage's ``outs``, ``metrics`` or ``plots``."""
    path, options = next(iter(entry.items())) if isinstance(entry, dict) else (entry, None)
    cached = not isinstance(options, dict) or bool(options.get("cache", True))
    return Output(stage, Path(path), cached)


def declared_outputs(dvc_file: str | Path = DVC_FILE) -> list[Output]:
    """Every output (``outs``, ``metrics`` and ``plots``) of every stage of ``dvc_file``."""
    try:
        stages = yaml.safe_load(Path(dvc_file).read_text())["stages"]
        return [
            _output(name, entry)
            for name, spec in stages.items()
            for kind in ("outs", "metrics", "plots")
            for entry in spec.get(kind, [])
        ]
    except (OSError, yaml.YAMLError, TypeError, KeyError, AttributeError, StopIteration):
        return []  # no readable dvc.yaml here (run from elsewhere): no stage to name


def producing_output(path: str | os.PathLike, dvc_file: str | Path = DVC_FILE) -> Output | None:
    """The ``dvc.yaml`` output that holds ``path`` (itself or a folder above it), if any."""
    target = Path(path)
    if target.is_absolute() and target.is_relative_to(Path.cwd()):
        target = target.relative_to(Path.cwd())
    for out in declared_outputs(dvc_file):
        if target == out.path or out.path in target.parents:
            return out
    return None


def producing_stage(path: str | os.PathLike, dvc_file: str | Path = DVC_FILE) -> str | None:
    """The ``dvc.yaml`` stage whose outputs hold ``path``, or None if no stage makes it."""
    out = producing_output(path, dvc_file)
    return out.stage if out else None


def missing_input(exc: FileNotFoundError) -> str:
    """One line for an input file a stage needs but cannot find, naming how to get it back.

    A stage run by hand (``python src/train.py``) before its upstream stage
    would otherwise end in a traceback from deep inside numpy or pandas.
    """
    out = producing_output(exc.filename) if exc.filename else None
    if out is not None:
        return f"{exc.filename}: not found (an output of stage '{out.stage}'); {out.restore()}"
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


def _terminate(signum: int, _frame: object) -> None:
    """SIGTERM (``kill``, a cancelled CI job) ends the stage as Ctrl-C does, so the atomic
    writers' ``finally`` blocks remove their temporary files on the way out."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def interrupted() -> str:
    """What an interrupted stage can truthfully say: it did not finish. Which outputs are
    new is not known here (a stage replaces several, one after another), but ``dvc.lock``
    still records the previous run, so ``dvc repro`` runs the stage again."""
    name = os.environ.get("DVC_STAGE")  # set by DVC for every stage command
    if name:
        return (
            f"interrupted; stage '{name}' did not finish, and dvc.lock still records its "
            "previous run: `dvc repro` runs it again"
        )
    return "interrupted; the stage did not finish: run it again"


def run(main: Callable[[], None]) -> None:
    """Call ``main`` with TensorFlow quiet and freed memory kept for reuse
    (:func:`keep_freed_memory`); on a :class:`UserError` print ``error: <message>`` and exit 1.
    Ctrl-C or SIGTERM print one line (:func:`interrupted`) and exit 130."""
    quiet_tensorflow()
    keep_freed_memory()
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        main()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except FileNotFoundError as exc:
        print(f"error: {missing_input(exc)}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"error: {interrupted()}", file=sys.stderr)
        sys.exit(130)
    finally:
        signal.signal(signal.SIGTERM, previous)  # a test calling run() keeps its own handler
