"""Real Kepler light curves -> fixed-length windows labelled by KOI ephemerides.

The shared light-curve path (:mod:`transit_classifier.signal.windowing`, the same one
``predict`` uses) normalises each quarter by its median, lays it on the Kepler
cadence grid (missing cadences = NaN) and cuts windows that never cross a
quarter or a star; this module labels them from the KOI table:

* ``transit`` (1): a CONFIRMED planet's predicted transit has at least
  ``min_in_transit_cadences`` observed in-transit cadences in the window;
* ``host_no_transit`` (0): a window of a CONFIRMED host with no predicted
  transit of any KOI within ``exclusion_margin_hours`` of the window;
* ``non_koi`` (0): a star with no KOI at all;
* ``hard_negative`` (0): stars whose KOIs are all CANDIDATE / FALSE POSITIVE,
  only with ``include_hard_negatives``.

Host windows that are neither (a partial or non-confirmed transit) are dropped:
they are not clean examples of either class.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from transit_classifier.errors import UserError
from transit_classifier.robust import difference_sigma
from transit_classifier.signal import windowing
from transit_classifier.simulate.orbits import transit_near, transit_offset
from transit_classifier.sources.kepler import StarLightCurve, from_star
from transit_classifier.sources.koi import koi_label, planet_name, star_kois

KINDS = ("transit", "host_no_transit", "non_koi", "hard_negative")
WINDOW_COLUMNS = [
    "id",
    "kepid",
    "quarter",
    "t_start",
    "t_end",
    "label",
    "kind",
    "planets",
    "expected_depth_ppm",
    "noise_ppm",
    "snr",
    "missing_fraction",
]


@dataclass(frozen=True)
class WindowSettings:
    """The numbers that turn light curves into labelled windows (``dataset`` and ``kepler``)."""

    rules: windowing.WindowRules  # length, cadence, max_missing_fraction: shared with predict
    stride: int
    min_in_transit_cadences: int
    exclusion_margin_days: float
    include_hard_negatives: bool
    exclude_kepids: frozenset[int]

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> WindowSettings:
        """The settings of the validated params dict, as the fetch_kepler stage uses them."""
        kep = params["kepler"]
        return cls(
            rules=windowing.WindowRules.from_params(params),
            stride=kep["stride"],
            min_in_transit_cadences=kep["min_in_transit_cadences"],
            exclusion_margin_days=kep["exclusion_margin_hours"] / 24.0,
            include_hard_negatives=kep["include_hard_negatives"],
            exclude_kepids=frozenset(kep["exclude_kepids"]),
        )


def robust_noise_ppm(flux: np.ndarray) -> np.ndarray:
    """Per-cadence white-noise scatter of each window in ppm, from point-to-point differences.

    It sets each real transit window's expected SNR, so it must ignore the
    slow stellar variability that a plain standard deviation would count.
    """
    return difference_sigma(flux) * 1e6


@dataclass
class StarWindows:
    """Windows of one star, before concatenation into the pool."""

    flux: np.ndarray  # (n, L) float32
    time: np.ndarray  # (n, L) float64
    table: pd.DataFrame
    dropped_missing: int
    dropped_ambiguous: int


def _scan_kois(
    time: np.ndarray, present: np.ndarray, kois: pd.DataFrame, settings: WindowSettings
) -> tuple[np.ndarray, list[np.ndarray], list[str], list[np.ndarray], np.ndarray]:
    """One pass over a CONFIRMED host's KOIs, deepest first.

    Returns
    -------
    near_any
        Windows within the exclusion margin of any KOI's predicted transit.
    hits, names, depths
        Per CONFIRMED planet: the windows holding enough in-transit cadences,
        its name, and its depth (ppm) in those windows, NaN elsewhere.
    signal2
        Sum over hits of ``n_in * depth**2``, the squared expected SNR times
        the noise squared.
    """
    n = len(time)
    t_start, t_end = time[:, 0], time[:, -1]
    near_any = np.zeros(n, dtype=bool)
    hits, names, depths, signal2 = [], [], [], np.zeros(n)
    deepest_first = kois.sort_values(["koi_depth", "kepoi_name"], ascending=[False, True])
    for row in deepest_first.itertuples():
        ephemeris = np.array([row.koi_period, row.koi_time0bk, row.koi_duration], dtype=float)
        if not np.all(np.isfinite(ephemeris)) or row.koi_period <= 0:
            near_any[:] = True  # unknown ephemeris: no window of this host is a safe negative
            continue
        half = row.koi_duration / 48.0
        pad = half + settings.exclusion_margin_days
        near_any |= transit_near(t_start, t_end, row.koi_period, row.koi_time0bk, pad)
        if row.koi_disposition != "CONFIRMED":
            continue
        offset = transit_offset(time, row.koi_period, row.koi_time0bk)
        n_in = ((np.abs(offset) <= half) & present).sum(axis=1)
        hit = n_in >= settings.min_in_transit_cadences
        depth = float(row.koi_depth)
        hits.append(hit)
        names.append(planet_name(row))
        depths.append(np.where(hit, depth, np.nan))
        signal2 += np.where(hit, n_in * depth**2, 0.0)
    return near_any, hits, names, depths, signal2


def label_windows(
    time: np.ndarray,
    present: np.ndarray,
    noise_ppm: np.ndarray,
    kois: pd.DataFrame,
    star_label: str,
    settings: WindowSettings,
) -> pd.DataFrame:
    """Label, kind, planets, expected depth and SNR of each window; ``keep`` marks usable ones."""
    n = len(time)
    frame = pd.DataFrame(
        {
            "label": np.zeros(n, dtype=np.int8),
            "kind": "non_koi" if star_label == "NOT_KOI" else "hard_negative",
            "planets": "",
            "expected_depth_ppm": np.nan,
            "snr": np.nan,
            "keep": True,
        }
    )
    if star_label != "CONFIRMED" or n == 0:
        return frame
    near_any, hits, names, depths, signal2 = _scan_kois(time, present, kois, settings)
    positive = np.any(hits, axis=0) if hits else np.zeros(n, dtype=bool)
    if hits:
        frame["planets"] = [
            ";".join(name for name, h in zip(names, col, strict=True) if h)
            for col in np.array(hits).T
        ]
    frame["label"] = positive.astype(np.int8)
    frame["kind"] = np.where(positive, "transit", "host_no_transit")
    if depths:
        with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
            frame["expected_depth_ppm"] = np.nanmax(np.vstack(depths), axis=0)
    frame["snr"] = np.where(positive, np.sqrt(signal2) / noise_ppm, np.nan)
    frame["keep"] = positive | ~near_any
    return frame


def star_windows(
    star: StarLightCurve, kois: pd.DataFrame, star_label: str, settings: WindowSettings
) -> StarWindows:
    """All usable, labelled windows of one star, cut by the shared light-curve rules."""
    rules = settings.rules
    segments = windowing.to_segments(from_star(star), rules.cadence_days, skip_bad_level=True)
    windows = windowing.cut_windows(segments, rules.length, settings.stride)
    sparse = windowing.too_sparse(windows, rules.max_missing_fraction)
    windows = windows.select(~sparse)
    flux, time = windows.flux, windows.time
    present = np.isfinite(flux)
    noise = robust_noise_ppm(flux) if len(flux) else np.empty(0)
    labels = label_windows(time, present, noise, kois, star_label, settings)
    keep = labels.pop("keep").to_numpy()
    table = pd.DataFrame(
        {
            "id": [
                f"KIC{star.kepid:09d}-Q{q:02d}-{s:06d}"
                for q, s in zip(windows.segment, windows.start, strict=True)
            ],
            "kepid": star.kepid,
            "quarter": windows.segment.astype(int),
            "t_start": time[:, 0],
            "t_end": time[:, -1],
        }
    )
    table = pd.concat([table, labels], axis=1)
    table["noise_ppm"] = noise
    table["missing_fraction"] = windows.missing_fraction
    table = table.loc[keep, WINDOW_COLUMNS].reset_index(drop=True)
    return StarWindows(
        flux[keep].astype(np.float32),
        time[keep],
        table,
        int(sparse.sum()),
        int((~keep).sum()),
    )


@dataclass
class WindowPool:
    """Every usable window of every star, plus a per-star summary for the metrics."""

    flux: np.ndarray  # (n, L) float32
    time: np.ndarray  # (n, L) float64
    table: pd.DataFrame
    stars: pd.DataFrame  # kepid, koi_label, status, windows


def star_status(kepid: int, label: str, settings: WindowSettings) -> str:
    """Why a star is used or excluded before any window is cut."""
    if kepid in settings.exclude_kepids:
        return "excluded: kepler.exclude_kepids"
    if label in ("CANDIDATE", "FALSE_POSITIVE_ONLY") and not settings.include_hard_negatives:
        return "excluded: CANDIDATE / FALSE POSITIVE only (kepler.include_hard_negatives)"
    return "used"


def build_pool(
    stars: dict[int, StarLightCurve],
    koi: pd.DataFrame,
    settings: WindowSettings,
    progress: bool = False,
) -> WindowPool:
    """Windows of every star, in kepid order (deterministic), with per-star bookkeeping.

    Raises
    ------
    UserError
        If no star yields a single usable window.
    """
    from tqdm.auto import tqdm

    parts, summary = [], []
    bar = tqdm(sorted(stars), desc="windows", unit="star", disable=None if progress else True)
    for kepid in bar:
        kois = star_kois(koi, kepid)
        label = koi_label(kois["koi_disposition"])
        status = star_status(kepid, label, settings)
        row = {"kepid": kepid, "koi_label": label, "status": status, "windows": 0}
        row.update(dropped_missing=0, dropped_ambiguous=0)
        if status == "used":
            result = star_windows(stars[kepid], kois, label, settings)
            row.update(
                windows=len(result.table),
                dropped_missing=result.dropped_missing,
                dropped_ambiguous=result.dropped_ambiguous,
            )
            if len(result.table) == 0:
                row["status"] = "excluded: no window passes kepler.max_missing_fraction"
            parts.append(result)
        summary.append(row)
    parts = [p for p in parts if len(p.table)]
    if not parts:
        raise UserError(
            "no usable Kepler windows: every star was excluded or too short for "
            "dataset.window_length; lower dataset.window_length or add stars"
        )
    table = pd.concat([p.table for p in parts], ignore_index=True)
    return WindowPool(
        np.concatenate([p.flux for p in parts]),
        np.concatenate([p.time for p in parts]),
        table,
        pd.DataFrame(summary),
    )


def pool_koi(pool: WindowPool, koi: pd.DataFrame) -> pd.DataFrame:
    """The KOI rows of the pooled stars, sorted by star and KOI.

    Written with the windows (``data/kepler/koi.csv``): evaluate derives each
    real window's expected MES from them.
    """
    used = koi.loc[koi["kepid"].isin(pool.table["kepid"].unique())]
    return used.sort_values(["kepid", "kepoi_name"])


def pool_metrics(pool: WindowPool, source: str) -> dict[str, Any]:
    """Counts of windows and stars per label and kind, and stars used / excluded per KOI label."""
    table, stars = pool.table, pool.stars
    used = stars["status"] == "used"
    by_label: dict[str, dict[str, int]] = {}
    for label, group in stars.groupby("koi_label", sort=True):
        by_label[str(label)] = {
            "available": len(group),
            "used": int((group["status"] == "used").sum()),
            "excluded": int((group["status"] != "used").sum()),
        }
    exclusions = stars.loc[~used].groupby("status")["kepid"].apply(lambda s: sorted(map(int, s)))
    return {
        "source": source,
        "windows": {
            "total": len(table),
            "label_1": int((table["label"] == 1).sum()),
            "label_0": int((table["label"] == 0).sum()),
            "by_kind": {k: int((table["kind"] == k).sum()) for k in KINDS},
            "dropped_missing_fraction": int(stars["dropped_missing"].sum()),
            "dropped_partial_or_unconfirmed_transit": int(stars["dropped_ambiguous"].sum()),
        },
        "stars": {
            "with_windows": int(table["kepid"].nunique()),
            "with_label_1": int(table.loc[table["label"] == 1, "kepid"].nunique()),
            "with_label_0": int(table.loc[table["label"] == 0, "kepid"].nunique()),
            "by_kind": {k: int(table.loc[table["kind"] == k, "kepid"].nunique()) for k in KINDS},
            "by_koi_label": by_label,
            "excluded": {str(k): v for k, v in exclusions.items()},
        },
        "transit_snr": {
            "median": float(np.nanmedian(table["snr"])) if (table["label"] == 1).any() else None,
            "min": float(np.nanmin(table["snr"])) if (table["label"] == 1).any() else None,
        },
    }
