"""Fuzz-style reproductions of issue 33's serving-layer failures (predict, the artifact, scan).

Each case is named, builds its input, and states the exit code and the words
of its one-line message. Every case also checks the invariants: no traceback,
no verdict on the input that failed, JSON that parses, nothing deleted and
nothing (temporary) left behind in the folder it worked in. They run in-process
on the tiny test model; the end-to-end scans (a real LocalCluster, Ctrl-C) are
marked slow.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from support import INFO, light_curve, run, save_tiny_model, write_csv

import transit_classifier.learn.model
from transit_classifier.serve import artifact_check, scan
from transit_classifier.serve.boundary import reason
from transit_classifier.serve.scan_cluster import Progress, scheduler_address
from transit_classifier.serve.scan_inputs import Task, iter_inputs, join_id_tokens
from transit_classifier.serve.scan_store import FAILURE_COLUMNS, ScanStore

ROOT = Path(__file__).resolve().parents[1]

# ------------------------------------------------------------------------ invariants


def files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def check_invariants(
    code: int, out: str, err: str, before: set[Path], folder: Path, failed: list[str]
) -> None:
    """No traceback; one line per message; JSON parses; nothing deleted or left behind;
    no verdict printed for an input that failed."""
    assert "Traceback" not in err
    assert all(line.startswith(("error: ", "warning: ")) for line in err.splitlines()), err
    if out.lstrip().startswith("{"):
        names = [r["input"] for r in json.loads(out)["inputs"]]
        assert not set(names) & set(failed)
    else:
        assert not any(f"{name}: " in out for name in failed)
    after = files(folder)
    assert before <= after, before - after  # nothing deleted
    assert not [p for p in after - before if p.name.startswith(".") or p.suffix == ".tmp"]
    assert code != 0 or not failed


# ------------------------------------------------------------ 1. per-input boundary


def damaged(message: str) -> bool:
    """Named as a damaged file (by the reader, or by the boundary), never as a bug."""
    named = "truncated or corrupt" in message or "cut short" in message
    return named and "internal error" not in message


def truncated_gzip(folder: Path, name: str = "cut.csv.gz") -> Path:
    """A gzipped light curve cut short, as an interrupted download leaves it."""
    buffer = light_curve(10.0).to_csv(index=False).encode()
    path = folder / name
    path.write_bytes(gzip.compress(buffer)[:3000])
    return path


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_truncated_gzip_among_good_inputs(tmp_path, capsys, model_dir, as_json) -> None:
    """`predict good.csv cut.csv.gz`: the good one is printed, the cut one is one named line."""
    good, cut = write_csv(tmp_path, light_curve(10.0), "good.csv"), truncated_gzip(tmp_path)
    before = files(tmp_path)
    extra = ["--json"] if as_json else []
    code, out, err = run(capsys, "predict", good, cut, "--model-dir", model_dir, *extra)
    assert code == 1 and f"{good}" in out and err.count("\n") == 1
    assert err.startswith(f"error: {cut}: ") and damaged(err)
    assert "internal error" not in err
    check_invariants(code, out, err, before, tmp_path, [str(cut)])


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_unexpected_exception_on_one_input_is_its_own_line(
    tmp_path, capsys, model_dir, monkeypatch, as_json
) -> None:
    """A bug hit by one input (here a RuntimeError in scoring) costs only that input."""
    from transit_classifier.serve import predict as scoring

    real = scoring.predict_lightcurve

    def flaky(curve, model, setup, **options):
        if "boom" in curve.name:
            raise RuntimeError("kaboom\nsecond line")
        return real(curve, model, setup, **options)

    monkeypatch.setattr(scoring, "predict_lightcurve", flaky)
    good = write_csv(tmp_path, light_curve(10.0), "good.csv")
    bad = write_csv(tmp_path, light_curve(10.0, seed=1), "boom.csv")
    before = files(tmp_path)
    extra = ["--json"] if as_json else []
    code, out, err = run(capsys, "predict", bad, good, "--model-dir", model_dir, *extra)
    assert code == 1 and str(good) in out
    assert (
        err
        == f"error: {bad}: internal error (RuntimeError: kaboom second line); please report it\n"
    )
    check_invariants(code, out, err, before, tmp_path, [str(bad)])


def test_json_parses_even_when_every_input_failed(tmp_path, capsys, model_dir) -> None:
    cut = truncated_gzip(tmp_path)
    code, out, err = run(capsys, "predict", cut, "--json", "--model-dir", model_dir)
    assert code == 1 and json.loads(out)["inputs"] == [] and err.count("\n") == 1


def test_user_errors_keep_their_message(tmp_path, capsys, model_dir) -> None:
    flat = write_csv(tmp_path, light_curve(10.0).assign(FLUX=5.0), "flat.csv")
    code, out, err = run(capsys, "predict", flat, "--model-dir", model_dir)
    assert (code, out) == (
        1,
        "",
    ) and err == f"error: {flat}: flux is constant; supply a light curve with real flux\n"


def test_reason_names_damaged_files_and_bugs() -> None:
    import zlib

    assert "truncated or corrupt" in reason("a.gz", zlib.error("invalid distance"))
    assert reason("a.gz", EOFError("ended")) == (
        "a.gz: truncated or corrupt (EOFError: ended); re-download it"
    )
    assert reason("a", PermissionError(13, "Permission denied", "a")).endswith(
        "(Permission denied); check the path and permissions"
    )
    assert (
        reason("a", ValueError(""))
        == "a: internal error (ValueError: no message); please report it"
    )


# ---------------------------------------------------------------- 2. predict options


def test_threshold_with_operating_point_is_refused(tmp_path, capsys, model_dir) -> None:
    good = write_csv(tmp_path, light_curve(10.0))
    argv = ("--threshold", "0.5", "--operating-point", "bogus", "--model-dir", model_dir)
    code, out, err = run(capsys, "predict", good, *argv)
    assert (code, out) == (1, "") and err.count("\n") == 1
    assert "--threshold 0.5 and --operating-point bogus" in err and "only one" in err


def test_unknown_operating_point_names_the_valid_ones(tmp_path, capsys, model_dir) -> None:
    good = write_csv(tmp_path, light_curve(10.0))
    code, out, err = run(
        capsys, "predict", good, "--operating-point", "bogus", "--model-dir", model_dir
    )
    assert (code, out) == (1, "") and err.count("\n") == 1
    assert "no operating point 'bogus' (known: fpr_1pct, max_f1); choose one of" in err


# ---------------------------------------------------------------- 3. the model artifact


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def edit_json(name: str, change: Callable[[dict], object]) -> Callable[[Path], None]:
    def apply(model: Path) -> None:
        data = json.loads((model / name).read_text())
        result = change(data)
        text = result if isinstance(result, str) else json.dumps(data)
        (model / name).write_text(text)

    return apply


def set_key(*path: str, value: object) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        for key in path[:-1]:
            data = data[key]
        if value is KeyError:
            del data[path[-1]]
        else:
            data[path[-1]] = value

    return change


def widen(key: str, value: int) -> Callable[[dict], None]:
    """Set ``key`` of every layer that has it (the tiny model's Conv1D and Dense)."""

    def change(data: dict) -> None:
        for layer in data["config"]["layers"]:
            if key in layer["config"]:
                layer["config"][key] = value

    return change


ARTIFACT_CASES = {
    "thresholds_default_list": (
        edit_json("thresholds.json", set_key("default", value=["fpr_1pct"])),
        "thresholds.json: 'default' must be a string",
    ),
    "thresholds_default_object": (
        edit_json("thresholds.json", set_key("default", value={"a": 1})),
        "thresholds.json: 'default' must be a string",
    ),
    "thresholds_5000_digit_number": (
        edit_json("thresholds.json", lambda d: json.dumps(d).replace("0.5", "1" * 5000)),
        "thresholds.json: holds a 5,000-character number",
    ),
    "thresholds_nan": (
        edit_json("thresholds.json", lambda d: json.dumps(d).replace("0.5", "NaN")),
        "thresholds.json: holds NaN (not valid JSON)",
    ),
    "thresholds_deeply_nested": (
        edit_json("thresholds.json", lambda d: json.dumps(d).replace("0.7", nested(100_000))),
        "thresholds.json: JSON nested too deeply",
    ),
    "thresholds_nested_70": (
        edit_json("thresholds.json", lambda d: json.dumps(d).replace("0.7", nested(70))),
        "thresholds.json: JSON nested deeper than 64 levels",
    ),
    "model_json_deeply_nested": (
        edit_json("model.json", lambda d: json.dumps(d).replace("5.0", nested(100_000), 1)),
        "model.json: JSON nested too deeply",
    ),
    "detrend_windows_text": (
        edit_json("model.json", set_key("preprocess", "detrend_windows_days", value="abc")),
        "model.json: 'preprocess.detrend_windows_days' must be a list of positive days",
    ),
    "detrend_windows_negative": (
        edit_json("model.json", set_key("preprocess", "detrend_windows_days", value=[-1, 2.5])),
        "model.json: 'preprocess.detrend_windows_days' must be a list of positive days",
    ),
    "clip_high_sigma_missing": (
        edit_json("model.json", set_key("preprocess", "clip_high_sigma", value=KeyError)),
        "model.json: 'preprocess.clip_high_sigma' is missing",
    ),
    "clip_high_sigma_text": (
        edit_json("model.json", set_key("preprocess", "clip_high_sigma", value="x")),
        "model.json: 'preprocess.clip_high_sigma' must be a positive number",
    ),
    "preprocess_cadence_zero": (
        edit_json("model.json", set_key("preprocess", "cadence_minutes", value=0)),
        "model.json: 'preprocess.cadence_minutes' must be a positive number",
    ),
    "input_length_text": (
        edit_json("model.json", set_key("input_length", value="200")),
        "model.json: 'input_length' must be a count of cadences",
    ),
    "architecture_two_million_units": (
        edit_json("architecture.json", widen("units", 2_000_000)),
        "architecture.json: 'units' must be a layer width of 1 to 1024",
    ),
    "architecture_absurd_filters": (
        edit_json("architecture.json", widen("filters", 10**9)),
        "architecture.json: 'filters' must be a layer width of 1 to 1024",
    ),
    "architecture_huge_kernel": (
        edit_json("architecture.json", widen("kernel_size", [100_000])),
        "architecture.json: 'kernel_size' must be sizes of 1 to 64",
    ),
    "architecture_other_input_shape": (
        edit_json("architecture.json", lambda d: json.dumps(d).replace("200, 3]", "200, 5]")),
        "architecture.json: the network takes inputs of shape [None, 200, 5]",
    ),
    "model_json_not_utf8": (
        lambda model: (model / "model.json").write_bytes(b"\xff\xfe{}"),
        "model.json: not valid JSON (corrupted)",
    ),
}


@pytest.fixture(scope="module")
def pristine_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("pristine") / "model", INFO)


@pytest.mark.parametrize("name", list(ARTIFACT_CASES))
def test_damaged_artifact_is_refused_before_tensorflow_builds(
    tmp_path, capsys, monkeypatch, pristine_model, name
) -> None:
    edit, words = ARTIFACT_CASES[name]
    model = Path(shutil.copytree(pristine_model, tmp_path / "model"))
    edit(model)

    def never(*args, **kwargs):
        raise AssertionError("the model was built from a damaged artifact")

    monkeypatch.setattr(transit_classifier.learn.model, "load_classifier", never)
    good = write_csv(tmp_path, light_curve(10.0))
    before = files(tmp_path)
    code, out, err = run(capsys, "predict", good, "--model-dir", model)
    assert (code, out) == (1, "") and err.count("\n") == 1, err
    assert words in err, err
    assert "`git checkout model`" in err or "dvc repro" in err
    check_invariants(code, out, err, before, tmp_path, [])
    assert scan.main([str(good), "--model-dir", str(model), "--out", str(tmp_path / "s")]) == 1
    assert words in capsys.readouterr().err and not (tmp_path / "s").exists()


def test_the_released_model_and_the_seed_network_fit_the_bounds(tmp_path) -> None:
    from transit_classifier.learn.model import build_model, model_config
    from transit_classifier.learn.train_settings import TrainSettings
    from transit_classifier.params import load_params

    released = artifact_check.check_artifact(ROOT / "model")
    assert released.thresholds is not None and released.info["input_length"] == 1000
    seed = transit_classifier.learn.model.SEED_ARCHITECTURE
    widest = max(*seed["conv_filters"], *seed["lstm_units"], *seed["dense_units"])
    assert widest * 4 <= artifact_check.MAX_WIDTH
    net = replace(TrainSettings.from_params(load_params(ROOT / "params.yaml")), architecture="seed")
    network = json.loads(json.dumps(model_config(build_model(1000, net, 3))))
    artifact_check.check_architecture(network, tmp_path / "architecture.json", released.info)


# ------------------------------------------------------- 4. vetting pages never collide


def test_same_file_name_in_two_folders_gets_two_vetting_pages(
    tmp_path, capsys, model_dir, monkeypatch
) -> None:
    import numpy as np

    def deepest_point(model, X, batch_size=256):
        return 1 / (1 + np.exp(X[:, :, :-1].min(axis=(1, 2)) + 10))

    monkeypatch.setattr(transit_classifier.learn.model, "predict_proba", deepest_point)
    inputs = []
    for folder, seed in (("a", 0), ("b", 1)):
        (tmp_path / folder).mkdir()
        inputs.append(
            write_csv(tmp_path / folder, light_curve(12.0, 29.4244, 5.1, seed), "star.csv")
        )
    code, out, err = run(
        capsys, "predict", *inputs, "--vet", tmp_path / "vet", "--model-dir", model_dir
    )
    assert code == 0, err
    pages = sorted(p.name for p in (tmp_path / "vet").iterdir())
    assert len(pages) == 2 and all(
        p.startswith("star-") and p.endswith("_vetting.png") for p in pages
    )


# ----------------------------------------------------------- 5. CSV formula injection


def test_csv_cells_are_escaped_against_formulas_but_numbers_stay_numbers(tmp_path) -> None:
    store = ScanStore(tmp_path / "scan.csv", "csv")
    store.prepare()
    name = '=HYPERLINK("http://evil","x").csv'
    row = {"input": name, "input_key": "k", "model_hash": "m", "start": -12.5, "end": -8.25,
           "probability": 0.9, "inverted": 0.1, "verdict": "transit", "missing_fraction": 0.0,
           "period": 3.0, "epoch": -10.0, "duration": 0.1, "depth": 1e-3}  # fmt: skip
    failure = {"input": "@cmd|' /C calc'!A0", "input_key": "f", "model_hash": "m", "reason": "-x"}
    store.write_batch(pd.DataFrame([row]), pd.DataFrame([failure], columns=list(FAILURE_COLUMNS)))
    windows = (next(store.parts("windows"))).read_text()
    assert f"'{name}" in windows.replace('""', '"') and ",-12.5,-8.25," in windows
    failures = next(store.parts("failures")).read_text()
    assert "'@cmd" in failures and ",'-x" in failures
    raw = pd.read_csv(next(store.parts("windows")))
    assert raw["start"].dtype.kind == "f" and raw.loc[0, "epoch"] == -10.0


# -------------------------------------------------------- 6. scheduler address check


@pytest.mark.parametrize("address", ["foo", "http://localhost:8786", "tcp://localhost:notaport",
                                     "tcp://:8786", "tcp://host:8786/path"])  # fmt: skip
def test_malformed_scheduler_is_one_line_before_any_work(tmp_path, capsys, address) -> None:
    out = tmp_path / "s.parquet"
    assert scan.main([str(tmp_path), "--out", str(out), "--scheduler", address]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tcp://host:port" in err and f"{address!r}" in err
    assert "Traceback" not in err and not out.exists()


def test_good_scheduler_addresses_pass() -> None:
    assert scheduler_address("tcp://10.0.0.1:8786") == "tcp://10.0.0.1:8786"
    assert scheduler_address("127.0.0.1:8786") == "tcp://127.0.0.1:8786"


# ----------------------------------------------------------- 7. scan for long jobs


def test_truncated_gzip_in_a_scan_is_a_named_bad_input(tmp_path) -> None:
    """score_batch, as a worker runs it: the damaged file is a failures row, not a bug."""
    cut = truncated_gzip(tmp_path)
    model = save_tiny_model(tmp_path / "model", INFO)
    task = Task(str(cut), str(cut), "k")
    windows, failures, *_ = scan.score_batch([task], str(model), None, "m")
    (line,) = failures["reason"]
    assert windows.empty and line.startswith(f"{cut}: ") and damaged(line)
    assert "internal error" not in line


def test_a_repaired_input_in_a_scan_leaves_a_warnings_row(tmp_path) -> None:
    """Fill values masked by the reader are scored, and the repair is written down."""
    frame = light_curve(10.0)
    frame.loc[17, "FLUX"] = -1e30
    star = write_csv(tmp_path, frame)
    model = save_tiny_model(tmp_path / "model", INFO)
    windows, failures, _, notes, _ = scan.score_batch(
        [Task("star", str(star), "k")], str(model), None, "m"
    )
    assert failures.empty and not windows.empty
    (note,) = notes["warning"]
    assert "masked 1 fill value" in note and list(notes["input_key"]) == ["k"]


def test_progress_lines_in_a_log(capsys) -> None:
    progress = Progress(total=5, every=2)  # stderr is captured: not a terminal
    for _ in range(5):
        progress.update(1, 0)
    progress.update(0, 0)
    progress.close()
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" inputs")[0] for line in lines] == ["scan: 2/5", "scan: 4/5", "scan: 5/5"]
    assert lines[-1].endswith("done") and "about" in lines[0]


def window_row(name: str, key: str) -> dict:
    return {"input": name, "input_key": key, "model_hash": "m", "start": 1.0, "end": 2.0,
            "probability": 0.9, "inverted": 0.1, "verdict": "transit", "missing_fraction": 0.0,
            "period": 3.0, "epoch": 1.5, "duration": 0.1, "depth": 1e-3}  # fmt: skip


def test_a_rescanned_changed_input_replaces_its_rows(tmp_path) -> None:
    store = ScanStore(tmp_path / "scan.parquet", "parquet")
    store.prepare()
    no_failures = pd.DataFrame(columns=list(FAILURE_COLUMNS))
    store.write_batch(pd.DataFrame([window_row("a.csv", "old"), window_row("b.csv", "b")]),
                      no_failures)  # fmt: skip
    failed = pd.DataFrame([{"input": "c.csv", "input_key": "c-old", "model_hash": "m",
                            "reason": "c.csv: broken"}])  # fmt: skip
    store.write_batch(pd.DataFrame([window_row("x", "x")]).iloc[:0], failed)
    store.write_batch(pd.DataFrame([window_row("a.csv", "new"), window_row("c.csv", "c-new")]),
                      no_failures)  # fmt: skip
    store.drop_superseded()
    for table in ("windows", "candidates", "summary"):
        rows = store.read(table)
        assert sorted(rows["input_key"]) == ["b", "c-new", "new"], table
    assert store.read("failures").empty and store.done_keys() == {"b", "c-new", "new"}


def test_half_written_parts_are_removed_on_the_rerun_and_runs_do_not_overlap(tmp_path) -> None:
    store = ScanStore(tmp_path / "scan.parquet", "parquet")
    store.prepare()
    half = store.out / ".part-17-abc.parquet.x1y2.tmp"  # what atomic_path leaves on a crash
    half.write_bytes(b"PAR1 half")
    keep = store.out / "notes.txt"
    keep.write_text("mine")
    with store.lock():
        store.prepare()
        with pytest.raises(Exception, match="another scan is writing these tables"):
            with store.lock():
                pass
    assert not half.exists() and keep.exists()


def test_a_folder_named_like_a_kic_id_is_a_folder(tmp_path, capsys, model_dir, monkeypatch) -> None:
    from transit_classifier.sources import inputs

    def offline(*args, **kwargs):
        raise AssertionError("a folder was taken for a KIC id")

    monkeypatch.setattr(inputs, "download_kic", offline)
    folder = tmp_path / "12345"
    folder.mkdir()
    star = write_csv(folder, light_curve(10.0))
    monkeypatch.chdir(tmp_path)
    assert list(iter_inputs(join_id_tokens(["12345"]))) == [os.path.join("12345", star.name)]
    (tmp_path / "KIC").mkdir()
    assert join_id_tokens(["KIC", "12345"]) == ["KIC", "12345"]  # both are paths here
    code, out, err = run(capsys, "predict", "12345", "--model-dir", model_dir)
    assert (code, out) == (1, "") and err.startswith("error: 12345: ") and "folder" in err
    assert err.count("\n") == 1


# ------------------------------------------------------------- end to end (slow)


def scan_command(*argv: str | Path) -> list[str]:
    return [sys.executable, "-m", "transit_classifier", "scan", *map(str, argv)]


@pytest.mark.slow
def test_scan_end_to_end_rescan_and_clean_shutdown(tmp_path) -> None:
    """A real LocalCluster scan: a damaged gzip is a named bad input, a formula-like name
    stays text, progress lines reach the log, --dashboard prints its URL, no 'still alive,
    killing' at the end, and a changed input rescanned replaces its rows."""
    model = save_tiny_model(tmp_path / "model", INFO)
    stars = tmp_path / "stars"
    stars.mkdir()
    good = write_csv(stars, light_curve(10.0), "good.csv")
    write_csv(stars, light_curve(10.0, seed=2), "=HYPERLINK(1).csv")
    truncated_gzip(stars)
    out = tmp_path / "scan.csv"
    argv = ("=HYPERLINK(1).csv", ".", "--out", out, "--format", "csv", "--model-dir", model,
            "--workers", "1", "--progress-every", "1", "--batch-size", "1")  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = {"capture_output": True, "text": True, "env": env, "timeout": 600, "cwd": stars}
    done = subprocess.run(scan_command(*argv, "--dashboard"), **command)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "dashboard: http://127.0.0.1:" in done.stderr  # this machine only
    assert "still alive" not in done.stderr and "Traceback" not in done.stderr
    assert "scan: 3/3 inputs (1 failed)" in done.stderr
    store = ScanStore(out, "csv")
    (line,) = store.read("failures")["reason"]
    assert "cut.csv.gz" in line and damaged(line)
    assert any(p.read_text().count("'=HYPERLINK(1).csv") for p in store.parts("windows"))
    before = len(store.read("windows"))
    write_csv(stars, light_curve(10.0, seed=5), "good.csv")  # the file changed
    os.utime(good, ns=(time.time_ns(), time.time_ns() + 10**9))
    again = subprocess.run(scan_command(*argv), **command)
    assert again.returncode == 0 and "scanned 1 input(s)" in again.stdout, again.stderr[-3000:]
    windows = store.read("windows")
    assert len(windows) == before and windows.groupby("input")["input_key"].nunique().max() == 1


@pytest.mark.slow
def test_ctrl_c_ends_a_scan_with_one_line(tmp_path) -> None:
    """SIGINT to the whole process group (what Ctrl-C in a terminal does) mid-scan."""
    model = save_tiny_model(tmp_path / "model", INFO)
    stars = tmp_path / "stars"
    stars.mkdir()
    for i in range(60):
        write_csv(stars, light_curve(10.0, seed=i), f"s{i:02d}.csv")
    argv = (stars, "--out", tmp_path / "s.parquet", "--model-dir", model, "--workers", "1",
            "--batch-size", "1", "--progress-every", "1")  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(
        scan_command(*argv), stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    lines = []
    for line in process.stderr:  # wait until batches are flowing
        lines.append(line)
        if line.startswith("scan: 2/"):
            break
    os.killpg(process.pid, signal.SIGINT)
    _, rest = process.communicate(timeout=300)
    err = "".join(lines) + rest
    assert process.returncode == 130, err[-3000:]
    assert "Traceback" not in err and "CancelledError" not in err and "still alive" not in err
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        "error: interrupted; predict wrote nothing, a scan keeps its finished batches"
    ]


# ------------------------------------------------- seeded random mutations (bounded)


def mutations(text: bytes, rng, count: int):
    """``count`` damaged copies of ``text``: cut short, bytes flipped, junk inserted, or a
    value swapped for an odd JSON one."""
    odd = [b"1e999", b"-0", b'"x"', b"[]", b"{}", b"null", b"true", b"9" * 400, b"NaN"]
    for _ in range(count):
        data, kind = bytearray(text), rng.integers(4)
        at = int(rng.integers(len(data)))
        if kind == 0:
            data = data[:at]
        elif kind == 1:
            data[at] = int(rng.integers(256))
        elif kind == 2:
            data[at:at] = bytes(rng.integers(0, 256, int(rng.integers(1, 8))).tolist())
        else:
            end = data.find(b",", at)
            start = data.rfind(b":", 0, at)
            if 0 <= start < end:
                data[start + 1 : end] = b" " + odd[int(rng.integers(len(odd)))]
        yield bytes(data)


@pytest.mark.parametrize(
    "name", ["model.json", "thresholds.json", "architecture.json", "search.json"]
)
def test_random_damage_to_an_artifact_file_is_refused_or_harmless(
    tmp_path, pristine_model, name
) -> None:
    """200 seeded mutations per file: the checks pass or raise a one-line UserError,
    never another exception (the loader then meets only validated JSON)."""
    import numpy as np

    from transit_classifier.errors import UserError
    from transit_classifier.serve.candidates import read_search

    model = Path(shutil.copytree(pristine_model, tmp_path / "model"))
    original = (model / name).read_bytes()
    rng = np.random.default_rng([33, len(name)])
    refused = 0
    for damaged_bytes in mutations(original, rng, 200):
        (model / name).write_bytes(damaged_bytes)
        try:
            artifact_check.check_artifact(model)
            read_search(model)
        except UserError as exc:
            refused += 1
            assert "\n" not in str(exc) and f"{name}: " in str(exc)
    assert refused > 100  # most damage is caught; the rest left the file's meaning intact
