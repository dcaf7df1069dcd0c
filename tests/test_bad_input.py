"""Issue 12: inputs that cannot be trusted are refused with one line, never scored or obeyed.

Each case checks the one-line contract (``error: <input>: <problem>; <fix>``,
exit 1, no traceback, no verdict) or that nothing outside its own place is
read, written or deleted. predict runs in-process through ``cli.main`` with the
tiny untrained model of ``test_predict``; verdicts never matter here.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from astropy.io import fits
from support import (
    CADENCE_D,
    FIXTURES,
    light_curve,
    run,
    write_csv,
)

from transit_classifier import stage
from transit_classifier.errors import UserError
from transit_classifier.learn.model import load_classifier
from transit_classifier.params import load_params
from transit_classifier.sources import inputs, lightcurve, mast

ROOT = Path(__file__).resolve().parents[1]
KEPLER_90_Q4 = FIXTURES / "kplr011442793-2010009091648_llc.fits"
KEPLER_90_Q5 = FIXTURES / "kplr011442793-2010174085026_llc.fits"


def refused(capsys: pytest.CaptureFixture, path: Path, model_dir: Path) -> str:
    """predict on one bad input: exit 1, nothing on stdout, one error line; return that line."""
    code, out, err = run(capsys, "predict", path, "--model-dir", model_dir)
    assert (code, out) == (1, ""), err
    assert err.startswith(f"error: {path}: ") and err.count("\n") == 1 and "Traceback" not in err
    return err


# --------------------------------------------------------------------------- times


@pytest.mark.parametrize("value", [1e20, -1e20, -1e30, 9.9e37])
def test_one_absurd_time_value_is_refused(tmp_path, capsys, model_dir, value) -> None:
    frame = light_curve(10.0)
    frame.loc[100, "Time"] = value  # one fill value among ~490 good times
    err = refused(capsys, write_csv(tmp_path, frame), model_dir)
    assert f"1 time value(s) like {value:.3g} are not dates in days; fill values?" in err


def test_time_offset_beyond_any_calendar_is_refused(tmp_path, capsys, model_dir) -> None:
    frame = light_curve(10.0)
    err = refused(capsys, write_csv(tmp_path, frame.assign(Time=frame["Time"] + 3e9)), model_dir)
    assert "are not dates in days; convert the time column to days" in err


def test_all_infinite_times_name_time_not_just_flux(tmp_path, capsys, model_dir) -> None:
    frame = light_curve(10.0).assign(Time=np.inf)
    assert "no point has both a finite time and a finite flux" in refused(
        capsys, write_csv(tmp_path, frame), model_dir
    )


def test_iso_dates_say_the_time_column_is_not_numeric(tmp_path, capsys, model_dir) -> None:
    frame = light_curve(10.0)
    frame["Time"] = pd.to_datetime(frame["Time"] + 2454833, unit="D", origin="julian")
    err = refused(capsys, write_csv(tmp_path, frame), model_dir)
    assert "the time column is not numeric" in err and "time in days" in err
    assert "flux is all NaN" not in err


def test_repeated_times_are_refused_and_unsorted_ones_are_sorted(tmp_path, capsys, model_dir):
    frame = light_curve(10.0)
    twice = write_csv(tmp_path, pd.concat([frame, frame.assign(FLUX=frame["FLUX"] * 2)]), "2.csv")
    assert "490 time value(s) repeat" in refused(capsys, twice, model_dir)
    shuffled = frame.sample(frac=1.0, random_state=0)
    code, out, _ = run(capsys, "predict", write_csv(tmp_path, shuffled), "--json",
                       "--model-dir", model_dir)  # fmt: skip
    code_sorted, out_sorted, _ = run(
        capsys, "predict", write_csv(tmp_path, frame), "--json", "--model-dir", model_dir
    )
    windows = [json.loads(text)["inputs"][0]["windows"] for text in (out, out_sorted)]
    assert code == code_sorted == 0 and windows[0] == windows[1]


def test_unknown_fill_value_in_flux_is_refused(tmp_path, capsys, model_dir) -> None:
    """Known sentinels (-9999, 0, +-1e30) are masked (test_fuzz_inputs); other absurd values
    are not guessed at."""
    frame = light_curve(10.0)
    frame.loc[7, "FLUX"] = 9.9e37
    assert "1 flux value(s) like 9.9e+37 are fill values" in refused(
        capsys, write_csv(tmp_path, frame), model_dir
    )


# ---------------------------------------------------------------------------- FITS


def test_image_fits_is_not_called_truncated(tmp_path, capsys, model_dir) -> None:
    image = tmp_path / "image.fits"
    fits.PrimaryHDU(np.zeros((20, 20), np.float32)).writeto(image)
    err = refused(capsys, image, model_dir)
    assert "not a light-curve table (it holds an image)" in err and "truncated" not in err


def test_fits_table_without_time_is_not_a_light_curve(tmp_path, capsys, model_dir) -> None:
    table = tmp_path / "catalogue.fits"
    column = fits.Column(name="KEPMAG", format="E", array=np.ones(5, np.float32))
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns([column])]).writeto(table)
    assert "no table with a TIME column" in refused(capsys, table, model_dir)


def test_truncated_light_curve_is_still_called_truncated(tmp_path, capsys, model_dir) -> None:
    cut = tmp_path / "cut.fits"
    data = KEPLER_90_Q5.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt" in refused(capsys, cut, model_dir)


# ------------------------------------------------------------------------ stitching


def test_quarters_passed_together_are_stitched_into_one_light_curve(capsys, model_dir) -> None:
    code, out, err = run(capsys, "predict", KEPLER_90_Q4, KEPLER_90_Q5, "--stitch", "--json",
                         "--model-dir", model_dir)  # fmt: skip
    assert code == 0, err
    (stitched,) = json.loads(out)["inputs"]
    code, out, _ = run(capsys, "predict", KEPLER_90_Q4, KEPLER_90_Q5, "--json",
                       "--model-dir", model_dir)  # fmt: skip
    parts = json.loads(out)["inputs"]
    assert stitched["input"] == f"{KEPLER_90_Q4} + 1 more (stitched)"
    assert stitched["n_windows"] == sum(p["n_windows"] for p in parts)  # no window spans quarters
    assert [w["start"] for w in stitched["windows"]] == [
        w["start"] for p in parts for w in p["windows"]
    ]


def test_a_bad_part_is_reported_and_the_other_parts_still_stitched(tmp_path, capsys, model_dir):
    missing = tmp_path / "q6_llc.fits"
    code, out, err = run(capsys, "predict", KEPLER_90_Q4, missing, KEPLER_90_Q5, "--stitch",
                         "--json", "--model-dir", model_dir)  # fmt: skip
    assert code == 1 and err.count("\n") == 1 and err.startswith(f"error: {missing}: no such file")
    assert [r["input"] for r in json.loads(out)["inputs"]] == [
        f"{KEPLER_90_Q4} + 1 more (stitched)"
    ]


def test_stitching_a_quarter_twice_is_refused(capsys, model_dir) -> None:
    code, out, err = run(capsys, "predict", KEPLER_90_Q5, KEPLER_90_Q5, "--stitch",
                         "--model-dir", model_dir)  # fmt: skip
    assert (code, out) == (1, "") and err.count("\n") == 1 and "time value(s) repeat" in err


def test_stitched_csv_parts_match_one_csv_with_a_quarter_column(tmp_path, capsys, model_dir):
    frame = light_curve(20.0).assign(quarter=lambda f: (f["Time"] > 140).astype(int))
    frame.loc[frame["quarter"] == 1, "FLUX"] *= 1.7  # the second quarter sits on another level
    whole = write_csv(tmp_path, frame, "whole.csv")
    parts = [write_csv(tmp_path, q.drop(columns="quarter"), f"q{i}.csv")
             for i, q in frame.groupby("quarter")]  # fmt: skip
    outs = []
    for args in ([whole], [*parts, "--stitch"]):
        code, out, err = run(capsys, "predict", *args, "--json", "--model-dir", model_dir)
        assert code == 0, err
        outs.append(json.loads(out)["inputs"])
    assert len(outs[1]) == 1 and outs[0][0]["windows"] == outs[1][0]["windows"]


def test_python_api_stitches_a_list_of_paths(model_dir) -> None:
    import transit_classifier as tc

    table = tc.load_model(model_dir).score([KEPLER_90_Q4, KEPLER_90_Q5])
    assert table["input"].nunique() == 1 and table["input"].iloc[0].endswith("(stitched)")


# --------------------------------------------------------------------- model files


def copy_model(model_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(model_dir, target)
    return target


@pytest.mark.parametrize("name", ["model.json", "architecture.json"])
@pytest.mark.parametrize("content", ["[1, 2]", '"text"', "3", "null"])
def test_model_file_that_is_json_but_not_an_object(tmp_path, capsys, model_dir, name, content):
    copy = copy_model(model_dir, tmp_path)
    (copy / name).write_text(content)
    code, out, err = run(capsys, "predict", "whatever.csv", "--model-dir", copy)
    assert (code, out) == (1, "") and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: {copy / name}: not a JSON object") and "dvc repro" in err


@pytest.mark.parametrize("weights", ["../outside.h5", "/etc/passwd", "sub/model.weights.h5", "..",
                                     "", 5])  # fmt: skip
def test_weights_file_outside_the_model_dir_is_refused(tmp_path, model_dir, weights) -> None:
    copy = copy_model(model_dir, tmp_path)
    shutil.copyfile(copy / "model.weights.h5", tmp_path / "outside.h5")  # a matching hash
    info = json.loads((copy / "model.json").read_text())
    (copy / "model.json").write_text(json.dumps({**info, "weights_file": weights}))
    with pytest.raises(UserError, match="weights_file .* is not a file name inside"):
        load_classifier(copy)
    assert load_classifier(model_dir)[1]["weights_file"] == "model.weights.h5"


# ---------------------------------------------------------------------- MAST cache


class FakeSearch:
    """A lightkurve SearchResult stand-in whose product table names a file outside the cache."""

    def __init__(self, filename: str) -> None:
        self.table = [{"obs_collection": "Kepler", "obs_id": "kplr1", "productFilename": filename}]
        self.downloads = 0

    def download_all(self, **kwargs):
        self.downloads += 1
        raise AssertionError("must not download into a path outside the cache")


@pytest.mark.parametrize(
    "filename", ["../../../../victim.fits", "/tmp/victim.fits", "a/../../../../../victim.fits"]
)
def test_mast_names_leading_outside_the_cache_are_refused(tmp_path, filename) -> None:
    cache = tmp_path / "cache"
    victim = tmp_path / "victim.fits"
    victim.write_text("keep me")
    search = FakeSearch(filename)
    with pytest.raises(UserError, match="leads outside the cache"):
        mast.download(search, cache, mast.Retry(1, 0.0))
    assert search.downloads == 0 and victim.read_text() == "keep me"
    with pytest.raises(UserError, match="refusing to download or delete"):
        mast.cached_paths(search, cache)


def test_mast_names_inside_the_cache_are_kept(tmp_path) -> None:
    (path,) = mast.cached_paths(FakeSearch("kplr1_llc.fits"), tmp_path)
    assert path == tmp_path.resolve() / "mastDownload" / "Kepler" / "kplr1" / "kplr1_llc.fits"


# -------------------------------------------------------------------------- params


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("dataset.cadence_minutes", 0),
        ("dataset.cadence_minutes", -29.4),
        ("prepare.detrend_windows_days", [-0.75, 2.5]),
        ("prepare.detrend_windows_days", [0.0]),
        ("evaluate.baseline.detrend_windows_days", [-1.0]),
    ],
)
def test_zero_cadence_and_negative_detrend_windows_fail_at_load(tmp_path, key, value) -> None:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    *parents, last = key.split(".")
    node = params
    for part in parents:
        node = node[part]
    node[last] = value
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(UserError) as err:
        load_params(tmp_path / "params.yaml")
    assert str(err.value).startswith(f"params.yaml: {key} = {value!r} invalid, expected")
    assert "\n" not in str(err.value)


# --------------------------------------------------------------------------- stages


def test_missing_upstream_output_names_the_stage_to_rerun(tmp_path, monkeypatch, capsys) -> None:
    shutil.copyfile(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        stage.run(lambda: np.load("data/synthetic/lightcurves.npz"))
    err = capsys.readouterr().err
    assert exit_.value.code == 1 and err.count("\n") == 1
    assert err == (
        "error: data/synthetic/lightcurves.npz: not found (an output of stage 'synthesize'); "
        "run `dvc repro synthesize` first\n"
    )
    assert stage.producing_stage(tmp_path / "checkpoint" / "model.json") == "train"
    assert stage.producing_stage("params.yaml") is None


def test_stage_script_run_before_its_upstream_stage_gives_one_line(tmp_path) -> None:
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copyfile(ROOT / name, tmp_path / name)
    command = shlex.split(
        yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["prepare"]["cmd"]
    )
    done = subprocess.run(
        [sys.executable, str(ROOT / command[1]), *command[2:]],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "error: data/kepler/windows.npz: not found (an output of stage 'fetch_kepler'); "
        "run `dvc repro fetch_kepler` first"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dvc.yaml", "params.yaml"]


# -------------------------------------------------------------------------- figures


def test_recall_figure_legend_shows_fpr_in_percent() -> None:
    from transit_classifier.judge import figures, recovery

    mes = np.linspace(3, 49, 40)
    found = {f"net_{fpr}": mes > 8 for fpr in figures.STYLES}
    table = recovery.recall_table(mes, found, [3, 10, 50], {"fpr_1pct": 0.01, "fpr_0p1pct": 0.001})
    fig = figures.recall_vs_mes([table.assign(source="real")], {"net": "network"})
    labels = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert "network, FPR 1%" in labels and "network, FPR 0.1%" in labels
    assert not any(".ct" in label or "pct" in label for label in labels)


def test_stitch_keeps_each_parts_segments_apart() -> None:
    time = np.arange(0, 10, CADENCE_D)
    parts = [
        lightcurve.make_observations(f"q{i}", "csv", time + 20 * i, time * 0 + i + 1.0)
        for i in range(2)
    ]
    stitched = inputs.stitch(parts)
    assert np.unique(stitched.segment).tolist() == [0, 1] and stitched.name.startswith("q0 + 1")
    assert stitched.time.size == 2 * time.size
