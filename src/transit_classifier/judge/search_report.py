"""Figures of the ``search`` stage: thresholds from the null, false-alarm rates, recall.

Every rate comes with its count and a Wilson interval. Thresholds are set on the null light
curves of training and validation stars only; the test stars are scored once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import norm

from transit_classifier.search.calibration import POINTS
from transit_classifier.search.flatten import SearchGrid, detrended
from transit_classifier.search.grid import period_grid
from transit_classifier.search.null import NullModel
from transit_classifier.search.settings import SearchSettings
from transit_classifier.simulate.injection import mes as mes_of
from transit_classifier.simulate.orbits import transit_offset

from .evaluation import wilson_interval
from .search_injection import Injection, match, transits_with_data
from .search_run import Found
from .search_sets import Quarter

MES_BINS = {"mes_7p1_to_10": (7.1, 10.0), "mes_10_to_15": (10.0, 15.0), "mes_ge_15": (15.0, np.inf)}
KOI_MIN_TRANSITS = 3
KOI_MIN_MES = 10.0


def rate(hits: int, n: int) -> dict[str, Any]:
    """A proportion with its count and 95% Wilson interval."""
    low, high = wilson_interval(np.array([hits]), np.array([n]))
    value = hits / n if n else None
    return {
        "rate": value,
        "hits": int(hits),
        "n": int(n),
        "low": float(low[0]),
        "high": float(high[0]),
    }


def null_models(null: list[Found]) -> dict[str, NullModel]:
    """One null distribution per candidate kind of the method."""
    return {k: NullModel.fit(np.array([f.scores[k] for f in null])) for k in null[0].scores}


def thresholds(null: list[Found]) -> dict[str, dict[str, float]]:
    """Per-light-curve thresholds at each FAP of :data:`POINTS` (:class:`NullModel`).

    A method that calibrates several candidate kinds apart (the search: periodic trains and
    single events) splits the FAP evenly between them, so a light curve flagged by any kind
    stays within the FAP.
    """
    models = null_models(null)
    return {
        point: {k: model.threshold(fap / len(models)) for k, model in models.items()}
        for point, fap in POINTS.items()
    }


def flagged(found: Found, cut: dict[str, float]) -> bool:
    """Whether any kind's best score reaches its threshold."""
    return any(found.scores[k] >= value for k, value in cut.items())


def _passes(candidate: Any, cut: dict[str, float]) -> bool:
    return candidate.score >= cut.get(candidate.kind, cut.get("any", np.inf))


def false_alarms(found: list[Found], cuts: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Light curves flagged at each operating point."""
    return {
        name: rate(sum(flagged(f, cut) for f in found), len(found)) for name, cut in cuts.items()
    }


def outcome(found: Found, truth: Injection, cut: dict[str, float]) -> str | None:
    """How the best-matching candidate above its threshold relates to the injection, if any.

    A method without candidates (the window network) counts as finding the transit when it
    flags the light curve: it gives no period to be wrong about."""
    if not found.candidates:
        return "right" if flagged(found, cut) else None
    kinds = [match(c, truth) for c in found.candidates if _passes(c, cut)]
    for kind in ("right", "half", "double", "other"):
        if kind in kinds:
            return kind
    return None


def recall(
    found: list[Found], truth: list[Injection], cuts: dict[str, dict[str, float]]
) -> dict[str, Any]:
    """Recall (right period and epoch) per MES bin and per period bin, aliases counted apart."""
    mes = np.array([t.mes for t in truth])
    period_bin = np.array([t.period_bin for t in truth])
    out: dict[str, Any] = {}
    for point, cut in cuts.items():
        kinds = np.array(
            [outcome(f, t, cut) or "missed" for f, t in zip(found, truth, strict=True)]
        )
        block: dict[str, Any] = {}
        for name, (lo, hi) in MES_BINS.items():
            sel = (mes >= lo) & (mes < hi)
            block[name] = rate(int(np.sum(kinds[sel] == "right")), int(sel.sum()))
            block[name]["aliases"] = int(np.sum(np.isin(kinds[sel], ("half", "double"))))
        for name in np.unique(period_bin):
            sel = (period_bin == name) & (mes >= 7.1)
            block[f"period_{name}"] = rate(int(np.sum(kinds[sel] == "right")), int(sel.sum()))
        out[point] = block
    return out


def period_right_share(
    found: list[Found], truth: list[Injection], cut: dict[str, float]
) -> dict[str, Any]:
    """Of injections recovered at ``cut`` (a candidate's transit where one was injected) with
    3+ transits and MES >= 10, the share whose period is right (not an alias, not another)."""
    kinds = [
        outcome(f, t, cut)
        for f, t in zip(found, truth, strict=True)
        if t.n_transits >= 3 and t.mes >= 10
    ]
    recovered = [k for k in kinds if k is not None]
    return rate(sum(k == "right" for k in recovered), len(recovered))


def ideal_recall(truth: list[Injection], trials: float) -> dict[str, Any]:
    """Recall of an ideal searching detector in white noise: the injected MES plus unit
    Gaussian noise above the level that ``trials`` independent tests exceed with the FAP."""
    mes = np.array([t.mes for t in truth])
    out = {}
    for point, fap in POINTS.items():
        level = norm.isf(fap / trials)
        found = norm.sf(level - mes)
        out[point] = {
            name: float(found[(mes >= lo) & (mes < hi)].mean())
            for name, (lo, hi) in MES_BINS.items()
        }
        out[point]["threshold_mes"] = float(level)
    return out


def trials(grids: list[SearchGrid], settings: SearchSettings) -> float:
    """Independent (period, epoch, duration) tests of the search on a median-length light curve:
    per duration, the grid's periods over the oversampling, times the epochs a period holds."""
    span = float(np.median([g.span_days for g in grids]))
    dt = settings.cadence_days
    total = 0.0
    for hours in settings.durations_hours:
        width = max(1, int(round(hours / 24.0 / dt)))
        periods = period_grid(
            span, width, dt, period_min=settings.period_min_days,
            min_transits=settings.min_transits, oversample=settings.oversample,
        )  # fmt: skip
        total += float(np.sum(periods / (width * dt))) / settings.oversample
    return max(total, 1.0)


def _koi_truth(quarter: Quarter, koi: Any, flat: SearchGrid) -> Injection | None:
    """A confirmed KOI of the quarter as an injection-like truth, if it has a usable ephemeris."""
    if not (np.isfinite(koi.koi_period) and koi.koi_period > 0 and koi.koi_depth > 0):
        return None
    grid, duration = quarter.grid, koi.koi_duration / 24.0
    inside = np.abs(transit_offset(grid.time, koi.koi_period, koi.koi_time0bk)) < duration / 2
    observed = np.isfinite(grid.flux)
    if not (inside & observed).any():
        return None
    n_dur = np.array([max(int(round(duration / grid.cadence_days)), 1)])
    profile = np.where(inside, koi.koi_depth * 1e-6, 0.0)
    mes = mes_of(flat.flux[None] + 1.0, profile[None], observed[None], n_dur)[0]
    n = transits_with_data(grid, koi.koi_period, koi.koi_time0bk, duration)
    return Injection(grid, float(koi.koi_period), float(koi.koi_time0bk), duration, float(mes), n)


def koi_recovery(
    hosts: list[Quarter], found: list[Found], cut: dict[str, float], settings: SearchSettings
) -> dict[str, Any]:
    """Test stars' confirmed KOIs with 3+ transits in a quarter and expected MES >= 10: the
    share found with the right period among the candidates above ``cut``."""
    hits, rows = 0, []
    for quarter, result in zip(hosts, found, strict=True):
        flat = detrended(quarter.grid, settings.detrend_window_days)
        for koi in quarter.kois.itertuples():
            truth = _koi_truth(quarter, koi, flat) if koi.koi_disposition == "CONFIRMED" else None
            if truth is None or truth.n_transits < KOI_MIN_TRANSITS or truth.mes < KOI_MIN_MES:
                continue
            right = outcome(result, truth, cut) == "right"
            hits += right
            rows.append({"quarter": quarter.grid.name, "koi": koi.kepoi_name, "found": right})
    return {**rate(hits, len(rows)), "kois": rows}


def headline(results: dict[str, Any]) -> dict[str, Any]:
    """The search figures ``metrics/evaluate.json`` carries (``search`` section), by the names
    ``dvc metrics diff`` compares across runs."""
    strict = results["search"]["recall"]["fap_0p1pct"]
    quiet = results["search"]["false_alarms"]["quiet_test_quarters"]
    base = results["baseline"]["recall"]["fap_0p1pct"]
    return {
        "recall_fap_0p1pct_mes_7p1_to_10": strict["mes_7p1_to_10"]["rate"],
        "recall_fap_0p1pct_mes_10_to_15": strict["mes_10_to_15"]["rate"],
        "recall_fap_0p1pct_mes_ge_15": strict["mes_ge_15"]["rate"],
        "quiet_quarter_far_1pct": quiet["fap_1pct"]["rate"],
        "quiet_quarter_far_0p1pct": quiet["fap_0p1pct"]["rate"],
        "koi_period_recovered": results["koi"]["rate"],
        "baseline_recall_fap_0p1pct_mes_7p1_to_10": base["mes_7p1_to_10"]["rate"],
    }
