"""Train / validation / test sides: stratified for synthetic light curves, whole stars for real.

One star never sits on two sides: :func:`star_sides` deals the stars of the
whole real pool (:func:`split_by_group`), so every real window of a star
(injection hosts, KOI and non-KOI windows) follows its star.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from transit_classifier.seeding import make_rng


def _cut(n: int, fractions: list[float]) -> np.ndarray:
    """Split sizes for ``n`` items: train takes the rounding remainder."""
    val, test = (int(round(n * f)) for f in fractions[1:])
    return np.array([n - val - test, val, test])


def split_stratified(labels: np.ndarray, fractions: list[float], rng: np.random.Generator):
    """Assign each sample a split (0 train, 1 val, 2 test), stratified by label."""
    assignment = np.empty(len(labels), np.int8)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        sizes = _cut(len(members), fractions)
        assignment[members] = np.repeat(np.arange(3), sizes)
    return assignment


def split_by_group(
    groups: np.ndarray, labels: np.ndarray, fractions: list[float], rng: np.random.Generator
) -> np.ndarray:
    """Assign whole groups (stars) to splits so one star never sits on two sides.

    Stars holding transit windows are dealt first, each to the split furthest
    below its share of positive windows; the others follow by window count.
    This keeps both classes near the wanted fractions without breaking a star.
    """
    assignment = np.empty(len(groups), np.int8)
    target = np.asarray(fractions, float)
    stars = np.unique(groups)
    positives = np.array([labels[groups == s].sum() for s in stars])
    windows = np.array([(groups == s).sum() for s in stars])
    for has_transits in (True, False):
        subset = np.flatnonzero((positives > 0) == has_transits)
        weight = positives if has_transits else windows
        filled = np.zeros(3)
        order = subset[rng.permutation(len(subset))]
        order = order[np.argsort(-weight[order], kind="stable")]
        for star in order:
            total = filled.sum() + weight[star]
            deficit = target * total - filled
            side = int(np.argmax(deficit))
            filled[side] += weight[star]
            assignment[groups == stars[star]] = side
    return assignment


def star_sides(windows: pd.DataFrame, params: dict[str, Any]) -> np.ndarray:
    """Split side (0 train, 1 val, 2 test) of every window of the real pool, whole stars at once.

    Stars are dealt over the *whole* pool, not only the windows the seed tables
    use, so every real window of a star (injection hosts, KOI windows, non-KOI
    windows) sits on the one side its star was given.
    """
    rng = make_rng(params["seed"], "prepare", "split-stars")
    return split_by_group(
        windows["kepid"].to_numpy(), windows["label"].to_numpy(), params["prepare"]["split"], rng
    )
