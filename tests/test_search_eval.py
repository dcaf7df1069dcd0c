"""The search stage's parts: light curves by split, DR25 nulls, injections and the rules that
judge a detection (period within 0.1%, aliases apart, epoch within half a duration)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support import ROOT, tiny_search_calibration

from transit_classifier.judge import search_report as report
from transit_classifier.judge.search_injection import Injection, inject_one, match
from transit_classifier.judge.search_run import Found
from transit_classifier.judge.search_sets import Quarter, inverted, koi_masked, scrambled
from transit_classifier.params import load_params
from transit_classifier.search.candidates import Candidate
from transit_classifier.search.flatten import SearchGrid, detrended
from transit_classifier.simulate.settings import SimulateSettings

DT = 29.4244 / 1440
PARAMS = load_params(ROOT / "params.yaml")
SETTINGS = tiny_search_calibration().settings


def quiet(days: float = 60.0, seed: int = 0, sigma: float = 2e-4) -> SearchGrid:
    time = 200.0 + np.arange(int(days / DT)) * DT
    flux = 1 + sigma * np.random.default_rng(seed).standard_normal(time.size)
    flux[1000:1040] = np.nan  # a downlink gap
    return SearchGrid("quiet", time, flux, np.zeros(time.size, np.int64), DT)


def candidate(period: float | None, times: list[float], score: float = 20.0) -> Candidate:
    return Candidate(
        period=period, period_err=None, epoch=times[0], epoch_err=None, duration_hours=3.0,
        depth_ppm=500.0, depth_err_ppm=50.0, mes=score, score=score, n_transits=len(times),
        odd_even_sigma=0.0, secondary_depth_ppm=0.0, transit_times=times, single_event_ses=[],
        kind="periodic" if period else "single",
    )  # fmt: skip


def truth(n_transits: int = 5) -> Injection:
    return Injection(quiet(), period=4.0, t0=201.0, duration_days=0.125, mes=12.0,
                     n_transits=n_transits)  # fmt: skip


def test_detection_needs_the_right_epoch_and_counts_aliases_apart() -> None:
    right = candidate(4.002, [201.01, 205.012])
    assert match(right, truth()) == "right"
    assert match(candidate(8.0, [201.0, 209.0]), truth()) == "double"
    assert match(candidate(2.0, [201.0, 203.0]), truth()) == "half"
    assert match(candidate(4.0, [202.0, 206.0]), truth()) is None  # a day off: not it
    assert match(candidate(4.1, [201.0]), truth()) == "other"  # right place, wrong period
    assert match(candidate(None, [201.0]), truth(n_transits=1)) == "right"


def test_injection_reaches_its_mes_and_the_search_finds_it() -> None:
    rng = np.random.default_rng(1)
    host = quiet()
    flat = detrended(host, SETTINGS.detrend_window_days)
    made = inject_one(host, flat, 15.0, 3.3, SimulateSettings.from_params(PARAMS), rng)
    assert made.mes == 15.0 and made.n_transits >= 15 and made.period_bin == "2_to_10"
    assert np.nanmin(made.grid.flux) < np.nanmin(host.flux)  # the dips went into the raw flux
    result = SETTINGS.run(made.grid)
    best = result.candidates[0]
    assert match(best, made) == "right" and 9.0 < best.mes < 21.0


def test_nulls_leave_no_transit_to_find() -> None:
    host = quiet()
    dipped = host.flux.copy()
    dipped[np.abs((host.time - 201.0 + 2.0) % 4.0 - 2.0) < 0.06] -= 0.003
    grid = SearchGrid("planet", host.time, dipped, host.segment, DT)
    kois = pd.DataFrame({
        "kepid": [1], "kepoi_name": ["K1.01"], "koi_disposition": ["CONFIRMED"],
        "koi_period": [4.0], "koi_time0bk": [201.0], "koi_duration": [3.0], "koi_depth": [3000.0],
    })  # fmt: skip
    assert SETTINGS.run(grid).candidates[0].mes > 30
    for null in (inverted(grid, SETTINGS), koi_masked(Quarter(1, "train", grid, kois))):
        found = SETTINGS.run(null, 1)
        assert found.best("periodic") < 10, null.name
    mixed = scrambled(host, SETTINGS, 3.0, np.random.default_rng(2))  # non-hosts only
    flat = SETTINGS.flat(host).flux + 1.0
    assert np.array_equal(
        np.sort(mixed.flux[np.isfinite(mixed.flux)]), np.sort(flat[np.isfinite(flat)])
    )
    assert not np.array_equal(mixed.flux, flat, equal_nan=True)


def test_thresholds_flags_and_rates() -> None:
    rng = np.random.default_rng(3)
    null = [Found({"periodic": p, "single": s}, ()) for p, s in rng.gumbel(6, 1, (2000, 2))]
    cuts = report.thresholds(null)
    assert cuts["fap_0p1pct"]["periodic"] > cuts["fap_1pct"]["periodic"] > 8
    flagged = report.false_alarms(null, cuts)["fap_1pct"]
    assert flagged["n"] == 2000 and 0.005 < flagged["rate"] <= 0.0105  # within the FAP
    assert report.rate(0, 10) == pytest.approx(
        {"rate": 0.0, "hits": 0, "n": 10, "low": 0.0, "high": 0.2775}, abs=1e-3
    )
