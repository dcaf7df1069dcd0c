"""Injection-recovery and real-transit recall, binned by MES-like SNR, with the ideal ceiling.

Every method (the network, the classical baseline) is scored the same way:
its thresholds come from validation negatives at the false-positive rates in
params (``evaluate.target_fpr``, ``evaluate.strict_fpr``), then recall is
counted per MES bin on injections it never saw, with Wilson 95% intervals, and
next to it the recall of an ideal known-ephemeris matched filter at the same
false-alarm rate (:func:`injection.matched_filter_recall`), the ceiling no
search can beat on average.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from transit_classifier.simulate.injection import matched_filter_recall

from .evaluation import wilson_interval

KEPLER_MES = 7.1  # Kepler's detection threshold on the multiple-event statistic
HIGH_MES = 10.0
HEADLINE_BINS = ((KEPLER_MES, HIGH_MES), (HIGH_MES, 15.0), (15.0, 20.0), (20.0, 30.0))


def bin_index(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Bin of each value in ``[edges[i], edges[i+1])``; -1 outside (or NaN)."""
    edges = np.asarray(edges, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    bins = np.searchsorted(edges, values, side="right") - 1
    inside = np.isfinite(values) & (bins >= 0) & (bins < edges.size - 1)
    return np.where(inside, bins, -1)


def recall_table(
    mes: np.ndarray,
    detected: dict[str, np.ndarray],
    edges: Sequence[float],
    ceilings: dict[str, float],
) -> pd.DataFrame:
    """Recall per MES bin of each detection mask, Wilson intervals, and ideal ceilings.

    Parameters
    ----------
    mes
        MES-like SNR of each transit.
    detected
        Boolean masks keyed by column name (e.g. ``network_fpr_1pct``).
    edges
        Bin edges.
    ceilings
        ``{name: false_alarm}``: adds ``ceiling_<name>``, the mean ideal
        matched-filter recall over the transits of each bin.
    """
    edges = np.asarray(edges, dtype=np.float64)
    n_bins = edges.size - 1
    bins = bin_index(mes, edges)
    inside = bins >= 0
    counts = np.bincount(bins[inside], minlength=n_bins)
    table = pd.DataFrame(
        {
            "mes_bin_low": edges[:-1],
            "mes_bin_high": edges[1:],
            "mes_bin_center": (edges[:-1] + edges[1:]) / 2,
            "n": counts,
        }
    )
    for name, flags in detected.items():
        hits = np.bincount(bins[inside], weights=np.asarray(flags, float)[inside], minlength=n_bins)
        low, high = wilson_interval(hits, counts)
        with np.errstate(invalid="ignore", divide="ignore"):
            table[f"recall_{name}"] = hits / counts
        table[f"recall_{name}_low"], table[f"recall_{name}_high"] = low, high
    for name, false_alarm in ceilings.items():
        ideal = matched_filter_recall(np.asarray(mes)[inside], false_alarm)
        with np.errstate(invalid="ignore", divide="ignore"):
            table[f"ceiling_{name}"] = (
                np.bincount(bins[inside], weights=ideal, minlength=n_bins) / counts
            )
    return table


def headline(mes: np.ndarray, detected: np.ndarray) -> dict[str, Any]:
    """Recall (and count) in the bins the targets are stated in, plus MES >= 10 overall."""
    mes, detected = np.asarray(mes, float), np.asarray(detected, bool)
    out: dict[str, Any] = {}
    for low, high in (*HEADLINE_BINS, (HIGH_MES, np.inf)):
        inside = (mes >= low) & (mes < high)
        name = f"mes_{low:g}_to_{high:g}" if np.isfinite(high) else f"mes_ge_{low:g}"
        name = name.replace(".", "p")
        out[f"recall_{name}"] = float(detected[inside].mean()) if inside.any() else None
        out[f"n_{name}"] = int(inside.sum())
    return out


def head_to_head(
    mes: np.ndarray, first: np.ndarray, second: np.ndarray, edges: Sequence[float]
) -> pd.DataFrame:
    """Per MES bin: transits found by both, by the first only, by the second only, by neither."""
    bins = bin_index(mes, edges)
    first, second = np.asarray(first, bool), np.asarray(second, bool)
    rows = []
    for i in range(len(edges) - 1):
        inside = bins == i
        a, b = first[inside], second[inside]
        rows.append(
            {
                "mes_bin_low": float(edges[i]),
                "mes_bin_high": float(edges[i + 1]),
                "both": int((a & b).sum()),
                "first_only": int((a & ~b).sum()),
                "second_only": int((~a & b).sum()),
                "neither": int((~a & ~b).sum()),
            }
        )
    return pd.DataFrame(rows)


def flag_rate(scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """Share of windows flagged at ``threshold``, with its Wilson interval and counts."""
    flagged = np.asarray(scores, float) >= threshold
    n, hits = flagged.size, int(flagged.sum())
    low, high = wilson_interval(np.array([hits]), np.array([n]))
    return {
        "flagged": hits,
        "n": int(n),
        "rate": hits / n if n else None,
        "rate_low": float(low[0]) if n else None,
        "rate_high": float(high[0]) if n else None,
    }
