"""What ``scan`` reads: directories, globs, manifest CSVs and ids, streamed as keyed tasks.

Nothing here holds the whole input list: a directory is walked one folder at a
time, a glob is iterated lazily and a manifest is read in chunks. Each input
becomes a :class:`Task` whose key changes with the file's resolved path, size
and modification time (or the id) and with the model, so a rerun can skip what
is already done and rescore a changed file or a new model.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import pandas as pd

from transit_classifier.sources.inputs import CSV_SUFFIXES, FITS_SUFFIXES

ID_PATTERN = re.compile(r"^\s*(kic|tic)?[\s_-]*(\d{1,10})\s*$", re.IGNORECASE)
MANIFEST_COLUMNS = ("path", "kepid", "kic", "tic")  # first one present wins
MANIFEST_CHUNK_ROWS = 10_000  # a manifest is read in chunks, never whole
GLOB_CHARACTERS = frozenset("*?[")


@dataclass(frozen=True)
class Task:
    """One input to score: as the user gave it, what workers open, and its resume key."""

    input: str
    target: str  # an absolute path, or "KIC n" / "TIC n"
    key: str


def normalise_id(text: str, mission: str = "KIC") -> str | None:
    """``"KIC 11442793"`` for ``"kic11442793"`` or ``"11442793"``; ``"TIC n"`` likewise; else None.

    >>> normalise_id("tic_261136679"), normalise_id("42", "TIC"), normalise_id("a.fits")
    ('TIC 261136679', 'TIC 42', None)
    """
    match = ID_PATTERN.match(text)
    if match is None:
        return None
    return f"{(match.group(1) or mission).upper()} {int(match.group(2))}"


def join_id_tokens(items: Iterable[str]) -> list[str]:
    """Rejoin ``KIC 11442793`` or ``TIC 42`` typed without quotes (two shell words).

    A word that exists as a path is a path: a file or folder named ``KIC`` is
    never glued to the number after it (and a folder ``12345`` alone stays a folder).
    """
    joined: list[str] = []
    for item in items:
        mission = joined[-1].strip().upper() if joined else ""
        if mission in ("KIC", "TIC") and item.strip().isdigit() and not os.path.lexists(joined[-1]):
            joined[-1] = f"{mission} {item.strip()}"
        else:
            joined.append(item)
    return joined


def manifest_column(path: Path) -> str | None:
    """The id or path column of a manifest CSV, or None for a light-curve CSV (or no CSV)."""
    if not path.name.lower().endswith(CSV_SUFFIXES):
        return None
    try:
        header = pd.read_csv(path, nrows=0, comment="#").columns
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError):
        return None  # scored as a light curve, so its one-line reason lands in the failures
    columns = {str(c).strip().lower(): str(c) for c in header}
    if "time" in columns:
        return None
    return next((columns[c] for c in MANIFEST_COLUMNS if c in columns), None)


def from_manifest(path: Path, column: str) -> Iterator[str]:
    """The manifest's inputs, chunk by chunk; relative paths are relative to the manifest."""
    kind = column.strip().lower()
    chunks = pd.read_csv(
        path, usecols=[column], comment="#", dtype=str, chunksize=MANIFEST_CHUNK_ROWS
    )
    for chunk in chunks:
        for value in chunk[column].dropna().str.strip():
            if kind == "path":
                yield str(path.parent / value)
            else:
                yield normalise_id(value, "TIC" if kind == "tic" else "KIC") or value


def walk(directory: Path, skip: frozenset[Path]) -> Iterator[str]:
    """Light-curve files under ``directory``, sorted, one folder at a time, outside ``skip``.

    ``skip`` holds the scan's own output folders: their CSV part files must not
    be read back as light curves when a scan's output lies inside its input.
    """
    for root, folders, files in os.walk(directory):
        folders[:] = sorted(f for f in folders if Path(root, f).resolve() not in skip)
        for name in sorted(files):
            if name.lower().endswith(FITS_SUFFIXES + CSV_SUFFIXES):
                yield os.path.join(root, name)


def glob_files(pattern: str) -> Iterator[str]:
    """Files matching ``pattern``, lazily; the pattern itself if none does, to fail by name."""
    found = False
    for match in glob.iglob(pattern, recursive=True):
        if Path(match).is_file():
            found = True
            yield match
    if not found:
        yield pattern


def iter_inputs(sources: Iterable[str], skip: frozenset[Path] = frozenset()) -> Iterator[str]:
    """Every input named by ``sources``, streamed; an unknown one passes on to fail by name."""
    for source in sources:
        path = Path(source)
        if path.is_dir():
            yield from walk(path, skip)
        elif path.is_file():
            column = manifest_column(path)
            yield from [source] if column is None else from_manifest(path, column)
        elif GLOB_CHARACTERS & set(source):
            yield from glob_files(source)
        else:
            yield normalise_id(source) or source


def task_for(text: str, model_hash: str) -> Task:
    """The task for one input; a file's key changes with its size or modification time."""
    path = Path(text)
    try:
        stat = path.stat()
    except OSError:
        target = identity = text  # an id, or a missing file that will fail with its reason
    else:
        target = str(path.resolve())
        identity = f"{target}|{stat.st_size}|{stat.st_mtime_ns}"
    key = hashlib.sha256(f"{identity}|{model_hash}".encode()).hexdigest()[:32]
    return Task(text, target, key)


def pending(
    sources: Sequence[str], done: set[str], model_hash: str, skip: frozenset[Path] = frozenset()
) -> Iterator[Task]:
    """Tasks not yet scored; ``done`` grows as they are yielded, so duplicates run once."""
    for text in iter_inputs(sources, skip):
        task = task_for(text, model_hash)
        if task.key not in done:
            done.add(task.key)
            yield task


def batched(tasks: Iterator[Task], size: int) -> Iterator[list[Task]]:
    """Consecutive batches of at most ``size`` tasks."""
    while batch := list(islice(tasks, size)):
        yield batch
