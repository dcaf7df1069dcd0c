"""Augment and balance the training split, and only it: validation and test stay natural.

:func:`build_training_set` makes ``prepare.augment`` copies of the (already
preprocessed) training inputs (shift, reversal, noise, scaling, gaps), then
oversamples the transit class (``prepare.balance``: SMOTE, ADASYN or random)
and gives interpolated rows whole gap flags and unit scatter again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from transit_classifier.errors import UserError
from transit_classifier.seeding import make_rng
from transit_classifier.signal.preprocess import robust_sigma

if TYPE_CHECKING:
    from .samples import LightCurves

TRAIN_COLUMNS = ("y", "source", "ids", "kepid", "snr", "mes")  # train.npz order, after X


def augment(
    X: np.ndarray,
    copies: np.ndarray,
    settings: dict[str, Any],
    clip_high: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Make ``copies[i]`` augmented versions of each network input ``X[i]`` (flux, gap channels).

    Circular time shift, time reversal, extra white noise (in robust-sigma
    units), amplitude scaling and random gap masks, all vectorised over the
    batch. Returns the new inputs and the index of each one's original.
    """
    source = np.repeat(np.arange(len(X)), copies)
    n, length = len(source), X.shape[1]
    if n == 0:
        return np.empty((0, *X.shape[1:]), np.float32), source
    positions = np.arange(length)
    shift = rng.integers(0, int(settings["max_shift_fraction"] * length) + 1, size=n)
    index = (positions[None, :] - shift[:, None]) % length
    reverse = rng.random(n) < settings["reverse_probability"]
    index = np.where(reverse[:, None], length - 1 - index, index)
    out = np.take_along_axis(X[source], index[:, :, None], axis=1).astype(np.float64)
    flux, gap = out[:, :, :-1], out[:, :, -1] > 0
    flux *= rng.uniform(*settings["scale"], size=(n, 1, 1))
    noise = rng.normal(size=(n, length, 1)) * rng.uniform(*settings["noise_sigma"], size=(n, 1, 1))
    flux += noise  # the same added noise in every flux channel, as real noise would be
    gap_len = rng.integers(
        settings["gap_length_cadences"][0], settings["gap_length_cadences"][1] + 1, size=n
    )
    gap_start = rng.integers(0, length, size=n)
    has_gap = rng.random(n) < settings["gap_probability"]
    in_gap = (positions >= gap_start[:, None]) & (positions < (gap_start + gap_len)[:, None])
    gap |= has_gap[:, None] & in_gap
    flux = np.where(gap[:, :, None], 0.0, np.minimum(flux, clip_high))  # gaps read 0
    return np.concatenate([flux, gap[:, :, None]], axis=-1).astype(np.float32), source


MEAN_MISSING_RUN = 1.5  # cadences: quality flags mostly remove single cadences, a few runs


def scattered_gaps(
    shape: tuple[int, int],
    probability: float,
    fraction: tuple[float, float] | list[float],
    rng: np.random.Generator,
) -> np.ndarray:
    """``(n, length)`` bool: scattered missing cadences for a random share of ``n`` windows.

    Kepler's quality flags (momentum dumps, attitude tweaks, cosmic rays)
    remove single cadences and short runs anywhere in a quarter; some stars
    lose a large share of their cadences that way, in many short runs per
    window (Kepler-22's bundled light curve is one). In the training data, gaps are
    commoner in transit windows (gappy KOI hosts, augmented copies), so a
    network can learn "gappy, so transit"; marking cadences missing whatever
    the label removes that shortcut. Each chosen window loses a fraction drawn
    uniformly from ``fraction``, in runs of geometric length (mean 1.5).

    Examples
    --------
    >>> gaps = scattered_gaps((200, 1000), 0.5, (0.1, 0.1), np.random.default_rng(0))
    >>> hit = gaps.any(axis=1)
    >>> bool(0.4 < hit.mean() < 0.6), bool(0.08 < gaps[hit].mean() < 0.11)
    (True, True)
    """
    n, length = shape
    rate = rng.uniform(*fraction, size=n) * (rng.random(n) < probability)
    start = rng.random((n, length)) < (rate / MEAN_MISSING_RUN)[:, None]
    positions = np.arange(length)
    end = np.zeros((n, length), np.int64)  # one past the last cadence of a run started here
    end[start] = positions[np.nonzero(start)[1]] + rng.geometric(1 / MEAN_MISSING_RUN, start.sum())
    np.maximum.accumulate(end, axis=1, out=end)
    return positions < end


def with_gaps(X: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """Network inputs ``X`` with the ``gaps`` cadences missing, as preprocessing marks them
    (flux channels 0, gap channel 1); in place."""
    X[gaps, :-1] = 0.0
    X[gaps, -1] = 1.0
    return X


def balance(
    X: np.ndarray, y: np.ndarray, method: str, strategy: float, k_neighbors: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Oversample the transit class with imbalanced-learn; new rows are appended at the end."""
    if method == "none":
        return X, y
    from imblearn.over_sampling import ADASYN, SMOTE, RandomOverSampler

    minority = int(y.sum())
    if minority / max(len(y) - minority, 1) >= strategy:
        return X, y
    if method in ("smote", "adasyn") and minority < 2:
        raise UserError(
            f"prepare.balance={method} needs at least 2 training transits, found {minority}; "
            "raise dataset.transit_ratio or use prepare.balance=random_oversample"
        )
    k = min(k_neighbors, minority - 1)
    sampler = {
        "smote": lambda: SMOTE(sampling_strategy=strategy, k_neighbors=k, random_state=seed),
        "adasyn": lambda: ADASYN(sampling_strategy=strategy, n_neighbors=k, random_state=seed),
        "random_oversample": lambda: RandomOverSampler(
            sampling_strategy=strategy, random_state=seed
        ),
    }[method]()
    X_res, y_res = sampler.fit_resample(X, y)
    return X_res.astype(np.float32), y_res.astype(np.int8)


def _renormalise(X: np.ndarray, clip_high: float) -> np.ndarray:
    """Give SMOTE rows whole gap flags and unit robust scatter again.

    Interpolating two light curves averages their noise down and blurs their
    gap masks: without this, "low noise" would be a shortcut to the transit class.
    """
    gap = X[:, :, -1] > 0.5
    channels = []
    for c in range(X.shape[2] - 1):
        flux = np.where(gap, np.nan, X[:, :, c].astype(np.float64))
        channels.append(np.where(gap, 0.0, np.minimum(flux / robust_sigma(flux), clip_high)))
    return np.stack([*channels, gap], axis=-1).astype(np.float32)


def build_training_set(train: LightCurves, X: np.ndarray, params: dict[str, Any]) -> dict:
    """Augment then balance the (already preprocessed) training split.

    Only training data enter here; validation and test are never touched.
    Returns the arrays of ``train.npz`` in a fixed, shuffled order.
    """
    X_all, rows = _with_augmented_copies(train, X, params)
    X_bal, rows = _balanced(X_all, rows, params)
    order = make_rng(params["seed"], "prepare", "shuffle").permutation(len(rows["y"]))
    return {"X": X_bal[order], **{key: rows[key][order] for key in TRAIN_COLUMNS}}


def _with_augmented_copies(
    train: LightCurves, X: np.ndarray, params: dict[str, Any]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The inputs and per-row columns of the split followed by its augmented copies."""
    prep = params["prepare"]
    settings = prep["augment"]
    copies = np.where(train.y == 1, settings["copies_positive"], settings["copies_negative"])
    rng = make_rng(params["seed"], "prepare", "augment")
    X_aug, origin = augment(X, copies, settings, prep["clip_high_sigma"], rng)
    copy_no = np.arange(len(origin)) - np.repeat(np.cumsum(copies) - copies, copies)
    aug_ids = np.char.add(train.ids[origin], np.char.add("~aug", copy_no.astype(str)))
    rows = {
        key: np.concatenate([getattr(train, key), getattr(train, key)[origin]])
        for key in TRAIN_COLUMNS
        if key != "ids"
    }
    rows["ids"] = np.concatenate([train.ids, aug_ids])
    return np.concatenate([X, X_aug]), rows


def _balanced(
    X_all: np.ndarray, rows: dict[str, np.ndarray], params: dict[str, Any]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Oversample the transit class; the new rows are renormalised and appended at the end."""
    prep = params["prepare"]
    y = rows["y"]
    n, length, channels = X_all.shape
    flat_bal, y_bal = balance(
        X_all.reshape(n, -1),
        y,
        prep["balance"],
        prep["sampling_strategy"],
        prep["k_neighbors"],
        params["seed"],
    )
    X_bal = flat_bal.reshape(-1, length, channels)
    added = len(y_bal) - len(y)
    X_bal[len(y) :] = _renormalise(X_bal[len(y) :], prep["clip_high_sigma"])
    extra = {
        "source": np.full(added, prep["balance"]),
        "ids": np.char.add("oversampled-", np.arange(added).astype(str)),
        "kepid": np.zeros(added, np.int64),
        "snr": np.full(added, np.nan, np.float32),
        "mes": np.full(added, np.nan, np.float32),
    }
    balanced = {key: np.concatenate([rows[key], values]) for key, values in extra.items()}
    return X_bal, {"y": y_bal, **balanced}
