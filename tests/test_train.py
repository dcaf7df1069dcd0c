"""The train stage: model building, focal loss, determinism, safe saving/loading, stage outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import FrozenInstanceError, fields, replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from support import stage_argv

from transit_classifier.errors import UserError
from transit_classifier.io import save_npz, sha256_file
from transit_classifier.learn import model as classifier
from transit_classifier.learn import training
from transit_classifier.learn.train_settings import TrainSettings
from transit_classifier.params import load_params
from transit_classifier.signal.preprocess import PreprocessSettings

# TensorFlow is imported lazily by the package, so this still silences its C++ logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[1]
LENGTH = 128
CHANNELS = 3  # two flux channels (detrending windows) and the gap mask
TINY = {
    "conv_filters": [4, 8],
    "kernel_size": 5,
    "pool_sizes": [4, 4],
    "lstm_units": [8],
    "bidirectional": False,
    "dense_units": [8],
    "batch_size": 16,
    "epochs": 2,
    "patience": 5,
}


@pytest.fixture(scope="module")
def params() -> dict:
    """The repository's validated params with a tiny, fast network."""
    loaded = load_params(REPO / "params.yaml")
    loaded["train"].update(TINY, architecture="compact")
    return loaded


def settings_of(params: dict, **changes: object) -> TrainSettings:
    """The typed train settings of ``params``, with ``changes`` to the ``train`` section."""
    return TrainSettings.from_params({"train": {**params["train"], **changes}})


def make_split(n: int, seed: int, positive_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Noise windows; positives carry a periodic box dip the network can learn."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < positive_fraction).astype(np.int8)
    y[:2] = [0, 1]
    X = rng.normal(0.0, 1.0, (n, LENGTH)).astype(np.float32)
    phase = rng.integers(0, 32, n)
    in_transit = (np.arange(LENGTH)[None, :] - phase[:, None]) % 32 < 4
    X[in_transit & (y[:, None] == 1)] -= 4.0
    return np.stack([X, X, np.zeros_like(X)], axis=-1), y


def train_tiny(train_params: TrainSettings, seed: int = 3) -> tuple[object, dict, int]:
    training.configure_determinism(seed, threads=None)
    model = classifier.build_model(LENGTH, train_params, CHANNELS)
    X, y = make_split(64, 1, 0.35)
    Xv, yv = make_split(32, 2, 0.2)
    history, best = training.fit(
        model, (X, y.astype(np.float32)), (Xv, yv.astype(np.float32)), train_params
    )
    return model, history, best


@pytest.fixture(scope="module")
def trained(params):
    return train_tiny(settings_of(params))


def test_compact_model_builds_from_params(params):
    model = classifier.build_model(LENGTH, settings_of(params), CHANNELS)
    assert model.input_shape == (None, LENGTH, CHANNELS)
    assert model.output_shape == (None, 1)
    names = [layer.name for layer in model.layers]
    assert names.count("conv1_conv") == 1 and "conv2_pool" in names and "lstm1" in names
    bidirectional = classifier.build_model(
        LENGTH, settings_of(params, bidirectional=True, lstm_units=[8, 4]), CHANNELS
    )
    assert [layer.name for layer in bidirectional.layers if "lstm" in layer.name] == [
        "bilstm1",
        "bilstm2",
    ]
    assert bidirectional.output_shape == (None, 1)


def test_seed_architecture_matches_the_notebook(params):
    # Other train.* keys are ignored: the seed network is fixed.
    seed = classifier.build_model(1000, settings_of(params, architecture="seed"), 1)
    assert seed.count_params() == 528_385  # the notebook's single flux channel
    assert [layer.units for layer in seed.layers if layer.name.startswith("lstm")] == [128, 128]
    assert seed.get_layer("conv2_conv").filters == 256


def test_too_much_pooling_is_a_user_error(params):
    deep = settings_of(params, conv_filters=[4, 4, 4, 4], pool_sizes=[4, 4, 4, 4])
    with pytest.raises(UserError, match="leaves nothing"):
        classifier.build_model(64, deep, CHANNELS)
    with pytest.raises(UserError, match="one pool size per conv block"):
        classifier.build_model(64, settings_of(params, pool_sizes=[2]), CHANNELS)


def test_global_max_pool_joins_the_lstm_summary(params):
    with_peak = classifier.build_model(LENGTH, settings_of(params, global_max_pool=True), 3)
    without = classifier.build_model(LENGTH, settings_of(params, global_max_pool=False), 3)
    assert "conv_peak" in [layer.name for layer in with_peak.layers]
    assert "conv_peak" not in [layer.name for layer in without.layers]


def test_focal_loss_is_selected_and_weighs_the_classes(params):
    import keras

    loss = training.make_loss(settings_of(params))
    assert isinstance(loss, keras.losses.BinaryFocalCrossentropy)
    assert loss.apply_class_balancing
    values = {}
    for alpha in (0.25, 0.75):
        focal = training.make_loss(settings_of(params, focal_alpha=alpha))
        values[alpha] = [float(focal(np.array([[label]]), np.array([[0.3]]))) for label in (0, 1)]
    # alpha weighs transits, 1 - alpha weighs non-transits: a real class weighting.
    assert values[0.75][1] == pytest.approx(3 * values[0.25][1], rel=1e-5)
    assert values[0.25][0] == pytest.approx(3 * values[0.75][0], rel=1e-5)
    bce = training.make_loss(settings_of(params, loss="bce"))
    assert isinstance(bce, keras.losses.BinaryCrossentropy)


@pytest.mark.parametrize(("monitor", "mode"), [("val_pr_auc", "max"), ("val_loss", "min")])
def test_callbacks_monitor_the_validation_split(params, monitor, mode):
    import keras

    plain = settings_of(params, monitor=monitor, ema_momentum=0.0)
    early, reduce = training.make_callbacks(plain)
    assert isinstance(early, keras.callbacks.EarlyStopping)
    assert (early.monitor, early.mode, early.restore_best_weights) == (monitor, mode, True)
    assert early.patience == params["train"]["patience"]
    assert isinstance(reduce, keras.callbacks.ReduceLROnPlateau)
    assert (reduce.monitor, reduce.mode) == (monitor, mode)


def test_cosine_schedule_decays_to_zero_over_the_epochs_without_plateau_halving(params):
    import keras

    cosine = settings_of(params, lr_schedule="cosine", epochs=3, ema_momentum=0.0)
    assert not any(
        isinstance(c, keras.callbacks.ReduceLROnPlateau) for c in training.make_callbacks(cosine)
    )
    with pytest.raises(ValueError, match="steps per epoch"):
        training.learning_rate(cosine, None)
    schedule = training.learning_rate(cosine, steps_per_epoch=2)
    rates = [float(schedule(step)) for step in range(7)]
    assert rates[0] == pytest.approx(cosine.learning_rate)
    assert rates[3] == pytest.approx(cosine.learning_rate / 2)  # half way through 6 steps
    assert rates[6] == pytest.approx(0.0, abs=1e-12) and rates == sorted(rates, reverse=True)
    model, history, _ = train_tiny(cosine)  # fit compiles with the steps of its 64 windows
    assert len(history["loss"]) == 3
    assert int(model.optimizer.iterations) == 3 * -(-64 // cosine.batch_size)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-12)


def test_training_is_deterministic(params, trained):
    model, history, best = trained
    again, history_again, best_again = train_tiny(settings_of(params))
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert history == history_again and best == best_again
    assert {"val_pr_auc", "val_roc_auc", "val_loss", "pr_auc"} <= set(history)


def test_summary_reports_best_validation_epoch(params, trained):
    model, history, best = trained
    summary = training.summarise(history, best, model, settings_of(params), 64, 32)
    assert summary["epochs_run"] == len(history["loss"]) == 2
    assert summary["best_epoch"] == best + 1
    assert summary["best"]["val"]["pr_auc"] == history["val_pr_auc"][best]
    assert summary["parameters"] == model.count_params()
    assert not any("time" in key for key in summary)


def test_save_load_round_trip_is_exact_and_byte_stable(params, trained, tmp_path):
    model = trained[0]
    settings = PreprocessSettings.from_params(params)
    info = classifier.inference_info(params, settings, LENGTH)
    classifier.save_classifier(model, tmp_path / "a", info)
    classifier.save_classifier(model, tmp_path / "b", info)
    for name in ("architecture.json", "model.weights.h5", "model.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    loaded, loaded_info = classifier.load_classifier(tmp_path / "a")
    X, _ = make_split(20, 9, 0.5)
    np.testing.assert_array_equal(
        classifier.predict_proba(loaded, X), classifier.predict_proba(model, X)
    )
    assert loaded_info["input_length"] == LENGTH
    assert (
        loaded_info["preprocess"]["detrend_windows_days"]
        == (params["prepare"]["detrend_windows_days"])
    )
    assert PreprocessSettings.from_model(loaded_info["preprocess"]) == settings  # read back whole
    released = json.loads((Path(__file__).resolve().parents[1] / "model/model.json").read_text())
    assert list(loaded_info["preprocess"]) == list(released["preprocess"])  # the stored key layout
    assert loaded_info["channels"] == ["flux_0.75d", "flux_2.5d", "gap"]
    assert loaded_info["window"]["max_missing_fraction"] == params["kepler"]["max_missing_fraction"]
    assert loaded_info["weights_sha256"] == sha256_file(tmp_path / "a" / "model.weights.h5")
    probabilities = classifier.predict_proba(loaded, X)
    assert probabilities.shape == (20,) and ((probabilities >= 0) & (probabilities <= 1)).all()


def test_tampered_or_missing_model_files_are_user_errors(params, trained, tmp_path):
    model_dir = tmp_path / "models"
    classifier.save_classifier(
        trained[0],
        model_dir,
        classifier.inference_info(params, PreprocessSettings.from_params(params), LENGTH),
    )
    weights = model_dir / "model.weights.h5"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(UserError, match=r"model\.weights\.h5.*dvc repro train"):
        classifier.load_classifier(model_dir)
    weights.unlink()
    with pytest.raises(UserError, match="not found"):
        classifier.load_classifier(model_dir)
    with pytest.raises(UserError, match="model.json: not found"):
        classifier.load_classifier(tmp_path / "nowhere")


def test_predict_rejects_the_wrong_window_length(trained):
    with pytest.raises(UserError, match="expects"):
        classifier.predict_proba(trained[0], np.zeros((2, LENGTH + 1, CHANNELS), np.float32))


def test_mirrored_strategy_trains_and_predicts_on_cpu(params):
    """``train.distribute: mirrored`` (one CPU replica here) builds, compiles and fits in scope."""
    import tensorflow as tf

    train_params = settings_of(params, distribute="mirrored", epochs=1)
    training.configure_determinism(5, threads=None)
    with training.distribution_scope(train_params.distribute):
        model = classifier.build_model(LENGTH, train_params, CHANNELS)
        training.compile_model(model, train_params)
    assert isinstance(model.distribute_strategy, tf.distribute.MirroredStrategy)
    X, y = make_split(64, 1, 0.35)
    Xv, yv = make_split(32, 2, 0.2)
    history, best = training.fit(
        model, (X, y.astype(np.float32)), (Xv, yv.astype(np.float32)), train_params
    )
    assert len(history["loss"]) == 1 and best == 0
    probability = classifier.predict_proba(model, Xv)
    assert probability.shape == (32,) and np.all((probability >= 0) & (probability <= 1))


def test_default_strategy_adds_no_scope():
    import contextlib

    assert isinstance(training.distribution_scope("default"), contextlib.nullcontext)


def test_bad_splits_are_user_errors(tmp_path, params):
    with pytest.raises(UserError, match="dvc repro prepare"):
        training.load_split(tmp_path / "missing.npz")
    save_npz(tmp_path / "flat.npz", X=np.zeros((4, LENGTH), np.float32), y=np.zeros(4, np.int8))
    with pytest.raises(UserError, match="shape"):
        training.load_split(tmp_path / "flat.npz")
    X, _ = make_split(8, 0, 0.5)
    with pytest.raises(UserError, match="both transits and non-transits"):
        training.fit(
            None, (X, np.ones(8, np.float32)), (X, np.zeros(8, np.float32)), settings_of(params)
        )


def write_stage_inputs(folder: Path, seed: int = 0) -> None:
    """Tiny prepared splits, raw validation windows and injection hosts for the train stage."""
    rng = np.random.default_rng(seed)
    for split, n, split_seed, fraction in (("train", 64, 1, 0.35), ("val", 32, 2, 0.2)):
        X, y = make_split(n, split_seed, fraction)
        flux = 1 + 1e-3 * rng.standard_normal((n, LENGTH))
        source = np.full(n, "synthetic")
        save_npz(folder / f"data/prepared/{split}.npz", X=X, y=y, flux=flux, source=source)
    save_npz(
        folder / "data/prepared/real_val.npz",
        flux=1 + 1e-3 * rng.standard_normal((12, LENGTH)),
        y=np.zeros(12, np.int8),
    )
    save_npz(
        folder / "data/prepared/hosts_train.npz",
        flux=1 + 1e-3 * rng.standard_normal((40, LENGTH)),
        source=np.array(["synthetic", "real"] * 20),
    )


def tiny_stage_params() -> dict:
    stage_params = yaml.safe_load((REPO / "params.yaml").read_text())
    stage_params["dataset"]["window_length"] = LENGTH
    stage_params["prepare"]["detrend_method"] = "median"
    stage_params["inject"].update(bank_size=16, per_epoch=32, period_days=[0.8, 2.0])
    stage_params["train"].update(TINY, architecture="compact")
    return stage_params


def test_stage_writes_model_metrics_and_live_logs(tmp_path):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_stage_params()))
    write_stage_inputs(tmp_path)
    result = subprocess.run(
        stage_argv("train"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((tmp_path / "metrics/train.json").read_text())
    assert metrics["epochs_run"] == 2 and 1 <= metrics["best_epoch"] <= 2
    assert metrics["injected_transits_seen"] == 2 * 32  # fresh injections every epoch
    assert metrics["parameters"] > 0 and set(metrics["best"]["val"]) == {
        "loss",
        "pr_auc",
        "roc_auc",
    }
    live = tmp_path / "metrics/train_live/plots/metrics"
    assert (live / "eval/pr_auc.tsv").read_text().splitlines()[0] == "step\tpr_auc"
    assert len((live / "train/loss.tsv").read_text().splitlines()) == 3
    info = json.loads((tmp_path / "checkpoint/model.json").read_text())
    assert info["input_length"] == LENGTH and info["preprocess"]["detrend_method"] == "median"
    assert not (tmp_path / "dvc.yaml").exists()


def test_live_logger_refuses_an_empty_git_repository(tmp_path, monkeypatch):
    # Stock dvclive would `dvc init` it and then crash (treeverse/dvclive#522).
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match="without commits"):
        training.make_live("metrics/train_live")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".git"]


def test_live_logger_writes_only_its_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not in a git repository
    live = training.make_live("metrics/train_live")
    for step in range(2):
        live.log_metric("eval/pr_auc", 0.5 + step / 10)
        live.next_step()
    live.end()
    rows = (tmp_path / "metrics/train_live/plots/metrics/eval/pr_auc.tsv").read_text()
    assert rows == "step\tpr_auc\n0\t0.5\n1\t0.6\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics"]


def test_weight_averaging_keeps_the_validated_average(params):
    """With ``ema_momentum`` the saved weights are the averaged ones validation scored."""
    import keras

    train_params = settings_of(params, ema_momentum=0.9, epochs=2, patience=5)
    assert isinstance(training.make_callbacks(train_params)[0], keras.callbacks.SwapEMAWeights)
    model, history, best = train_tiny(train_params)
    Xv, yv = make_split(32, 2, 0.2)
    scored = model.evaluate(Xv, yv[:, None].astype(np.float32), verbose=0, return_dict=True)
    assert scored["pr_auc"] == pytest.approx(history["val_pr_auc"][best], abs=1e-6)
    plain = train_tiny(replace(train_params, ema_momentum=0.0))[0]
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(model.get_weights(), plain.get_weights(), strict=True)
    )


KEEP_FREED_PROBE = """
import ctypes, numpy as np
from transit_classifier.stage import keep_freed_memory

libc = ctypes.CDLL(None)
modern = hasattr(libc, "mallinfo2")  # glibc >= 2.33; mallinfo's int fields still hold 256 MiB
mallinfo = libc.mallinfo2 if modern else libc.mallinfo

class Info(ctypes.Structure):
    names = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
    _fields_ = [(name, ctypes.c_size_t if modern else ctypes.c_int) for name in names.split()]

mallinfo.restype = Info
applied = keep_freed_memory()
mapped = mallinfo().hblkhd
block = np.ones(2**25)  # 256 MiB, far above glibc's 32 MiB mmap threshold
del block
heap = mallinfo().arena
block = np.ones(2**25)
info = mallinfo()
print(applied, info.hblkhd - mapped, info.arena - heap)
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="glibc only: elsewhere keep_freed_memory does nothing by design",
)
def test_stages_reuse_freed_memory_instead_of_fresh_pages() -> None:
    """After ``keep_freed_memory`` a big array comes from the heap, and a second one reuses it.

    Each epoch's few hundred MB would otherwise be new mmap pages, every one
    a page fault on first touch (a third of the train stage's time on a VM).
    """
    done = subprocess.run(
        [sys.executable, "-c", KEEP_FREED_PROBE], capture_output=True, text=True, check=True
    )
    applied, newly_mapped, heap_growth = done.stdout.split()
    assert applied == "True"
    assert int(newly_mapped) == 0  # not served by mmap
    assert int(heap_growth) < 2**20  # the freed 256 MiB was kept and reused (not re-grown)


def test_train_settings_hold_every_train_key_frozen(params) -> None:
    settings = TrainSettings.from_params(params)
    assert {f.name for f in fields(TrainSettings)} == set(params["train"])
    assert settings.conv_filters == tuple(params["train"]["conv_filters"])
    with pytest.raises(FrozenInstanceError):
        settings.epochs = 3  # type: ignore[misc]
