"""`transit-classifier scan`: real Dask clusters, the committed model, the bundled Kepler FITS.

One LocalCluster scan of ``tests/fixtures/kepler`` is shared by the tests that
read its output; the ``--scheduler`` test starts real ``dask scheduler`` and
``dask worker`` processes and must give the same rows.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import transit_classifier
from transit_classifier.serve import scan, scan_cluster
from transit_classifier.serve.scan_inputs import iter_inputs, join_id_tokens, normalise_id
from transit_classifier.serve.scan_store import (
    FAILURE_COLUMNS,
    SEARCH_COLUMNS,
    SUMMARY_COLUMNS,
    WINDOW_COLUMNS,
    ScanStore,
)

FIXTURES = Path(__file__).parent / "fixtures" / "kepler"
GOOD = sorted(FIXTURES.glob("*.fits"))
SHORT = {"kplr005899262-2009131105131_llc.fits", "kplr008417738-2009131105131_llc.fits"}
DASK = Path(sys.executable).with_name("dask")
SORT = ["input", "start"]


def run_scan(*argv: str | Path) -> int:
    return scan.main([str(a) for a in argv])


def parts(out: Path) -> list[str]:
    return sorted(p.name for p in out.glob("part-*"))


@pytest.fixture(scope="module")
def local_scan(tmp_path_factory: pytest.TempPathFactory) -> ScanStore:
    """The fixtures scanned once on a LocalCluster of one single-threaded worker."""
    out = tmp_path_factory.mktemp("local") / "scan.parquet"
    argv = ("--workers", "1", "--batch-size", "2", "--vet", out.parent / "vetting")
    assert run_scan(FIXTURES, "--out", out, *argv) == 0
    return ScanStore(out, "parquet")


def test_flagged_inputs_get_a_vetting_page(local_scan: ScanStore) -> None:
    import matplotlib.image

    flagged = local_scan.read("candidates")["input"].unique()
    pages = sorted((local_scan.out.parent / "vetting").glob("*.png"))
    assert len(flagged) >= 2 and len(pages) == len(flagged)  # Kepler-90 and the hot Jupiter
    stems = {Path(i).name.split(".")[0] for i in flagged}
    assert {p.name.rsplit("-", 1)[0] for p in pages} == stems  # <stem>-<key>_vetting.png
    for page in pages:
        image = matplotlib.image.imread(page)
        assert image.shape[0] > 500 and image.shape[1] > 800  # a full page, not a stub
        assert image[..., :3].std() > 0.05  # drawn: curves and text, not a blank canvas


def test_unwritable_plots_folder_is_one_line(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = run_scan(FIXTURES, "--out", tmp_path / "s.parquet", "--vet", blocker / "sub")
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.count("\n") == 0 and "--vet" in err and "Traceback" not in err
    assert not (tmp_path / "s.parquet").exists()


def test_scan_writes_windows_candidates_and_failures(local_scan: ScanStore) -> None:
    windows = pd.read_parquet(local_scan.out)  # the part files read back as one table
    assert set(windows["input"].map(lambda p: Path(p).name)) == {p.name for p in GOOD} - SHORT
    assert list(windows.columns) == list(WINDOW_COLUMNS)
    assert windows["verdict"].isin(["transit", "no transit", "too sparse"]).all()
    assert (windows["end"] > windows["start"]).all()
    candidates = local_scan.read("candidates")
    flagged = local_scan.read("windows").query("verdict == 'transit'")
    pd.testing.assert_frame_equal(
        candidates.sort_values(SORT, ignore_index=True),
        flagged.sort_values(SORT, ignore_index=True),
    )
    assert local_scan.read("failures").empty
    summary = local_scan.read("summary").set_index(
        local_scan.read("summary")["input"].map(lambda p: Path(p).name)
    )
    assert (summary.loc[sorted(SHORT), "n_windows"] == 0).all()  # shorter than one window:
    assert summary.index.nunique() == len(GOOD)  # searched only, one summary row each


def test_every_scored_input_gets_a_summary_row_and_its_search_candidates(
    local_scan: ScanStore,
) -> None:
    """The released search runs on every input beside the windows: one summary row each, and
    Kepler-90's Q5 (h transits once, the inner planets many times) gets ranked candidates."""
    summary = local_scan.read("summary")
    windows = local_scan.read("windows")
    assert set(windows["input_key"]) < set(summary["input_key"])  # short ones: no window
    assert summary["input_key"].is_unique and len(summary) == len(GOOD)
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    searched = local_scan.read("search")
    assert list(searched.columns) == list(SEARCH_COLUMNS)
    kepler90 = searched[searched["input"].str.contains("kplr011442793-2010174085026")]
    assert len(kepler90) >= 1 and kepler90["rank"].tolist() == list(range(1, len(kepler90) + 1))
    assert kepler90["fap"].between(0, 1).all() and kepler90["transit_times"].str.len().gt(0).all()
    per_input = searched[searched["verdict"] == "candidate"].groupby("input_key").size()
    counted = summary.set_index("input_key")["n_candidates"]
    assert (counted[per_input.index] == per_input).all()


def test_rerun_skips_everything(local_scan: ScanStore, capsys: pytest.CaptureFixture) -> None:
    before = {t: parts(local_scan.directory(t)) for t in ("windows", "candidates", "failures")}
    rows = local_scan.read("windows")
    assert run_scan(FIXTURES, "--out", local_scan.out, "--workers", "1") == 0
    assert "scanned 0 input(s)" in capsys.readouterr().out
    assert {t: parts(local_scan.directory(t)) for t in before} == before
    pd.testing.assert_frame_equal(local_scan.read("windows"), rows)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def dask_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``dask scheduler`` and one single-threaded ``dask worker``, in other folders."""
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    command = [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
    processes = [subprocess.Popen(command, **quiet)]
    try:
        with Client(address, timeout="30s") as client:  # waits for the scheduler to listen
            command = [DASK, "worker", address, "--nthreads", "1", "--no-dashboard"]
            processes.append(
                subprocess.Popen(command, cwd=tmp_path_factory.mktemp("worker"), **quiet)
            )
            client.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=30)


def test_tess_sectors_are_scanned_and_vetted(dask_address: str, tmp_path: Path) -> None:
    from support import write_tess_fits  # SPOC-format files built with astropy (offline)

    sectors = tmp_path / "tess"
    sectors.mkdir()
    write_tess_fits(sectors / "tess_planet_lc.fits", depth=0.01, seed=1)
    write_tess_fits(sectors / "tess_flat_lc.fits.gz", sector=15, seed=2)
    write_tess_fits(sectors / "tess_ffi30_lc.fits", cadence_s=1800.0, depth=0.01, seed=4)
    out, plots = tmp_path / "scan.parquet", tmp_path / "vetting"
    argv = ("--scheduler", dask_address, "--vet", plots)
    assert run_scan(sectors, "--out", out, *argv) == 0
    windows = pd.read_parquet(out)
    flagged = windows.groupby(windows["input"].map(lambda p: Path(p).name))["verdict"]
    assert flagged.apply(lambda v: (v == "transit").all()).to_dict() == {
        "tess_planet_lc.fits": True,
        "tess_flat_lc.fits.gz": False,
        "tess_ffi30_lc.fits": True,
    }
    assert np.allclose(windows.dropna(subset="period")["period"], 3.1, atol=0.02)
    assert len(list(plots.glob("tess_*.png"))) == 2
    assert ScanStore(out, "parquet").read("failures").empty


def test_bad_inputs_are_failure_rows_and_good_ones_are_scored(
    dask_address: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    stars = tmp_path / "stars"
    stars.mkdir()
    good = shutil.copy(FIXTURES / "kplr011442793-2010009091648_llc.fits", stars)
    (stars / "truncated_llc.fits").write_bytes(GOOD[-1].read_bytes()[:5000])
    (stars / "garbage.csv").write_bytes(b"\x00\xff not,a\n light curve\x00")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("path\nstars/garbage.csv\nmissing.fits\n")
    out = tmp_path / "scan.csv"
    argv = [stars, manifest, "KIC", "1", "TIC 1", "--out", out, "--format", "csv"]
    assert run_scan(*argv, "--scheduler", dask_address) == 0
    store = ScanStore(out, "csv")
    failures = store.read("failures")
    reasons = dict(zip(failures["input"], failures["reason"], strict=True))
    assert "truncated or corrupt" in reasons[str(stars / "truncated_llc.fits")]
    assert "not a readable CSV" in reasons[str(stars / "garbage.csv")]
    assert "no such file" in reasons[str(tmp_path / "missing.fits")]
    assert "KIC 1: " in reasons["KIC 1"]  # offline: cannot reach MAST; online: no light curve
    assert "TIC 1: " in reasons["TIC 1"]
    assert all("\n" not in reason for reason in reasons.values())
    assert set(store.read("windows")["input"]) == {str(good)}
    assert capsys.readouterr().err.count("error: ") == 5  # the duplicate garbage.csv ran once


def test_scheduler_option_gives_the_same_rows(
    local_scan: ScanStore, dask_address: str, tmp_path: Path
) -> None:
    from distributed import Client

    out = tmp_path / "remote.parquet"
    assert run_scan(FIXTURES, "--out", out, "--scheduler", dask_address) == 0
    remote = ScanStore(out, "parquet")
    for table, order in (("windows", SORT), ("failures", ["input"])):
        pd.testing.assert_frame_equal(
            remote.read(table).sort_values(order, ignore_index=True),
            local_scan.read(table).sort_values(order, ignore_index=True),
        )
    path = str(FIXTURES / "kplr011442793-2010174085026_llc.fits")
    with Client(dask_address) as client:  # the Python API, called afresh on the worker
        expected = client.submit(lambda p: transit_classifier.load_model().score(p), path).result()
    got = remote.read("windows").query("input == @path")
    np.testing.assert_allclose(got["probability"], expected["probability"], atol=1e-6)
    assert list(got["verdict"]) == list(expected["verdict"])


def test_unreachable_scheduler_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan_cluster, "CONNECT_TIMEOUT", "1s")
    address = f"tcp://127.0.0.1:{free_port()}"
    assert run_scan(FIXTURES, "--out", tmp_path / "s.parquet", "--scheduler", address) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: cannot reach the Dask scheduler at {address}")
    assert "\n" not in err


def test_inputs_stream_from_dirs_globs_manifests_and_ids(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for name in ("b/x_llc.fits", "a.csv", "notes.txt"):
        (tmp_path / name).write_text("")
    (tmp_path / "ids.csv").write_text("kepid,comment\n11442793,kepler-90\nKIC 5899262,\n")
    (tmp_path / "tics.csv").write_text("tic\n261136679\n")
    sources = join_id_tokens([str(tmp_path / "b"), str(tmp_path / "*.csv"), "TIC", "42"])
    found = list(iter_inputs(sources))
    assert found[0] == str(tmp_path / "b" / "x_llc.fits") and found[-1] == "TIC 42"
    assert sorted(found[1:-1]) == sorted(map(str, tmp_path.glob("*.csv")))  # globs: any order
    manifests = [str(tmp_path / "ids.csv"), str(tmp_path / "tics.csv"), "kic8417738"]
    assert list(iter_inputs(manifests)) == ["KIC 11442793", "KIC 5899262", "TIC 261136679",
                                            "KIC 8417738"]  # fmt: skip
    assert normalise_id("not an id") is None
    own_output = tmp_path / "b" / "scan.csv"
    own_output.mkdir()
    (own_output / "part-1.csv").write_text("input\n")
    assert list(iter_inputs([str(tmp_path / "b")], frozenset({own_output}))) == [found[0]]


def test_parts_of_a_crashed_batch_are_dropped(tmp_path: Path) -> None:
    store = ScanStore(tmp_path / "scan.parquet", "parquet")
    store.prepare()
    row = {"input": "a", "input_key": "k", "model_hash": "m", "start": 1.0, "end": 2.0,
           "probability": 0.9, "inverted": 0.1, "verdict": "transit", "missing_fraction": 0.0,
           "period": 3.0, "epoch": 1.5, "duration": 0.1, "depth": 1e-3}  # fmt: skip
    store.write_batch(pd.DataFrame([row]), pd.DataFrame(columns=list(FAILURE_COLUMNS)))
    orphan = store.directory("candidates") / "part-0-crashed.parquet"
    shutil.copy(next(store.parts("candidates")), orphan)  # its windows part was never written
    store.prepare()
    assert not orphan.exists()
    assert store.done_keys() == {"k"}
    assert len(store.read("candidates")) == 1
    failed = pd.DataFrame([{"input": "b", "input_key": "f", "model_hash": "m", "reason": "bad"}])
    store.write_batch(store.read("windows").iloc[:0], failed)
    assert store.done_keys() == {"k", "f"}
    store.prepare(forget_failures=True)  # --retry-failed
    assert store.done_keys() == {"k"} and store.read("failures").empty


def test_missing_model_is_one_line_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "s.parquet"
    assert run_scan(FIXTURES, "--out", out, "--model-dir", tmp_path / "nope") == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "model.json" in err and "\n" not in err
    assert not out.exists()
