"""Assemble the 1% / 10% datasets, split them honestly, then augment and balance training only.

Order matters and is the point of this module: compose -> split (real light
curves grouped by star) -> preprocess each split -> augment and balance the
training split alone. Validation and test keep their natural class balance and
depend only on the data, the ratio, the split fractions and the seed, so every
augmentation or balancing experiment is compared on the same test samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import injection
from .errors import UserError
from .preprocess import (
    check_usable,
    flatten_all,
    preprocess,
    robust_sigma,
    settings_from_params,
)
from .seeding import make_rng

SPLITS = ("train", "val", "test")


@dataclass
class LightCurves:
    """Raw light curves with the per-sample columns every split carries."""

    flux: np.ndarray  # (n, length) float32 relative flux, NaN at gaps
    y: np.ndarray  # (n,) int8
    source: np.ndarray  # (n,) 'synthetic' | 'real'
    ids: np.ndarray  # (n,) str
    kepid: np.ndarray  # (n,) int64, 0 for synthetic
    snr: np.ndarray  # (n,) float32 white-noise SNR, NaN when unknown
    mes: np.ndarray  # (n,) float32 MES-like SNR (injection.mes), NaN when unknown

    def __len__(self) -> int:
        return len(self.y)

    def take(self, index: np.ndarray) -> LightCurves:
        return LightCurves(*(getattr(self, f)[index] for f in self.__dataclass_fields__))

    @classmethod
    def concat(cls, parts: list[LightCurves]) -> LightCurves:
        return cls(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__)
        )


def real_counts(real_windows: int, transit_ratio: float) -> tuple[int, int]:
    """Wanted (negatives, positives) among real windows: 450 / 50 at 10%, 495 / 5 at 1%.

    The seed's real tables count positives as a fraction of *all* real windows,
    while its synthetic tables count them per negative; both are kept as given.
    """
    positives = int(round(real_windows * transit_ratio))
    return real_windows - positives, positives


def synthetic_set(flux: np.ndarray, meta: pd.DataFrame, mes: np.ndarray) -> LightCurves:
    """Wrap the ``synthesize`` stage's output with the positives' MES-like SNR."""
    n = len(meta)
    return LightCurves(
        flux=flux.astype(np.float32),
        y=meta["label"].to_numpy(np.int8),
        source=np.full(n, "synthetic"),
        ids=meta["id"].to_numpy(str),
        kepid=np.zeros(n, np.int64),
        snr=meta["snr"].to_numpy(np.float32),
        mes=np.asarray(mes, np.float32),
    )


def select_real(
    flux: np.ndarray, windows: pd.DataFrame, params: dict[str, Any]
) -> tuple[LightCurves, dict[str, int]]:
    """Draw the wanted number of real windows per class from the Kepler pool.

    Takes every window a class has when the pool holds fewer than wanted, and
    reports requested versus used counts so a shortfall is never hidden.
    """
    wanted_neg, wanted_pos = real_counts(
        params["dataset"]["real_windows"], params["dataset"]["transit_ratio"]
    )
    rng = make_rng(params["seed"], "prepare", "select-real")
    labels = windows["label"].to_numpy()
    chosen = []
    for label, wanted in ((0, wanted_neg), (1, wanted_pos)):
        pool = np.flatnonzero(labels == label)
        chosen.append(np.sort(rng.choice(pool, size=min(wanted, len(pool)), replace=False)))
    index = np.concatenate(chosen)
    picked = windows.iloc[index]
    real = LightCurves(
        flux=flux[index].astype(np.float32),
        y=picked["label"].to_numpy(np.int8),
        source=np.full(len(index), "real"),
        ids=picked["id"].to_numpy(str),
        kepid=picked["kepid"].to_numpy(np.int64),
        snr=picked["snr"].to_numpy(np.float32),
        mes=picked["mes"].to_numpy(np.float32),
    )
    counts = {
        "index": index,
        "requested_negatives": wanted_neg,
        "requested_positives": wanted_pos,
        "available_negatives": int((labels == 0).sum()),
        "available_positives": int((labels == 1).sum()),
        "used_negatives": len(chosen[0]),
        "used_positives": len(chosen[1]),
    }
    return real, counts


def _cut(n: int, fractions: list[float]) -> np.ndarray:
    """Split sizes for ``n`` items: train takes the rounding remainder."""
    val, test = (int(round(n * f)) for f in fractions[1:])
    return np.array([n - val - test, val, test])


def split_stratified(labels: np.ndarray, fractions: list[float], rng: np.random.Generator):
    """Assign each sample a split (0 train, 1 val, 2 test), stratified by label."""
    assignment = np.empty(len(labels), np.int8)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        sizes = _cut(len(members), fractions)
        assignment[members] = np.repeat(np.arange(3), sizes)
    return assignment


def split_by_group(
    groups: np.ndarray, labels: np.ndarray, fractions: list[float], rng: np.random.Generator
) -> np.ndarray:
    """Assign whole groups (stars) to splits so one star never sits on two sides.

    Stars holding transit windows are dealt first, each to the split furthest
    below its share of positive windows; the others follow by window count.
    This keeps both classes near the wanted fractions without breaking a star.
    """
    assignment = np.empty(len(groups), np.int8)
    target = np.asarray(fractions, float)
    stars = np.unique(groups)
    positives = np.array([labels[groups == s].sum() for s in stars])
    windows = np.array([(groups == s).sum() for s in stars])
    for has_transits in (True, False):
        subset = np.flatnonzero((positives > 0) == has_transits)
        weight = positives if has_transits else windows
        filled = np.zeros(3)
        order = subset[rng.permutation(len(subset))]
        order = order[np.argsort(-weight[order], kind="stable")]
        for star in order:
            total = filled.sum() + weight[star]
            deficit = target * total - filled
            side = int(np.argmax(deficit))
            filled[side] += weight[star]
            assignment[groups == stars[star]] = side
    return assignment


def star_sides(windows: pd.DataFrame, params: dict[str, Any]) -> np.ndarray:
    """Split side (0 train, 1 val, 2 test) of every window of the real pool, whole stars at once.

    Stars are dealt over the *whole* pool, not only the windows the seed tables
    use, so every real window of a star (injection hosts, KOI windows, non-KOI
    windows) sits on the one side its star was given.
    """
    rng = make_rng(params["seed"], "prepare", "split-stars")
    return split_by_group(
        windows["kepid"].to_numpy(), windows["label"].to_numpy(), params["prepare"]["split"], rng
    )


def split(
    synthetic: LightCurves, real: LightCurves, real_side: np.ndarray, params: dict[str, Any]
) -> dict[str, LightCurves]:
    """Train / validation / test split: synthetic stratified by label, real by the star's side."""
    rng = make_rng(params["seed"], "prepare", "split")
    syn_side = split_stratified(synthetic.y, params["prepare"]["split"], rng)
    return {
        name: LightCurves.concat([synthetic.take(syn_side == i), real.take(real_side == i)])
        for i, name in enumerate(SPLITS)
    }


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
    prep = params["prepare"]
    settings = prep["augment"]
    copies = np.where(train.y == 1, settings["copies_positive"], settings["copies_negative"])
    rng = make_rng(params["seed"], "prepare", "augment")
    X_aug, origin = augment(X, copies, settings, prep["clip_high_sigma"], rng)
    copy_no = np.arange(len(origin)) - np.repeat(np.cumsum(copies) - copies, copies)
    X_all = np.concatenate([X, X_aug])
    y = np.concatenate([train.y, train.y[origin]])
    aug_ids = np.char.add(train.ids[origin], np.char.add("~aug", copy_no.astype(str)))
    ids = np.concatenate([train.ids, aug_ids])
    source = np.concatenate([train.source, train.source[origin]])
    kepid = np.concatenate([train.kepid, train.kepid[origin]])
    snr = np.concatenate([train.snr, train.snr[origin]])
    mes = np.concatenate([train.mes, train.mes[origin]])

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
    ids = np.concatenate([ids, np.char.add("oversampled-", np.arange(added).astype(str))])
    source = np.concatenate([source, np.full(added, prep["balance"])])
    kepid = np.concatenate([kepid, np.zeros(added, np.int64)])
    snr = np.concatenate([snr, np.full(added, np.nan, np.float32)])
    mes = np.concatenate([mes, np.full(added, np.nan, np.float32)])

    order = make_rng(params["seed"], "prepare", "shuffle").permutation(len(y_bal))
    return {
        "X": X_bal[order],
        "y": y_bal[order],
        "source": source[order],
        "ids": ids[order],
        "kepid": kepid[order],
        "snr": snr[order],
        "mes": mes[order],
    }


def split_arrays(part: LightCurves, X: np.ndarray) -> dict[str, np.ndarray]:
    """Arrays of ``val.npz`` / ``test.npz``: network input plus the raw flux for BLS."""
    return {
        "X": X,
        "y": part.y,
        "source": part.source,
        "ids": part.ids,
        "kepid": part.kepid,
        "snr": part.snr,
        "mes": part.mes,
        "flux": part.flux,
    }


def preprocess_split(part: LightCurves, settings: dict[str, Any]) -> np.ndarray:
    """Preprocess one split, naming the light curve if one is unusable."""
    check_usable(part.flux, part.ids)
    return preprocess(part.flux, settings)


def real_split_arrays(
    real_flux: np.ndarray,
    real_time: np.ndarray,
    windows: pd.DataFrame,
    sides: np.ndarray,
    side: int,
) -> dict[str, np.ndarray]:
    """Every pool window of one side's stars (raw flux): hosts, KOI and non-KOI windows."""
    mask = sides == side
    table = windows.loc[mask]
    return {
        "flux": real_flux[mask].astype(np.float32),
        "time": real_time[mask],
        "y": table["label"].to_numpy(np.int8),
        "kind": table["kind"].to_numpy(str),
        "kepid": table["kepid"].to_numpy(np.int64),
        "ids": table["id"].to_numpy(str),
        "snr": table["snr"].to_numpy(np.float32),
        "mes": table["mes"].to_numpy(np.float32),
    }


def build(
    synthetic_flux: np.ndarray,
    synthetic_meta: pd.DataFrame,
    real_flux: np.ndarray,
    real_time: np.ndarray,
    real_windows: pd.DataFrame,
    koi: pd.DataFrame,
    params: dict[str, Any],
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, Any], pd.DataFrame]:
    """Compose, split, preprocess, augment and balance: the whole ``prepare`` stage in memory.

    Returns the arrays of each ``.npz`` (``train``, ``val``, ``test``; ``real_<split>``
    with every pool window of that split's stars; ``hosts_train``, the raw
    non-transit training windows the train stage injects fresh transits into),
    a JSON-ready report and the composition table (before augmentation).
    """
    settings = settings_from_params(params)
    syn_mes = injection.synthetic_mes(synthetic_flux, synthetic_meta, params, settings)
    syn = synthetic_set(synthetic_flux, synthetic_meta, syn_mes)
    real_windows = real_windows.assign(
        mes=injection.expected_koi_mes(
            real_time,
            flatten_all(real_flux, settings),
            real_windows["kepid"].to_numpy(),
            koi,
            settings,
        )
    )
    real, real_report = select_real(real_flux, real_windows, params)
    sides = star_sides(real_windows, params)
    splits = split(syn, real, sides[real_report.pop("index")], params)
    arrays = {}
    for name, part in splits.items():
        X = preprocess_split(part, settings)
        arrays[name] = (
            build_training_set(part, X, params) if name == "train" else split_arrays(part, X)
        )
    for i, name in enumerate(SPLITS):
        arrays[f"real_{name}"] = real_split_arrays(real_flux, real_time, real_windows, sides, i)
    arrays["hosts_train"] = training_hosts(splits["train"], arrays["real_train"])
    table = composition(splits)
    report = {
        "transit_ratio": params["dataset"]["transit_ratio"],
        "composition": table.to_dict(orient="records"),
        "real_windows": real_report,
        "real_stars": {
            name: int(np.unique(real_windows["kepid"].to_numpy()[sides == i]).size)
            for i, name in enumerate(SPLITS)
        },
        "real_pool_windows": {
            name: {
                "transit": int(arrays[f"real_{name}"]["y"].sum()),
                "non_transit": int((arrays[f"real_{name}"]["y"] == 0).sum()),
            }
            for name in SPLITS
        },
        "transit_mes": mes_summary(splits),
        "train_after_augmentation_and_balancing": {
            "balance": params["prepare"]["balance"],
            "samples": len(arrays["train"]["y"]),
            "transit": int(arrays["train"]["y"].sum()),
        },
        "injection_hosts_train": {
            source: int((arrays["hosts_train"]["source"] == source).sum())
            for source in ("synthetic", "real")
        },
        "injected_per_epoch": params["inject"]["per_epoch"],
    }
    return arrays, report, table


def mes_summary(splits: dict[str, LightCurves]) -> dict[str, Any]:
    """Median MES-like SNR of the transits per split and source, and how many reach MES 10."""
    out: dict[str, Any] = {}
    for name, part in splits.items():
        for source in ("synthetic", "real"):
            values = part.mes[(part.source == source) & (part.y == 1)]
            out[f"{name}_{source}"] = {
                "n": int(values.size),
                "median": float(np.median(values)) if values.size else None,
                "n_ge_10": int((values >= 10).sum()),
            }
    return out


def training_hosts(train: LightCurves, real_train: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Raw non-transit training windows: synthetic negatives and every real train-star negative.

    Real negatives are non-KOI windows and host windows far from any KOI
    transit (``kepler.exclusion_margin_hours``), so an injected transit is the
    only transit they hold.
    """
    syn = (train.source == "synthetic") & (train.y == 0)
    real = real_train["y"] == 0
    return {
        "flux": np.concatenate([train.flux[syn], real_train["flux"][real]]).astype(np.float32),
        "source": np.concatenate(
            [np.full(int(syn.sum()), "synthetic"), np.full(int(real.sum()), "real")]
        ),
    }


def composition(splits: dict[str, LightCurves]) -> pd.DataFrame:
    """Counts per split and source as actually built (before augmentation)."""
    rows = []
    for name, part in splits.items():
        for source in ("synthetic", "real"):
            mask = part.source == source
            pos = int(part.y[mask].sum())
            rows.append(
                {
                    "split": name,
                    "source": source,
                    "non_transit": int(mask.sum()) - pos,
                    "transit": pos,
                }
            )
    table = pd.DataFrame(rows)
    table["total"] = table["non_transit"] + table["transit"]
    return table


def composition_markdown(table: pd.DataFrame) -> str:
    """The seed's dataset table (per source, all splits) plus a per-split breakdown."""
    lines = [
        "| Dataset type | Non-transit | Transit | Total | Transit % |",
        "|---|---:|---:|---:|---:|",
    ]
    by_source = table.groupby("source", sort=False)[["non_transit", "transit", "total"]].sum()
    by_source.loc["total"] = by_source.sum()
    for source, row in by_source.iterrows():
        pct = 100 * row["transit"] / row["total"] if row["total"] else 0.0
        name = "**Total**" if source == "total" else source.capitalize()
        lines.append(
            f"| {name} | {row['non_transit']} | {row['transit']} | {row['total']} | {pct:.2f}% |"
        )
    lines += ["", "| Split | Source | Non-transit | Transit | Total |", "|---|---|---:|---:|---:|"]
    lines += [
        f"| {r.split} | {r.source} | {r.non_transit} | {r.transit} | {r.total} |"
        for r in table.itertuples()
    ]
    return "\n".join(lines) + "\n"
