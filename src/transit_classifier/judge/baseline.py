"""Classical transit search: the strong, fairly tuned baseline the network has to beat.

The recipe is what a careful astronomer runs on a Kepler light curve:

1. **Detrend** with wotan's time-windowed biweight through
   :func:`transit_classifier.signal.preprocess.flatten`, the very function that
   prepares the network's input, so both see the same flattened flux.
2. **Clean**: drop missing cadences, upward outliers (flares, cosmic rays) and
   isolated single-cadence dips (``signal.preprocess.clean_outliers``). A Kepler transit spans
   at least two 29.4-minute cadences, so a lone low point is a glitch, and left
   in it would make a deep one-cadence "transit" at every period.
3. **Search** a period grid even in frequency, from 0.5 d to the window divided
   by ``synthetic.min_transits``, with astropy's Box Least Squares (``bls``) or
   with Transit Least Squares (``tls``, limb-darkened templates, slower).
4. **Score** each light curve with detection statistics; :func:`tune` picks the
   detrending window and the statistic with the best validation average precision.

Statistics (:data:`METHOD_STATISTICS`):

``sde``
    Signal Detection Efficiency, ``(peak power - mean power) / std power``: how
    far the best period stands out of the periodogram. Self-normalising, so a
    misestimated noise level does not matter.
``depth_snr`` (bls)
    Depth over its uncertainty at the peak, the quantity the synthetic set's SNR
    is drawn from.
``snr`` (tls)
    TLS's own transit SNR (mean in-transit depth over the out-of-transit scatter).

Output columns: a search returns one row per light curve with the statistics of
its method, named exactly as in :data:`METHOD_STATISTICS` (so ``results[statistic]``
is the score), followed by :data:`FIT_COLUMNS` describing the best peak.
:data:`COLUMNS` lists every column any method can return, in that order.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from astropy.timeseries import BoxLeastSquares
from sklearn.metrics import average_precision_score
from tqdm import tqdm

from transit_classifier.cadence import MINUTES_PER_DAY
from transit_classifier.errors import UserError
from transit_classifier.params import window_days
from transit_classifier.signal.preprocess import as_batch, clean_outliers, flatten, robust_sigma

METHODS = ("bls", "tls")
METHOD_STATISTICS: dict[str, tuple[str, ...]] = {"bls": ("sde", "depth_snr"), "tls": ("sde", "snr")}
STATISTICS: tuple[str, ...] = ("sde", "depth_snr", "snr")  # every statistic of any method
FIT_COLUMNS = ("period_days", "t0_days", "duration_hours", "depth_ppm")
COLUMNS = (*STATISTICS, *FIT_COLUMNS)

MIN_PERIOD_DAYS = 0.5
MIN_POINTS = 20  # fewer finite cadences than this cannot constrain a box and its baseline
CHUNK = 16  # light curves per task: small enough to balance 2 threads and pace the bar
TLS_OVERSAMPLING = 3  # TLS period-grid oversampling, its default: peaks stay resolved
TLS_DURATION_STEP = 1.1  # TLS duration grid step (its default), ~10 % per template


def period_grid(
    max_period: float, n_periods: int, min_period: float = MIN_PERIOD_DAYS
) -> np.ndarray:
    """Trial periods in days, ascending, evenly spaced in frequency.

    Even frequency spacing keeps the phase drift of a transit across the window
    the same at every trial period; a grid even in period would over-sample
    long periods and miss short ones.
    """
    if not max_period > min_period:
        raise UserError(
            f"baseline period grid: longest period {max_period:.3g} d is not above the shortest "
            f"{min_period} d; use a longer dataset.window_length or a smaller "
            "synthetic.min_transits"
        )
    return np.sort(1.0 / np.linspace(1.0 / max_period, 1.0 / min_period, int(n_periods)))


@dataclass(frozen=True, eq=False)
class BaselineSearch:
    """One fixed search configuration, applied identically to every light curve.

    Attributes
    ----------
    method
        ``bls`` (astropy Box Least Squares) or ``tls`` (transitleastsquares).
    cadence_days
        Time between cadences; the light curves lie on a regular grid.
    detrend_window_days
        Width of wotan's biweight window.
    periods, durations
        Trial periods and box durations, in days (TLS uses ``periods`` only for
        its range, and its own physically motivated duration grid).
    oversample
        BLS phase bins per shortest duration.
    clip_high_sigma
        Cadences more than this many robust sigma above the median are dropped.
    """

    method: str
    cadence_days: float
    detrend_window_days: float
    periods: np.ndarray
    durations: np.ndarray
    oversample: int
    clip_high_sigma: float

    @classmethod
    def from_params(cls, params: dict[str, Any], detrend_window_days: float) -> BaselineSearch:
        """Build the search from ``evaluate.baseline``; the window length bounds the periods."""
        base = params["evaluate"]["baseline"]
        if base["method"] not in METHODS:
            raise UserError(
                f"evaluate.baseline.method {base['method']!r} unknown; use one of {METHODS}"
            )
        max_period = window_days(params) / params["synthetic"]["min_transits"]
        periods = period_grid(max_period, base["periods"])
        durations = np.asarray(base["durations_hours"], dtype=float) / 24.0
        if durations.max() >= periods[0]:
            raise UserError(
                f"evaluate.baseline.durations_hours: longest duration {durations.max() * 24:g} h "
                f"is not shorter than the shortest period ({periods[0] * 24:g} h); lower it"
            )
        return cls(
            method=base["method"],
            cadence_days=params["dataset"]["cadence_minutes"] / MINUTES_PER_DAY,
            detrend_window_days=float(detrend_window_days),
            periods=periods,
            durations=durations,
            oversample=int(base["oversample"]),
            clip_high_sigma=float(base["clip_high_sigma"]),
        )

    @property
    def statistics(self) -> tuple[str, ...]:
        """The detection statistics this method reports, candidates for :func:`tune`."""
        return METHOD_STATISTICS[self.method]

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns of :meth:`search`'s output: the statistics, then :data:`FIT_COLUMNS`."""
        return (*self.statistics, *FIT_COLUMNS)

    def search(self, flux: np.ndarray, workers: int = 2, progress: bool = True) -> pd.DataFrame:
        """Search raw light curves ``(n, length)`` (relative flux, NaN at gaps).

        Chunks of light curves are detrended, cleaned and searched on ``workers``
        threads: astropy's BLS core releases the GIL, and threads need no
        pickling and are safe next to TensorFlow. Results come back in input
        order, so they do not depend on scheduling.

        Returns
        -------
        pandas.DataFrame
            One row per light curve with :attr:`columns`. A light curve too short
            or flat to search scores 0 on every statistic and NaN on the fit.
        """
        flux = as_batch(flux)
        chunks = [flux[i : i + CHUNK] for i in range(0, len(flux), CHUNK)]
        rows = [np.empty((0, len(self.columns)))]
        bar = tqdm(total=len(flux), desc=self.method.upper(), unit="lc", disable=not progress)
        # TLS prints and warns per light curve; silence it once here, not per thread,
        # because redirect_stdout and catch_warnings swap process-wide state.
        with bar, contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.filterwarnings("ignore", module="transitleastsquares")
            with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
                for block in pool.map(self._search_chunk, chunks):
                    rows.append(block)
                    bar.update(len(block))
        return pd.DataFrame(np.concatenate(rows), columns=list(self.columns))

    def _search_chunk(self, flux: np.ndarray) -> np.ndarray:
        """Detrend and clean a chunk in one vectorised pass, then search each row."""
        flat = flatten(flux, "biweight", self.detrend_window_days, self.cadence_days)
        clean = clean_outliers(flat, self.clip_high_sigma)
        sigma = robust_sigma(clean)[:, 0]
        time = np.arange(clean.shape[1]) * self.cadence_days
        keep = np.isfinite(clean)
        with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
            flat_rows = np.nanmax(clean, axis=1) == np.nanmin(clean, axis=1)
        usable = (keep.sum(axis=1) >= MIN_POINTS) & ~flat_rows
        one = self._bls_one if self.method == "bls" else self._tls_one
        out = np.zeros((len(clean), len(self.columns)))
        out[:, len(self.statistics) :] = np.nan
        for i in np.flatnonzero(usable):
            out[i] = one(time[keep[i]], clean[i, keep[i]], sigma[i])
        return out

    def _bls_one(self, time: np.ndarray, flux: np.ndarray, sigma: float) -> np.ndarray:
        """BLS with astropy's default log-likelihood objective, ``0.5 (depth / sigma_in)**2``.

        Its periodogram grows with the square of the box SNR, so a real multi-transit
        peak towers over the single-event boxes that every trial period catches, and
        the SDE stays high for strong transits (on the SNR objective it saturates).
        """
        result = BoxLeastSquares(time, flux, dy=np.full(flux.size, sigma)).power(
            self.periods, self.durations, oversample=self.oversample
        )
        power = np.asarray(result.power, dtype=float)
        finite = np.isfinite(power)
        if not finite.any():  # no box fitted anywhere: nothing to score
            return np.array([0.0, 0.0, *[np.nan] * len(FIT_COLUMNS)])
        best = int(np.argmax(np.where(finite, power, -np.inf)))
        return np.array(
            [
                _sde(power[best], power[finite]),
                result.depth_snr[best],
                result.period[best],
                result.transit_time[best],
                result.duration[best] * 24.0,
                result.depth[best] * 1e6,
            ]
        )

    def _tls_one(self, time: np.ndarray, flux: np.ndarray, sigma: float) -> np.ndarray:
        """TLS over the same period range; one thread per call (the pool parallelises)."""
        from transitleastsquares import transitleastsquares

        model = transitleastsquares(time, flux, np.full(flux.size, sigma), verbose=False)
        result = model.power(
            period_min=float(self.periods[0]),
            period_max=float(self.periods[-1]),
            n_transits_min=1,  # period_max already holds synthetic.min_transits
            oversampling_factor=TLS_OVERSAMPLING,
            duration_grid_step=TLS_DURATION_STEP,
            use_threads=1,
            show_progress_bar=False,
            verbose=False,
        )
        return np.array(
            [
                np.nan_to_num(float(result.SDE)),
                np.nan_to_num(float(result.snr)),
                result.period,
                result.T0,
                result.duration * 24.0,
                (1.0 - result.depth) * 1e6,
            ]
        )


def _sde(peak: float, power: np.ndarray) -> float:
    """Signal Detection Efficiency of ``peak`` in periodogram ``power`` (0 if flat)."""
    spread = power.std()
    return float((peak - power.mean()) / spread) if spread > 0 else 0.0


def tune(
    params: dict[str, Any],
    val_flux: np.ndarray,
    val_labels: np.ndarray,
    progress: bool = True,
    workers: int = 2,
) -> tuple[BaselineSearch, str, pd.DataFrame, dict[str, Any]]:
    """Choose the detrending window and the statistic by validation average precision.

    Every window in ``evaluate.baseline.detrend_windows_days`` is searched and
    every statistic of the method scored with sklearn's average precision; the
    best pair wins (ties go to the earlier window, then the earlier statistic).
    Only validation data enter, so the choice cannot peek at the test set, and
    the baseline gets the same tuning budget an astronomer would give it.

    Returns
    -------
    search, statistic, results, info
        The chosen search, the name of the chosen statistic (a column of
        ``results``), the chosen search's validation results, and a JSON-ready
        summary with every candidate's validation PR-AUC under ``"<window>:<stat>"``.

    Raises
    ------
    UserError
        If the labels hold a single class or do not match the light curves.
    """
    labels = _check_labels(val_labels, len(val_flux))
    scores: dict[str, float] = {}
    best: tuple[float, BaselineSearch, str, pd.DataFrame] | None = None
    for window in params["evaluate"]["baseline"]["detrend_windows_days"]:
        search = BaselineSearch.from_params(params, window)
        results = search.search(val_flux, workers=workers, progress=progress)
        for stat in search.statistics:
            ap = float(average_precision_score(labels, results[stat]))
            scores[f"{window:g}:{stat}"] = ap
            if best is None or ap > best[0]:
                best = (ap, search, stat, results)
    _, search, stat, results = best
    info = {
        "method": search.method,
        "detrend_window_days": search.detrend_window_days,
        "statistic": stat,
        "chosen_on": "validation",
        "validation_pr_auc": scores,
        "periods": int(search.periods.size),
        "period_days": [float(search.periods[0]), float(search.periods[-1])],
        "durations_hours": [float(d * 24.0) for d in search.durations],
    }
    return search, stat, results, info


def _check_labels(labels: np.ndarray, n: int) -> np.ndarray:
    """Validation labels as an array, or a UserError if they cannot rank a search."""
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise UserError(
            f"baseline tuning: {labels.size} validation labels for {n} light curves; "
            "pass one label per light curve"
        )
    if np.unique(labels).size < 2:
        raise UserError(
            "validation split holds a single class, so no baseline setting can be chosen; "
            "re-run prepare with more light curves or a larger dataset.transit_ratio"
        )
    return labels
