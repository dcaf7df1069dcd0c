"""`transit-classifier predict`: readers, resampling, windowing, scoring, output and errors.

A tiny untrained Conv1D network (independent of the project's architecture
params), saved through the real ``model.save_classifier``, checks structure and
behaviour; discrimination is checked by swapping
``predict_proba`` for a deterministic score of the preprocessed window's deepest
point, so the test asserts which windows get flagged without training anything.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support import (
    CADENCE_D,
    FIXTURES,
    INFO,
    LENGTH,
    PREPROCESS,
    STRIDE,
    WINDOW,
    light_curve,
    run,
    run_json,
    save_tiny_model,
    write_csv,
)

from transit_classifier.serve import cli
from transit_classifier.serve import predict as scoring
from transit_classifier.serve.scan_inputs import join_id_tokens
from transit_classifier.signal import windowing
from transit_classifier.signal.preprocess import PreprocessSettings
from transit_classifier.sources import inputs, lightcurve
from transit_classifier.sources.lightcurve import import_lightkurve

# ------------------------------------------------------------------------ helpers


@pytest.mark.parametrize(
    ("text", "kic"),
    [
        ("KIC 11442793", 11442793),
        ("kic11442793", 11442793),
        ("11442793", 11442793),
        ("kic-757450", 757450),
        ("star.csv", None),
        ("KIC", None),
        ("KIC 12a", None),
    ],
)
def test_parse_kic(text: str, kic: int | None) -> None:
    assert inputs.parse_kic(text) == kic


def test_join_kic_tokens_rejoins_unquoted_id() -> None:
    assert join_id_tokens(["KIC", "11442793", "a.csv"]) == ["KIC 11442793", "a.csv"]
    assert join_id_tokens(["a.csv", "b.csv"]) == ["a.csv", "b.csv"]


def test_gzipped_csv_quarters_are_normalised_separately(tmp_path: Path) -> None:
    frame = light_curve(10)
    frame["quarter"] = np.where(np.arange(len(frame)) < 200, 3, 4)
    frame.loc[frame["quarter"] == 4, "FLUX"] *= 1.7
    curve = inputs.load_input(str(write_csv(tmp_path, frame, "star.csv.gz")))
    assert curve.source == "csv"
    segments = windowing.to_segments(curve, CADENCE_D)
    assert [seg.label for seg in segments] == [0, 1]  # quarters 3 and 4
    for seg in segments:
        np.testing.assert_allclose(seg.flux, 1, atol=1e-3)


# -------------------------------------------------------------- structure of output


def test_table_output_covers_the_whole_light_curve(tmp_path, capsys, model_dir) -> None:
    path = write_csv(tmp_path, light_curve(10.0))  # 490 cadences -> windows at 0,100,200,290
    code, out, err = run(capsys, "predict", path, "--model-dir", model_dir)
    assert code == 0 and err == ""
    lines = out.splitlines()
    header = ["file", "start", "[d]", "end", "[d]", "probability", "inverted", "verdict"]
    assert lines[0].split() == header
    rows = lines[2 : lines.index("")]
    n_cadences = 490
    assert len(rows) == len(windowing.window_starts(n_cadences, LENGTH, STRIDE, True)) == 4
    assert float(rows[0].split()[1]) == pytest.approx(130.0, abs=1e-3)
    assert float(rows[-1].split()[2]) == pytest.approx(130 + (n_cadences - 1) * CADENCE_D, abs=1e-3)
    probability_end = lines[0].index("probability") + len("probability")
    assert all(row[probability_end - 1].isdigit() and row[probability_end] == " " for row in rows)
    summary = lines[lines.index("") + 1]  # then the candidates of the whole-light-curve search
    assert summary.startswith(f"{path}: ") and "of 4 windows flagged" in summary
    assert "threshold 0.500" in summary


def test_json_schema_and_verdicts_follow_threshold(tmp_path, capsys, model_dir) -> None:
    path = write_csv(tmp_path, light_curve(12.0, cadence_min=2.0))  # short cadence, resampled
    first = run_json(capsys, path, model_dir)
    assert set(first) == {
        "threshold", "window_length", "cadence_minutes", "max_missing_fraction", "window_days",
        "inputs",
    }  # fmt: skip
    assert first["threshold"] == 0.5 and first["window_length"] == LENGTH
    assert first["max_missing_fraction"] == WINDOW["max_missing_fraction"]
    (result,) = first["inputs"]
    assert result["input"] == str(path) and result["source"] == "csv"
    assert result["n_windows"] == len(result["windows"]) == result["n_scored"]
    window = result["windows"][0]
    assert set(window) == {
        "start", "end", "probability", "inverted_probability", "missing_fraction", "verdict",
    }  # fmt: skip
    assert window["end"] - window["start"] == pytest.approx((LENGTH - 1) * CADENCE_D, abs=1e-5)
    probs = np.array([w["probability"] for w in result["windows"]])
    assert np.all((probs >= 0) & (probs <= 1))
    # A threshold between two scores must split the verdicts exactly at it.
    low, high = np.unique(probs)[[0, -1]]
    assert high - low > 1e-5  # the scores are distinct beyond the JSON's 6 decimals
    threshold = float(np.round((low + high) / 2, 6))
    second = run_json(capsys, path, model_dir, "--threshold", str(threshold))
    assert second["threshold"] == pytest.approx(threshold, abs=1e-6)
    verdicts = [w["verdict"] for w in second["inputs"][0]["windows"]]
    assert verdicts == ["transit" if p >= threshold else "no transit" for p in probs]
    assert second["inputs"][0]["n_flagged"] == verdicts.count("transit")


def test_sparse_windows_are_reported_not_scored(tmp_path, capsys, model_dir) -> None:
    """The model's max_missing_fraction (0.3, training's value) decides, not a predict constant."""
    frame = light_curve(12.0)
    time = frame["Time"] - 130
    frame = frame[(time < 4.5) | (time > 5.9)]  # 1.4 days (~35% of a window), same segment
    result = run_json(capsys, write_csv(tmp_path, frame), model_dir)["inputs"][0]
    windows = result["windows"]
    sparse = [w["verdict"] == "too sparse" for w in windows]
    assert sum(sparse) == 2 and result["n_scored"] == result["n_windows"] - 2
    for window, is_sparse in zip(windows, sparse, strict=True):
        assert (window["missing_fraction"] > 0.3) == is_sparse
        assert (window["probability"] is None) == is_sparse
        assert (window["inverted_probability"] is None) == is_sparse
    assert any(0.3 < w["missing_fraction"] <= 0.5 for w in windows)  # the old 50% rule scored it


def test_plot_is_written_one_panel_per_input(tmp_path, capsys, model_dir) -> None:
    a = write_csv(tmp_path, light_curve(10.0, seed=1), "a.csv")
    b = write_csv(tmp_path, light_curve(6.0, seed=2), "b.csv")
    out_png = tmp_path / "figs" / "out.png"
    code, out, _ = run(
        capsys, "predict", a, b, "--plot", out_png, "--threshold", "0", "--model-dir", model_dir
    )
    assert code == 0
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib.image import imread

    height, width = imread(out_png).shape[:2]
    assert height > width / 3  # two stacked panels, not one
    assert f"{a}: 4 of 4 windows flagged" in out and f"{b}: " in out


# ------------------------------------------------------------------- discrimination


def deepest_point_score(model, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Stand-in for a trained net: a deep dip in the preprocessed window means a transit."""
    return 1 / (1 + np.exp(X[:, :, :-1].min(axis=(1, 2)) + 10))


def test_window_holding_the_transit_is_flagged(tmp_path, capsys, model_dir, monkeypatch) -> None:
    import transit_classifier.learn.model

    monkeypatch.setattr(transit_classifier.learn.model, "predict_proba", deepest_point_score)
    with_transit = write_csv(tmp_path, light_curve(12.0, transit_at=5.1), "transit.csv")
    without = write_csv(tmp_path, light_curve(12.0, seed=3), "quiet.csv")
    data = run_json(capsys, with_transit, model_dir)
    windows = data["inputs"][0]["windows"]
    mid = 130 + 5.1
    holds = [w["start"] < mid - 0.2 and w["end"] > mid + 0.2 for w in windows]
    assert sum(holds) == 2  # half-overlapping windows: the dip sits in exactly two
    assert [w["verdict"] == "transit" for w in windows] == holds
    quiet = run_json(capsys, without, model_dir)["inputs"][0]
    assert quiet["n_flagged"] == 0 and quiet["max_probability"] < 0.1


# ------------------------------------------------------------------ real Kepler FITS


KEPLER_90_Q5 = FIXTURES / "kplr011442793-2010174085026_llc.fits"
KEPLER_90_H = (472.10, 0.30)  # predicted mid-transit (BKJD) and half-duration (days), KOI table


def test_real_kepler_fits(capsys, model_dir) -> None:
    curve = inputs.read_fits_lightcurve(KEPLER_90_Q5)
    assert curve.source == "fits" and 443 < curve.time[0] < curve.time[-1] < 539  # BKJD, Q5
    assert windowing.has_native_cadence(curve, CADENCE_D)  # gridded by cadence number
    (segment,) = windowing.to_segments(curve, CADENCE_D)
    assert segment.label == 5 and np.nanmedian(segment.flux) == pytest.approx(1.0, abs=1e-6)
    result = run_json(capsys, KEPLER_90_Q5, model_dir)["inputs"][0]
    assert result["source"] == "fits"
    starts = windowing.window_starts(segment.flux.size, LENGTH, STRIDE, flush_end=True)
    assert result["n_windows"] == len(starts)
    missing = [w["missing_fraction"] for w in result["windows"]]
    assert result["n_scored"] == sum(m <= 0.3 for m in missing) > 0
    assert result["windows"][0]["start"] == pytest.approx(segment.time[0], abs=1e-5)
    assert result["windows"][-1]["end"] == pytest.approx(segment.time[-1], abs=1e-5)


def test_windowing_keeps_kepler_90_h_whole_for_a_stand_in_scorer(
    tmp_path, capsys, monkeypatch
) -> None:
    """Kepler-90 h's transit lasts 14.5 h: the 2.5-day flux channel keeps it (0.75 d would not).

    The network is swapped for a deepest-point scorer, so this tests the windowing and
    preprocessing path; :func:`test_released_model_flags_kepler_90_h` tests the model."""
    import transit_classifier.learn.model

    monkeypatch.setattr(transit_classifier.learn.model, "predict_proba", deepest_point_score)
    model_dir = save_tiny_model(tmp_path / "models", INFO)
    windows = run_json(capsys, KEPLER_90_Q5, model_dir)["inputs"][0]["windows"]
    mid, half = KEPLER_90_H
    start, end = np.array([[w["start"], w["end"]] for w in windows]).T
    flagged = np.array([w["verdict"] == "transit" for w in windows])
    holds = (start < mid - half) & (end > mid + half)
    apart = (end < mid - half) | (start > mid + half)
    assert holds.any() and flagged[holds].all()
    assert not flagged[apart].any()  # Kepler-90 d/e/f (~500 ppm) stay below the threshold


def test_released_model_flags_kepler_90_h(capsys) -> None:
    """The committed network itself, at its default operating point, flags the windows holding
    Kepler-90 h's Q5 transit and reports it from the released model's own threshold."""
    record = json.loads(run(capsys, "predict", KEPLER_90_Q5, "--json")[1])
    windows = record["inputs"][0]["windows"]
    mid, half = KEPLER_90_H
    holds = [(w["start"] < mid - half) & (w["end"] > mid + half) for w in windows]
    flagged = [w["verdict"] == "transit" for w, h in zip(windows, holds, strict=True) if h]
    assert flagged and all(flagged)


def test_kic_download_stitches_quarters(tmp_path, monkeypatch) -> None:
    lk = import_lightkurve()
    time = np.arange(0, 30, CADENCE_D)
    shape = np.where(np.arange(time.size) % 7 == 0, 1.001, 1.0)
    quarters = []
    for quarter, level in ((3, 1000.0), (4, 2500.0)):
        lc = lk.LightCurve(time=time + 30.5 * quarter, flux=level * shape)
        lc["cadenceno"] = np.arange(time.size) + 2000 * quarter
        lc.meta.update(KEPLERID=757450, QUARTER=quarter)
        quarters.append(lc)

    class Search:
        table = [  # the product rows MAST returns: where each file is cached
            {"obs_collection": "Kepler", "obs_id": f"kplr000757450_q{q}", "productFilename": "f"}
            for q in (3, 4)
        ]

        def __len__(self) -> int:
            return len(quarters)

        def download_all(self, **kwargs):
            assert kwargs == {"download_dir": "mast"}  # params.yaml's kepler.cache_dir
            return lk.LightCurveCollection(quarters)

    calls = []
    monkeypatch.setattr(lk, "search_lightcurve", lambda *a, **k: calls.append((a, k)) or Search())
    (tmp_path / "params.yaml").write_text("kepler:\n  cache_dir: mast\n")
    monkeypatch.chdir(tmp_path)  # "inside the project": the default cache is params.yaml's
    curve = inputs.load_input("kic 757450")
    assert calls == [(("KIC 757450",), {"mission": "Kepler", "author": "Kepler", "exptime": 1800})]
    assert curve.name == "KIC 757450" and curve.source == "kic"
    assert curve.time.size == 2 * time.size
    segments = windowing.to_segments(curve, CADENCE_D)  # one per quarter, each normalised
    assert [seg.label for seg in segments] == [3, 4]
    for seg in segments:
        assert np.median(seg.flux) == pytest.approx(1.0) and seg.flux.max() < 1.0011


# ----------------------------------------------------------------------- bad input


def bad_csv(tmp_path: Path, kind: str) -> Path:
    if kind == "columns":
        return write_csv(tmp_path, light_curve(10).rename(columns={"FLUX": "sap"}))
    if kind == "short":
        return write_csv(tmp_path, light_curve(3.0))
    if kind == "seconds":
        frame = light_curve(10)
        return write_csv(tmp_path, frame.assign(Time=frame["Time"] * 86400))
    frame = light_curve(10)
    frame["FLUX"] = np.nan if kind == "nan" else (5.0 if kind == "constant" else -frame["FLUX"])
    return write_csv(tmp_path, frame)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("columns", "missing column(s) flux (found: Time, sap, flux_err); the CSV needs 'time'"),
        (
            "seconds",
            "points are 1765 days apart (median), longer than any light-curve gap; is the "
            "time column in days?",
        ),
        ("nan", "no point has both a finite time and a finite flux"),
        ("constant", "flux is constant"),
        ("negative", "median flux is not positive"),
    ],
)
def test_bad_csv_gives_one_error_line(tmp_path, capsys, model_dir, kind, message) -> None:
    path = bad_csv(tmp_path, kind)
    code, out, err = run(capsys, "predict", path, "--model-dir", model_dir)
    assert (code, out) == (1, "")
    assert err.startswith(f"error: {path}: {message}") and err.count("\n") == 1


TOO_SHORT = (
    "too short: 3.0 days in its longest segment at the model's 29.42-min cadence, "
    "but one window needs 4.1 days (200 cadences)"
)


def test_light_curve_shorter_than_a_window_is_searched_only(tmp_path, capsys, model_dir) -> None:
    """Only the window probability needs a whole window: the search still runs."""
    path = bad_csv(tmp_path, "short")
    code, out, err = run(capsys, "predict", path, "--model-dir", model_dir, "--json")
    (record,) = json.loads(out)["inputs"]
    assert (code, err) == (0, "")
    assert record["windows"] == [] and record["max_probability"] is None
    assert record["no_windows_reason"] == TOO_SHORT and isinstance(record["candidates"], list)
    code, out, err = run(capsys, "predict", path, "--model-dir", model_dir)
    assert code == 0 and f"{path}: no window probability ({TOO_SHORT}); searched only" in out


def test_without_a_search_a_short_light_curve_is_refused(tmp_path, capsys, model_dir) -> None:
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    (model / "search.json").unlink()
    path = bad_csv(tmp_path, "short")
    code, out, err = run(capsys, "predict", path, "--model-dir", model)
    assert (code, out) == (1, "")
    assert err.endswith(f"\nerror: {path}: {TOO_SHORT}; supply a longer light curve\n")
    assert err.startswith("warning: ") and "no search calibration" in err


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "no such file, and not a KIC id"),
        ("star.txt", "time,flux\n1,2\n", "unknown file type '.txt'"),
        ("corrupt.fits", "SIMPLE  =   T / truncated", "cannot read this FITS light curve"),
        ("broken.csv", 'time,flux\n1,2,3,4\n"', "not a readable CSV"),
        ("empty.csv", "", "not a readable CSV"),
        ("header_only.csv", "time,flux\n", "no point has both a finite time and a finite flux"),
    ],
)
def test_bad_files_give_one_error_line(tmp_path, capsys, model_dir, name, content, message) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "predict", path, "--model-dir", model_dir)
    assert (code, out) == (1, "")
    assert err.startswith(f"error: {path}: {message}") and err.count("\n") == 1


def test_offline_kic_says_mast_is_unreachable(capsys, monkeypatch) -> None:
    import requests

    def offline(*args, **kwargs):
        raise requests.exceptions.ConnectionError("Failed to resolve 'mast.stsci.edu'")

    monkeypatch.setattr(import_lightkurve(), "search_lightcurve", offline)
    monkeypatch.setattr(inputs, "KIC_BACKOFF_SECONDS", 0.0)
    code, out, err = run(capsys, "predict", "KIC", "11442793")
    assert (code, out) == (1, "")
    assert err == (
        "error: KIC 11442793: cannot reach MAST to download it; pass a downloaded Kepler FITS "
        "file or a CSV with time and flux columns instead\n"
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            None,
            "not found (this model has no validated threshold); "
            "restore model/ with `git checkout -- model`",
        ),
        ({"weights_sha256": "0" * 64}, "chosen for other weights than"),
        ({"default": "fpr_5pct"}, "no operating point 'fpr_5pct' (known: fpr_1pct, max_f1)"),
        ("[1, 2]", "not a JSON object (found a list)"),
    ],
)
def test_threshold_must_belong_to_the_weights(tmp_path, capsys, edit, message) -> None:
    model_dir = save_tiny_model(tmp_path / "models", INFO)
    path = model_dir / "thresholds.json"
    if edit is None:
        path.unlink()
    elif isinstance(edit, str):
        path.write_text(edit)
    else:
        path.write_text(json.dumps({**json.loads(path.read_text()), **edit}))
    csv = write_csv(tmp_path, light_curve(10.0))
    code, _, err = run(capsys, "predict", csv, "--model-dir", model_dir)
    assert code == 1 and err.startswith(f"error: {path}: {message}") and err.count("\n") == 1


def test_operating_point_and_explicit_threshold(tmp_path, capsys, model_dir) -> None:
    csv = write_csv(tmp_path, light_curve(10.0))
    assert run_json(capsys, csv, model_dir)["threshold"] == 0.5
    assert run_json(capsys, csv, model_dir, "--operating-point", "max_f1")["threshold"] == 0.7
    assert run_json(capsys, csv, model_dir, "--threshold", "0.25")["threshold"] == 0.25


def test_predict_works_from_any_directory_with_the_committed_model(tmp_path) -> None:
    """A fresh clone predicts before any `dvc repro`: model/ is committed with its thresholds."""
    result = subprocess.run(
        [sys.executable, "-m", "transit_classifier", "predict", str(KEPLER_90_Q5), "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    windows = json.loads(result.stdout)["inputs"][0]["windows"]
    mid, half = KEPLER_90_H
    holding = [w for w in windows if w["start"] < mid - half and w["end"] > mid + half]
    assert holding and all(w["verdict"] == "transit" for w in holding)


def test_missing_model_dir(tmp_path, capsys) -> None:
    csv = write_csv(tmp_path, light_curve(10.0))
    code, _, err = run(capsys, "predict", csv, "--model-dir", tmp_path / "none")
    assert code == 1 and err.count("\n") == 1
    assert err.startswith(f"error: {tmp_path / 'none' / 'model.json'}: not found; restore")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"preprocess": None}, "'preprocess' is missing; restore the model files"),
        ({"window": None}, "no 'window' settings (an older model); retrain with `dvc repro train`"),
        ({"window": {**WINDOW, "length": LENGTH // 2}}, "do not fit the network (input_length 200"),
    ],
)
def test_model_whose_settings_cannot_be_honoured_is_refused(
    tmp_path, capsys, change, message
) -> None:
    """The CLI refuses such a model with one line, before scoring anything."""
    info = {key: value for key, value in {**INFO, **change}.items() if value is not None}
    model_dir = save_tiny_model(tmp_path / "models", info)
    csv = write_csv(tmp_path, light_curve(10.0))
    code, out, err = run(capsys, "predict", csv, "--model-dir", model_dir)
    assert (code, out) == (1, "")
    assert "model.json: " in err and message in err and err.count("\n") == 1


def test_preprocess_settings_are_passed_through(monkeypatch) -> None:
    """predict hands the model's preprocess dict to preprocessing as stored, whatever its keys."""
    import transit_classifier.learn.model

    seen = []

    def fake_preprocess(
        flux: np.ndarray, settings: PreprocessSettings
    ) -> tuple[np.ndarray, np.ndarray]:
        seen.append(settings)
        return np.zeros((2, len(flux), LENGTH, 3), np.float32)

    monkeypatch.setattr(scoring, "preprocess_inverted", fake_preprocess)
    monkeypatch.setattr(
        transit_classifier.learn.model, "predict_proba", lambda m, X: np.zeros(len(X))
    )
    settings = {**PREPROCESS, "a_future_key": 1}
    setup = scoring.model_setup({**INFO, "preprocess": settings}, 0.5)
    frame = light_curve(5.0)
    curve = lightcurve.make_observations("x", "csv", frame["Time"], frame["FLUX"])
    prediction = scoring.predict_lightcurve(curve, None, setup)
    assert seen == [PreprocessSettings.from_model(settings)] and (prediction.probability == 0).all()
    assert seen[0] is setup.preprocessing  # read back once, when the model is loaded


@pytest.mark.parametrize(
    "argv",
    [
        ["predict"],
        ["predict", "a.csv", "--threshold", "1.5"],
        ["predict", "a.csv", "--plot", "x.jpg"],
        [],
        ["classify", "a.csv"],
    ],
)
def test_usage_errors_exit_2(capsys, argv: list[str]) -> None:
    assert cli.main(argv) == 2
    assert "usage: transit-classifier" in capsys.readouterr().err


def test_module_entry_point_help() -> None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-m", "transit_classifier", "predict", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "FILE_OR_KIC" in done.stdout and "--threshold" in done.stdout


def test_python_api_scores_lightkurve_objects_paths_and_arrays(tmp_path, capsys, model_dir) -> None:
    """tc.load_model().score() goes through the same path as the CLI and agrees with it."""
    import transit_classifier as tc

    lk = import_lightkurve()
    model = tc.load_model(model_dir)
    assert model.operating_point == "fpr_1pct" and model.threshold == 0.5
    from_object = model.score(lk.read(str(KEPLER_90_Q5)))
    from_path = model.score(KEPLER_90_Q5)
    cli = run_json(capsys, KEPLER_90_Q5, model_dir)["inputs"][0]["windows"]
    np.testing.assert_allclose(from_object["probability"], from_path["probability"])
    from_cli = [np.nan if w["probability"] is None else w["probability"] for w in cli]
    np.testing.assert_allclose(from_path["probability"], from_cli, atol=1e-6)
    assert list(from_path.columns) == list(tc.serve.api.COLUMNS)
    frame = light_curve(12.0)
    arrays = model.score(frame["Time"].to_numpy(), frame["FLUX"].to_numpy(), name="mine")
    assert (arrays["input"] == "mine").all() and arrays["probability"].notna().all()
    with pytest.raises(tc.UserError, match="cannot score a dict"):
        model.score({"time": [1, 2]})


def test_bad_input_among_good_ones_is_reported_and_the_rest_scored(
    tmp_path, capsys, model_dir
) -> None:
    good = write_csv(tmp_path, light_curve(10.0))
    code, out, err = run(
        capsys, "predict", good, tmp_path / "nope.csv", "--json", "--model-dir", model_dir
    )
    assert code == 1 and err.count("\n") == 1 and "nope.csv: no such file" in err
    assert [r["input"] for r in json.loads(out)["inputs"]] == [str(good)]


@pytest.mark.parametrize("where", ["/proc/x/y.png", "a_directory.png", "file.csv/y.png"])
def test_unwritable_plot_keeps_the_printed_results(tmp_path, capsys, model_dir, where) -> None:
    good = write_csv(tmp_path, light_curve(10.0), name="file.csv")
    (tmp_path / "a_directory.png").mkdir()
    target = where if where.startswith("/") else str(tmp_path / where)
    code, out, err = run(capsys, "predict", good, "--plot", target, "--model-dir", model_dir)
    assert code == 1 and "windows flagged" in out and "Traceback" not in err
    assert err.startswith(f"error: {target}: cannot write the plot") and err.count("\n") == 1


@pytest.mark.parametrize("offset", [0.0, 1e-3])
def test_near_zero_flux_is_refused_not_scored(tmp_path, capsys, model_dir, offset) -> None:
    frame = light_curve(10.0)
    flux = frame["FLUX"] / 5000 - 1  # zero-centred relative flux (mean-subtracted)
    frame["FLUX"] = flux + offset
    code, out, err = run(capsys, "predict", write_csv(tmp_path, frame), "--model-dir", model_dir)
    assert (code, out) == (1, "") and "is near zero for its scatter" in err


def test_quarters_at_different_levels_are_not_mistaken_for_near_zero_flux(tmp_path) -> None:
    from transit_classifier.sources import lightcurve

    time = np.arange(0, 40, CADENCE_D)
    level = np.where(time < 20, 1000.0, 2500.0)
    flux = level * (1 + 1e-4 * np.random.default_rng(0).standard_normal(time.size))
    obs = lightcurve.make_observations("two quarters", "csv", time, flux, (time >= 20).astype(int))
    assert inputs.check_flux(obs) is obs


def test_json_lists_candidates_of_the_whole_light_curve(tmp_path, capsys, model_dir) -> None:
    """A 1%-deep transit in white noise comes back as a candidate with every documented key,
    at the epoch it was put in, with a small FAP and a candidate verdict."""
    frame = light_curve(12.0, transit_at=6.0)
    record = run_json(capsys, write_csv(tmp_path, frame), model_dir)["inputs"][0]
    (first, *_) = record["candidates"]
    assert set(first) == {
        "period", "period_err", "epoch", "epoch_err", "duration_hours", "depth_ppm",
        "depth_err_ppm", "mes", "fap", "n_transits", "odd_even_sigma",
        "secondary_depth_ppm", "transit_times", "verdict",
    }  # fmt: skip
    assert first["period"] is None and first["n_transits"] == 1  # one transit: a single event
    assert abs(first["epoch"] - 136.0) < 0.125 and 8000 < first["depth_ppm"] < 12000
    assert first["fap"] < 0.01 and first["verdict"] == "candidate"


def test_text_output_prints_candidates(tmp_path, capsys, model_dir) -> None:
    path = write_csv(tmp_path, light_curve(12.0, transit_at=6.0))
    code, out, _ = run(capsys, "predict", path, "--model-dir", model_dir)
    assert code == 0 and "Candidates of the whole-light-curve search:" in out
    assert "#1 candidate: single event, epoch 136.0" in out


def test_model_without_search_calibration_warns_and_scores_windows(
    tmp_path, capsys, model_dir
) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(model_dir, bare)
    (bare / "search.json").unlink()
    path = write_csv(tmp_path, light_curve(12.0))
    code, out, err = run(capsys, "predict", path, "--json", "--model-dir", bare)
    assert code == 0 and "no search calibration" in err
    assert json.loads(out)["inputs"][0]["candidates"] is None


def test_api_candidates_and_examine_read_once(model_dir) -> None:
    import transit_classifier as tc
    from transit_classifier.serve.candidates import CANDIDATE_KEYS

    model = tc.load_model(model_dir)
    frame = light_curve(12.0, transit_at=6.0)
    table = model.candidates(frame["Time"].to_numpy(), frame["FLUX"].to_numpy(), name="mine")
    assert list(table.columns) == list(CANDIDATE_KEYS) and len(table) >= 1
    assert table.iloc[0]["verdict"] == "candidate" and np.isnan(table.iloc[0]["period"])
    windows, found = model.examine(frame["Time"].to_numpy(), frame["FLUX"].to_numpy())
    assert len(windows) == 5 and found.iloc[0]["epoch"] == pytest.approx(table.iloc[0]["epoch"])
