"""A per-cadence head on the trained window network: a learned single-event statistic.

The window network's convolutions already respond to dips wherever they sit in the window.
This head reads its first two convolution blocks (full and quarter resolution) through a
small decoder and gives, for every cadence, the logit that the cadence lies inside a transit.
It is trained on the in-transit cadences of batman injections into training stars (masks the
injection bank knows exactly), with the trunk frozen, so the window probability and every
window-level figure stay what they were. :mod:`transit_classifier.search.learned` folds it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from transit_classifier.errors import UserError
from transit_classifier.io import atomic_dir, sha256_file, write_json
from transit_classifier.seeding import make_rng
from transit_classifier.signal.preprocess import PreprocessSettings
from transit_classifier.simulate.injection import Bank
from transit_classifier.simulate.settings import SimulateSettings

from .epochs import EpochSource, InjectSettings, injected_flux

if TYPE_CHECKING:
    import keras
    import pandas as pd

WEIGHTS_FILE = "cadence_head.weights.h5"
INFO_FILE = "cadence_head.json"
FIX = "rerun `dvc repro train_head`"

TRUNK_BLOCKS = (1, 2)
"""The trunk's first two convolution blocks, read before their pooling: full resolution and
the first pooled one (a network of one block gives the first only). Names as :mod:`.model`
sets them."""

HEAD_FILTERS = (32, 16)
HEAD_KERNEL = 9  # cadences: with the trunk's own kernels it spans a 13-hour transit
POSITIVE_WEIGHT = 10.0
"""In-transit cadences are about one in seventy of the injected windows' cadences (and none
of the uninjected twins'); weighting them up keeps the head from answering "never"."""


@dataclass(frozen=True)
class HeadSettings:
    """The ``cadence_head`` section, built once per stage (see params.yaml)."""

    rounds: int
    injections_per_round: int
    epochs: int
    batch_size: int  # ``train.batch_size``
    threads: int  # ``train.threads``: pinned as for the window network

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> HeadSettings:
        head, train = params["cadence_head"], params["train"]
        return cls(
            rounds=int(head["rounds"]),
            injections_per_round=int(head["injections_per_round"]),
            epochs=int(head["epochs"]),
            batch_size=int(train["batch_size"]),
            threads=int(train["threads"]),
        )


def cadence_masks(bank: Bank, table: pd.DataFrame) -> np.ndarray:
    """``(n, L)`` float32: 1 at the in-transit cadences of each injection of ``table``.

    The bank's shape of each row, time-reversed where the injection reversed it.
    """
    shapes = bank.shapes[table["bank_index"].to_numpy()].copy()
    flip = table["reversed"].to_numpy(bool)
    shapes[flip] = shapes[flip, ::-1]
    return (shapes > 0).astype(np.float32)


def training_set(source: EpochSource, rounds: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and masks: ``rounds`` x ``count`` injections plus their uninjected twins.

    Drawn from the ``cadence-head`` stream of the run's seed, apart from every epoch's
    injections, from the training stars' hosts only.
    """
    from transit_classifier.signal.preprocess import preprocess

    X_parts, mask_parts = [], []
    for k in range(rounds):
        rng = make_rng(source.inject.seed, "cadence-head", k)
        flux, table = injected_flux(
            source.hosts, source.bank, count, source.inject, rng, source.settings
        )
        masks = cadence_masks(source.bank, table)
        X_parts += [preprocess(flux, source.settings), source.hosts.X[table["host"].to_numpy()]]
        mask_parts += [masks, np.zeros_like(masks)]
    return np.concatenate(X_parts).astype(np.float32), np.concatenate(mask_parts)


def _trunk_features(window_model: keras.Model) -> list[Any]:
    """Each of :data:`TRUNK_BLOCKS`' output before pooling (after batch norm if it has one)."""
    names = {layer.name for layer in window_model.layers}
    out = []
    for block in TRUNK_BLOCKS:
        for name in (f"conv{block}_bn", f"conv{block}_conv"):
            if name in names:
                out.append(window_model.get_layer(name).output)
                break
    return out


def build_head(window_model: keras.Model) -> keras.Model:
    """The window network's input to per-cadence logits ``(n, L, 1)``, trunk frozen."""
    import keras
    from keras import layers

    for layer in window_model.layers:
        layer.trainable = False
    fine, *coarse = _trunk_features(window_model)
    x = fine
    factor = fine.shape[1] // coarse[0].shape[1] if coarse else 0
    if factor and fine.shape[1] == factor * coarse[0].shape[1]:  # else pooling left a remainder
        up = layers.UpSampling1D(factor, name="ses_upsample")(coarse[0])
        x = layers.Concatenate(name="ses_features")([fine, up])
    for i, filters in enumerate(HEAD_FILTERS, start=1):
        x = layers.Conv1D(
            filters, HEAD_KERNEL, padding="same", activation="swish", name=f"ses_conv{i}"
        )(x)
    logits = layers.Conv1D(1, 1, name="ses_logit")(x)
    return keras.Model(window_model.input, logits, name="cadence_head")


def fit_head(
    head: keras.Model, X: np.ndarray, masks: np.ndarray, epochs: int, batch_size: int
) -> dict[str, list[float]]:
    """Fit the head with per-cadence weighted cross-entropy; returns the Keras history."""
    import keras

    weights = np.where(masks > 0, POSITIVE_WEIGHT, 1.0).astype(np.float32)
    head.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
    )
    history = head.fit(
        X, masks[..., None], sample_weight=weights, batch_size=batch_size, epochs=epochs,
        shuffle=True, verbose=2,
    )  # fmt: skip
    return history.history


def cadence_logits(head: keras.Model, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Per-cadence logits ``(n, L)`` of inputs ``(n, L, C)``."""
    if not len(X):
        return np.zeros(X.shape[:2], np.float64)
    out = head.predict(np.asarray(X, np.float32), batch_size=batch_size, verbose=0)
    return out[..., 0].astype(np.float64)


def train(
    built: tuple[HeadSettings, SimulateSettings, InjectSettings],
    prepared: str | Path,
    checkpoint: str | Path,
) -> tuple[keras.Model, dict[str, Any]]:
    """The ``train_head`` stage in memory: the head fitted on the checkpoint's frozen trunk.

    Seeded from the run's seed on its own stream, with the window network's own
    preprocessing (read back from its ``model.json``). Returns the head and that model.json.
    """
    from .model import load_classifier
    from .training import configure_determinism, epoch_source

    head_settings, sim, inject = built
    configure_determinism(
        int(make_rng(inject.seed, "cadence-head").integers(2**31)), head_settings.threads
    )
    window_model, info = load_classifier(checkpoint)
    settings = PreprocessSettings.from_model(info["preprocess"])
    source = epoch_source(
        sim, inject, settings, prepared, int(info["input_length"]), len(info["channels"])
    )
    X, masks = training_set(source, head_settings.rounds, head_settings.injections_per_round)
    head = build_head(window_model)
    fit_head(head, X, masks, head_settings.epochs, head_settings.batch_size)
    return head, info


def save_head(head: keras.Model, out_dir: str | Path, window_info: dict[str, Any]) -> None:
    """Weights plus a record tying them to the window network's weights, atomically."""
    with atomic_dir(out_dir) as tmp:
        head.save_weights(tmp / WEIGHTS_FILE)
        write_json(
            tmp / INFO_FILE,
            {
                "window_weights_sha256": window_info["weights_sha256"],
                "weights_file": WEIGHTS_FILE,
                "weights_sha256": sha256_file(tmp / WEIGHTS_FILE),
            },
        )


def check_head(head_dir: str | Path, window_info: dict[str, Any]) -> Path:
    """The head's weights file, once its record says it is intact and made for this network.

    Raises
    ------
    UserError
        If the record or weights are missing, altered, or made for other window weights.
    """
    head_dir = Path(head_dir)
    info_path, weights = head_dir / INFO_FILE, head_dir / WEIGHTS_FILE
    if not info_path.is_file() or not weights.is_file():
        raise UserError(f"{head_dir}: no cadence head ({INFO_FILE}, {WEIGHTS_FILE}); {FIX}")
    try:
        record = json.loads(info_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        record = None
    if not isinstance(record, dict) or record.get("weights_sha256") != sha256_file(weights):
        raise UserError(f"{weights}: does not match {info_path} (altered or stale); {FIX}")
    if record.get("window_weights_sha256") != window_info.get("weights_sha256"):
        raise UserError(f"{head_dir}: the cadence head was trained on other window weights; {FIX}")
    return weights


def load_head(
    head_dir: str | Path, window_model: keras.Model, window_info: dict[str, Any]
) -> keras.Model:
    """The head on ``window_model``'s trunk, with its checked weights (:func:`check_head`)."""
    weights = check_head(head_dir, window_info)
    head = build_head(window_model)
    head.load_weights(weights)
    return head
