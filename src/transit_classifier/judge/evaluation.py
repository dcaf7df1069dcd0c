"""Honest evaluation: thresholds from validation, test metrics with bootstrap intervals, figures.

The rules that keep the numbers honest live here as function signatures:
:func:`choose_threshold` sees only validation scores and labels, and every test
metric is computed once at that fixed threshold. The same functions score the
network and the Box Least Squares baseline, so the two are compared on the same
light curves by the same procedure (and, through the same seeded resamples, the
same bootstrap draws).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from astropy.stats import binom_conf_interval
from scipy import stats
from sklearn.metrics import (
    average_precision_score,
    classification_report,
    confusion_matrix,
    precision_recall_curve,
    roc_auc_score,
)

from transit_classifier.errors import UserError
from transit_classifier.seeding import make_rng

CLASS_NAMES = ("no_transit", "transit")
CONFIDENCE = 0.95


# ---------------------------------------------------------------------- thresholds


def choose_threshold(
    val_scores: np.ndarray, val_labels: np.ndarray, rule: str, target_fpr: float
) -> dict[str, Any]:
    """Pick the decision threshold on the validation split only.

    A light curve is called a transit when ``score >= threshold``.

    Parameters
    ----------
    val_scores, val_labels
        Validation scores (any monotone detection statistic) and 0/1 labels.
        The test split never enters, so the threshold cannot be tuned on it.
    rule
        ``max_f1``: the threshold maximising the transit F1 on validation.
        ``target_fpr``: the lowest threshold that flags at most ``target_fpr``
        of the validation negatives (the most recall for that false-alarm budget).
    target_fpr
        False-positive budget for ``target_fpr``.

    Returns
    -------
    dict
        ``value`` plus how it was chosen and what it achieves on validation.

    Raises
    ------
    UserError
        If the validation split holds a single class.
    """
    scores = np.asarray(val_scores, dtype=np.float64)
    labels = binary(val_labels)
    if labels.all() or not labels.any():
        raise UserError(
            "validation split holds a single class, so no decision threshold can be chosen; "
            "re-run prepare with more light curves or a larger dataset.transit_ratio"
        )
    if rule == "max_f1":
        value = _max_f1_threshold(scores, labels)
    elif rule == "target_fpr":
        value = threshold_at_fpr(scores[~labels], target_fpr)["value"]
    else:
        raise UserError(f"evaluate.threshold = {rule!r} is invalid; use max_f1 or target_fpr")
    chosen = {"value": value, "rule": rule, "chosen_on": "validation"}
    if rule == "target_fpr":
        chosen["target_fpr"] = float(target_fpr)
    return {**chosen, "validation": operating_point(labels, scores >= value)}


def _max_f1_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    precision, recall = precision[:-1], recall[:-1]
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
    return float(thresholds[int(np.argmax(f1))])


def threshold_at_fpr(negative_scores: np.ndarray, fpr: float) -> dict[str, Any]:
    """Lowest threshold flagging at most ``fpr`` of the validation negatives (score >= threshold).

    With ``n`` negatives the rate is resolvable only down to ``1 / n``; the
    count is reported so a 0.1% threshold set on 300 negatives is seen for what it is.
    """
    scores = np.sort(np.asarray(negative_scores, dtype=np.float64))[::-1]
    allowed = int(np.floor(fpr * scores.size + 1e-9))
    value = (
        float(scores[-1])
        if allowed >= scores.size
        else float(np.nextafter(scores[allowed], np.inf))
    )
    return {
        "value": value,
        "target_fpr": float(fpr),
        "n_negatives": int(scores.size),
        "allowed_false_positives": allowed,
        "validation_fpr": float(np.mean(scores >= value)) if scores.size else None,
        "chosen_on": "validation",
    }


def operating_point(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    tp = int(np.sum(labels & predicted))
    fp = int(np.sum(~labels & predicted))
    fn = int(np.sum(labels & ~predicted))
    n_neg = int(np.sum(~labels))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "fpr": fp / n_neg if n_neg else 0.0}


def binary(labels: np.ndarray) -> np.ndarray:
    return np.asarray(labels).astype(np.int64) == 1


# ------------------------------------------------------------------------- metrics


def confusion_counts(labels: np.ndarray, predicted: np.ndarray) -> dict[str, int]:
    """``tn, fp, fn, tp`` with both classes always present (a missing class counts 0)."""
    matrix = confusion_matrix(binary(labels), np.asarray(predicted, dtype=bool), labels=[0, 1])
    tn, fp, fn, tp = (int(v) for v in matrix.ravel())
    return {"tn": tn, "fp": fp, "fn": fn, "tp": tp}


def classification_summary(
    labels: np.ndarray, scores: np.ndarray, threshold: float
) -> dict[str, Any]:
    """Metrics of one labelled set at a fixed threshold.

    ROC-AUC and PR-AUC need both classes; for a single-class set (e.g. real
    windows that hold no transit) they are ``None`` and ``auc_note`` says why.
    The per-class table is scikit-learn's ``classification_report``.
    """
    y = binary(labels)
    scores = np.asarray(scores, dtype=np.float64)
    predicted = scores >= threshold
    summary: dict[str, Any] = {"n": int(y.size), "n_positive": int(y.sum())}
    if y.any() and not y.all():
        summary["roc_auc"] = float(roc_auc_score(y, scores))
        summary["pr_auc"] = float(average_precision_score(y, scores))
    else:
        present = CLASS_NAMES[int(y.any())]
        summary["roc_auc"] = summary["pr_auc"] = None
        summary["auc_note"] = (
            f"only {present} light curves (n={y.size}): ROC-AUC and PR-AUC need both classes"
        )
    summary["accuracy"] = float(np.mean(predicted == y)) if y.size else None
    summary["report"] = classification_report(
        y.astype(int),
        predicted.astype(int),
        labels=[0, 1],
        target_names=list(CLASS_NAMES),
        output_dict=True,
        zero_division=0,
    )
    summary["confusion"] = confusion_counts(y, predicted)
    return summary


# ----------------------------------------------------------------------- bootstrap


def resample_metrics(
    labels: np.ndarray, scores: np.ndarray, threshold: float, indices: np.ndarray
) -> dict[str, np.ndarray]:
    """ROC-AUC, PR-AUC and transit F1 of many resamples at once.

    Every resample is a multiset of the original light curves, so after one sort
    of the original scores each resample is just a row of counts in that order:
    cumulative true/false positives over the tied-score groups give its ROC and
    PR curves without re-sorting. Matches scikit-learn's ``roc_auc_score`` and
    ``average_precision_score`` (ties included) on each resample.

    Parameters
    ----------
    indices
        ``(n_resamples, n)`` indices into ``labels``/``scores``.

    Returns
    -------
    dict
        ``valid`` (resample holds both classes) and, for valid rows only,
        ``roc_auc``, ``pr_auc`` and ``f1``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    sorted_scores, sorted_y, group_ends, counts = _sorted_counts(binary(labels), scores, indices)
    tp = np.cumsum(counts * sorted_y, axis=1)[:, group_ends]
    fp = np.cumsum(counts * ~sorted_y, axis=1)[:, group_ends]
    positives, negatives = tp[:, -1], fp[:, -1]
    valid = (positives > 0) & (negatives > 0)
    tp, fp, positives, negatives = tp[valid], fp[valid], positives[valid], negatives[valid]
    zeros = np.zeros((len(tp), 1))
    tpr = np.hstack([zeros, tp / positives[:, None]])
    fpr = np.hstack([zeros, fp / negatives[:, None]])
    flagged = tp + fp
    precision = np.divide(tp, flagged, out=np.zeros(tp.shape), where=flagged > 0)

    predicted = sorted_scores >= threshold
    tp_at = (counts[valid] * (sorted_y & predicted)).sum(axis=1)
    fp_at = (counts[valid] * (~sorted_y & predicted)).sum(axis=1)
    fn_at = positives - tp_at
    return {
        "valid": valid,
        "roc_auc": np.trapezoid(tpr, fpr, axis=1),
        "pr_auc": np.sum(np.diff(tpr, axis=1) * precision, axis=1),
        "f1": 2 * tp_at / (2 * tp_at + fp_at + fn_at),
    }


def _sorted_counts(
    y: np.ndarray, scores: np.ndarray, indices: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sorted scores and labels, tied-score groups and every resample as counts, for one sort.

    Scores run high to low; ``group_ends`` holds the last position of each group
    of tied scores; ``counts[r, i]`` is how often resample ``r`` drew the ``i``-th
    sorted light curve.
    """
    n_resamples, n = indices.shape
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_y = scores[order], y[order]
    group_ends = np.flatnonzero(np.r_[sorted_scores[1:] != sorted_scores[:-1], True])
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    cells = (np.arange(n_resamples)[:, None] * n + rank[indices]).ravel()
    counts = np.bincount(cells, minlength=n_resamples * n).reshape(n_resamples, n)
    return sorted_scores, sorted_y, group_ends, counts


BOOTSTRAPPED = (("roc_auc", "roc_auc"), ("pr_auc", "pr_auc"), ("f1", "transit_f1"))


def bootstrap_intervals(
    labels: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    rng: np.random.Generator,
    n_resamples: int,
) -> dict[str, Any]:
    """95% percentile intervals of ROC-AUC, PR-AUC and transit F1 by ``scipy.stats.bootstrap``.

    scipy resamples the light curves' indices (one ``rng.integers`` draw, so the
    same seed gives the same intervals) and :func:`resample_metrics` scores all
    resamples at once. A resample holding one class has no AUC: it is NaN in
    the bootstrap distribution, counted in ``skipped_single_class`` and left out
    of the percentiles (scipy's own interval turns NaN as soon as one is there).
    ``n_positive`` is reported because with a handful of transits the interval
    is wide, and it should look wide.
    """
    y = binary(labels)
    distribution = np.full((len(BOOTSTRAPPED), n_resamples), np.nan)
    if y.any() and not y.all():  # else no resample can hold both classes

        def statistic(indices: np.ndarray, axis: int = -1) -> np.ndarray:
            rows = np.atleast_2d(indices)
            metrics = resample_metrics(y, scores, threshold, rows)
            values = np.full((len(BOOTSTRAPPED), len(rows)), np.nan)
            for i, (name, _) in enumerate(BOOTSTRAPPED):
                values[i, metrics["valid"]] = metrics[name]
            return values if indices.ndim > 1 else values[:, 0]

        with warnings.catch_warnings(action="ignore", category=stats.DegenerateDataWarning):
            distribution = stats.bootstrap(
                (np.arange(y.size),),
                statistic,
                n_resamples=n_resamples,
                vectorized=True,
                confidence_level=CONFIDENCE,
                method="percentile",
                rng=rng,
            ).bootstrap_distribution
    used = int(np.sum(~np.isnan(distribution[0])))
    out: dict[str, Any] = {"resamples": int(n_resamples), "used": used}
    out.update(skipped_single_class=n_resamples - used, confidence=CONFIDENCE)
    out["n_positive"] = int(y.sum())
    tails = [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2]
    for row, (_, key) in zip(distribution, BOOTSTRAPPED, strict=True):
        low, high = stats.quantile(row, tails, nan_policy="omit").tolist() if used else (None,) * 2
        out[key] = {"low": low, "high": high}
    if not used:
        out["note"] = "no resample holds both classes: intervals undefined"
    return out


def full_report(
    labels: np.ndarray,
    scores: np.ndarray,
    sources: np.ndarray,
    threshold: dict[str, Any],
    seed: int,
    n_resamples: int,
) -> dict[str, Any]:
    """The complete test report: overall, then per source, each with bootstrap intervals.

    The bootstrap streams are named by source only, so the network and the
    baseline are resampled identically (paired comparison).
    """
    labels, scores, sources = binary(labels), np.asarray(scores, float), np.asarray(sources)
    value = threshold["value"]

    def section(mask: np.ndarray, *stream: str) -> dict[str, Any]:
        summary = classification_summary(labels[mask], scores[mask], value)
        rng = make_rng(seed, "bootstrap", *stream)
        summary["bootstrap"] = bootstrap_intervals(
            labels[mask], scores[mask], value, rng, n_resamples
        )
        return summary

    report = {
        "split": "test",
        "threshold": value,
        "threshold_selection": {k: v for k, v in threshold.items() if k != "value"},
        **section(np.ones(labels.size, dtype=bool)),
    }
    report["by_source"] = {
        str(src): section(sources == src, str(src)) for src in sorted(np.unique(sources))
    }
    return report


# ------------------------------------------------------------------ binomial interval


def wilson_interval(hits: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95% Wilson score interval of a binomial proportion (sane at 0% and 100%, unlike Wald).

    astropy's ``binom_conf_interval``; where ``n`` is 0 (an empty MES bin) the
    bounds are NaN, as the proportion is, instead of astropy's error.
    """
    hits, n = np.broadcast_arrays(np.asarray(hits, float), np.asarray(n, float))
    low, high = np.full(n.shape, np.nan), np.full(n.shape, np.nan)
    some = n > 0
    if some.any():
        low[some], high[some] = binom_conf_interval(
            hits[some], n[some], confidence_level=CONFIDENCE, interval="wilson"
        )
    return low, high


# -------------------------------------------------------------------- tables, data


def real_by_star(
    kepid: np.ndarray,
    labels: np.ndarray,
    scores: dict[str, np.ndarray],
    thresholds: dict[str, float],
) -> dict[str, dict[str, Any]]:
    """Per-star summary of real test windows: how many, how many hold a transit, how many flagged.

    ``scores`` and ``thresholds`` are keyed by method (e.g. ``model``, ``bls``).
    """
    kepid, y = np.asarray(kepid), binary(labels)
    stars: dict[str, dict[str, Any]] = {}
    for star in np.unique(kepid):
        mask = kepid == star
        row: dict[str, Any] = {"windows": int(mask.sum()), "transit_windows": int(y[mask].sum())}
        for method, values in scores.items():
            flagged = np.asarray(values)[mask] >= thresholds[method]
            prefix = "" if method == "model" else f"{method}_"
            row[f"{prefix}flagged_windows"] = int(flagged.sum())
            row[f"{prefix}true_positive_windows"] = int((flagged & y[mask]).sum())
            row[f"{prefix}max_score"] = float(np.max(np.asarray(values)[mask]))
        stars[str(int(star))] = row
    return stars
