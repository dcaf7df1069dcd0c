"""From observations to fixed-length windows: the one path for training data and inference.

``fetch_kepler`` (training windows) and ``predict`` (scoring anyone's light
curve) both go through this module, so the network sees a light curve the same
way in both. The rules, applied per *segment* of an
:class:`~transit_classifier.sources.lightcurve.Observations` (a Kepler quarter, a TESS
sector, or for input without either a stretch between gaps longer than
:data:`~transit_classifier.sources.lightcurve.SEGMENT_GAP_DAYS`):

1. **Normalise** by the segment's median flux: quarters sit on different CCDs
   with different flux levels, so one median for the whole star leaves steps.
2. **Grid** the segment onto the model cadence: by Kepler cadence number when
   the input has them at that cadence (exact, no resampling), otherwise by
   averaging the points in each cadence-wide time bin. Missing cadences are NaN.
3. **Cut windows** inside one segment only, never across a quarter or sector
   boundary; a gap inside a segment stays NaN in the window, and the shared
   :func:`transit_classifier.signal.preprocess.preprocess` fills it and marks it in
   its gap channel.
4. **Missing fraction**: a window missing more than ``max_missing_fraction``
   of its cadences is dropped from training and reported "too sparse" (not
   scored) by predict: the same number, ``kepler.max_missing_fraction``,
   stored with the model by :func:`window_info`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from transit_classifier.cadence import MINUTES_PER_DAY
from transit_classifier.errors import UserError
from transit_classifier.sources.lightcurve import Observations

from .preprocess import RETRAIN

# Cadence numbers define the grid only if their spacing is the model cadence within this.
NATIVE_CADENCE_TOLERANCE = 0.01
# Guards against a time column in seconds or JD-scale typos exploding the grid.
MAX_GRID_CADENCES = 5_000_000
WINDOW_KEYS = ("length", "cadence_minutes", "max_missing_fraction")


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


def _segment_level(name: str, label: int, flux: np.ndarray, skip_bad_level: bool) -> float | None:
    """A segment's median flux, or None to drop it (``skip_bad_level``) when it is not positive.

    Raises
    ------
    UserError
        If the median is not positive and ``skip_bad_level`` is false.
    """
    median = np.median(flux)
    if median > 0:
        return median
    if skip_bad_level:
        return None
    raise UserError(
        f"{name}: median flux is not positive (segment {label}); predict needs flux "
        "in e-/s or relative flux near 1 (add 1 to zero-centred relative flux, or 1e6 to "
        "flux in ppm)"
    )


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
    >>> from transit_classifier.sources.lightcurve import make_observations
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
        median = _segment_level(obs.name, label, flux, skip_bad_level)
        if median is None:
            continue
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
            raise UserError(
                f"model.json: window settings {what} that predict cannot honour; {RETRAIN}"
            )
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
