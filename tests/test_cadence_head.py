"""The per-cadence head (learn/cadence_head.py): masks, a frozen trunk, a checked save."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transit_classifier.errors import UserError
from transit_classifier.learn import cadence_head
from transit_classifier.simulate.injection import Bank

LENGTH = 64


def window_model(length: int = LENGTH):  # noqa: ANN201 (keras)
    """A small window network with the layer names :mod:`learn.model` gives its blocks."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(1)
    inputs = keras.Input((length, 3), name="flux")
    x = layers.Conv1D(4, 5, padding="same", name="conv1_conv")(inputs)
    x = layers.BatchNormalization(name="conv1_bn")(x)
    x = layers.MaxPooling1D(4, name="conv1_pool")(x)
    x = layers.Conv1D(4, 5, padding="same", name="conv2_conv")(x)
    x = layers.GlobalMaxPooling1D(name="peak")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="transit_probability")(x)
    return keras.Model(inputs, outputs)


def test_masks_follow_the_bank_shape_and_its_reversal() -> None:
    shapes = np.zeros((2, 10), np.float32)
    shapes[0, 2:4] = 0.5
    shapes[1, 6:9] = 1.0
    bank = Bank(shapes, pd.DataFrame({"period_days": [1.0, 2.0]}))
    table = pd.DataFrame({"bank_index": [0, 1, 0], "reversed": [False, False, True]})
    masks = cadence_head.cadence_masks(bank, table)
    assert masks.dtype == np.float32
    assert np.flatnonzero(masks[0]).tolist() == [2, 3]
    assert np.flatnonzero(masks[1]).tolist() == [6, 7, 8]
    assert np.flatnonzero(masks[2]).tolist() == [6, 7]  # 10 - 1 - [2, 3]
    assert bank.shapes[0, 2] == 0.5  # the bank itself is not flipped


def test_head_gives_a_logit_per_cadence_and_leaves_the_window_output_alone() -> None:
    model = window_model()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, LENGTH, 3)).astype(np.float32)
    probe = X[:8].copy()
    before = model.predict(probe, verbose=0)
    weights = [w.copy() for w in model.get_weights()]
    head = cadence_head.build_head(model)
    assert head.output_shape == (None, LENGTH, 1)
    masks = np.zeros((64, LENGTH), np.float32)
    masks[:32, 20:26] = 1.0
    X[:32, 20:26, 0] -= 3.0  # the dips the head should learn to point at
    history = cadence_head.fit_head(head, X, masks, epochs=3, batch_size=16)
    assert history["loss"][-1] < history["loss"][0]
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights(), strict=True))
    np.testing.assert_array_equal(before, model.predict(probe, verbose=0))  # trunk frozen
    logits = cadence_head.cadence_logits(head, X)
    assert logits.shape == (64, LENGTH)
    assert logits[:32, 20:26].mean() > logits[32:, 20:26].mean()


def test_a_one_block_network_gets_a_head_too() -> None:
    import keras
    from keras import layers

    inputs = keras.Input((LENGTH, 3))
    x = layers.Conv1D(4, 5, padding="same", name="conv1_conv")(inputs)
    x = layers.GlobalMaxPooling1D()(layers.MaxPooling1D(8, name="conv1_pool")(x))
    model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))
    assert cadence_head.build_head(model).output_shape == (None, LENGTH, 1)


def _saved(tmp_path: Path) -> tuple:
    model = window_model()
    head = cadence_head.build_head(model)
    info = {"weights_sha256": "a" * 64}
    cadence_head.save_head(head, tmp_path / "head", info)
    return model, head, info


def test_saved_head_loads_back_with_the_same_logits(tmp_path: Path) -> None:
    model, head, info = _saved(tmp_path)
    X = np.random.default_rng(2).standard_normal((4, LENGTH, 3)).astype(np.float32)
    again = cadence_head.load_head(tmp_path / "head", window_model(), info)
    np.testing.assert_array_equal(
        cadence_head.cadence_logits(head, X), cadence_head.cadence_logits(again, X)
    )
    record = json.loads((tmp_path / "head" / cadence_head.INFO_FILE).read_text())
    assert record["window_weights_sha256"] == "a" * 64


def test_a_head_for_other_weights_or_altered_is_refused(tmp_path: Path) -> None:
    model, _, info = _saved(tmp_path)
    with pytest.raises(UserError, match="other window weights"):
        cadence_head.check_head(tmp_path / "head", {"weights_sha256": "b" * 64})
    weights = tmp_path / "head" / cadence_head.WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(UserError, match="altered or stale"):
        cadence_head.check_head(tmp_path / "head", info)
    weights.unlink()
    with pytest.raises(UserError, match="no cadence head"):
        cadence_head.check_head(tmp_path / "head", info)


def test_settings_come_from_their_section_and_the_train_section() -> None:
    params = {
        "cadence_head": {"rounds": 2, "injections_per_round": 10, "epochs": 3},
        "train": {"batch_size": 16, "threads": 2},
    }
    settings = cadence_head.HeadSettings.from_params(params)
    assert (settings.rounds, settings.injections_per_round, settings.epochs) == (2, 10, 3)
    assert (settings.batch_size, settings.threads) == (16, 2)


def test_a_release_with_a_head_searches_with_it_and_refuses_to_without(tmp_path: Path) -> None:
    import shutil

    from support import CADENCE_D, INFO, tiny_search_calibration

    from transit_classifier.learn.model import load_classifier, save_classifier
    from transit_classifier.search.flatten import SearchGrid
    from transit_classifier.serve.artifact_check import MAX_JSON_BYTES
    from transit_classifier.serve.candidates import load_search

    release = tmp_path / "model"
    save_classifier(window_model(INFO["input_length"]), release, INFO)
    model, info = load_classifier(release)
    cadence_head.save_head(cadence_head.build_head(model), tmp_path / "head", info)
    for name in (cadence_head.INFO_FILE, cadence_head.WEIGHTS_FILE):
        shutil.copyfile(tmp_path / "head" / name, release / name)
    (release / "search.json").write_text(json.dumps(tiny_search_calibration("combined").to_dict()))
    calibration = load_search(release, model, info)
    assert calibration.evidence is not None
    rng = np.random.default_rng(7)
    for n in (2000, 60):  # a quarter-like light curve, and one shorter than half a window
        time = 100 + np.arange(n) * CADENCE_D
        flux = 1 + 1e-4 * rng.standard_normal(n)
        flux[((time - 100.3) % 2.9) < 0.2] -= 3e-3  # deep enough for any evidence to carry
        grid = SearchGrid("star", time, flux, np.zeros(n, int), CADENCE_D)
        found = calibration.run(grid).candidates
        assert found and abs(found[0].epoch - 100.4) % 2.9 < 0.2
    (release / cadence_head.WEIGHTS_FILE).unlink()
    with pytest.raises(UserError, match="no cadence head"):
        load_search(release, model, info)
    (release / cadence_head.INFO_FILE).write_text(" " * (MAX_JSON_BYTES + 1))
    with pytest.raises(UserError, match="too large"):  # read within every model file's limits
        load_search(release, model, info)
