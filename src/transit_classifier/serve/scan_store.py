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
SEARCH_COLUMNS = {  # one row per candidate of the whole-light-curve search (predict --json's)
    "input": "string",
    "input_key": "string",
    "model_hash": "string",
    "rank": "int64",
    "period": "float64",  # NaN for a single event
    "period_err": "float64",
    "epoch": "float64",
    "epoch_err": "float64",
    "duration_hours": "float64",
    "depth_ppm": "float64",
    "depth_err_ppm": "float64",
    "mes": "float64",
    "fap": "float64",
    "n_transits": "int64",
    "odd_even_sigma": "float64",
    "secondary_depth_ppm": "float64",
    "transit_times": "string",  # space-separated days
    "verdict": "string",
}
SUMMARY_COLUMNS = {  # one row per scored input
    "input": "string",
    "input_key": "string",
    "model_hash": "string",
    "n_windows": "int64",
    "n_flagged_windows": "int64",
    "max_probability": "float64",
    "n_candidates": "int64",  # search candidates within the FAP operating point
    "best_period": "float64",
    "best_epoch": "float64",
    "best_depth_ppm": "float64",
    "best_fap": "float64",
}
COLUMNS = {
    "windows": WINDOW_COLUMNS,
    "candidates": WINDOW_COLUMNS,  # the flagged windows
    "failures": FAILURE_COLUMNS,
    "search": SEARCH_COLUMNS,
    "summary": SUMMARY_COLUMNS,
}
TABLES = tuple(COLUMNS)
TEXT = {n for columns in COLUMNS.values() for n, kind in columns.items() if kind == "string"}


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
        for table in ("candidates", "failures", "search", "summary"):
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
        columns = COLUMNS[table]
        frames = [self._read(part, list(columns)) for part in sorted(self.parts(table))]
        return typed(pd.concat([empty_frame(columns), *frames]), columns)

    def write_batch(
        self,
        windows: pd.DataFrame,
        failures: pd.DataFrame,
        searched: pd.DataFrame | None = None,
    ) -> None:
        """Append one batch: its candidates, failures, search and summary parts, then its
        windows part (written last: a batch is done when its windows part exists)."""
        name = f"part-{time.time_ns()}-{uuid.uuid4().hex[:8]}.{self.fmt}"
        windows = typed(windows, WINDOW_COLUMNS)
        searched = typed(
            searched if searched is not None else empty_frame(SEARCH_COLUMNS), SEARCH_COLUMNS
        )
        self._write(windows[windows["verdict"] == "transit"], "candidates", name)
        self._write(typed(failures, FAILURE_COLUMNS), "failures", name)
        self._write(searched, "search", name)
        self._write(summary(windows, searched), "summary", name)
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


def summary(windows: pd.DataFrame, searched: pd.DataFrame) -> pd.DataFrame:
    """One row per scored input: its windows in brief and its best search candidate."""
    keys = ["input", "input_key", "model_hash"]
    rows = windows.groupby(keys, sort=False).agg(
        n_windows=("verdict", "size"),
        n_flagged_windows=("verdict", lambda v: int((v == "transit").sum())),
        max_probability=("probability", "max"),
    )
    chosen = searched[searched["verdict"] == "candidate"]
    counts = chosen.groupby(keys, sort=False).size().rename("n_candidates")
    best = searched.sort_values("fap", kind="stable").groupby(keys, sort=False).first()
    best = best[["period", "epoch", "depth_ppm", "fap"]].add_prefix("best_")
    frame = rows.join(counts).join(best).reset_index()
    frame["n_candidates"] = frame["n_candidates"].fillna(0)
    return typed(frame, SUMMARY_COLUMNS)
