"""The learned statistic folded by the search (search/learned.py, SearchSettings.statistic)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from support import CADENCE_D, tiny_search_calibration

from transit_classifier.errors import UserError
from transit_classifier.search import learned
from transit_classifier.search.candidates import search
from transit_classifier.search.flatten import SearchGrid
from transit_classifier.search.settings import SearchSettings


def test_windows_cover_every_cadence_a_quarter_window_apart() -> None:
    starts = learned.window_starts(1100, 400)
    assert starts.tolist() == [0, 100, 200, 300, 400, 500, 600, 700]
    assert learned.window_starts(300, 400).tolist() == [0]


def test_evidence_is_the_mean_over_covering_windows_and_nan_at_gaps() -> None:
    flux = np.ones(500)
    flux[100:110] = np.nan
    seen = []

    def logits(windows: np.ndarray) -> np.ndarray:
        seen.append(windows.shape)
        return np.tile(np.arange(windows.shape[1], dtype=float), (len(windows), 1))

    evidence = learned.cadence_evidence(flux, 200, logits)
    assert seen == [(7, 200)]
    assert np.isnan(evidence[100:110]).all()
    assert evidence[0] == 0.0  # only the first window covers cadence 0, at its index 0
    assert evidence[60] == pytest.approx(np.mean([60, 10]))  # windows starting at 0 and 50


def test_short_and_sparse_light_curves_get_what_can_be_scored() -> None:
    def logits(windows: np.ndarray) -> np.ndarray:
        return np.ones(windows.shape)

    short = learned.cadence_evidence(np.ones(120), 200, logits)  # 60% of a window: scored
    assert short.shape == (120,) and (short == 1).all()
    sparse = learned.cadence_evidence(np.r_[np.ones(50), np.full(150, np.nan)], 200, logits)
    assert np.isnan(sparse).all()  # no window is half full


def test_dips_are_standardised_and_point_down() -> None:
    rng = np.random.default_rng(0)
    evidence = rng.standard_normal(5000) * 3 + 7
    evidence[:5] = 40.0
    dips = learned.as_dips(evidence)
    assert abs(np.median(dips)) < 1e-12 and dips[0] < -8
    assert np.isnan(learned.as_dips(np.full(10, 2.0))).all()  # no scatter: no statistic


def test_a_periodic_train_of_evidence_is_found_at_its_period() -> None:
    rng = np.random.default_rng(3)
    n, period = 4000, 3.7
    time = np.arange(n) * CADENCE_D
    evidence = rng.standard_normal(n)
    phase = (time - 1.1) % period
    evidence[phase < 0.12] += 2.5  # ~6 cadences of each of ~22 transits
    dips = learned.as_dips(evidence)
    flux = 1e-4 * rng.standard_normal(n)  # no dip in the flux at all
    result = search(time, flux, ses=learned.learned_ses(dips), max_candidates=1)
    assert result.candidates and result.candidates[0].period == pytest.approx(period, rel=1e-3)
    box = search(time, flux, max_candidates=1).candidates  # the flux alone holds no transit
    assert not box or box[0].period != pytest.approx(period, rel=1e-3)


def test_combined_series_adds_the_flux_in_units_of_its_scatter() -> None:
    rng = np.random.default_rng(4)
    flat, dips = 1e-3 * rng.standard_normal(2000), rng.standard_normal(2000)
    assert learned.folded_series("learned", flat, dips, CADENCE_D) is dips
    both = learned.folded_series("combined", flat, dips, CADENCE_D)
    assert np.std(both) == pytest.approx(1.0, rel=0.1)
    assert np.corrcoef(both, dips)[0, 1] == pytest.approx(np.sqrt(0.5), abs=0.05)
    unscored = learned.folded_series("combined", flat, np.full(2000, np.nan), CADENCE_D)
    assert np.isfinite(unscored).all() and np.std(unscored) == pytest.approx(1.0, rel=0.1)


def _grid(n: int = 1500) -> SearchGrid:
    time = 100 + np.arange(n) * CADENCE_D
    flux = 1 + 1e-4 * np.random.default_rng(5).standard_normal(n)
    return SearchGrid(
        name="star", time=time, flux=flux, segment=np.zeros(n, int), cadence_days=CADENCE_D
    )


def test_a_learned_search_without_evidence_is_refused() -> None:
    calibration = tiny_search_calibration("combined")
    with pytest.raises(UserError, match="needs the cadence head"):
        calibration.run(_grid())
    with pytest.raises(UserError, match="needs the network's evidence"):
        calibration.settings.run(_grid())


def test_the_statistic_survives_the_release_and_a_bad_one_is_refused() -> None:
    settings = tiny_search_calibration("combined").settings
    assert SearchSettings.from_dict(settings.to_dict(), "x").statistic == "combined"
    with pytest.raises(UserError, match="invalid values"):
        SearchSettings.from_dict({**settings.to_dict(), "statistic": "psychic"}, "x")
    boxed = replace(settings, statistic="box")
    assert not boxed.learned and boxed.run(_grid()).n_cadences == 1500


def test_a_release_from_before_the_statistic_folds_the_box() -> None:
    record = tiny_search_calibration("combined").settings.to_dict()
    del record["statistic"]
    assert SearchSettings.from_dict(record, "x").statistic == "box"


def test_candidates_of_a_learned_search_carry_their_depth_in_flux() -> None:
    settings = replace(tiny_search_calibration("learned").settings, max_candidates=1)
    grid = _grid(3000)
    depth = 2e-3
    flux = grid.flux.copy()
    flux[((grid.time - 100.5) % 3.3) < 0.15] -= depth
    evidence = np.where(((grid.time - 100.5) % 3.3) < 0.15, -8.0, 0.0)
    evidence = evidence + np.random.default_rng(9).standard_normal(grid.time.size)
    (found,) = settings.run(replace(grid, flux=flux), evidence=evidence).candidates
    assert found.period == pytest.approx(3.3, rel=2e-3)
    assert found.depth_ppm == pytest.approx(depth * 1e6, rel=0.25)  # flux, not the series' units
    assert abs(found.secondary_depth_ppm) < 100 and found.odd_even_sigma < 3
