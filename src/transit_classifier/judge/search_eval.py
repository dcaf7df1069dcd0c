"""The ``search`` stage in memory: calibrate the false-alarm probability, then judge the search.

1. Null light curves from training and validation stars (:func:`.search_sets.null_curves`)
   give each method its per-light-curve thresholds at FAP 1% and 0.1%.
2. Test stars only: non-KOI quarters and inverted quarters measure the false-alarm rate;
   batman transits injected into the non-KOI quarters measure recall by MES and period;
   confirmed KOIs measure whether real planets come out with the right period.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from transit_classifier.learn.cadence_head import load_head
from transit_classifier.learn.model import load_classifier
from transit_classifier.search.calibration import SearchCalibration
from transit_classifier.search.settings import SearchSettings
from transit_classifier.seeding import make_rng
from transit_classifier.sources.mast import load_source

from . import search_report as report
from .search_injection import Injection, injections
from .search_run import Found, grid_evidence, run_baseline, run_search, window_scores
from .search_sets import Quarter, inverted, null_curves, quarters, star_sides


@dataclass(frozen=True)
class Sets:
    """Every light curve the stage scores, by role."""

    null: list
    quiet: list  # test non-KOI quarters
    upside_down: list  # every test quarter, inverted
    injected: list[Injection]
    hosts: list[Quarter]  # test KOI hosts, as observed


def build_sets(params: dict[str, Any], prepared: Path, settings: SearchSettings) -> Sets:
    """The stage's light curves, drawn with the ``search`` random stream."""
    found = params["search"]
    stars, koi, _ = load_source(params["kepler"])
    every = quarters(stars, koi, star_sides(prepared), settings.cadence_days)
    calibration = [q for q in every if q.side in ("train", "val")]
    test = [q for q in every if q.side == "test"]
    rng = make_rng(params["seed"], "search")
    null = null_curves(calibration, settings, found["null_scrambles"], found["scramble_days"], rng)
    quiet = [q.grid for q in test if not q.is_host]
    bins = [tuple(b) for b in zip(found["mes_bins"][:-1], found["mes_bins"][1:], strict=True)]
    injected = injections(
        quiet, bins, found["injections_per_bin"], tuple(found["inject_period_days"]),
        settings.detrend_window_days, params, rng,
    )  # fmt: skip
    hosts = [q for q in test if q.is_host]
    return Sets(null, quiet, [inverted(q.grid, settings) for q in test], injected, hosts)


def _split(found: list[Found], sizes: list[int]) -> list[list[Found]]:
    edges = np.cumsum([0, *sizes])
    return [found[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _judge(sets: Sets, found: list[Found], injected: list[Injection]) -> dict[str, Any]:
    """Thresholds, false-alarm rates and recall of one method from its scores on ``sets``."""
    null, quiet, flipped, inj = _split(
        found, [len(sets.null), len(sets.quiet), len(sets.upside_down), len(injected)]
    )
    cuts = report.thresholds(null)
    return {
        "n_null": len(null),
        "thresholds": cuts,
        "false_alarms": {
            "quiet_test_quarters": report.false_alarms(quiet, cuts),
            "inverted_test_quarters": report.false_alarms(flipped, cuts),
        },
        "recall": report.recall(inj, injected, cuts),
        "period_right": report.period_right_share(inj, injected, cuts["fap_0p1pct"]),
    }


def _evidence(
    settings: SearchSettings, grids: list, model: Any, info: dict[str, Any], head_dir: Path
) -> list | None:
    """Each grid's learned series when the statistic folds it, else None."""
    if not settings.learned:
        return None
    return grid_evidence(grids, load_head(head_dir, model, info), info)


def evaluate_search(
    params: dict[str, Any], prepared: Path, checkpoint: Path, head_dir: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stage's report and the calibration the release ships (settings and null scores)."""
    settings = SearchSettings.from_params(params)
    start = time.perf_counter()
    sets = build_sets(params, prepared, settings)
    model, info = load_classifier(checkpoint)
    grids = [*sets.null, *sets.quiet, *sets.upside_down, *[i.grid for i in sets.injected]]
    evidence = _evidence(settings, [*grids, *[q.grid for q in sets.hosts]], model, info, head_dir)
    # every light curve gets all its candidates, as predict reports them: nulls included
    found = run_search([*grids, *[q.grid for q in sets.hosts]], settings, None, evidence)
    searched = time.perf_counter() - start
    results = {"search": _judge(sets, found[: len(grids)], sets.injected)}
    results["koi"] = report.koi_recovery(
        sets.hosts, found[len(grids) :], results["search"]["thresholds"]["fap_0p1pct"], settings
    )
    network = [Found({"any": float(s)}, ()) for s in window_scores(grids, model, info)]
    results["window_network"] = _judge(sets, network, sets.injected)
    results["baseline"] = _baseline(params, sets, settings)
    results["ideal"] = report.ideal_recall(sets.injected, report.trials(sets.quiet, settings))
    total = time.perf_counter() - start  # printed, never stored: outputs must not depend on it
    print(f"search stage: {searched:.0f} s searching, {total:.0f} s in all")
    calibration = SearchCalibration(settings, report.null_models(found[: len(sets.null)]))
    calibration = {**calibration.to_dict(), "thresholds": results["search"]["thresholds"]}
    return results, calibration


def _baseline(params: dict[str, Any], sets: Sets, settings: SearchSettings) -> dict[str, Any]:
    """The wotan + BLS baseline on a seeded subset of the same light curves (it is slow)."""
    found = params["search"]
    rng = make_rng(params["seed"], "search", "baseline")
    pick = np.sort(rng.permutation(len(sets.null))[: found["baseline_nulls"]])
    per_bin = found["baseline_per_bin"]
    keep = np.concatenate(
        [np.flatnonzero(np.array([lo <= i.mes < hi for i in sets.injected]))[:per_bin]
         for lo, hi in zip(found["mes_bins"][:-1], found["mes_bins"][1:], strict=True)]
    )  # fmt: skip
    subset = Sets(
        [sets.null[i] for i in pick], sets.quiet, sets.upside_down,
        [sets.injected[i] for i in keep], sets.hosts,
    )  # fmt: skip
    grids = [*subset.null, *subset.quiet, *subset.upside_down, *[i.grid for i in subset.injected]]
    return _judge(
        subset, run_baseline(grids, params, settings.detrend_window_days), subset.injected
    )
