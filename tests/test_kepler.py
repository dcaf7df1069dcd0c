"""Tests of the fetch_kepler stage on real Kepler FITS fixtures and the bundled data.

No network: MAST is simulated by monkeypatching lightkurve / astroquery.
"""

from __future__ import annotations

import runpy
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
import yaml
from astropy.table import Table
from support import load_script, stage_argv

from transit_classifier.cadence import MINUTES_PER_DAY
from transit_classifier.errors import UserError
from transit_classifier.io import load_npz, save_npz
from transit_classifier.learn import kepler_windows
from transit_classifier.signal import windowing
from transit_classifier.simulate.orbits import transit_offset
from transit_classifier.sources import kepler, lightcurve, mast
from transit_classifier.sources.bundle import decode_star, load_bundle, star_file, verify_bundle
from transit_classifier.sources.koi import koi_label, load_koi, star_kois

write_bundle = load_script("tools", "bundle_writer").write_bundle

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "kepler"
BUNDLE = ROOT / "data" / "kepler_bundle"
KEPLER90 = 11442793
KEPLER90_Q4 = FIXTURES / "kplr011442793-2010009091648_llc.fits"
KEPLER90_Q5 = FIXTURES / "kplr011442793-2010174085026_llc.fits"
NON_KOI = [
    FIXTURES / "kplr005899262-2009131105131_llc.fits",
    FIXTURES / "kplr005899262-2009166043257_llc.fits",
]
SETTINGS = kepler_windows.WindowSettings(
    rules=windowing.WindowRules(length=300, cadence_minutes=29.4244, max_missing_fraction=0.3),
    stride=100,
    min_in_transit_cadences=3,
    exclusion_margin_days=0.5,
    include_hard_negatives=False,
    exclude_kepids=frozenset({8462852, 3542116, 2856960}),
)


@pytest.fixture(scope="module")
def koi() -> pd.DataFrame:
    return load_koi(BUNDLE / "koi.csv.gz")


@pytest.fixture(scope="module")
def kepler90() -> kepler.StarLightCurve:
    return kepler.read_fits([KEPLER90_Q4, KEPLER90_Q5])


@pytest.fixture(scope="module")
def quiet_star() -> kepler.StarLightCurve:
    return kepler.read_fits(NON_KOI)


def test_fits_read_gives_the_bundled_arrays(kepler90: kepler.StarLightCurve) -> None:
    """A FITS file read directly (the MAST path) equals the bundle's copy of it, bit for bit."""
    arrays = load_npz(BUNDLE / star_file(KEPLER90))
    bundled = decode_star(KEPLER90, arrays).select_quarters([4, 5])
    assert kepler90.quarters == [4, 5]
    for name in ("time", "flux", "quarter", "cadenceno"):
        np.testing.assert_array_equal(getattr(kepler90, name), getattr(bundled, name))
    assert np.all(np.diff(kepler90.cadenceno) > 0)
    assert kepler90.flux.dtype == np.float32 and np.isfinite(kepler90.flux).all()


def test_kepler90_h_transit_window_shows_the_koi_depth(kepler90, koi) -> None:
    kois = star_kois(koi, KEPLER90)
    result = kepler_windows.star_windows(kepler90, kois, "CONFIRMED", SETTINGS)
    table = result.table
    h = kois.loc[kois["kepler_name"] == "Kepler-90 h"].iloc[0]
    has_h = table["planets"].str.contains("Kepler-90 h")
    assert has_h.sum() >= 1
    assert (table.loc[has_h, "label"] == 1).all()
    np.testing.assert_allclose(table.loc[has_h, "expected_depth_ppm"], h["koi_depth"])
    i = int(np.flatnonzero(has_h)[0])
    offset = transit_offset(result.time[i], h["koi_period"], h["koi_time0bk"])
    inside = np.abs(offset) < h["koi_duration"] / 96.0  # central half of the transit
    outside = (np.abs(offset) > h["koi_duration"] / 24.0) & (np.abs(offset) < 2.0)
    depth = (np.nanmedian(result.flux[i][outside]) - np.nanmedian(result.flux[i][inside])) * 1e6
    assert depth == pytest.approx(h["koi_depth"], rel=0.15)
    assert table.loc[i, "snr"] > 50
    # every window of this host either holds a confirmed transit or nothing near any KOI
    assert set(table["kind"]) <= {"transit", "host_no_transit"}
    assert table.loc[table["label"] == 0, "planets"].eq("").all()


def test_non_koi_star_gives_only_label_zero(quiet_star, koi) -> None:
    kois = star_kois(koi, quiet_star.kepid)
    assert koi_label(kois["koi_disposition"]) == "NOT_KOI"
    result = kepler_windows.star_windows(quiet_star, kois, "NOT_KOI", SETTINGS)
    assert len(result.table) >= 5
    assert (result.table["label"] == 0).all() and (result.table["kind"] == "non_koi").all()
    assert result.table["expected_depth_ppm"].isna().all() and result.table["snr"].isna().all()
    assert (result.table["noise_ppm"] > 0).all()
    assert (result.table["missing_fraction"] <= SETTINGS.rules.max_missing_fraction).all()


def test_windows_never_mix_stars_or_quarters(kepler90, quiet_star, koi) -> None:
    stars = {kepler90.kepid: kepler90, quiet_star.kepid: quiet_star}
    pool = kepler_windows.build_pool(stars, koi, SETTINGS)
    table = pool.table
    assert pool.flux.shape == pool.time.shape == (len(table), SETTINGS.rules.length)
    assert pool.flux.dtype == np.float32 and pool.time.dtype == np.float64
    assert table["id"].is_unique and list(table.columns) == kepler_windows.WINDOW_COLUMNS
    np.testing.assert_allclose(table["t_start"], pool.time[:, 0])
    np.testing.assert_allclose(table["t_end"], pool.time[:, -1])
    step_minutes = np.diff(pool.time, axis=1) * MINUTES_PER_DAY
    assert np.abs(step_minutes - 29.4244).max() < 0.5  # a regular cadence grid
    for row, time in zip(table.itertuples(), pool.time, strict=True):
        star = stars[row.kepid]
        in_quarter = star.time[star.quarter == row.quarter]
        assert in_quarter.min() <= time[0] and time[-1] <= in_quarter.max()
        finite = np.isfinite(pool.flux[row.Index])
        assert np.isin(np.round(time[finite], 7), star.time).all()  # data of this star only
    assert set(table["kepid"]) == set(stars)


def test_pool_is_deterministic(kepler90, quiet_star, koi, tmp_path) -> None:
    stars = {kepler90.kepid: kepler90, quiet_star.kepid: quiet_star}
    first = kepler_windows.build_pool(stars, koi, SETTINGS)
    second = kepler_windows.build_pool(dict(reversed(stars.items())), koi, SETTINGS)
    pd.testing.assert_frame_equal(first.table, second.table)
    for name, pool in (("a", first), ("b", second)):
        save_npz(tmp_path / f"{name}.npz", flux=pool.flux, time=pool.time)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_label_rules_from_koi_ephemerides(quiet_star) -> None:
    """Real quiet-star data with made-up KOI rows: exercises every labelling rule."""
    t = quiet_star.time[quiet_star.quarter == 1]
    base = {"koi_period": 1000.0, "koi_duration": 3.0, "koi_depth": 500.0}
    rows = [
        {"kepid": 1, "kepoi_name": "K1.01", "kepler_name": "Test b",
         "koi_disposition": "CONFIRMED", "koi_time0bk": t[500], **base},
        {"kepid": 1, "kepoi_name": "K1.02", "kepler_name": np.nan,
         "koi_disposition": "CANDIDATE", "koi_time0bk": t[1400], **base},
        {"kepid": 2, "kepoi_name": "K2.01", "kepler_name": np.nan,
         "koi_disposition": "FALSE POSITIVE", "koi_time0bk": t[500], **base},
    ]  # fmt: skip
    koi = pd.DataFrame(rows)
    stars = {k: replace(quiet_star, kepid=k) for k in (1, 2, 3, 8462852)}
    pool = kepler_windows.build_pool(stars, koi, SETTINGS)
    host = pool.table.loc[pool.table["kepid"] == 1]
    transit = host["kind"] == "transit"
    assert transit.any() and (host.loc[transit, "planets"] == "Test b").all()
    assert ((host.loc[transit, "t_start"] <= t[500]) & (host.loc[transit, "t_end"] >= t[500])).all()
    negatives = host.loc[~transit]
    assert pool.stars.set_index("kepid").loc[1, "dropped_ambiguous"] > 0  # candidate-only windows
    assert (negatives["kind"] == "host_no_transit").all() and len(negatives) > 0
    for t0 in (t[500], t[1400]):  # no negative near any KOI, confirmed or not
        assert not ((negatives["t_start"] <= t0 + 0.6) & (negatives["t_end"] >= t0 - 0.6)).any()
    assert set(pool.table["kepid"]) == {1, 3}  # FP-only star and Boyajian's star excluded
    status = pool.stars.set_index("kepid")["status"]
    assert status[2].startswith("excluded: CANDIDATE") and "exclude_kepids" in status[8462852]
    hard = kepler_windows.build_pool(stars, koi, replace(SETTINGS, include_hard_negatives=True))
    fp_windows = hard.table.loc[hard.table["kepid"] == 2]
    assert len(fp_windows) and (fp_windows["kind"] == "hard_negative").all()
    assert (fp_windows["label"] == 0).all()


def test_truncated_fits_gives_one_line_error(tmp_path) -> None:
    broken = tmp_path / KEPLER90_Q5.name
    broken.write_bytes(KEPLER90_Q5.read_bytes()[:200_000])
    with pytest.raises(UserError) as info:
        kepler.read_fits([broken])
    message = str(info.value)
    assert str(broken) in message and "\n" not in message and "corrupt" in message


def test_bundle_checksums_catch_tampering(quiet_star, koi, tmp_path) -> None:
    manifest = pd.DataFrame({"kepid": [quiet_star.kepid], "koi_label": ["NOT_KOI"]})
    write_bundle(tmp_path, [quiet_star], koi, manifest, "# test bundle\n")
    bundle = load_bundle(tmp_path)
    loaded = bundle.stars[quiet_star.kepid]
    for name in ("time", "flux", "quarter", "cadenceno"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(quiet_star, name))
    target = tmp_path / star_file(quiet_star.kepid)
    data = bytearray(target.read_bytes())
    data[-100] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(UserError, match="checksum mismatch") as info:
        load_bundle(tmp_path)
    assert target.name in str(info.value) and "\n" not in str(info.value)


def test_shipped_bundle_verifies() -> None:
    assert verify_bundle(BUNDLE) == len(pd.read_csv(BUNDLE / "manifest.csv")) + 3


def _stage_params(tmp_path: Path, **kepler_overrides) -> None:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["kepler"].update(bundle_dir=str(BUNDLE), cache_dir=str(tmp_path / "cache"))
    params["kepler"].update(kepler_overrides)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))


def test_offline_mast_gives_one_line_and_no_outputs(tmp_path, monkeypatch, capsys) -> None:
    lk = lightcurve.import_lightkurve()
    calls, waits = [], []

    def offline(*args, **kwargs):
        calls.append(args)
        raise requests.exceptions.ConnectionError("Failed to establish a new connection")

    monkeypatch.setattr(lk, "search_lightcurve", offline)
    monkeypatch.setattr(mast.time, "sleep", waits.append)
    _stage_params(tmp_path, source="mast", download_retries=3, backoff_seconds=0.5)
    monkeypatch.chdir(tmp_path)
    _, script, *args = stage_argv("fetch_kepler")
    monkeypatch.setattr(sys, "argv", [script, *args])
    with pytest.raises(SystemExit) as info:
        runpy.run_path(script, run_name="__main__")
    assert info.value.code == 1
    err = capsys.readouterr().err
    visible = [line.split("\r")[-1] for line in err.split("\n") if line.split("\r")[-1].strip()]
    assert len(visible) == 1 and "Traceback" not in err
    assert visible[0].startswith("error: MAST is unreachable") and "kepler.source" in visible[0]
    assert len(calls) == 3 and waits == [0.5, 1.0]  # retries with exponential backoff
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]


def _search_result(lk, path: Path):
    """A real lightkurve SearchResult for one Kepler LLC product (what MAST would return)."""
    table = Table(
        {
            "obs_collection": ["Kepler"],
            "obs_id": ["kplr011442793_lc_Q000001000000000000"],
            "productFilename": [path.name],
            "dataURI": [f"mast:KEPLER/url/{path.name}"],
            "description": ["Lightcurve Long Cadence (CLC) - Q5"],
            "author": ["Kepler"],
            "mission": ["Kepler Quarter 05"],
            "exptime": [1800.0],
            "distance": [0.0],
            "t_min": [55274.0],
            "target_name": ["kplr011442793"],
        }
    )
    return lk.SearchResult(table)


@pytest.mark.filterwarnings("ignore:File may have been truncated")
def test_truncated_download_is_deleted_and_fetched_again(tmp_path, monkeypatch) -> None:
    lk = lightcurve.import_lightkurve()
    from astroquery.mast import Observations

    downloads = []

    def fake_download(products, mrp_only=False, download_dir=None):
        row = products[0]
        local = Path(download_dir, "mastDownload", row["obs_collection"], row["obs_id"])
        local.mkdir(parents=True, exist_ok=True)
        local = local / row["productFilename"]
        good = KEPLER90_Q5.read_bytes()
        local.write_bytes(good[: len(good) // 3] if not downloads else good)  # 1st: truncated
        downloads.append(local)
        return Table({"Local Path": [str(local)], "Status": ["COMPLETE"], "Message": [""]})

    monkeypatch.setattr(Observations, "download_products", fake_download)
    monkeypatch.setattr(lk, "search_lightcurve", lambda *a, **k: _search_result(lk, KEPLER90_Q5))
    star = mast.fetch_star(KEPLER90, tmp_path / "cache", mast.Retry(2, 0.0))
    assert len(downloads) == 2 and downloads[0] == downloads[1]
    direct = kepler.read_fits([KEPLER90_Q5])
    np.testing.assert_array_equal(star.flux, direct.flux)
    np.testing.assert_array_equal(star.time, direct.time)


def test_failed_target_is_reported_and_skipped(tmp_path, monkeypatch) -> None:
    lk = lightcurve.import_lightkurve()
    cache = tmp_path / "cache"
    product = _search_result(lk, KEPLER90_Q5)
    cached = mast.cached_paths(product, cache)[0]
    cached.parent.mkdir(parents=True)
    shutil.copyfile(KEPLER90_Q5, cached)  # already in the cache: no download needed

    def search(target, **kwargs):
        return product if target == f"KIC {KEPLER90}" else lk.SearchResult(None)

    monkeypatch.setattr(lk, "search_lightcurve", search)
    result = mast.fetch_targets([123, KEPLER90], cache, mast.Retry(1, 0.0), progress=False)
    assert list(result.stars) == [KEPLER90]
    failed = [entry for entry in result.report if entry["status"] == "failed"]
    assert failed == [
        {"kepid": 123, "status": "failed", "reason": "KIC 123: MAST has no Kepler long-cadence "
         "light curve"}
    ]  # fmt: skip


def test_network_errors_are_recognised_through_wrapping() -> None:
    try:
        try:
            raise requests.exceptions.ConnectTimeout("timed out")
        except requests.exceptions.ConnectTimeout as inner:
            raise RuntimeError("lightkurve failed") from inner
    except RuntimeError as outer:
        assert mast.is_network_error(outer)
    assert not mast.is_network_error(ValueError("bad FITS"))


def test_targets_csv_and_koi_table_rules(tmp_path) -> None:
    csv = tmp_path / "targets.csv"
    csv.write_text("kepid,name\n11442793,Kepler-90\n757450,other\n11442793,dup\n")
    kep = {"targets": [], "targets_csv": str(csv), "bundle_dir": str(BUNDLE), "koi_table": ""}
    assert mast.resolve_targets(kep) == [757450, 11442793]
    with pytest.raises(UserError, match="KIC 757450 .*kepler.koi_table"):
        mast.koi_for_targets(kep, [757450, 11442793])
    csv.write_text("star\n1\n")
    with pytest.raises(UserError, match="no 'kepid' column"):
        mast.resolve_targets(kep)
    assert mast.resolve_targets({**kep, "targets": [5, 3, 5]}) == [3, 5]


def test_fits_keeps_pdcsap_flux_err_row_for_row(kepler90: kepler.StarLightCurve) -> None:
    """flux_err is PDCSAP_FLUX_ERR at the same cadences, for the search (not the network)."""
    table = Table.read(KEPLER90_Q5, hdu=1)
    cadences, values = table["CADENCENO"].tolist(), np.asarray(table["PDCSAP_FLUX_ERR"]).tolist()
    errors = dict(zip(cadences, values, strict=True))
    q5 = kepler90.select_quarters([5])
    assert q5.flux_err.dtype == np.float32 and np.isfinite(q5.flux_err).all()
    np.testing.assert_array_equal(q5.flux_err, [errors[c] for c in q5.cadenceno.tolist()])
    observed = kepler.from_star(kepler90)
    np.testing.assert_array_equal(observed.flux_err, kepler90.flux_err.astype(np.float64))
    bundled = decode_star(KEPLER90, load_npz(BUNDLE / star_file(KEPLER90)))
    assert bundled.flux_err is None and kepler.from_star(bundled).flux_err is None
