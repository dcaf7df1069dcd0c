"""Prewhitening: subtract a pulsating star's coherent modes before the network looks.

A pulsating star's modes (sdB and delta Scuti p- and g-modes, periods of
0.5-4 h) beat into dips as deep as a transit, and no detrending window short
enough to follow them would leave a transit whole. Asteroseismologists remove
them the classical way: find the highest peak of the amplitude spectrum, fit
that sinusoid by least squares, subtract it, repeat while a peak stands
``snr`` times above the spectrum's median (the noise level; Breger et al.
1993 use amplitude S/N 4).

Only frequencies above ``min_frequency`` are searched. A periodic transit is
itself a sum of harmonics of its orbital frequency, whose amplitudes fall off
beyond ~1/D for a transit of duration D (8 per day for 3 hours). Searched
from 1 per day, prewhitening ate much of the depth of strong transits on
short orbits; from 6 per day a 200-sigma, 3-hour transit on a 0.8-day orbit
keeps most of its depth (``tests/test_prewhiten.py`` asserts how much).

Short, deep transits still reach above 6 per day, so dips are left out of the
spectrum and the fits (:func:`dip_mask`): on the synthetic validation set a
"mode" is then removed from far fewer quiet transits than without the mask.

It is off by default (``prepare.prewhiten_modes: 0``) because validation said
so, with and without the mask: trained with it, the network lost recall at 1%
FPR on three seeds. Validation's real stars hold no pulsator and most synthetic
modes are slower than 6 per day, so it sees the cost and not the gain, which
the test stars' sdB pulsator shows (README, *Pulsating stars*).

Every step is vectorised over light curves; rows stop as soon as no peak is
significant, so quiet stars cost one FFT.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d

from transit_classifier.robust import mad_sigma, nanmedian

PAD_FACTOR = 4  # zero-padding of the FFT: peak frequencies good to 1/(8 T)
DIP_WIDTH = 3  # cadences averaged to find dips (~1.5 h, Kepler long cadence)
DIP_GROW = 2  # cadences masked on each side of a dip: its ingress and egress


def dip_mask(resid: np.ndarray, valid: np.ndarray, sigma: float) -> np.ndarray:
    """Cadences in dips deeper than ``sigma`` robust sigma of the ~1.5-hour running mean.

    A transit is a comb of harmonics of its orbit, and a short, deep one
    reaches far above ``min_frequency``: fitted as "modes", those harmonics
    would carve the transit out. With its cadences left out of the spectrum and
    of the fits, the comb is gone, while a pulsation mode, spread over the
    whole window, is barely weakened. The sigma includes the modes themselves,
    so a pulsator's own beating dips are rarely masked. ``sigma <= 0`` masks nothing.
    """
    if sigma <= 0:
        return np.zeros_like(valid)
    total = uniform_filter1d(resid, DIP_WIDTH, axis=1, mode="constant")
    count = uniform_filter1d(valid.astype(np.float64), DIP_WIDTH, axis=1, mode="constant")
    smooth = np.where(valid, total / np.maximum(count, 1e-12), np.nan)
    dips = smooth < -sigma * mad_sigma(smooth, axis=1, keepdims=True)
    return maximum_filter1d(dips, 2 * DIP_GROW + 1, axis=1) & valid


def _sinusoid_fit(
    resid: np.ndarray, fitted: np.ndarray, valid: np.ndarray, time: np.ndarray, freq: np.ndarray
) -> np.ndarray:
    """Least-squares sinusoid at ``freq`` per row, fitted on ``fitted`` cadences; zero at gaps."""
    phase = 2 * np.pi * freq[:, None] * time
    cos, sin = np.cos(phase) * valid, np.sin(phase) * valid
    wcos, wsin = cos * fitted, sin * fitted
    cc, ss, cs = (wcos * wcos).sum(1), (wsin * wsin).sum(1), (wcos * wsin).sum(1)
    yc, ys = (resid * wcos).sum(1), (resid * wsin).sum(1)
    det = np.where(cc * ss - cs * cs > 0, cc * ss - cs * cs, np.inf)
    a, b = (yc * ss - ys * cs) / det, (ys * cc - yc * cs) / det
    return a[:, None] * cos + b[:, None] * sin


def _refined_peak(power: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """Peak position in bins, refined by a parabola through the log power of its neighbours.

    The refinement lets one fit remove a mode that falls between FFT bins,
    instead of several fits chipping at it.
    """
    inner = np.clip(peak, 1, power.shape[1] - 2)
    rows = np.arange(power.shape[0])
    left, centre, right = (np.log(power[rows, inner + k] + 1e-300) for k in (-1, 0, 1))
    curvature = np.minimum(left - 2 * centre + right, -1e-12)  # a peak curves down
    offset = 0.5 * (left - right) / curvature
    return np.where(inner == peak, peak + np.clip(offset, -0.5, 0.5), peak)


def pulsation_model(
    flat: np.ndarray,
    cadence_days: float,
    max_modes: int,
    min_frequency: float,
    snr: float,
    mask_sigma: float = 0.0,
) -> np.ndarray:
    """The sum of up to ``max_modes`` significant sinusoids faster than ``min_frequency``.

    Parameters
    ----------
    flat
        ``(n, length)`` detrended relative flux on a regular cadence grid; NaN marks gaps.
    cadence_days
        Grid spacing.
    max_modes
        Most sinusoids fitted per light curve (0 gives a zero model).
    min_frequency
        Lowest frequency searched, cycles per day.
    snr
        A peak is fitted while its amplitude exceeds ``snr`` times the median
        amplitude of the searched band.
    mask_sigma
        Dips deeper than this (:func:`dip_mask`) are left out of the spectrum
        and the fits, so a transit's harmonics are not taken for modes; 0 masks nothing.

    Returns
    -------
    numpy.ndarray
        ``(n, length)`` model, zero at gaps: subtract it from any detrended
        version of the same flux (the modes lie far above every detrending
        window's cut-off, so one fit serves every channel).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(1000) * 29.4244 / 1440
    >>> noise = 1e-4 * np.random.default_rng(0).standard_normal(1000)
    >>> pulsating = 1 + 0.002 * np.sin(2 * np.pi * 9.3 * t) + noise
    >>> clean = pulsating - pulsation_model(pulsating[None], 29.4244 / 1440, 5, 6.0, 4.0)
    >>> bool(np.std(clean - 1) < 1.1e-4)  # the 2000-ppm mode is gone, the noise stays
    True
    """
    flat = np.asarray(flat, dtype=np.float64)
    valid = np.isfinite(flat)
    level = nanmedian(flat, axis=1, keepdims=True)
    resid = np.where(valid, flat - level, 0.0)
    fitted = valid & ~dip_mask(resid, valid, mask_sigma)
    time = np.arange(flat.shape[1]) * cadence_days
    n_fft = PAD_FACTOR * flat.shape[1]
    freqs = np.fft.rfftfreq(n_fft, cadence_days)
    first = int(np.searchsorted(freqs, min_frequency))  # the searched band is freqs[first:]
    rows = np.flatnonzero(valid.sum(axis=1) >= 3)
    for _ in range(max_modes):
        if rows.size == 0 or first >= freqs.size:
            break
        spectrum = np.fft.rfft(resid[rows] * fitted[rows], n=n_fft, axis=1)[:, first:]
        power = spectrum.real**2 + spectrum.imag**2
        peak = power.argmax(axis=1)
        strong = power[np.arange(rows.size), peak] > snr**2 * np.median(power, axis=1)
        bins = first + _refined_peak(power[strong], peak[strong])
        rows = rows[strong]
        freq = bins / (n_fft * cadence_days)
        resid[rows] -= _sinusoid_fit(resid[rows], fitted[rows], valid[rows], time, freq)
    return np.where(valid, flat - level - resid, 0.0)
