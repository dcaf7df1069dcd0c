"""The Conv1D + LSTM transit classifier: build it from params, save it byte-stably, load it safely.

Convolutions find short dips wherever they sit in the window, pooling shrinks
the sequence so the LSTM stays cheap on a CPU, and the LSTM relates dips to
each other (a periodic train of equal dips is what a planet makes). TensorFlow
is imported only inside functions, so a stage has silenced its log lines first.

A ``.keras`` archive stamps the save time into its zip, so DVC would see a new
model on every run. The model is stored instead as three deterministic files:
``architecture.json`` (the Keras config), ``model.weights.h5`` (weights only)
and ``model.json`` (what inference needs plus the weights' sha256, so a stale or
tampered weights file is refused instead of silently producing wrong scores).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from transit_classifier.errors import UserError
from transit_classifier.io import atomic_dir, sha256_file, write_json
from transit_classifier.signal.preprocess import PreprocessSettings, channel_names

from .train_settings import TrainSettings

if TYPE_CHECKING:
    import keras

ARCHITECTURE_FILE = "architecture.json"
WEIGHTS_FILE = "model.weights.h5"
INFO_FILE = "model.json"
FIX = "rerun `dvc repro train`"

# The seed notebook's network, fixed whatever the other train.* keys say.
SEED_ARCHITECTURE: dict[str, Any] = {
    "conv_filters": [128, 256],
    "kernel_size": 5,
    "activation": "swish",
    "batch_norm": True,
    "pool_sizes": [2, 2],
    "global_max_pool": False,
    "conv_dropout": [0.3, 0.4],
    "lstm_units": [128, 128],
    "bidirectional": False,
    "dense_units": [256],
    "dense_dropout": 0.5,
}


def _conv_block(
    x: Any, index: int, filters: int, spec: dict[str, Any], pool: int, dropout: float
) -> Any:
    """Conv1D(activation) -> (BatchNorm) -> MaxPool -> Dropout, the seed notebook's order."""
    from keras import layers

    name = f"conv{index}"
    x = layers.Conv1D(
        filters,
        spec["kernel_size"],
        padding="same",
        activation=spec["activation"],
        name=f"{name}_conv",
    )(x)
    if spec["batch_norm"]:
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
    if pool > 1:
        x = layers.MaxPooling1D(pool, name=f"{name}_pool")(x)
    if dropout > 0:
        x = layers.Dropout(dropout, name=f"{name}_drop")(x)
    return x


def _recurrent_block(x: Any, spec: dict[str, Any]) -> Any:
    """Stacked LSTMs; all but the last return sequences so they can be stacked."""
    from keras import layers

    units = spec["lstm_units"]
    for i, n in enumerate(units, start=1):
        lstm = layers.LSTM(n, return_sequences=i < len(units), name=f"lstm{i}")
        if spec["bidirectional"]:
            lstm = layers.Bidirectional(lstm, name=f"bilstm{i}")
        x = lstm(x)
    return x


def _dense_block(x: Any, spec: dict[str, Any]) -> Any:
    from keras import layers

    for i, n in enumerate(spec["dense_units"], start=1):
        x = layers.Dense(n, activation=spec["activation"], name=f"dense{i}")(x)
        if spec["dense_dropout"] > 0:
            x = layers.Dropout(spec["dense_dropout"], name=f"dense{i}_drop")(x)
    return x


def architecture_spec(train: TrainSettings) -> dict[str, Any]:
    """The layer settings actually used: the seed network's or the params' own."""
    if train.architecture == "seed":
        return dict(SEED_ARCHITECTURE)
    keys = (
        "conv_filters",
        "kernel_size",
        "activation",
        "batch_norm",
        "pool_sizes",
        "global_max_pool",
        "lstm_units",
        "bidirectional",
        "dense_units",
        "dense_dropout",
    )
    spec = {key: getattr(train, key) for key in keys}
    spec["conv_dropout"] = [train.conv_dropout] * len(spec["conv_filters"])
    return spec


def _check_pooling(spec: dict[str, Any], input_length: int) -> None:
    """One pool size per conv block, and something of the window left after pooling."""
    if len(spec["pool_sizes"]) != len(spec["conv_filters"]):
        raise UserError(
            f"train.pool_sizes has {len(spec['pool_sizes'])} entries for "
            f"{len(spec['conv_filters'])} conv_filters; give one pool size per conv block"
        )
    if input_length // int(np.prod(spec["pool_sizes"])) < 1:
        raise UserError(
            f"train: pooling by {spec['pool_sizes']} leaves nothing of a {input_length}-cadence "
            "window; use fewer conv blocks or smaller pool_sizes"
        )


def build_model(input_length: int, train: TrainSettings, channels: int) -> keras.Model:
    """Build the (uncompiled) classifier for windows of ``input_length`` cadences.

    Convolutions find dips wherever they sit; pooling shrinks the sequence so
    the (bidirectional) LSTM stays cheap on a CPU and relates the dips to each
    other, as a periodic train of equal dips is what a planet makes. With
    ``global_max_pool`` the strongest convolutional response over the whole
    window joins the LSTM summary, so one deep transit is never averaged away.

    Parameters
    ----------
    input_length
        Cadences per light curve (the prepared ``X.shape[1]``).
    train
        The stage's ``train`` settings. ``architecture: seed`` ignores the
        layer keys and rebuilds the seed notebook's ~528k-parameter network.
    channels
        Input channels per cadence (:func:`preprocess.channel_names`: flux per
        detrending window, then the gap mask).

    Returns
    -------
    keras.Model
        Input ``(None, input_length, channels)``, output ``(None, 1)`` transit probability.
    """
    import keras
    from keras import layers

    spec = architecture_spec(train)
    _check_pooling(spec, input_length)
    inputs = keras.Input(shape=(input_length, channels), name="flux")
    x = inputs
    blocks = zip(spec["conv_filters"], spec["pool_sizes"], spec["conv_dropout"], strict=True)
    for i, (filters, pool, rate) in enumerate(blocks, start=1):
        x = _conv_block(x, i, filters, spec, pool, rate)
    summary = _recurrent_block(x, spec)
    if spec["global_max_pool"]:
        peak = layers.GlobalMaxPooling1D(name="conv_peak")(x)
        summary = layers.Concatenate(name="summary")([summary, peak])
    x = _dense_block(summary, spec)
    outputs = layers.Dense(1, activation="sigmoid", name="transit_probability")(x)
    return keras.Model(inputs, outputs, name=f"transit_classifier_{train.architecture}")


def model_config(model: keras.Model) -> dict[str, Any]:
    """The model's Keras config without its compile settings (inference needs none)."""
    import keras

    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)
    return config


def save_classifier(model: keras.Model, model_dir: str | Path, info: dict[str, Any]) -> None:
    """Write architecture, weights and ``model.json`` into ``model_dir`` as one atomic swap.

    ``info`` holds what inference needs (input length, cadence, preprocessing
    settings, params hash); the weights' sha256 and file names are added here.
    """
    with atomic_dir(model_dir) as tmp:
        write_json(tmp / ARCHITECTURE_FILE, model_config(model))
        model.save_weights(tmp / WEIGHTS_FILE)
        write_json(
            tmp / INFO_FILE,
            {
                **info,
                "architecture_file": ARCHITECTURE_FILE,
                "weights_file": WEIGHTS_FILE,
                "weights_sha256": sha256_file(tmp / WEIGHTS_FILE),
            },
        )


def _read_json(path: Path) -> dict[str, Any]:
    """A model file's JSON object; anything else (a list, a number, bad bytes) is corrupt."""
    if not path.is_file():
        raise UserError(f"{path}: not found; {FIX} to create the model")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(f"{path}: not valid JSON (corrupted); {FIX}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: not a JSON object (found {json.dumps(data)[:20]}); {FIX}")
    return data


def _weights_path(model_dir: Path, info: dict[str, Any]) -> Path:
    """The weights file ``model.json`` names, refused unless it lies inside ``model_dir``.

    A tampered ``weights_file`` (``../../x.h5``, an absolute path) must not make
    predict load, or even hash, a file from elsewhere. Only a plain file name is
    accepted (symlinks a DVC cache may place are not resolved, so they still work).
    """
    name = info.get("weights_file", WEIGHTS_FILE)
    plain = isinstance(name, str) and name not in ("", ".", "..") and Path(name).name == name
    if not plain or "\\" in name:
        raise UserError(
            f"{model_dir / INFO_FILE}: weights_file {name!r} is not a file name inside "
            f"{model_dir}; {FIX}"
        )
    return model_dir / name


def load_classifier(model_dir: str | Path = "checkpoint") -> tuple[keras.Model, dict[str, Any]]:
    """Rebuild the trained classifier and return it with its ``model.json`` info.

    The architecture is deserialised in Keras' safe mode (no lambdas or pickled
    code), and the weights are loaded only if their sha256 matches ``model.json``.

    Raises
    ------
    UserError
        If a file is missing, corrupted, stale or tampered with.
    """
    import keras

    model_dir = Path(model_dir)
    info = _read_json(model_dir / INFO_FILE)
    config = _read_json(model_dir / ARCHITECTURE_FILE)
    weights = _weights_path(model_dir, info)
    if not weights.is_file():
        raise UserError(f"{weights}: not found; {FIX} to create the model")
    if sha256_file(weights) != info.get("weights_sha256"):
        raise UserError(
            f"{weights}: sha256 does not match {model_dir / INFO_FILE} (stale or tampered); {FIX}"
        )
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
        model.load_weights(weights)
    except (ValueError, TypeError, KeyError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{model_dir}: cannot rebuild the model ({first}); {FIX}") from None
    return model, info


def predict_proba(model: keras.Model, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Transit probabilities, float64 of shape ``(n,)``, for inputs ``(n, length, channels)``.

    Runs the network through one ``tf.function`` per model, traced once for any
    batch size: ``model.predict`` retraces for every new input length and sets
    up its data pipeline on every call, a fixed cost that, when measured, was
    larger than the network itself when scoring one star at a time (``predict``,
    ``scan``). The scores are the same to the last bit.

    Raises
    ------
    UserError
        If ``X`` does not have the shape the model was built for.
    """
    X = np.asarray(X, dtype=np.float32)
    expected = tuple(model.input_shape[1:])
    if X.ndim != 3 or X.shape[1:] != expected:
        raise UserError(
            f"inputs have shape {X.shape} but the model expects "
            f"(n, {', '.join(map(str, expected))}); preprocess light curves of the trained "
            "window length"
        )
    if len(X) == 0:
        return np.zeros(0, dtype=np.float64)
    forward = _forward(model)
    parts = [forward(X[i : i + batch_size]).numpy()[:, 0] for i in range(0, len(X), batch_size)]
    return np.concatenate(parts).astype(np.float64)


def _forward(model: keras.Model) -> Any:
    """The model's inference pass as a ``tf.function`` of any batch size, built once per model."""
    forward = getattr(model, "_transit_forward", None)
    if forward is None:
        import tensorflow as tf

        spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
        forward = tf.function(lambda x: model(x, training=False), input_signature=[spec])
        model._transit_forward = forward
    return forward


def params_hash(params: dict[str, Any]) -> str:
    """sha256 (canonical JSON) of the params the train stage depends on in dvc.yaml.

    ``train.distribute: default`` is left out, so a plain run hashes as it did
    before the key existed; ``mirrored`` (other reduction order) is hashed.
    """
    dataset = params["dataset"]
    train = {k: v for k, v in params["train"].items() if (k, v) != ("distribute", "default")}
    relevant = {
        "seed": params["seed"],
        "dataset": {key: dataset[key] for key in ("window_length", "cadence_minutes")},
        "prepare": params["prepare"],
        "inject": params["inject"],
        "train": train,
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()


def inference_info(
    params: dict[str, Any], settings: PreprocessSettings, input_length: int
) -> dict[str, Any]:
    """Everything that shapes a model input, stored with the weights.

    predict rebuilds windows and inputs from this alone, so training and
    inference cannot drift apart through params edited after training;
    ``settings`` are the train stage's, stored as they were used.
    """
    import keras

    from transit_classifier.signal.windowing import window_info

    return {
        "architecture": params["train"]["architecture"],
        "input_length": int(input_length),
        "cadence_minutes": params["dataset"]["cadence_minutes"],
        "channels": channel_names(settings),
        "window": window_info(params),
        "preprocess": settings.as_dict(),
        "params_sha256": params_hash(params),
        "keras_version": keras.__version__,
    }
