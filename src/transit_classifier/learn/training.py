"""Fit the classifier deterministically, stopping on the validation split, logging via dvclive.

The training split arrives balanced by SMOTE (``prepare.sampling_strategy``);
the focal loss then focuses on hard examples and ``apply_class_balancing``
weighs the transit class by ``focal_alpha`` (the other class by ``1 - alpha``).
Early stopping and the learning-rate schedule watch ``train.monitor`` on the
validation split only; the test split never enters this module.

``train.distribute: mirrored`` builds and compiles the model inside a
``tf.distribute.MirroredStrategy`` scope (every visible GPU); ``default`` adds
no scope. TensorFlow is imported inside functions so a stage silences its logs
first.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from transit_classifier.errors import UserError
from transit_classifier.io import load_npz
from transit_classifier.seeding import make_rng
from transit_classifier.signal.preprocess import PreprocessSettings, channel_names
from transit_classifier.simulate import injection
from transit_classifier.simulate.settings import SimulateSettings

from . import epochs
from .model import build_model
from .train_settings import TrainSettings

if TYPE_CHECKING:
    import keras

MONITOR_MODE = {"val_pr_auc": "max", "val_roc_auc": "max", "val_loss": "min"}
REPORTED = ("loss", "pr_auc", "roc_auc")


def configure_determinism(seed: int, threads: int | None) -> None:
    """Seed every RNG, force deterministic kernels and pin TensorFlow's thread pools.

    Thread counts decide how TensorFlow splits reductions, so pinning them (the
    same value on every machine) keeps the weights' last bits independent of the
    core count. Pools can only be sized before TensorFlow starts its runtime: a
    later call with the same value is a no-op, a different one is refused, and
    ``threads=None`` leaves them alone (runs in one process stay reproducible).
    """
    import keras
    import tensorflow as tf

    if threads is not None:
        _pin_threads(tf.config.threading, threads)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _pin_threads(threading: Any, threads: int) -> None:
    current = (
        threading.get_intra_op_parallelism_threads(),
        threading.get_inter_op_parallelism_threads(),
    )
    if current == (threads, 1):
        return
    try:
        threading.set_intra_op_parallelism_threads(threads)
        threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        raise UserError(
            f"train.threads = {threads} cannot be applied once TensorFlow has started; "
            "call configure_determinism before building any model"
        ) from None


def load_split(
    path: str | Path, input_length: int | None = None, channels: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Read ``X`` (n, length, channels) float32 and ``y`` (n,) labels from a prepared split.

    Raises
    ------
    UserError
        If the file is missing, lacks ``X``/``y``, has the wrong shapes, labels
        other than 0/1, or (``input_length`` given) a different window length.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: not found; run `dvc repro prepare` first")
    data = load_npz(path)
    if "X" not in data or "y" not in data:
        raise UserError(f"{path}: missing X or y; rerun `dvc repro prepare`")
    X, y = data["X"].astype(np.float32, copy=False), data["y"]
    wanted = X.shape[-1] if channels is None else channels
    if X.ndim != 3 or X.shape[2] != wanted or len(X) != len(y) or len(X) == 0:
        raise UserError(
            f"{path}: X has shape {X.shape} for {len(y)} labels, expected (n>0, length, "
            f"{wanted}); rerun `dvc repro prepare`"
        )
    if input_length is not None and X.shape[1] != input_length:
        raise UserError(
            f"{path}: windows of {X.shape[1]} cadences, expected {input_length}; "
            "rerun `dvc repro prepare`"
        )
    if not np.isin(y, (0, 1)).all():
        raise UserError(f"{path}: labels must be 0 or 1; rerun `dvc repro prepare`")
    if not np.isfinite(X).all():
        raise UserError(f"{path}: X holds NaN or inf; rerun `dvc repro prepare`")
    return X, y.astype(np.float32)


def make_loss(train_settings: TrainSettings) -> keras.losses.Loss:
    """Keras' focal loss with real class weighting (alpha for transits), or plain BCE."""
    import keras

    if train_settings.loss == "bce":
        return keras.losses.BinaryCrossentropy(name="bce")
    return keras.losses.BinaryFocalCrossentropy(
        apply_class_balancing=True,
        alpha=train_settings.focal_alpha,
        gamma=train_settings.focal_gamma,
        name="focal",
    )


def compile_model(
    model: keras.Model, train_settings: TrainSettings, steps_per_epoch: int | None = None
) -> None:
    """Adam + the chosen loss, tracking PR-AUC (the monitor) and ROC-AUC.

    ``train.ema_momentum`` > 0 makes Adam keep an exponential moving average
    of the weights (Polyak averaging, Keras' ``use_ema``). The average sits in
    a wide minimum rather than wherever the last noisy step landed, which is
    what makes verdicts depend less on the seed. The learning rate follows
    ``train.lr_schedule`` (:func:`learning_rate`).
    """
    import keras

    momentum = train_settings.ema_momentum
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=learning_rate(train_settings, steps_per_epoch),
            use_ema=momentum > 0,
            ema_momentum=momentum if momentum > 0 else 0.99,
        ),
        loss=make_loss(train_settings),
        metrics=[
            keras.metrics.AUC(curve="PR", name="pr_auc"),
            keras.metrics.AUC(curve="ROC", name="roc_auc"),
        ],
    )


def learning_rate(train_settings: TrainSettings, steps_per_epoch: int | None) -> Any:
    """``train.learning_rate``, constant or as a cosine decay, per ``train.lr_schedule``.

    ``plateau`` keeps it constant here and lets :func:`make_callbacks` halve it
    when the monitor stalls, which in 20 epochs happens about once, at the end.
    ``cosine`` decays it to zero over ``train.epochs`` epochs
    (``keras.optimizers.schedules.CosineDecay``): the last epochs take small
    steps into the minimum instead of bouncing around it at the full rate.

    Raises
    ------
    ValueError
        If the schedule is ``cosine`` and ``steps_per_epoch`` is not given.
    """
    import keras

    rate = train_settings.learning_rate
    if train_settings.lr_schedule == "plateau":
        return rate
    if steps_per_epoch is None:
        raise ValueError("a cosine learning-rate schedule needs the number of steps per epoch")
    total = train_settings.epochs * steps_per_epoch
    return keras.optimizers.schedules.CosineDecay(rate, decay_steps=total)


def distribution_scope(distribute: str) -> contextlib.AbstractContextManager:
    """The scope to build and compile the model in, per ``train.distribute``.

    ``mirrored``: a ``tf.distribute.MirroredStrategy`` over every visible GPU
    (the CPU when there is none), each batch split between the replicas.
    ``default``: no scope at all, so the weights are exactly a plain run's.
    """
    if distribute == "mirrored":
        import tensorflow as tf

        return tf.distribute.MirroredStrategy().scope()
    return contextlib.nullcontext()


def make_live(live_dir: str | Path) -> Any:
    """A stock dvclive ``Live`` writing per-epoch TSVs and a summary into ``live_dir``.

    dvc.yaml declares these files as the stage's metrics and plots, so dvclive's
    public arguments turn off its dvc.yaml, experiment saving and report.
    dvclive still opens the enclosing DVC repository (``dvc init``-ing a git
    work tree without one, as it documents), but in a git repository without
    commits it crashes after that (treeverse/dvclive#522): a UserError, here, first.
    """
    from dvclive import Live
    from scmrepo.exceptions import SCMError
    from scmrepo.git import Git

    try:
        empty = Git(root_dir=os.getcwd(), search_parent_directories=True).no_commits
    except SCMError:  # not in a git repository: dvclive leaves everything alone
        empty = False
    if empty:
        raise UserError(
            f"{os.getcwd()}: a git repository without commits, where dvclive cannot log "
            "(treeverse/dvclive#522); commit once (git commit --allow-empty -m init) first"
        )
    return Live(dir=str(live_dir), dvcyaml=False, save_dvc_exp=False, report=None)


def make_callbacks(
    train_settings: TrainSettings, live: Any = None
) -> list[keras.callbacks.Callback]:
    """Early stopping (best weights restored) and LR decay on ``train.monitor``, plus dvclive.

    With ``train.ema_momentum`` > 0, Keras' ``SwapEMAWeights`` comes first:
    validation scores the averaged weights, and they are in the model when
    early stopping copies the best epoch's weights, so those are what is saved.
    """
    import keras

    monitor = train_settings.monitor
    mode = MONITOR_MODE[monitor]
    callbacks: list[keras.callbacks.Callback] = [
        keras.callbacks.EarlyStopping(
            monitor=monitor,
            mode=mode,
            patience=train_settings.patience,
            restore_best_weights=True,
            verbose=1,
        ),
    ]
    if train_settings.lr_schedule == "plateau":
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=monitor,
                mode=mode,
                factor=train_settings.reduce_lr_factor,
                patience=train_settings.reduce_lr_patience,
                verbose=1,
            )
        )
    if train_settings.ema_momentum > 0:
        callbacks.insert(0, keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    if live is not None:
        from dvclive.keras import DVCLiveCallback

        callbacks.append(DVCLiveCallback(live=live))
    return callbacks


def _check_validation(y_val: np.ndarray) -> None:
    if not (y_val == 1).any() or not (y_val == 0).any():
        raise UserError(
            "data/prepared/val.npz: validation needs both transits and non-transits to "
            "monitor PR-AUC; raise dataset.transit_ratio or the dataset size and rerun prepare"
        )


def fit(
    model: keras.Model,
    train: Any,
    val: tuple[np.ndarray, np.ndarray],
    train_settings: TrainSettings,
    live: Any = None,
) -> tuple[dict[str, list[float]], int]:
    """Fit ``model`` in place; return the per-epoch history and the best epoch index.

    The model is compiled first unless it already is (:func:`train` compiles it
    inside the ``train.distribute`` scope it was built in).

    ``train`` is a ``keras.utils.PyDataset`` (:func:`epochs.injection_dataset`,
    which batches and shuffles itself) or an ``(X, y)`` pair. The weights left
    in ``model`` are those of the best epoch on the validation monitor
    (``restore_best_weights``), not the last epoch's.
    """
    import keras

    _check_validation(val[1])
    if not model.compiled:
        steps = (
            -(-len(train[0]) // train_settings.batch_size)
            if isinstance(train, tuple)
            else len(train)
        )
        compile_model(model, train_settings, steps)
    callbacks = make_callbacks(train_settings, live)
    if isinstance(train, tuple):
        data = {"x": train[0], "y": train[1][:, None], "shuffle": True}
        data["batch_size"] = train_settings.batch_size
    else:
        data = {"x": train}
    history = model.fit(
        **data,
        validation_data=(val[0], val[1][:, None]),
        epochs=train_settings.epochs,
        callbacks=callbacks,
        verbose=2,
    )
    stopper = next(c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping))
    return history.history, int(stopper.best_epoch)


def summarise(
    history: dict[str, list[float]],
    best_epoch: int,
    model: keras.Model,
    train_settings: TrainSettings,
    n_train: int,
    n_val: int,
) -> dict[str, Any]:
    """The ``metrics/train.json`` record: best epoch, its metrics, size of the run (no timings)."""
    at_best = {
        split: {
            name: float(history[prefix + name][best_epoch])
            for name in REPORTED
            if prefix + name in history
        }
        for split, prefix in (("train", ""), ("val", "val_"))
    }
    return {
        "architecture": train_settings.architecture,
        "loss": train_settings.loss,
        "parameters": int(model.count_params()),
        "monitor": train_settings.monitor,
        "epochs_run": len(history["loss"]),
        "best_epoch": best_epoch + 1,
        "train_samples": n_train,
        "val_samples": n_val,
        "best": at_best,
    }


def epoch_source(
    sim: SimulateSettings,
    inject: epochs.InjectSettings,
    settings: PreprocessSettings,
    prepared: str | Path,
    length: int,
    channels: int,
) -> epochs.EpochSource:
    """The prepared training split, its injection hosts and the batman transit bank."""
    base = load_split(f"{prepared}/train.npz", length, channels)
    hosts_npz = load_npz(f"{prepared}/hosts_train.npz")
    hosts = epochs.Hosts.from_flux(hosts_npz["flux"], hosts_npz["source"] == "real", settings)
    rng = make_rng(inject.seed, "inject", "bank")
    bank = injection.make_bank(sim, inject.bank_size, rng, inject.period_days)
    return epochs.EpochSource(base, hosts, bank, inject, settings)


def train(
    stage: tuple[TrainSettings, SimulateSettings, epochs.InjectSettings, PreprocessSettings],
    prepared: str | Path,
    live_dir: str | Path,
) -> tuple[keras.Model, dict[str, Any]]:
    """The ``train`` stage in memory: seeded data and model, fresh injections every epoch.

    ``stage`` holds the settings the stage script built, once, from the params.
    Returns the model at its best validation epoch and its ``metrics/train.json`` record.
    """
    train_settings, sim, inject, settings = stage
    seed = int(make_rng(sim.seed, "train", train_settings.seed).integers(2**31))
    configure_determinism(seed, train_settings.threads)
    length, channels = sim.window_length, len(channel_names(settings))
    source = epoch_source(sim, inject, settings, prepared, length, channels)
    data = epochs.injection_dataset(source, train_settings.batch_size)
    val_npz = [load_npz(f"{prepared}/{name}.npz") for name in ("val", "real_val")]
    count = train_settings.validation_injections
    val = epochs.validation_set(*val_npz, sim, count, inject, settings)
    with distribution_scope(train_settings.distribute):
        model = build_model(length, train_settings, channels)
        compile_model(model, train_settings, len(data))
    print(
        f"train: {train_settings.architecture} model, {model.count_params():,} parameters; "
        f"{len(data.y)} windows per epoch ({int(data.y.sum())} transits, "
        f"{inject.per_epoch} freshly injected), {len(source.hosts.X)} injection "
        f"hosts; {len(val[1])} validation windows ({int(val[1].sum())} transits)"
    )
    start = time.perf_counter()
    history, best_epoch = fit(model, data, val, train_settings, live=make_live(live_dir))
    elapsed = time.perf_counter() - start
    epochs_run = len(history["loss"])
    print(
        f"train: {epochs_run} epochs in {elapsed:.0f} s ({elapsed / epochs_run:.1f} s/epoch), "
        f"best epoch {best_epoch + 1}"
    )
    summary = summarise(history, best_epoch, model, train_settings, len(data.y), len(val[1]))
    summary["injected_transits_seen"] = inject.per_epoch * epochs_run
    summary["onednn_max_cpu_isa"] = os.environ.get("ONEDNN_MAX_CPU_ISA", "")  # see stage.py
    return model, summary
