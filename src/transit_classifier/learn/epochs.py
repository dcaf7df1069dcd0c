"""Training data with fresh transits every epoch, injected into training stars' own noise.

The seed's tables give the network a few hundred transits. Real detection
power needs many more, in the systematics real photometry has, so every epoch
:func:`injection_dataset` adds ``inject.per_epoch`` new batman transits (the
synthesize stage's physics, :func:`injection.make_bank`) multiplied into
non-transit windows of *training* stars (real Kepler windows far from any KOI
transit, and synthetic negatives), each at a MES-like SNR drawn from
``inject.mes`` against that window's own noise, plus as many uninjected host
windows, so the only difference the network can learn is the transit.

Everything is drawn from named seeded streams per epoch, so a run is
reproducible; validation and test stars never enter (``hosts_train.npz`` is
built by ``prepare`` from training stars only).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from transit_classifier.errors import UserError
from transit_classifier.seeding import make_rng
from transit_classifier.signal.preprocess import (
    PreprocessSettings,
    flatten_all,
    from_flats,
    preprocess,
)
from transit_classifier.simulate import injection
from transit_classifier.simulate.orbits import log_uniform
from transit_classifier.simulate.settings import SimulateSettings

from .augmentation import scattered_gaps, with_gaps


@dataclass(frozen=True)
class Hosts:
    """Raw non-transit windows to inject into, their detrended flux and their network input."""

    flux: np.ndarray  # (n, L) raw relative flux, NaN at gaps
    flats: np.ndarray  # (windows, n, L) detrended like the network's flux channels
    X: np.ndarray  # (n, L, C) preprocessed, uninjected
    real: np.ndarray  # (n,) bool: a real Kepler window

    @classmethod
    def from_flux(cls, flux: np.ndarray, real: np.ndarray, settings: PreprocessSettings) -> Hosts:
        flux = np.asarray(flux, dtype=np.float64)
        if len(flux) == 0:
            raise UserError("no injection hosts; rerun `dvc repro prepare` with more negatives")
        flats = flatten_all(flux, settings)  # once: injection depths and the inputs share it
        return cls(flux, flats, from_flats(flux, flats, settings), real)


@dataclass(frozen=True)
class InjectSettings:
    """The ``inject`` section and the seeds of the epochs' streams, built once per train stage."""

    seed: int  # ``seed``: the run's
    train_seed: int  # ``train.seed``: changes the draws only, never the data
    bank_size: int
    per_epoch: int
    mes: tuple[float, float]
    period_days: tuple[float, float]
    real_host_fraction: float
    negative_hosts: str
    scattered_gap_probability: float
    scattered_gap_fraction: tuple[float, float]

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> InjectSettings:
        """The settings of the validated params dict (ranges as tuples: nothing edits them)."""
        inject = params["inject"]
        section = {f.name: inject[f.name] for f in fields(cls) if f.name in inject}
        ranges = {
            key: tuple(section[key]) for key in ("mes", "period_days", "scattered_gap_fraction")
        }
        return cls(seed=params["seed"], train_seed=params["train"]["seed"], **section | ranges)


def injected_flux(
    hosts: Hosts,
    bank: injection.Bank,
    count: int,
    inject: InjectSettings,
    rng: np.random.Generator,
    settings: PreprocessSettings,
) -> tuple[np.ndarray, Any]:
    """``count`` injected raw light curves (exactly, hosts redrawn where a gap hid the transit)
    and their table.

    ``inject.real_host_fraction`` of them go into real Kepler windows.
    """
    real_rows, syn_rows = np.flatnonzero(hosts.real), np.flatnonzero(~hosts.real)
    n_real = int(round(count * inject.real_host_fraction)) if real_rows.size else 0
    if not syn_rows.size:
        n_real = count
    index = np.concatenate(
        [rng.choice(real_rows, n_real), rng.choice(syn_rows, count - n_real)]
        if syn_rows.size
        else [rng.choice(real_rows, count)]
    )
    target = log_uniform(rng, inject.mes, count)
    done = injection.inject(hosts.flux, hosts.flats, bank, target, rng, index, settings)
    if not len(done.host):
        raise UserError("no transit could be injected: every host window is mostly gaps")
    keep = np.sort(rng.choice(len(done.host), count, replace=len(done.host) < count))
    return done.flux[keep], done.table.iloc[keep].reset_index(drop=True).assign(
        host=done.host[keep]
    )


@dataclass(frozen=True)
class EpochSource:
    """What every epoch's training data are drawn from: base set, hosts, transit bank, and the
    stage's injection and preprocessing settings."""

    base: tuple[np.ndarray, np.ndarray]  # the prepared training split (X, y)
    hosts: Hosts
    bank: injection.Bank
    inject: InjectSettings
    settings: PreprocessSettings

    def _negative_rows(self, injected_hosts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The host windows served uninjected beside this epoch's injections.

        ``inject.negative_hosts: twins`` serves the very windows the transits
        went into, so real and synthetic noise are as common among the
        negatives as among the injected positives (half and half at the default
        ``real_host_fraction``). ``uniform`` draws from the whole pool, which is
        mostly synthetic with the default data: real noise then reads as a
        transit cue.
        """
        if self.inject.negative_hosts == "twins":
            return injected_hosts
        return rng.choice(len(self.hosts.X), len(injected_hosts))

    def arrays(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """Epoch ``epoch``'s inputs and ``(n, 1)`` labels, shuffled.

        The base set + ``inject.per_epoch`` injected positives + as many
        uninjected hosts (:meth:`_negative_rows`), all drawn from the epoch's
        own seeded stream; then ``inject.scattered_gap_probability`` of all of
        them, whatever their label, lose scattered cadences (:func:`augmentation.scattered_gaps`).
        """
        rng = make_rng(self.inject.seed, "inject", self.inject.train_seed, "epoch", epoch)
        count = self.inject.per_epoch
        X_parts, y_parts = [self.base[0]], [self.base[1]]
        if count:
            flux, table = injected_flux(
                self.hosts, self.bank, count, self.inject, rng, self.settings
            )
            X_inj = preprocess(flux, self.settings)
            X_parts += [X_inj, self.hosts.X[self._negative_rows(table["host"].to_numpy(), rng)]]
            y_parts += [np.ones(count, np.float32), np.zeros(count, np.float32)]
        X = np.concatenate(X_parts)
        inject = self.inject
        if inject.scattered_gap_probability:  # 0 draws nothing: older runs reproduce
            gaps = scattered_gaps(
                X.shape[:2], inject.scattered_gap_probability, inject.scattered_gap_fraction, rng
            )
            with_gaps(X, gaps)
        order = rng.permutation(len(X))
        return X[order], np.concatenate(y_parts)[order, None]


def injection_dataset(source: EpochSource, batch_size: int) -> Any:
    """A ``keras.utils.PyDataset``: base training set + fresh injections every epoch.

    Epoch ``k`` serves ``source.arrays(k)`` in batches. The class is defined on
    first use so this module imports without TensorFlow.
    """
    return _dataset_class()(source.arrays, batch_size)


def _dataset_class() -> type:
    import keras

    class _InjectionDataset(keras.utils.PyDataset):
        """Batches of ``arrays(epoch)``; the next epoch's are made while this one trains.

        Each epoch's arrays come from their own seeded stream, so making them
        ahead in a background thread changes no number: it only fills the cores
        that the small network's training steps leave idle, instead of stalling
        the fit for the injections and their detrending at every epoch end.
        """

        def __init__(
            self, arrays: Callable[[int], tuple[np.ndarray, np.ndarray]], batch_size: int
        ) -> None:
            super().__init__(workers=1, use_multiprocessing=False)
            self.arrays, self.batch_size = arrays, batch_size
            self.epoch = 0
            self.X, self.y = arrays(self.epoch)
            self._ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="next-epoch")
            self._next = self._ahead.submit(arrays, self.epoch + 1)

        def __len__(self) -> int:
            return math.ceil(len(self.y) / self.batch_size)

        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            part = slice(index * self.batch_size, (index + 1) * self.batch_size)
            return self.X[part], self.y[part]

        def on_epoch_end(self) -> None:
            self.epoch += 1
            self.X, self.y = self._next.result()
            self._next = self._ahead.submit(self.arrays, self.epoch + 1)

    return _InjectionDataset


def validation_extras(
    val: dict[str, np.ndarray],
    real_val: dict[str, np.ndarray],
    sim: SimulateSettings,
    count: int,
    inject: InjectSettings,
    settings: PreprocessSettings,
) -> tuple[np.ndarray, Hosts, np.ndarray]:
    """Raw flux of the ``count`` fixed validation injections, the hosts, and each one's host.

    Hosts are the synthetic validation negatives and the validation stars'
    real negatives; the transits come from a bank of their own with periods
    from ``synthetic.period_days`` (the benchmark's recipe, independent of
    ``inject.*``, so candidates trained with different injection settings are
    compared on the same validation set). The last array gives, per injection,
    its host's row in ``val`` followed by ``real_val`` (:func:`validation_flux`).
    """
    syn_neg = (val["source"] == "synthetic") & (val["y"] == 0)
    real_neg = real_val["y"] == 0
    rows = np.r_[np.flatnonzero(syn_neg), len(val["y"]) + np.flatnonzero(real_neg)]
    flux = np.concatenate([val["flux"][syn_neg], real_val["flux"][real_neg]])
    real = np.r_[np.zeros(int(syn_neg.sum()), bool), np.ones(int(real_neg.sum()), bool)]
    hosts = Hosts.from_flux(flux, real, settings)
    rng = make_rng(sim.seed, "inject", "validation")
    bank = injection.make_bank(sim, max(count // 2, 1), rng, sim.period_days)
    injected, table = injected_flux(hosts, bank, count, inject, rng, settings)
    return injected, hosts, rows[table["host"].to_numpy()]


def validation_set(
    val: dict[str, np.ndarray],
    real_val: dict[str, np.ndarray],
    sim: SimulateSettings,
    count: int,
    inject: InjectSettings,
    settings: PreprocessSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """The validation split plus fixed injections into validation stars, for early stopping.

    The seed's validation split holds ~80 transits, mostly easy; a fixed,
    seeded set of ``count`` injections at the training MES range
    (:func:`validation_extras`) makes the stopping criterion track detection
    near the threshold. Every real validation-star negative joins as a negative.
    """
    injected, hosts, _ = validation_extras(val, real_val, sim, count, inject, settings)
    X_inj = preprocess(injected, settings)
    X = np.concatenate([val["X"], X_inj, hosts.X[hosts.real]])
    y = np.concatenate([val["y"], np.ones(count), np.zeros(int(hosts.real.sum()))])
    return X, y.astype(np.float32)


def validation_flux(
    val: dict[str, np.ndarray],
    real_val: dict[str, np.ndarray],
    params: dict[str, Any],
    count: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw flux, labels and origins of :func:`validation_set`, row for row, to score other ways.

    The origin of a row is the row of ``val`` followed by ``real_val`` whose
    light curve it is or was injected into, so results can be broken down by
    host (quiet, pulsating, real). Used by ``studies/decision_rules.py`` to
    compare decision rules and models on validation data only: the study's entry, so the
    settings are made here, once, as the train stage makes them.
    """
    inject, settings = InjectSettings.from_params(params), PreprocessSettings.from_params(params)
    sim = SimulateSettings.from_params(params)
    injected, hosts, injected_origin = validation_extras(
        val, real_val, sim, count, inject, settings
    )
    real_negatives = hosts.flux[hosts.real]
    flux = np.concatenate([val["flux"], injected, real_negatives])
    y = np.concatenate([val["y"], np.ones(count), np.zeros(len(real_negatives))])
    n_val = len(val["y"])
    origin = np.r_[np.arange(n_val), injected_origin, n_val + np.flatnonzero(real_val["y"] == 0)]
    return flux, y.astype(np.float32), origin
