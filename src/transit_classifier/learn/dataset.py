"""Assemble the 1% / 10% datasets, split them honestly, then augment and balance training only.

Order matters and is the point of this module: compose -> split (real light
curves grouped by star, :mod:`transit_classifier.learn.splitting`) -> preprocess each
split -> augment and balance the training split alone
(:mod:`transit_classifier.learn.augmentation`). Validation and test keep their natural
class balance and depend only on the data, the ratio, the split fractions and
the seed, so every augmentation or balancing experiment is compared on the
same test samples.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from transit_classifier.seeding import make_rng
from transit_classifier.signal.preprocess import (
    PreprocessSettings,
    check_usable,
    flatten_all,
    preprocess,
)
from transit_classifier.simulate import injection
from transit_classifier.simulate.settings import SimulateSettings

from .augmentation import build_training_set
from .samples import SPLITS, LightCurves
from .splitting import split_stratified, star_sides


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


def preprocess_split(part: LightCurves, settings: PreprocessSettings) -> np.ndarray:
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
    settings = PreprocessSettings.from_params(params)  # once for the stage
    sim = SimulateSettings.from_params(params)
    syn_mes = injection.synthetic_mes(synthetic_flux, synthetic_meta, sim, settings)
    syn = synthetic_set(synthetic_flux, synthetic_meta, syn_mes)
    real_windows = with_koi_mes(real_flux, real_time, real_windows, koi, settings)
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
    report = build_report(params, table, real_report, real_windows, sides, splits, arrays)
    return arrays, report, table


def with_koi_mes(
    real_flux: np.ndarray,
    real_time: np.ndarray,
    real_windows: pd.DataFrame,
    koi: pd.DataFrame,
    settings: PreprocessSettings,
) -> pd.DataFrame:
    """The pool's window table with each window's expected KOI MES (``mes``) added."""
    return real_windows.assign(
        mes=injection.expected_koi_mes(
            real_time,
            flatten_all(real_flux, settings),
            real_windows["kepid"].to_numpy(),
            koi,
            settings,
        )
    )


def build_report(
    params: dict[str, Any],
    table: pd.DataFrame,
    real_report: dict[str, Any],
    real_windows: pd.DataFrame,
    sides: np.ndarray,
    splits: dict[str, LightCurves],
    arrays: dict[str, dict[str, np.ndarray]],
) -> dict[str, Any]:
    """The ``metrics/dataset.json`` record of what ``prepare`` built."""
    return {
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
