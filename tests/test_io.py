"""Atomic, byte-stable outputs: nothing half-written, nothing lost, no churn in dvc.lock."""

import hashlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from transit_classifier.io import atomic_dir, atomic_path, load_npz, save_npz, write_json


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_save_npz_is_byte_stable_across_time(tmp_path):
    arrays = {"flux": np.arange(12, dtype=np.float32).reshape(3, 4), "ids": np.array(["a", "bc"])}
    save_npz(tmp_path / "a.npz", **arrays)
    time.sleep(2.1)  # np.savez would stamp a different time into the zip
    save_npz(tmp_path / "b.npz", **arrays)
    assert _md5(tmp_path / "a.npz") == _md5(tmp_path / "b.npz")
    loaded = load_npz(tmp_path / "a.npz")
    np.testing.assert_array_equal(loaded["flux"], arrays["flux"])
    assert loaded["ids"].tolist() == ["a", "bc"]


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "metrics.json"
    write_json(target, {"auc": 0.9})
    before = target.read_bytes()
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("{half")
        raise RuntimeError("crash mid-write")
    assert target.read_bytes() == before
    assert list(tmp_path.iterdir()) == [target]


def test_failed_directory_write_keeps_the_old_directory(tmp_path):
    target = tmp_path / "prepared"
    with atomic_dir(target) as out:
        (out / "train.npz").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(target) as out:
        (out / "train.npz").write_text("new, half")
        raise RuntimeError("crash")
    assert (target / "train.npz").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["prepared"]


def test_killed_writer_leaves_no_output_dvc_would_take_for_done(tmp_path):
    target = tmp_path / "prepared"
    code = (
        "import os, signal, sys\n"
        "from transit_classifier.io import atomic_dir\n"
        "with atomic_dir(sys.argv[1]) as out:\n"
        "    (out / 'train.npz').write_bytes(b'x' * 1000)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(target)], timeout=60)
    assert result.returncode == -signal.SIGKILL
    assert not target.exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert all(name.startswith(".prepared.") for name in leftovers)


def test_write_json_rounds_and_nulls_non_finite(tmp_path):
    write_json(tmp_path / "m.json", {"a": np.float64(1 / 3), "b": float("nan"), "c": np.int64(2)})
    assert (tmp_path / "m.json").read_text() == '{\n  "a": 0.333333,\n  "b": null,\n  "c": 2\n}\n'
    assert (tmp_path / "m.json").stat().st_mode & 0o777 == 0o644


def test_atomic_dir_removes_temp_dirs_left_by_a_killed_run(tmp_path):
    stale = tmp_path / ".out.abc123"
    (stale / "part").mkdir(parents=True)
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "file").write_text("x")
    assert not stale.exists()
    assert (tmp_path / "out" / "file").read_text() == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def _swap_while_watching(tmp_path) -> list[bool]:
    """Replace an output 30 times while another thread checks that it always exists."""
    import threading

    target = tmp_path / "out"
    with atomic_dir(target) as out:
        (out / "n").write_text("0")
    seen: list[bool] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.append(target.is_dir() and (target / "n").is_file())

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for n in range(1, 31):
            with atomic_dir(target) as out:
                (out / "n").write_text(str(n))
    finally:
        done.set()
        watcher.join()
    assert (target / "n").read_text() == "30"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temp dir left behind
    return seen


def test_swapping_an_output_never_passes_through_a_moment_without_it(tmp_path):
    seen = _swap_while_watching(tmp_path)
    assert seen and all(seen)


def test_swap_without_rename_exchange_still_replaces_and_cleans(tmp_path, monkeypatch):
    import transit_classifier.io as io_module

    monkeypatch.setattr(io_module, "_exchange", lambda a, b: False)  # e.g. not Linux
    assert _swap_while_watching(tmp_path)


def test_output_set_aside_by_a_killed_swap_is_restored_not_deleted(tmp_path):
    aside = tmp_path / ".out.k1ll3d.old"  # the old output, moved aside just before the kill
    aside.mkdir()
    (aside / "model.h5").write_text("old model")
    (tmp_path / ".out.half").mkdir()  # the new output, half written
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "out"):
        raise RuntimeError("this run fails too")
    assert (tmp_path / "out" / "model.h5").read_text() == "old model"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
