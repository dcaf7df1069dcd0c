"""The one path from a light curve to fixed-length windows, for training data and inference.

``fetch_kepler`` (training windows) and ``predict`` (scoring anyone's light
curve) both go through this module, so the network sees a light curve the same
way in both. The rules, applied per *segment* (a Kepler quarter, a TESS sector,
or for input without either a stretch between gaps longer than
:data:`SEGMENT_GAP_DAYS`):

1. **Normalise** by the segment's median flux: quarters sit on different CCDs
   with different flux levels, so one median for the whole star leaves steps.
2. **Grid** the segment onto the model cadence: by Kepler cadence number when
   the input has them at that cadence (exact, no resampling), otherwise by
   averaging the points in each cadence-wide time bin. Missing cadences are NaN.
3. **Cut windows** inside one segment only, never across a quarter or sector
   boundary; a gap inside a segment stays NaN in the window, and the shared
   :func:`transit_classifier.preprocess.preprocess` fills it and marks it in
   its gap channel.
4. **Missing fraction**: a window missing more than ``max_missing_fraction``
   of its cadences is dropped from training and reported "too sparse" (not
   scored) by predict: the same number, ``kepler.max_missing_fraction``,
   stored with the model by :func:`window_info`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .cadence import MINUTES_PER_DAY
from .errors import UserError

if TYPE_CHECKING:
    from .kepler import StarLightCurve

# Longer than Kepler's ~1-day monthly downlink gaps and TESS's mid-sector orbit gap (which
# training windows keep as NaN runs inside one quarter), shorter than safe-mode outages.
SEGMENT_GAP_DAYS = 2.0
# Cadence numbers define the grid only if their spacing is the model cadence within this.
NATIVE_CADENCE_TOLERANCE = 0.01
# Guards against a time column in seconds or JD-scale typos exploding the grid.
MAX_GRID_CADENCES = 5_000_000
SEGMENT_META_KEYS = ("QUARTER", "SECTOR", "CAMPAIGN")
SEGMENT_COLUMNS = ("quarter", "sector")
WINDOW_KEYS = ("length", "cadence_minutes", "max_missing_fraction")
RETRAIN = "retrain with `dvc repro train`"


def import_lightkurve() -> Any:
    """Import lightkurve without its unrelated warning about the optional ``oktopus`` package."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*oktopus.*")
        import lightkurve

    return lightkurve


def read_lightkurve_file(path: str | Path, what: str) -> Any:
    """``lightkurve.read`` with the default quality mask, or one line saying the file is bad.

    The default mask is the one the Kepler training data were read with, so
    every mission's files drop flagged cadences the same way. ``what`` names the
    file kind in the message ("FITS light curve", "TESS FITS light curve").
    """
    from astropy.utils.exceptions import AstropyUserWarning

    lk = import_lightkurve()
    try:
        with warnings.catch_warnings(action="ignore", category=AstropyUserWarning):
            return lk.read(str(path), quality_bitmask="default")
    except Exception as exc:  # lightkurve wraps every reader failure in LightkurveError
        raise UserError(
            f"{path}: cannot read this {what} ({type(exc).__name__}); the file is "
            "truncated or corrupt: delete it and download it again"
        ) from None


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Observations:
    """One target's observed points, finite and sorted, in the source's flux units.

    ``segment`` labels each point's quarter, sector or gap-free stretch;
    ``cadenceno`` holds mission cadence numbers, or is None (grid by time).
    """

    name: str
    source: str  # "kepler" | "fits" | "kic" | "csv" | "lightkurve"
    time: np.ndarray  # float64 (n,) days
    flux: np.ndarray  # float64 (n,)
    segment: np.ndarray  # int64 (n,)
    cadenceno: np.ndarray | None  # int64 (n,)


def split_at_gaps(time: np.ndarray, max_gap_days: float = SEGMENT_GAP_DAYS) -> np.ndarray:
    """Segment label 0, 1, ... of each (time-sorted) point, a new one after every long gap."""
    return np.concatenate([[0], np.cumsum(np.diff(time) > max_gap_days)]).astype(np.int64)


def _check_time_unit(name: str, time: np.ndarray) -> None:
    """Refuse time in seconds (or similar): every gap would split the curve into single points."""
    step = np.median(np.diff(time)) if len(time) > 1 else 0.0
    if step > SEGMENT_GAP_DAYS:
        raise UserError(
            f"{name}: points are {step:.0f} days apart (median), longer than any light-curve "
            "gap; is the time column in days?"
        )


def make_observations(
    name: str,
    source: str,
    time: np.ndarray,
    flux: np.ndarray,
    segment: np.ndarray | None = None,
    cadenceno: np.ndarray | None = None,
) -> Observations:
    """Drop non-finite points and sort by cadence number (else time).

    Without ``segment`` the curve is split at gaps longer than :data:`SEGMENT_GAP_DAYS`.
    """
    time, flux = np.asarray(time, np.float64), np.asarray(flux, np.float64)
    keep = np.isfinite(time) & np.isfinite(flux)
    key = time if cadenceno is None else np.asarray(cadenceno, np.int64)
    order = np.flatnonzero(keep)[np.argsort(key[keep], kind="stable")]
    time = time[order]
    if segment is None:
        _check_time_unit(name, time)
        segment = split_at_gaps(time)
    else:
        segment = np.asarray(segment, np.int64)[order]
    cadence = None if cadenceno is None else np.asarray(cadenceno, np.int64)[order]
    return Observations(name, source, time, flux[order], segment, cadence)


def from_star(
    star: StarLightCurve, name: str | None = None, source: str = "kepler"
) -> Observations:
    """Observations of a :class:`~transit_classifier.kepler.StarLightCurve` (bundle, FITS, MAST).

    Each quarter is a segment and the Kepler cadence numbers give the grid.

    Examples
    --------
    >>> from transit_classifier.kepler import read_fits
    >>> star = read_fits(["tests/fixtures/kepler/kplr005899262-2009166043257_llc.fits"])
    >>> obs = from_star(star)
    >>> obs.name, sorted(set(obs.segment.tolist()))
    ('KIC 5899262', [1])
    """
    return make_observations(
        name or f"KIC {star.kepid}", source, star.time, star.flux, star.quarter, star.cadenceno
    )


def lk_column(lc: Any, name: str) -> np.ndarray:
    """A light-curve column as a plain float array with masked entries as NaN."""
    values = lc[name]
    if hasattr(values, "filled"):
        values = values.filled(np.nan)
    return np.asarray(getattr(values, "value", values), dtype=np.float64)


def _part_segments(lc: Any, index: int, in_collection: bool) -> np.ndarray:
    """Segment labels of one lightkurve light curve's points.

    In a collection each part is one quarter/sector (its meta says which). A
    single curve may be stitched from several, and ``stitch`` keeps only one
    part's meta, so it needs a quarter/sector column or is split at gaps.
    """
    if in_collection:
        label = next((lc.meta[k] for k in SEGMENT_META_KEYS if k in lc.meta), index)
        return np.full(len(lc), int(label), dtype=np.int64)
    column = next((c for c in SEGMENT_COLUMNS if c in lc.colnames), None)
    if column is not None:
        return lk_column(lc, column).astype(np.int64)
    return split_at_gaps(np.asarray(lc.time.value, np.float64))


def from_lightkurve(data: Any, name: str | None = None, source: str = "lightkurve") -> Observations:
    """Observations of a ``lightkurve.LightCurve`` or ``LightCurveCollection``.

    Uses the ``flux`` column as is (PDCSAP for Kepler/TESS products) and the
    ``cadenceno`` column when every part has one. ``source`` says where the
    object came from (``"fits"`` when a file was read through lightkurve).

    Raises
    ------
    UserError
        If the collection is empty.

    Examples
    --------
    >>> import lightkurve as lk, numpy as np
    >>> t = np.arange(0, 30, 0.0204)
    >>> q3 = lk.LightCurve(time=t, flux=np.full(t.size, 1000.0), meta={"QUARTER": 3})
    >>> q4 = lk.LightCurve(time=t + 31, flux=np.full(t.size, 2500.0), meta={"QUARTER": 4})
    >>> obs = from_lightkurve(lk.LightCurveCollection([q3, q4]), "my star")
    >>> np.unique(obs.segment).tolist()
    [3, 4]
    """
    in_collection = not hasattr(data, "time")
    parts = list(data) if in_collection else [data]
    if not parts:
        raise UserError("empty LightCurveCollection; pass at least one light curve")
    time = np.concatenate([np.asarray(lc.time.value, np.float64) for lc in parts])
    flux = np.concatenate([lk_column(lc, "flux") for lc in parts])
    segment = np.concatenate([_part_segments(lc, i, in_collection) for i, lc in enumerate(parts)])
    cadenceno = None
    if all("cadenceno" in lc.colnames for lc in parts):
        cadenceno = np.concatenate([lk_column(lc, "cadenceno") for lc in parts])
    label = name or str(parts[0].meta.get("OBJECT") or parts[0].meta.get("LABEL") or "light curve")
    return make_observations(label, source, time, flux, segment, cadenceno)


def read_csv(path: str | Path) -> Observations:
    """Read a CSV with ``time`` (days) and ``flux`` columns (any case), ``#`` comments allowed.

    An optional ``quarter`` column makes each quarter a segment; without one the
    curve is split at gaps longer than :data:`SEGMENT_GAP_DAYS`. Other columns
    (``flux_err``, ...) are ignored.

    Raises
    ------
    UserError
        If the file is not a readable CSV or lacks ``time`` or ``flux``.
    """
    name = str(path)
    try:
        frame = pd.read_csv(path, comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{name}: not a readable CSV ({reason}); save it as plain CSV") from None
    columns = {str(c).strip().lower(): c for c in frame.columns}
    missing = [c for c in ("time", "flux") if c not in columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "none"
        raise UserError(
            f"{name}: missing column(s) {', '.join(missing)} (found: {found}); the CSV needs "
            "'time' (days) and 'flux' columns"
        )
    time, flux = (_numeric_column(name, frame[columns[key]], key) for key in ("time", "flux"))
    quarter = columns.get("quarter")
    segment = None if quarter is None else pd.factorize(frame[quarter], sort=True)[0]
    return make_observations(name, "csv", time, flux, segment)


def _numeric_column(name: str, column: pd.Series, key: str) -> np.ndarray:
    """A CSV column as floats (blanks and ``nan`` become NaN); text such as ISO dates is refused.

    Coercing dates to NaN silently would leave a curve with no usable point and
    a message about flux, far from the real problem.
    """
    if pd.api.types.is_bool_dtype(column):  # pandas reads True/False as booleans, not text
        column = column.astype(str)
    values = pd.to_numeric(column, errors="coerce").to_numpy(np.float64)
    text = column[np.isnan(values) & column.notna().to_numpy()].astype(str).str.strip()
    text = text[~text.str.lower().isin(("", "nan", "null", "none", "na", "n/a"))]
    if len(text):
        unit = "time in days (e.g. BJD - 2454833)" if key == "time" else "numbers"
        raise UserError(
            f"{name}: the {key} column is not numeric ({len(text)} value(s) like "
            f"{text.iloc[0][:30]!r}); write it as {unit}"
        )
    return values


# --------------------------------------------------------------------------- segments


@dataclass(frozen=True)
class Segment:
    """One segment on the model's regular cadence grid (NaN = missing cadence)."""

    label: int  # quarter, sector, or gap-split index
    first_cadence: int  # cadence number of the grid's first cadence (0 for a time grid)
    time: np.ndarray  # (G,) float64 days
    flux: np.ndarray  # (G,) float64 relative flux


def has_native_cadence(obs: Observations, cadence_days: float) -> bool:
    """Whether ``obs`` has cadence numbers spaced at the model cadence (e.g. Kepler long cadence).

    Then cadence numbers place each point exactly; otherwise (CSV, short
    cadence, TESS) points are averaged into time bins.
    """
    if obs.cadenceno is None or len(obs.time) < 2:
        return False
    steps = np.diff(obs.cadenceno)
    same = (np.diff(obs.segment) == 0) & (steps > 0)
    if not same.any():
        return False
    native = np.median(np.diff(obs.time)[same] / steps[same])
    return bool(abs(native / cadence_days - 1) <= NATIVE_CADENCE_TOLERANCE)


def _grid(
    name: str, time: np.ndarray, flux: np.ndarray, cadenceno: np.ndarray | None, cadence_days: float
) -> tuple[int, np.ndarray, np.ndarray]:
    """First cadence, grid time and mean flux per cadence of one segment's sorted points."""
    if cadenceno is None:
        first, index = 0, np.rint((time - time[0]) / cadence_days).astype(np.int64)
    else:
        first, index = int(cadenceno[0]), cadenceno - cadenceno[0]
    n_bins = int(index.max()) + 1
    if n_bins > MAX_GRID_CADENCES:
        raise UserError(
            f"{name}: spans {time.max() - time.min():.0f} days, too long for a "
            f"{cadence_days * MINUTES_PER_DAY:.1f}-min grid; is the time column in days?"
        )
    counts = np.bincount(index, minlength=n_bins)
    filled = counts > 0
    grid_flux = np.full(n_bins, np.nan)
    sums = np.bincount(index, weights=flux, minlength=n_bins)
    np.divide(sums, counts, out=grid_flux, where=filled)
    if cadenceno is None:
        return first, time[0] + np.arange(n_bins) * cadence_days, grid_flux
    mean_time = np.bincount(index, weights=time, minlength=n_bins)[filled] / counts[filled]
    return first, np.interp(np.arange(n_bins), np.flatnonzero(filled), mean_time), grid_flux


def to_segments(
    obs: Observations, cadence_days: float, *, skip_bad_level: bool = False
) -> list[Segment]:
    """Normalise each segment by its median flux and lay it on the model's cadence grid.

    Segments come in label order; those with fewer than two points are dropped.

    Parameters
    ----------
    obs
        The light curve.
    cadence_days
        The model cadence.
    skip_bad_level
        Drop a segment whose median flux is not positive (training: the quarter
        is unusable) instead of raising (predict: the input is in the wrong units).

    Raises
    ------
    UserError
        If a segment's median flux is not positive (and ``skip_bad_level`` is false),
        or a segment spans too many cadences.

    Examples
    --------
    >>> import numpy as np
    >>> obs = make_observations("demo", "csv", np.array([0.0, 0.01, 0.1, 5.0, 5.1]),
    ...                         np.array([10.0, 20.0, 30.0, 4.0, 4.0]))
    >>> [(s.label, s.flux.tolist()) for s in to_segments(obs, 0.05)]  # 3-day gap: 2 segments
    [(0, [0.75, nan, 1.5]), (1, [1.0, nan, 1.0])]
    """
    native = has_native_cadence(obs, cadence_days)
    segments = []
    for label in np.unique(obs.segment):
        sel = obs.segment == label
        flux = obs.flux[sel]
        if len(flux) < 2:
            continue
        median = np.median(flux)
        if median <= 0:
            if skip_bad_level:
                continue
            raise UserError(
                f"{obs.name}: median flux is not positive (segment {label}); predict needs flux "
                "in e-/s or relative flux near 1 (add 1 to zero-centred relative flux, or 1e6 to "
                "flux in ppm)"
            )
        cadenceno = obs.cadenceno[sel] if native else None
        first, time, grid = _grid(obs.name, obs.time[sel], flux / median, cadenceno, cadence_days)
        segments.append(Segment(int(label), first, time, grid))
    return segments


# --------------------------------------------------------------------------- windows


def window_starts(n: int, length: int, stride: int, flush_end: bool = False) -> np.ndarray:
    """Grid indices where windows of ``length`` start, every ``stride`` cadences.

    ``flush_end`` adds a last window ending on the last cadence, so the tail is
    covered too (predict); training keeps the plain stride.

    Examples
    --------
    >>> window_starts(450, 200, 100).tolist(), window_starts(450, 200, 100, flush_end=True).tolist()
    ([0, 100, 200], [0, 100, 200, 250])
    """
    if n < length:
        return np.empty(0, dtype=np.int64)
    starts = np.arange(0, n - length + 1, stride)
    if flush_end and starts[-1] + length < n:
        starts = np.append(starts, n - length)
    return starts


@dataclass(frozen=True)
class Windows:
    """Windows of one light curve, each inside one segment."""

    flux: np.ndarray  # (n, L) float64 relative flux, NaN = missing
    time: np.ndarray  # (n, L) float64 days
    segment: np.ndarray  # (n,) segment label
    start: np.ndarray  # (n,) cadence number (time grid: grid index) of the first cadence

    def __len__(self) -> int:
        return len(self.flux)

    @property
    def missing_fraction(self) -> np.ndarray:
        return np.isnan(self.flux).mean(axis=1)

    def select(self, keep: np.ndarray) -> Windows:
        return Windows(self.flux[keep], self.time[keep], self.segment[keep], self.start[keep])


def cut_windows(
    segments: Sequence[Segment], length: int, stride: int, flush_end: bool = False
) -> Windows:
    """Windows of ``length`` cadences placed by :func:`window_starts` inside each segment.

    Examples
    --------
    >>> import numpy as np
    >>> seg = Segment(4, 1000, np.arange(10.0), np.ones(10))
    >>> cut_windows([seg], 4, 3, flush_end=True).start.tolist()
    [1000, 1003, 1006]
    """
    parts = []
    for seg in segments:
        starts = window_starts(len(seg.flux), length, stride, flush_end)
        index = starts[:, None] + np.arange(length)
        label = np.full(len(starts), seg.label)
        parts.append((seg.flux[index], seg.time[index], label, seg.first_cadence + starts))
    if not parts:
        empty = np.empty((0, length))
        return Windows(empty, empty, np.empty(0, np.int64), np.empty(0, np.int64))
    return Windows(*(np.concatenate(arrays) for arrays in zip(*parts, strict=True)))


def too_sparse(windows: Windows, max_missing_fraction: float) -> np.ndarray:
    """Windows missing more than ``max_missing_fraction`` of their cadences.

    Training drops them and predict reports them unscored: a window that is
    mostly gap-filler says little about a transit.
    """
    return windows.missing_fraction > max_missing_fraction


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class WindowRules:
    """Window length, model cadence and missing-cadence limit, shared by training and predict."""

    length: int
    cadence_minutes: float
    max_missing_fraction: float

    @property
    def cadence_days(self) -> float:
        return self.cadence_minutes / MINUTES_PER_DAY

    @property
    def inference_stride(self) -> int:
        """Predict's windows overlap by half, so a transit cut by one edge is whole in another."""
        return max(self.length // 2, 1)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> WindowRules:
        return cls(**window_info(params))

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> WindowRules:
        """The rules stored in a model's ``model.json`` under ``"window"``.

        Raises
        ------
        UserError
            If they are missing, incomplete, hold unknown keys or values, or
            contradict the network's ``input_length`` / ``cadence_minutes``.
        """
        window = info.get("window")
        if not isinstance(window, dict):
            raise UserError(f"model.json: no 'window' settings (an older model); {RETRAIN}")
        missing = [k for k in WINDOW_KEYS if k not in window]
        unknown = sorted(set(window) - set(WINDOW_KEYS))
        if missing or unknown:
            what = f"lack {missing}" if missing else f"hold unknown keys {unknown}"
            raise UserError(f"model.json: window settings {what} that predict cannot honour; "
                            f"{RETRAIN}")
        rules = cls(*(window[k] for k in WINDOW_KEYS))
        valid = (
            isinstance(rules.length, int) and not isinstance(rules.length, bool)
            and rules.length >= 1 and _is_number(rules.cadence_minutes)
            and rules.cadence_minutes > 0 and _is_number(rules.max_missing_fraction)
            and 0 <= rules.max_missing_fraction <= 1
        )  # fmt: skip
        network = (info.get("input_length"), info.get("cadence_minutes"))
        if not valid or network != (rules.length, rules.cadence_minutes):
            raise UserError(
                f"model.json: window settings {window} do not fit the network (input_length "
                f"{network[0]}, cadence_minutes {network[1]}); {RETRAIN}"
            )
        return rules


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def window_info(params: dict[str, Any]) -> dict[str, Any]:
    """The window rules to store with a model (``model.json`` key ``"window"``).

    predict reads them back with :meth:`WindowRules.from_info`, so it cuts and
    rejects windows with the very numbers the training windows were made with.

    Examples
    --------
    >>> window_info({"dataset": {"window_length": 1000, "cadence_minutes": 29.4244},
    ...              "kepler": {"max_missing_fraction": 0.3}})
    {'length': 1000, 'cadence_minutes': 29.4244, 'max_missing_fraction': 0.3}
    """
    return {
        "length": params["dataset"]["window_length"],
        "cadence_minutes": params["dataset"]["cadence_minutes"],
        "max_missing_fraction": params["kepler"]["max_missing_fraction"],
    }


def concatenate(segments: Iterable[Segment]) -> tuple[np.ndarray, np.ndarray]:
    """Grid time and flux of several segments end to end (for plots and summaries)."""
    segments = list(segments)
    if not segments:
        return np.empty(0), np.empty(0)
    return np.concatenate([s.time for s in segments]), np.concatenate([s.flux for s in segments])
