"""The part-file tables a ``scan`` writes: windows, candidates and failures, appended atomically.

``--out scan.parquet`` is a directory of part files, one per batch of inputs,
which pandas and pyarrow read as one table (``pd.read_parquet("scan.parquet")``).
Beside it, ``scan.candidates.parquet`` holds the flagged windows and
``scan.failures.parquet`` one row per input that could not be scored, with its
one-line reason. With ``--format csv`` the same layout holds ``part-*.csv``.

A part is written under a hidden temporary name (which readers skip) and moved
into place with :func:`os.replace` (:func:`~transit_classifier.io.atomic_path`),
so a reader or a rerun never sees half a file. A batch's windows part is
written last: it marks the batch as done, and a candidates or failures part
without it (left by a crash) is removed before a rerun, so that batch is
scored again without duplicate rows.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from transit_classifier.errors import UserError
from transit_classifier.io import atomic_path

FORMATS = ("parquet", "csv")
WINDOW_COLUMNS = {
    "input": "string",
    "input_key": "string",
    "model_hash": "string",
    "start": "float64",
    "end": "float64",
    "probability": "float64",
    "inverted": "float64",  # probability of the window upside down: high too = variability
    "verdict": "string",
    "missing_fraction": "float64",
    "period": "float64",  # the light curve's candidate, on the flagged windows holding one
    "epoch": "float64",  # of its transits (NaN elsewhere): TransitClassifier.score's columns
    "duration": "float64",
    "depth": "float64",
}
FAILURE_COLUMNS = {
    "input": "string",
    "input_key": "string",
    "model_hash": "string",
    "reason": "string",
}
TABLES = ("windows", "candidates", "failures")
TEXT = {n for n, kind in {**WINDOW_COLUMNS, **FAILURE_COLUMNS}.items() if kind == "string"}


def empty_frame(columns: dict[str, str]) -> pd.DataFrame:
    """A frame with no rows but the table's columns and types, so every part has one schema."""
    return pd.DataFrame({name: pd.Series(dtype=kind) for name, kind in columns.items()})


def typed(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """``frame`` with exactly the table's columns, in order, cast to the table's types."""
    return frame[list(columns)].astype(columns).reset_index(drop=True)


@dataclass(frozen=True)
class ScanStore:
    """Where one scan's three tables live, and in which format.

    Parameters
    ----------
    out
        The windows table's directory (``scan.parquet``); the candidates and
        failures tables are its siblings (``scan.candidates.parquet``, ...).
    fmt
        ``parquet`` or ``csv``.
    """

    out: Path
    fmt: str

    def directory(self, table: str) -> Path:
        if table == "windows":
            return self.out
        suffix = f".{self.fmt}"
        stem = self.out.name.removesuffix(suffix)
        return self.out.with_name(f"{stem}.{table}{suffix}")

    def prepare(self, forget_failures: bool = False) -> None:
        """Create the table directories and drop parts of batches a crash left unfinished.

        With ``forget_failures``, every failures part goes too, so those inputs are tried again.

        Raises
        ------
        UserError
            If an output path exists as a file or cannot be created.
        """
        for table in TABLES:
            path = self.directory(table)
            try:
                path.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise UserError(
                    f"{path}: exists and is not a directory; choose another --out"
                ) from None
            except OSError as exc:
                raise UserError(
                    f"{path}: cannot create it ({exc.strerror}); choose another --out"
                ) from None
        done = {part.name for part in self.parts("windows")}
        for table in ("candidates", "failures"):
            for part in self.parts(table):
                if part.name not in done or (forget_failures and table == "failures"):
                    part.unlink()

    def parts(self, table: str) -> Iterator[Path]:
        """The finished part files of ``table`` (temporary names start with a dot)."""
        return self.directory(table).glob(f"part-*.{self.fmt}")

    def done_keys(self) -> set[str]:
        """Input keys already scored or already failed, so a rerun skips them."""
        keys: set[str] = set()
        for table in ("windows", "failures"):
            for part in self.parts(table):
                keys.update(self._read(part, ["input_key"])["input_key"].dropna())
        return keys

    def read(self, table: str) -> pd.DataFrame:
        """One whole table as a DataFrame (for summaries and tests; a sweep's may be large)."""
        columns = FAILURE_COLUMNS if table == "failures" else WINDOW_COLUMNS
        frames = [self._read(part, list(columns)) for part in sorted(self.parts(table))]
        return typed(pd.concat([empty_frame(columns), *frames]), columns)

    def write_batch(self, windows: pd.DataFrame, failures: pd.DataFrame) -> None:
        """Append one batch: its candidates and failures parts, then its windows part."""
        name = f"part-{time.time_ns()}-{uuid.uuid4().hex[:8]}.{self.fmt}"
        windows = typed(windows, WINDOW_COLUMNS)
        self._write(windows[windows["verdict"] == "transit"], "candidates", name)
        self._write(typed(failures, FAILURE_COLUMNS), "failures", name)
        self._write(windows, "windows", name)

    def _write(self, frame: pd.DataFrame, table: str, name: str) -> None:
        with atomic_path(self.directory(table) / name) as temporary:
            if self.fmt == "parquet":
                frame.to_parquet(temporary, index=False, engine="pyarrow")
            else:
                frame.to_csv(temporary, index=False)

    def _read(self, part: Path, columns: list[str]) -> pd.DataFrame:
        if self.fmt == "parquet":
            return pd.read_parquet(part, columns=columns, engine="pyarrow")
        return pd.read_csv(part, usecols=columns, dtype={name: str for name in TEXT & set(columns)})
