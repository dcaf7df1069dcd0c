"""The part-file tables a ``scan`` writes: windows, candidates and failures, appended atomically.

``--out scan.parquet`` is a directory of part files, one per batch of inputs,
which pandas and pyarrow read as one table (``pd.read_parquet("scan.parquet")``).
Beside it, ``scan.candidates.parquet`` holds the flagged windows and
``scan.failures.parquet`` one row per input that could not be scored, with its
one-line reason, and ``scan.warnings.parquet`` one row per repair made to an input
that was scored (fill values masked, ...), so none is made silently. With
``--format csv`` the same layout holds ``part-*.csv``.

A part is written under a hidden temporary name (which readers skip) and moved
into place with :func:`os.replace` (:func:`~transit_classifier.io.atomic_path`),
so a reader or a rerun never sees half a file. A batch's windows part is
written last: it marks the batch as done, and a candidates or failures part
without it (left by a crash) is removed before a rerun, so that batch is
scored again without duplicate rows; so are the hidden temporary files a crash
left. One scan at a time writes to a table (a lock file), so that clean-up never
touches another run's files. An input rescanned after it changed replaces its
old rows: the rows of an older key of the same input and model are dropped.

CSV parts are written for spreadsheets too: a text cell starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return is prefixed with ``'`` (OWASP's
advice against formula injection), so an input named ``=HYPERLINK(...).csv``
stays text. Numeric columns are written as numbers, negative ones included.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from transit_classifier.errors import UserError
from transit_classifier.io import atomic_path

try:
    import fcntl
except ImportError:  # Windows: no locks, and the documented rule of one scan per --out
    fcntl = None

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
WARNING_COLUMNS = {  # one row per repair made to a scored input (fill values masked, ...)
    "input": "string",
    "input_key": "string",
    "model_hash": "string",
    "warning": "string",
}
COLUMNS = {
    "windows": WINDOW_COLUMNS,
    "candidates": WINDOW_COLUMNS,  # the flagged windows
    "failures": FAILURE_COLUMNS,
    "search": SEARCH_COLUMNS,
    "summary": SUMMARY_COLUMNS,
    "warnings": WARNING_COLUMNS,
}
TABLES = tuple(COLUMNS)
TEXT = {n for columns in COLUMNS.values() for n, kind in columns.items() if kind == "string"}
KEYS = ["input", "input_key", "model_hash"]
LOCK_FILE = ".scan.lock"  # hidden: pyarrow and pandas skip names starting with a dot
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Digits, signs, points, exponents and spaces only (a list of times like "-1.5 2.25"): no
# spreadsheet can run anything from such a cell, so it is left as the number it is.
NUMBERS_ONLY = re.compile(
    r"^[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?(?:\s+[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)*$"
)


def escape_formula(cell: object) -> object:
    """``cell`` made safe for a spreadsheet: ``'`` before a text that would start a formula.

    >>> escape_formula("=HYPERLINK(1)"), escape_formula("-1.5 2.25"), escape_formula("@a")
    ("'=HYPERLINK(1)", '-1.5 2.25', "'@a")
    """
    if isinstance(cell, str) and cell.startswith(FORMULA_START) and not NUMBERS_ONLY.match(cell):
        return "'" + cell
    return cell


def empty_frame(columns: dict[str, str]) -> pd.DataFrame:
    """A frame with no rows but the table's columns and types, so every part has one schema."""
    return pd.DataFrame({name: pd.Series(dtype=kind) for name, kind in columns.items()})


class Batch(NamedTuple):
    """What a worker returns for one batch of inputs (see :func:`score_batch`)."""

    windows: pd.DataFrame
    failures: pd.DataFrame
    searched: pd.DataFrame
    notes: pd.DataFrame
    scored: pd.DataFrame  # input, input_key, model_hash of every input scored


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

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the tables for this run alone: a second scan into the same ``--out`` would
        have its unfinished parts taken for a crash's and removed.

        Raises
        ------
        UserError
            If another scan holds them.
        """
        self.out.mkdir(parents=True, exist_ok=True)
        with open(self.out / LOCK_FILE, "w") as handle:
            try:
                if fcntl is not None:  # no fcntl (Windows): one scan at a time, as documented
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UserError(
                    f"{self.out}: another scan is writing these tables; wait for it to finish, "
                    "or choose another --out"
                ) from None
            except OSError:
                pass  # a file system without locks (some network mounts): as without fcntl
            yield

    def prepare(self, forget_failures: bool = False) -> None:
        """Create the table directories and drop what a crash left: half-written temporary
        files, parts of unfinished batches, and rows a rescan has superseded.

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
            for temporary in path.glob(f".part-*.{self.fmt}.*.tmp"):  # atomic_path's names
                temporary.unlink(missing_ok=True)
        done = {part.name for part in self.parts("windows")}
        for table in TABLES[1:]:
            for part in self.parts(table):
                if part.name not in done or (forget_failures and table == "failures"):
                    part.unlink()
        self.drop_superseded()

    def parts(self, table: str) -> Iterator[Path]:
        """The finished part files of ``table`` (temporary names start with a dot)."""
        return self.directory(table).glob(f"part-*.{self.fmt}")

    def index(self) -> pd.DataFrame:
        """Which input, key and model every summary and failures part holds (column ``part``).

        The summary, not the windows: a light curve shorter than one window is scored (by the
        search) with no window row, but every scored input has its one summary row."""
        frames = [empty_frame(FAILURE_COLUMNS)[KEYS].assign(part=pd.Series(dtype="string"))]
        for table in ("summary", "failures"):
            for part in self.parts(table):
                rows = self._read(part, KEYS).drop_duplicates()
                frames.append(rows.assign(part=part.name))
        return pd.concat(frames, ignore_index=True)

    def done_keys(self) -> set[str]:
        """Input keys already scored or already failed, so a rerun skips them."""
        return set(self.index()["input_key"].dropna())

    def drop_superseded(self) -> None:
        """Keep only the newest key of each input and model: a file that changed and was
        scored again replaces its old rows (windows, candidates, failures, search, summary)."""
        index = self.index()
        index["written"] = index["part"].str.split("-").str[1].astype("int64")
        newest = index.sort_values("written").groupby(["input", "model_hash"])["input_key"].last()
        latest = index.join(newest.rename("latest"), on=["input", "model_hash"])
        stale = latest[latest["input_key"] != latest["latest"]]
        for name, rows in stale.groupby("part"):
            keys = set(rows["input_key"])
            for table in (*TABLES[1:], "windows"):  # windows last: it marks the batch as done
                path = self.directory(table) / name
                if path.exists():
                    frame = self._read(path, list(COLUMNS[table]))
                    kept = frame[~frame["input_key"].isin(keys)]
                    self._write(typed(kept, COLUMNS[table]), table, name)

    def read(self, table: str) -> pd.DataFrame:
        """One whole table as a DataFrame (for summaries and tests; a sweep's may be large)."""
        columns = COLUMNS[table]
        frames = [self._read(part, list(columns)) for part in sorted(self.parts(table))]
        frames = [frame for frame in frames if len(frame)]  # a rescan may leave a part empty
        return typed(pd.concat([empty_frame(columns), *frames]), columns)

    def write_batch(
        self,
        windows: pd.DataFrame,
        failures: pd.DataFrame,
        searched: pd.DataFrame | None = None,
        notes: pd.DataFrame | None = None,
        scored: pd.DataFrame | None = None,
    ) -> None:
        """Append one batch: its candidates, failures, search, summary and warnings parts,
        then its windows part (written last: a batch is done when its windows part exists).
        ``scored`` lists the inputs scored (by default those with a window row)."""
        name = f"part-{time.time_ns()}-{uuid.uuid4().hex[:8]}.{self.fmt}"
        windows = typed(windows, WINDOW_COLUMNS)
        searched = typed(
            searched if searched is not None else empty_frame(SEARCH_COLUMNS), SEARCH_COLUMNS
        )
        self._write(windows[windows["verdict"] == "transit"], "candidates", name)
        self._write(typed(failures, FAILURE_COLUMNS), "failures", name)
        self._write(searched, "search", name)
        if scored is None:
            scored = windows[KEYS].drop_duplicates()
        self._write(summary(windows, searched, scored), "summary", name)
        notes = notes if notes is not None else empty_frame(WARNING_COLUMNS)
        self._write(typed(notes, WARNING_COLUMNS), "warnings", name)
        self._write(windows, "windows", name)

    def _write(self, frame: pd.DataFrame, table: str, name: str) -> None:
        with atomic_path(self.directory(table) / name) as temporary:
            if self.fmt == "parquet":
                frame.to_parquet(temporary, index=False, engine="pyarrow")
            else:
                text = [c for c in frame.columns if c in TEXT]
                frame.assign(**{c: frame[c].map(escape_formula) for c in text}).to_csv(
                    temporary, index=False
                )

    def _read(self, part: Path, columns: list[str]) -> pd.DataFrame:
        if self.fmt == "parquet":
            return pd.read_parquet(part, columns=columns, engine="pyarrow")
        return pd.read_csv(part, usecols=columns, dtype={name: str for name in TEXT & set(columns)})


def summary(windows: pd.DataFrame, searched: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
    """One row per scored input: its windows in brief (none for a light curve shorter than one
    window) and its best search candidate."""
    keys = KEYS
    rows = windows.groupby(keys, sort=False).agg(
        n_windows=("verdict", "size"),
        n_flagged_windows=("verdict", lambda v: int((v == "transit").sum())),
        max_probability=("probability", "max"),
    )
    chosen = searched[searched["verdict"] == "candidate"]
    counts = chosen.groupby(keys, sort=False).size().rename("n_candidates")
    best = searched.sort_values("fap", kind="stable").groupby(keys, sort=False).first()
    best = best[["period", "epoch", "depth_ppm", "fap"]].add_prefix("best_")
    frame = typed(scored, {k: "string" for k in keys}).set_index(keys)
    frame = frame.join(rows).join(counts).join(best).reset_index()
    for column in ("n_windows", "n_flagged_windows", "n_candidates"):
        frame[column] = frame[column].fillna(0)
    return typed(frame, SUMMARY_COLUMNS)
