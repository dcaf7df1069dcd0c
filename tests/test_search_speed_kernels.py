"""The search's speed kernels give bit for bit what the plain numpy algorithm they replace gives."""

import warnings

import numpy as np
import pytest
from astropy.stats import mad_std

from transit_classifier.search.fold import BLOCK, fold_periodogram
from transit_classifier.search.ses import MIN_WINDOW_POINTS, NOISE_STEP_FRACTION, _running_scatter


def _numpy_fold(num: np.ndarray, den: np.ndarray, p_cad: float, min_transits: int):
    """The fold as first written: every transit's slice added to all offsets at once, in
    transit order (the order the kernel must keep for identical floats), then the first
    offset with the highest MES among those with ``min_transits`` transits with data."""
    n = num.size
    n_off = min(int(np.ceil(p_cad)), n)
    acc_num, acc_den, acc_has = np.zeros(n_off), np.zeros(n_off), np.zeros(n_off)
    k, base = 0, 0
    while base < n:
        stop = min(n_off, n - base)
        acc_num[:stop] += num[base : base + stop]
        acc_den[:stop] += den[base : base + stop]
        acc_has[:stop] += den[base : base + stop] > 0
        k += 1
        base = int(k * p_cad + 0.5)
    ok = (acc_has >= min_transits) & (acc_den > 0)
    if not ok.any():
        return -np.inf, -1
    mes = np.full(n_off, -np.inf)
    mes[ok] = acc_num[ok] / np.sqrt(acc_den[ok])
    return mes.max(), int(np.argmax(mes))


def _sums(seed: int, n: int, gap_share: float, signal: float):
    rng = np.random.default_rng(seed)
    num = rng.normal(signal, 1.0, n) * 10.0 ** rng.integers(-3, 4)
    den = rng.uniform(0.2, 3.0, n)
    den[rng.random(n) < gap_share] = 0.0
    for start in rng.integers(0, n, 4):  # long gaps: offsets left with one transit with data
        den[start : start + n // 7] = 0.0
    num[den == 0] = 0.0
    return num, den


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("min_transits", [1, 2, 3])
def test_fold_is_bit_identical_to_numpy(seed: int, min_transits: int) -> None:
    n = 3 * BLOCK + 77  # offsets span several blocks at the longest periods
    num, den = _sums(seed, n, gap_share=0.1, signal=-0.3 + 0.2 * seed)
    periods = np.concatenate([[1.0, 2.5, 7.3, 20.0], np.geomspace(33.7, n / 1.5, 60), [n - 1.0]])
    pg = fold_periodogram(num, den, periods, 1.0, 1, min_transits=min_transits)
    for p, mes, j in zip(periods, pg.mes, pg.epoch_index, strict=True):
        best, best_j = _numpy_fold(num, den, p, min_transits)
        assert mes == best and j == best_j  # exact: same floats, same winning offset


def test_fold_skips_a_high_single_event_without_enough_transits() -> None:
    """The transit count is checked only for a would-be best: a huge lone event must lose."""
    n = 1000
    num, den = np.full(n, 0.5), np.ones(n)
    den[:100], num[:100] = 0.0, 0.0
    num[650] = 1e6  # offset 50 at period 600: transit 650 has data, transit 50 is in the gap
    pg = fold_periodogram(num, den, np.array([600.0]), 1.0, 1, min_transits=2)
    best, best_j = _numpy_fold(num, den, 600.0, 2)
    assert pg.mes[0] == best and pg.epoch_index[0] == best_j and best_j != 50 and best < 1e5


def test_running_scatter_is_astropy_mad_std_bit_for_bit() -> None:
    """The running scatter's windows go through robust.mad_sigma, not astropy's own median."""
    rng = np.random.default_rng(3)
    flux = rng.normal(0.0, 1e-4, 4000)
    flux[rng.random(flux.size) < 0.05] = np.nan
    flux[1200:1500] = np.nan  # a gap wider than the window: windows with too few points
    window = 98
    step = int(window * NOISE_STEP_FRACTION)
    padded = np.concatenate([np.full(49, np.nan), flux, np.full(49, np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, window)[: flux.size : step]
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
        expected = mad_std(windows, axis=1, ignore_nan=True)
    ok = (np.isfinite(windows).sum(axis=1) >= MIN_WINDOW_POINTS) & (expected > 0)
    centres = np.arange(0, flux.size, step)
    reference = np.interp(np.arange(flux.size), centres[ok], expected[ok])
    assert np.array_equal(_running_scatter(flux, window), reference)
