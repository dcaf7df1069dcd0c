"""The search wing on synthetic light curves: periods, epochs, kinds, the fold, the null."""

import batman
import numpy as np
import pytest

from transit_classifier.search.candidates import search
from transit_classifier.search.fold import fold_periodogram
from transit_classifier.search.null import NullModel, fap, threshold_at_fap
from transit_classifier.search.ses import box_single_event_stats
from transit_classifier.search.stats import OTHER_FEATURE_FREE_SIGMA, other_feature_sigma, phase_mes

KEPLER_LC_DAYS = 29.4244 / 1440.0

NOISE = 1e-4
N_CADENCES = 4400


def _white(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return 100.0 + np.arange(N_CADENCES) * KEPLER_LC_DAYS, rng.normal(0.0, NOISE, N_CADENCES)


def _box(time, period, t0, dur_days, depth):
    phase = (time - t0 + 0.5 * period) % period - 0.5 * period
    return np.where(np.abs(phase) < dur_days / 2, -depth, 0.0)


def _batman(time, period, t0, rp, a=15.0):
    params = batman.TransitParams()
    params.t0, params.per, params.rp, params.a, params.inc = t0, period, rp, a, 90.0
    params.ecc, params.w, params.limb_dark, params.u = 0.0, 90.0, "quadratic", [0.4, 0.2]
    model = batman.TransitModel(params, time, supersample_factor=5, exp_time=KEPLER_LC_DAYS)
    return model.light_curve(params) - 1.0


def _matches(cand, period, t0, dur_days):
    if cand.period is None or abs(cand.period / period - 1) > 1e-3:
        return False
    offset = (cand.epoch - t0 + 0.5 * period) % period - 0.5 * period
    return abs(offset) < dur_days / 2


def test_recovers_batman_transit():
    time, flux = _white(1)
    flux = flux + _batman(time, 5.3, 102.1, 0.014)
    res = search(time, flux, max_candidates=2)
    best = res.candidates[0]
    assert best.kind == "periodic"
    assert _matches(best, 5.3, 102.1, 3.0 / 24)
    assert res.periods.size == res.power.size > 1000


def test_two_planets_two_candidates():
    time, flux = _white(2)
    flux = flux + _box(time, 3.1, 100.7, 2.5 / 24, 2.5e-4) + _box(time, 11.3, 104.2, 5 / 24, 3e-4)
    res = search(time, flux, max_candidates=3)
    found = [c for c in res.candidates if c.kind == "periodic"]
    assert any(_matches(c, 3.1, 100.7, 2.5 / 24) for c in found)
    assert any(_matches(c, 11.3, 104.2, 5 / 24) for c in found)


def test_single_event_is_single():
    time, flux = _white(3)
    flux[2000:2008] -= 1.5e-3
    res = search(time, flux, max_candidates=3)
    assert res.candidates[0].kind == "single"
    assert abs(res.candidates[0].epoch - time[2004]) < 0.2
    for cand in res.candidates:
        if cand.kind == "periodic":
            assert not any(abs(t - time[2004]) < 0.2 for t in cand.transit_times)


def test_odd_even_flags_eclipsing_binary():
    time, flux = _white(4)
    deep = _box(time, 4.0, 101.0, 3 / 24, 2e-3)
    shallow = _box(time, 4.0, 103.0, 3 / 24, 1e-3)
    res = search(time, flux + deep + shallow, max_candidates=1)
    best = res.candidates[0]
    assert _matches(best, 2.0, 101.0, 3 / 24)
    assert best.odd_even_sigma > 10


def test_flux_err_down_weights_noisy_cadences():
    """Every fifth cadence 5x noisier (say, a pointing jitter): the running scatter cannot
    follow it, the error bars can, and the weighted search measures the transit better."""
    err = np.full(N_CADENCES, NOISE)
    err[::5] *= 5.0
    time = _white(5)[0]
    flux = np.random.default_rng(5).normal(0.0, err) + _box(time, 6.2, 150.3, 3 / 24, 1.5e-4)
    with_err = search(time, flux, err, max_candidates=1).candidates[0]
    without = search(time, flux, max_candidates=1).candidates[0]
    assert _matches(with_err, 6.2, 150.3, 3 / 24) and with_err.mes > 10
    assert not _matches(without, 6.2, 150.3, 3 / 24)  # unweighted, the noise wins (this seed)


def test_gaps_do_not_create_candidates():
    time, flux = _white(6)
    for start in range(300, N_CADENCES, 700):
        flux[start : start + 60] = np.nan
    res = search(time, flux, max_candidates=3)
    assert res.candidates == [] or max(c.score for c in res.candidates) < 8.0


def test_fold_matches_brute_force():
    rng = np.random.default_rng(7)
    n = 300
    num = rng.normal(size=n)
    den = rng.uniform(0.5, 2.0, n)
    den[rng.random(n) < 0.2] = 0.0
    num[den == 0] = 0.0
    periods = np.array([7.3, 20.0, 33.7, 101.2])
    pg = fold_periodogram(num, den, periods, 1.0, 1, min_transits=2)
    for p, mes, j in zip(periods, pg.mes, pg.epoch_index, strict=True):
        best, best_j = -np.inf, -1
        for off in range(int(np.ceil(p))):
            idx = np.floor(off + np.arange(n) * p + 0.5).astype(int)
            idx = idx[idx < n]
            idx = idx[den[idx] > 0]
            if idx.size >= 2 and num[idx].sum() / np.sqrt(den[idx].sum()) > best:
                best, best_j = num[idx].sum() / np.sqrt(den[idx].sum()), off
        assert mes == pytest.approx(best) and j == best_j


def test_box_stats_drop_half_empty_boxes():
    flux = np.zeros(20)
    flux[5:8] = np.nan
    stats = box_single_event_stats(flux, np.ones(20), np.array([4]), 1.0)
    assert stats.denominator[0, 4] == 0.0 and stats.denominator[0, 5] == 0.0
    assert stats.denominator[0, 3] == 2.0 and stats.denominator[0, 6] == 2.0


def test_fap_and_threshold():
    null = np.arange(1.0, 100.0)
    assert fap(200.0, null) == pytest.approx(1 / 100)
    assert fap(0.0, null) == pytest.approx(1.0)
    assert fap(99.0, null) == pytest.approx(2 / 100)
    thr = threshold_at_fap(null, 0.02)
    assert fap(thr, null) <= 0.02 and fap(99.0, null) <= 0.02
    assert threshold_at_fap(null, 0.001) == np.inf


def test_null_model_counts_its_body_and_extrapolates_its_tail():
    rng = np.random.default_rng(3)
    null = NullModel.fit(rng.gumbel(6.0, 1.0, 2000))
    assert null.threshold(0.01) == pytest.approx(6.0 - np.log(-np.log(0.99)), abs=0.5)
    strict = null.threshold(0.0005)  # beyond what 2,000 nulls resolve by counting
    assert np.isfinite(strict) and strict > null.scores[-1] - 1.0
    assert null.fap(strict) == pytest.approx(0.0005, rel=1e-6)
    assert null.fap(null.level - 1.0) == pytest.approx(fap(null.level - 1.0, null.scores))
    again = NullModel.from_dict(null.to_dict())
    assert again.threshold(0.0005) == pytest.approx(strict)
    empty = NullModel.fit(np.array([np.nan, -np.inf, 5.0, 6.0]))  # no candidate: lowest
    assert np.isfinite(empty.scores).all() and empty.fap(5.5) == pytest.approx(2 / 5)


def test_custom_ses_is_folded():
    time, flux = _white(8)
    flux = flux + _box(time, 4.4, 101.9, 3 / 24, 3e-4)
    calls = []

    def my_ses(f, sigma, widths, dt):
        calls.append(widths.size)
        return box_single_event_stats(f, sigma, widths, dt)

    best = search(time, flux, max_candidates=1, ses=my_ses).candidates[0]
    assert calls and _matches(best, 4.4, 101.9, 3 / 24)


def test_flux_errors_modulate_the_measured_scatter_only():
    """Constant errors change nothing (the null was calibrated without errors); a stretch whose
    errors and scatter are both 3x higher weighs 3x less; mis-scaled errors do not matter."""
    from transit_classifier.search.ses import noise_sigma

    rng = np.random.default_rng(3)
    err = np.full(N_CADENCES, 1e-4)
    err[2000:2600] = 3e-4
    flux = rng.normal(0.0, err)
    plain = noise_sigma(flux, None, KEPLER_LC_DAYS)
    assert np.array_equal(noise_sigma(flux, np.full(N_CADENCES, 7.0), KEPLER_LC_DAYS), plain)
    weighted = noise_sigma(flux, err, KEPLER_LC_DAYS)
    assert np.allclose(noise_sigma(flux, 50 * err, KEPLER_LC_DAYS), weighted)
    inside, outside = np.median(weighted[2200:2400]), np.median(weighted[:1500])
    assert inside / outside == pytest.approx(3.0, rel=0.2)


def test_search_grid_carries_relative_flux_errors():
    from transit_classifier.search.flatten import search_grid
    from transit_classifier.sources.lightcurve import make_observations

    time = 100.0 + np.arange(N_CADENCES) * KEPLER_LC_DAYS
    flux = 5000.0 + np.zeros(N_CADENCES)
    err = np.full(N_CADENCES, 0.5)
    err[10] = np.nan  # unknown: its segment's typical error
    obs = make_observations("star", "csv", time, flux, flux_err=err)
    grid = search_grid(obs, KEPLER_LC_DAYS)
    assert grid.flux_err.shape == grid.flux.shape
    assert np.allclose(grid.flux_err[np.isfinite(grid.flux)], 1e-4)
    no_errors = search_grid(make_observations("star", "csv", time, flux), KEPLER_LC_DAYS)
    assert no_errors.flux_err is None


def test_phase_mes_is_the_fold_at_every_offset():
    """The folded light curve that the uniqueness test reads agrees with the fold's own best."""
    rng = np.random.default_rng(11)
    num, den = rng.normal(size=900), rng.uniform(0.5, 2.0, 900)
    den[rng.random(900) < 0.1] = 0.0
    p_cad = 47.3
    curve = phase_mes(num, den, p_cad)
    pgram = fold_periodogram(num, den, np.array([p_cad]), 1.0, 1, min_transits=1)
    assert curve.size == 48
    assert np.isclose(curve.max(), pgram.mes[0]) and int(np.argmax(curve)) == pgram.epoch_index[0]


def test_other_feature_sigma_sees_a_bump_but_not_noise():
    rng = np.random.default_rng(12)
    num, den = rng.normal(size=2000), np.ones(2000)
    quiet = other_feature_sigma(num, den, 100.0, 10, 3)
    bumped = num.copy()
    bumped[60::100] -= 4.0  # a bump half an orbit from the dip at offset 10
    assert (
        quiet < OTHER_FEATURE_FREE_SIGMA + 1 and other_feature_sigma(bumped, den, 100.0, 10, 3) > 15
    )


def test_a_pulsating_star_scores_far_below_its_mes():
    """A sinusoid folds into a dip as strong as a transit's, and into a bump as strong: the
    model-shift test takes that out of the score, while a transit of the same MES keeps it."""
    time, flux = _white(13)
    pulsating = search(time, flux + 1e-4 * np.sin(2 * np.pi * time / 0.77), max_candidates=1)
    transit = search(time, flux + _box(time, 3.1, 100.7, 2.5 / 24, 1.5e-4), max_candidates=1)
    wave, train = pulsating.candidates[0], transit.candidates[0]
    assert wave.mes > 10 and wave.other_feature_sigma > wave.mes - 1
    assert wave.score < 2
    assert _matches(train, 3.1, 100.7, 2.5 / 24) and train.other_feature_sigma < 4.5
    assert train.score > train.mes - np.median(transit.power[np.isfinite(transit.power)]) - 1.5
