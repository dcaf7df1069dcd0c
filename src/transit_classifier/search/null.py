"""False-alarm probabilities from a null distribution of best scores.

The null is the search's own best score on real light curves in which transits were made
impossible (Kepler DR25's inverted and scrambled light curves, KOI hosts with their known
transits masked: :mod:`transit_classifier.judge.search_sets`). A candidate's FAP is the share
of those light curves that score as high.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import genpareto

TAIL_QUANTILE = 0.9
"""Above this quantile of the null, FAPs come from a generalised Pareto fit to the exceedances
(peaks over threshold): 1,000 nulls resolve a 1% FAP by counting, but not 0.05%."""
MIN_TAIL = 20  # fewer exceedances than this: no fit, counts only
MIN_COUNTED = 5  # a FAP that leaves at least this many null scores above it is counted
NO_CANDIDATE = 0.0  # the score of a null light curve with no candidate at all: below any cut


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


@dataclass(frozen=True)
class NullModel:
    """A null distribution of best scores: counted in its body, a fitted Pareto tail above
    the :data:`TAIL_QUANTILE` (``shape`` and ``scale`` NaN when too few scores to fit)."""

    scores: np.ndarray  # sorted
    level: float
    shape: float
    scale: float

    @classmethod
    def fit(cls, scores: np.ndarray) -> NullModel:
        """Fit the tail; a light curve with no candidate (a non-finite score) counts as
        :data:`NO_CANDIDATE`, so it is stored as a number and ranks below every threshold."""
        scores = np.asarray(scores, dtype=float)
        scores = np.sort(np.where(np.isfinite(scores), scores, NO_CANDIDATE))
        level = float(np.quantile(scores, TAIL_QUANTILE)) if scores.size else np.inf
        excess = scores[scores > level] - level
        if excess.size < MIN_TAIL:
            return cls(scores, level, float("nan"), float("nan"))
        shape, _, scale = genpareto.fit(excess, floc=0.0)
        return cls(scores, level, float(shape), float(scale))

    @property
    def tail_fraction(self) -> float:
        return float(np.mean(self.scores > self.level)) if self.scores.size else 0.0

    def fap(self, score: float) -> float:
        """Share of null light curves whose best score reaches ``score``: counted while at
        least :data:`MIN_COUNTED` null scores reach it, from the fitted tail beyond."""
        counted = float(fap(score, self.scores))
        if counted * (self.scores.size + 1) >= MIN_COUNTED + 1 or not np.isfinite(self.scale):
            return counted
        return self.tail_fraction * float(
            genpareto.sf(score - self.level, self.shape, 0.0, self.scale)
        )

    def threshold(self, fap_level: float) -> float:
        """The score whose :meth:`fap` is ``fap_level`` (counted where the null resolves it)."""
        resolved = fap_level * (self.scores.size + 1) >= MIN_COUNTED + 1
        if resolved or not np.isfinite(self.scale):
            return threshold_at_fap(self.scores, fap_level)
        ratio = fap_level / self.tail_fraction
        return self.level + float(genpareto.isf(ratio, self.shape, 0.0, self.scale))

    def to_dict(self) -> dict[str, Any]:
        return {
            "scores": self.scores.tolist(),
            "level": self.level,
            "shape": self.shape,
            "scale": self.scale,
        }

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> NullModel:
        scores = np.asarray(record["scores"], dtype=float)
        if not np.isfinite(scores).all():
            raise ValueError("null scores must be finite")
        return cls(
            scores,
            float(record["level"]),
            float(record["shape"]),
            float(record["scale"]),
        )
