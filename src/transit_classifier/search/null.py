"""Null light curves (transits made impossible) and false-alarm probabilities.

Following Kepler DR25, real noise is kept but transits are destroyed: inverting the flux
turns dips into bumps, and scrambling contiguous chunks breaks any periodicity while keeping
the noise character within each chunk. Searching these gives the score distribution of
false alarms that the search itself produces on real data.
"""

import numpy as np


def inverted(flux: np.ndarray) -> np.ndarray:
    """Return ``-flux`` (relative flux), so every dip becomes a bump the search ignores."""
    return -np.asarray(flux, dtype=float)


def scrambled(flux: np.ndarray, segment_length: int, rng: np.random.Generator) -> np.ndarray:
    """Reorder contiguous chunks of ``segment_length`` cadences at random.

    A transit train no longer lines up, but chunk-scale noise (and gaps) is preserved.
    """
    flux = np.asarray(flux, dtype=float)
    starts = np.arange(0, flux.size, int(segment_length))
    chunks = np.split(flux, starts[1:])
    return np.concatenate([chunks[i] for i in rng.permutation(len(chunks))])


def fap(score: float | np.ndarray, null_scores: np.ndarray) -> np.ndarray:
    """Empirical false-alarm probability ``(1 + #(null >= score)) / (1 + n_null)``.

    The +1 terms keep it conservative: a score above every null value gets ``1/(n+1)``, not 0.
    """
    null = np.sort(np.asarray(null_scores, dtype=float))
    n_ge = null.size - np.searchsorted(null, np.asarray(score, dtype=float), side="left")
    return (1.0 + n_ge) / (1.0 + null.size)


def threshold_at_fap(null_scores: np.ndarray, fap_level: float) -> float:
    """Smallest score whose :func:`fap` is at most ``fap_level`` (inf if unreachable)."""
    null = np.sort(np.asarray(null_scores, dtype=float))
    allowed = int(np.floor(fap_level * (1.0 + null.size) - 1.0))
    if allowed < 0:
        return float("inf")
    if allowed >= null.size:
        return float("-inf")
    return float(np.nextafter(null[null.size - 1 - allowed], np.inf))
