"""Box Least Squares baseline: the classical transit search the network has to beat.

Each light curve is detrended exactly like the network's input (running median,
:func:`transit_classifier.preprocess.detrend`) but not normalised, its missing
cadences and upward outliers (flares, cosmic rays) are dropped, and astropy's
:class:`~astropy.timeseries.BoxLeastSquares` searches a frequency-spaced period
grid for periodic box-shaped dips. Two detection statistics come out per light
curve, so the evaluation can pick the better one on the validation split:

``sde``
    Signal Detection Efficiency, ``(peak power - mean power) / std power``: how
    far the best period stands out of the periodogram. Self-normalising, so it
    is insensitive to a misestimated noise level.
``depth_snr``
    Depth over its uncertainty at the peak, ``depth / depth_err``, with the
    per-cadence noise estimated robustly (MAD) from the light curve itself: the
    same quantity as the transit SNR the synthetic set is drawn from.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from astropy.timeseries import BoxLeastSquares
from sklearn.metrics import average_precision_score
from tqdm import tqdm

from .errors import UserError
from .params import window_days
from .preprocess import MAD_TO_SIGMA, detrend

STATISTICS = ("sde", "depth_snr")
COLUMNS = (*STATISTICS, "period_days", "t0_days", "duration_hours", "depth_ppm")
MIN_PERIOD_DAYS = 0.5
MIN_POINTS = 20  # fewer finite cadences than this cannot constrain a box and its baseline


def period_grid(
    max_period: float, n_periods: int, min_period: float = MIN_PERIOD_DAYS
) -> np.ndarray:
    """Trial periods in days, ascending, evenly spaced in frequency.

    Even frequency spacing keeps the phase drift across the window the same at
    every trial period, which is what a box search needs (a period grid even in
    period over-samples long periods and under-samples short ones).
    """
    if not max_period > min_period:
        raise UserError(
            f"BLS period grid: longest period {max_period:.3g} d is not above the shortest "
            f"{min_period} d; use a longer dataset.window_length or a smaller "
            "synthetic.min_transits"
        )
    frequencies = np.linspace(1.0 / max_period, 1.0 / min_period, int(n_periods))
    return np.sort(1.0 / frequencies)


@dataclass(frozen=True, eq=False)
class BLSSearch:
    """One fixed BLS configuration, applied identically to every light curve.

    Attributes
    ----------
    cadence_days
        Time between cadences; the light curves lie on a regular grid.
    periods, durations
        Trial periods and box durations, in days.
    oversample
        Phase bins per shortest duration (astropy's ``oversample``).
    detrend_window
        Running-median window in cadences, the network's ``detrend_window_cadences``.
    clip_high_sigma
        Cadences more than this many robust sigma above the median are dropped.
    """

    cadence_days: float
    periods: np.ndarray
    durations: np.ndarray
    oversample: int
    detrend_window: int
    clip_high_sigma: float

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> BLSSearch:
        """Build the search from params: the window bounds the periods, evaluate.* the grid."""
        ev = params["evaluate"]
        max_period = window_days(params) / params["synthetic"]["min_transits"]
        durations = np.asarray(ev["bls_durations_hours"], dtype=float) / 24.0
        if durations.max() >= MIN_PERIOD_DAYS:
            raise UserError(
                f"evaluate.bls_durations_hours: longest duration {durations.max() * 24:g} h is not "
                f"shorter than the shortest BLS period ({MIN_PERIOD_DAYS * 24:g} h); lower it"
            )
        return cls(
            cadence_days=params["dataset"]["cadence_minutes"] / 1440.0,
            periods=period_grid(max_period, ev["bls_periods"]),
            durations=durations,
            oversample=int(ev["bls_oversample"]),
            detrend_window=int(params["prepare"]["detrend_window_cadences"]),
            clip_high_sigma=float(params["prepare"]["clip_high_sigma"]),
        )

    def search_one(self, flat: np.ndarray) -> np.ndarray:
        """BLS on one detrended light curve; returns the values of :data:`COLUMNS`.

        A light curve too short or too flat to search scores 0 on both statistics
        (no evidence of a transit) rather than NaN, so it still counts in the metrics.
        """
        time = np.arange(flat.size) * self.cadence_days
        finite = np.isfinite(flat)
        time, flux = time[finite], flat[finite]
        if flux.size < MIN_POINTS:
            return _empty()
        median = np.median(flux)
        sigma = MAD_TO_SIGMA * np.median(np.abs(flux - median)) or np.std(flux)
        if not sigma > 0:
            return _empty()
        keep = flux <= median + self.clip_high_sigma * sigma
        time, flux = time[keep], flux[keep]
        result = BoxLeastSquares(time, flux, dy=np.full(flux.size, sigma)).power(
            self.periods, self.durations, method="fast", oversample=self.oversample
        )
        power = np.asarray(result.power, dtype=float)
        power = np.where(np.isfinite(power), power, np.nan)
        best = int(np.nanargmax(power))
        spread = np.nanstd(power)
        sde = (power[best] - np.nanmean(power)) / spread if spread > 0 else 0.0
        return np.array(
            [
                sde,
                result.depth_snr[best],
                result.period[best],
                result.transit_time[best],
                result.duration[best] * 24.0,
                result.depth[best] * 1e6,
            ]
        )

    def search(
        self, flux: np.ndarray, workers: int = 2, progress: bool = True, chunk_size: int = 25
    ) -> pd.DataFrame:
        """Run the search on raw light curves ``(n, length)`` (NaN at gaps).

        The light curves are detrended here in one vectorised pass, then searched
        in chunks on ``workers`` threads; results come back in input order, so
        the output does not depend on scheduling.

        Returns
        -------
        pandas.DataFrame
            One row per light curve with the columns of :data:`COLUMNS`.
        """
        flat = detrend(flux, self.detrend_window)
        chunks = [flat[i : i + chunk_size] for i in range(0, len(flat), chunk_size)]
        bar = tqdm(total=len(flat), desc="BLS", unit="lc", disable=not progress)
        rows = []
        with bar:
            for block in self._map(chunks, workers):
                rows.append(block)
                bar.update(len(block))
        values = np.concatenate(rows) if rows else np.empty((0, len(COLUMNS)))
        return pd.DataFrame(values, columns=list(COLUMNS))

    def _map(self, chunks: list[np.ndarray], workers: int) -> Iterator[np.ndarray]:
        task = partial(_search_chunk, self)
        if workers <= 1 or len(chunks) <= 1:
            yield from map(task, chunks)
            return
        # Threads suffice: astropy's BLS core releases the GIL, and threads need no
        # process start-up, no pickling, and are safe next to TensorFlow.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            yield from pool.map(task, chunks)


def _empty() -> np.ndarray:
    return np.array([0.0, 0.0, np.nan, np.nan, np.nan, np.nan])


def _search_chunk(search: BLSSearch, flat: np.ndarray) -> np.ndarray:
    if not len(flat):
        return np.empty((0, len(COLUMNS)))
    return np.stack([search.search_one(row) for row in flat])


def select_statistic(stats: pd.DataFrame, labels: np.ndarray) -> tuple[str, dict[str, float]]:
    """Pick the detection statistic with the higher average precision on validation.

    Only validation scores and labels come in, so the choice cannot peek at the test set.

    Returns
    -------
    name, scores
        The chosen column of :data:`STATISTICS` and the validation PR-AUC of each.
    """
    labels = np.asarray(labels)
    if np.unique(labels).size < 2:
        raise UserError(
            "validation split holds a single class, so no BLS statistic can be chosen; "
            "re-run prepare with more light curves or a larger dataset.transit_ratio"
        )
    scores = {name: float(average_precision_score(labels, stats[name])) for name in STATISTICS}
    return max(STATISTICS, key=lambda name: scores[name]), scores
