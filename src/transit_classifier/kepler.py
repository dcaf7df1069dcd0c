"""Real Kepler light curves -> fixed-length windows labelled by KOI ephemerides.

Both data sources, the bundled offline copy (``data/kepler_bundle``) and MAST
downloads (:mod:`transit_classifier.mast`), end up as the same per-star arrays
(:class:`StarLightCurve`): BKJD time, PDCSAP flux, quarter and Kepler cadence
number, after lightkurve's default quality mask with NaN cadences removed. From
there the shared light-curve path (:mod:`transit_classifier.lightcurve`, the
same one ``predict`` uses) normalises each quarter by its median, lays it on
the Kepler cadence grid (missing cadences = NaN) and cuts windows that never
cross a quarter or a star; this module labels them from the KOI table:

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

import gzip
import hashlib
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from astropy.utils.exceptions import AstropyUserWarning

from . import lightcurve
from .errors import UserError
from .io import load_npz, save_npz
from .lightcurve import import_lightkurve, lk_column

TICKS_PER_DAY = 10_000_000  # time resolution 1e-7 day (8.64 ms): the archive CSVs' precision
MAD_TO_SIGMA = 1.4826
KOI_COLUMNS = [
    "kepid",
    "kepoi_name",
    "kepler_name",
    "koi_disposition",
    "koi_period",
    "koi_time0bk",
    "koi_duration",
    "koi_depth",
]
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
UNKNOWN_QUARTER = -1  # relative-time stars: segment k (split at gaps) is stored as quarter -k


# --------------------------------------------------------------------------- light curves


@dataclass(frozen=True)
class StarLightCurve:
    """One star's observed cadences, sorted by cadence number.

    ``time`` is BKJD rounded to 1e-7 day (for relative-time stars, days on the
    source's own scale and ``quarter`` = -1, -2, ... per gap-free segment);
    ``flux`` is in the source's units (e-/s for PDCSAP) and is normalised per
    quarter later, so every source goes through the same normalisation.
    """

    kepid: int
    time: np.ndarray  # float64
    flux: np.ndarray  # float32
    quarter: np.ndarray  # int8
    cadenceno: np.ndarray  # int32

    @property
    def quarters(self) -> list[int]:
        return sorted(int(q) for q in np.unique(self.quarter))

    def select_quarters(self, quarters: Iterable[int]) -> StarLightCurve:
        keep = np.isin(self.quarter, list(quarters))
        return StarLightCurve(
            self.kepid,
            self.time[keep],
            self.flux[keep],
            self.quarter[keep],
            self.cadenceno[keep],
        )


def make_star(
    kepid: int,
    time: np.ndarray,
    flux: np.ndarray,
    quarter: np.ndarray,
    cadenceno: np.ndarray,
) -> StarLightCurve:
    """Build a :class:`StarLightCurve`: drop non-finite rows, fix dtypes, sort by cadence.

    Time is rounded to 1e-7 day here, for every source, so a FITS file read
    directly and the same file stored in the bundle give identical arrays.

    Raises
    ------
    UserError
        If two rows share a cadence number (the same quarter given twice).
    """
    time = np.round(np.asarray(time, dtype=np.float64) * TICKS_PER_DAY) / TICKS_PER_DAY
    flux = np.asarray(flux, dtype=np.float64)
    keep = np.isfinite(time) & np.isfinite(flux)
    order = np.argsort(np.asarray(cadenceno)[keep], kind="stable")
    star = StarLightCurve(
        int(kepid),
        time[keep][order],
        flux[keep][order].astype(np.float32),
        np.asarray(quarter)[keep][order].astype(np.int8),
        np.asarray(cadenceno)[keep][order].astype(np.int32),
    )
    if np.any(np.diff(star.cadenceno) == 0):
        raise UserError(
            f"KIC {kepid}: duplicate cadences (a quarter given twice?); pass each quarter's "
            "light-curve file once"
        )
    return star


def from_collection(collection: Iterable[Any]) -> StarLightCurve:
    """Turn lightkurve Kepler light curves (one per quarter) of one star into arrays.

    The light curves must come from ``lightkurve.read`` / ``download_all`` with
    the default quality mask, whose ``flux`` is PDCSAP_FLUX.

    Raises
    ------
    UserError
        If the collection is empty or mixes stars.
    """
    parts = list(collection)
    if not parts:
        raise UserError("no Kepler light curves to read; pass at least one *_llc.fits file")
    kepids = {int(lc.meta["KEPLERID"]) for lc in parts}
    if len(kepids) != 1:
        raise UserError(
            f"light-curve files of several stars given together (KIC {sorted(kepids)}); "
            "pass one star's files at a time"
        )
    time = np.concatenate([np.asarray(lc.time.value, dtype=np.float64) for lc in parts])
    flux = np.concatenate([lk_column(lc, "flux") for lc in parts])
    cadenceno = np.concatenate([np.asarray(lc["cadenceno"], dtype=np.int64) for lc in parts])
    quarter = np.concatenate([np.full(len(lc), int(lc.meta["QUARTER"])) for lc in parts])
    return make_star(kepids.pop(), time, flux, quarter, cadenceno)


def read_fits(paths: Sequence[str | Path]) -> StarLightCurve:
    """Read Kepler long-cadence FITS files of one star with ``lightkurve.read``.

    Raises
    ------
    UserError
        Naming the first file that cannot be read (truncated or corrupt download)
        or is not a Kepler light curve.
    """
    lk = import_lightkurve()
    curves = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise UserError(f"{path}: file not found; check the path")
        try:
            with warnings.catch_warnings(action="ignore", category=AstropyUserWarning):
                curve = lk.read(str(path), quality_bitmask="default")
        except Exception as exc:  # lightkurve wraps every reader failure in LightkurveError
            raise UserError(
                f"{path}: cannot read this FITS light curve ({type(exc).__name__}); the file is "
                "truncated or corrupt: delete it and download it again"
            ) from None
        if not isinstance(curve, lk.KeplerLightCurve) or "QUARTER" not in curve.meta:
            raise UserError(f"{path}: not a Kepler light-curve file; pass kplr*_llc.fits files")
        curves.append(curve)
    return from_collection(lk.LightCurveCollection(curves))


def star_entry(star: StarLightCurve) -> dict[str, Any]:
    """One fetch-report line for a star that was read successfully."""
    return {
        "kepid": star.kepid,
        "status": "ok",
        "quarters": star.quarters,
        "n_points": len(star.flux),
    }


# --------------------------------------------------------------------------- bundle I/O


def encode_star(star: StarLightCurve) -> dict[str, np.ndarray]:
    """Compact arrays for the bundle: time and cadence as first values plus differences.

    Differences of 1e-7-day ticks and of cadence numbers are small repeated
    integers that deflate to well under a byte per cadence, while storing BKJD
    exactly to 1e-7 day (float64 BKJD would take ~6 bytes per cadence).
    """
    ticks = np.round(star.time * TICKS_PER_DAY).astype(np.int64)
    return {
        "time_ticks_diff": np.diff(ticks, prepend=0),
        "cadenceno_diff": np.diff(star.cadenceno.astype(np.int64), prepend=0).astype(np.int32),
        "flux": star.flux.astype(np.float32),
        "quarter": star.quarter.astype(np.int8),
    }


def decode_star(kepid: int, arrays: dict[str, np.ndarray]) -> StarLightCurve:
    """Inverse of :func:`encode_star`."""
    time = np.cumsum(arrays["time_ticks_diff"].astype(np.int64)) / TICKS_PER_DAY
    cadenceno = np.cumsum(arrays["cadenceno_diff"].astype(np.int64)).astype(np.int32)
    return StarLightCurve(
        int(kepid), time, arrays["flux"].astype(np.float32), arrays["quarter"], cadenceno
    )


def star_file(kepid: int) -> str:
    return f"lightcurves/KIC{int(kepid):09d}.npz"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_checksums(folder: Path) -> None:
    """Write ``SHA256SUMS`` (``sha256sum -c`` format) for every other file in ``folder``."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "SHA256SUMS")
    lines = [f"{sha256_file(p)}  {p.relative_to(folder).as_posix()}\n" for p in files]
    (folder / "SHA256SUMS").write_text("".join(lines))


def verify_bundle(folder: str | Path) -> int:
    """Check every file listed in ``SHA256SUMS``; return how many were verified.

    Raises
    ------
    UserError
        If the checksum list or a listed file is missing or a file's SHA-256 differs.
    """
    folder = Path(folder)
    sums = folder / "SHA256SUMS"
    fix = f"restore it (git checkout -- {folder}) or rebuild with scripts/build_kepler_bundle.py"
    if not sums.is_file():
        raise UserError(f"{sums}: checksum list not found; {fix}")
    count = 0
    for line in sums.read_text().splitlines():
        if not line.strip():
            continue
        expected, name = line.split(maxsplit=1)
        path = folder / name.strip().lstrip("*")
        if not path.is_file():
            raise UserError(f"{path}: bundled Kepler file missing; {fix}")
        if sha256_file(path) != expected:
            raise UserError(f"{path}: checksum mismatch (file changed or corrupt); {fix}")
        count += 1
    return count


def write_gzip_csv(path: Path, frame: pd.DataFrame) -> None:
    """Gzip CSV with a zero timestamp in the header, so rebuilding gives the same bytes."""
    text = frame.to_csv(index=False, float_format="%.10g", lineterminator="\n").encode()
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(text)


def write_bundle(
    folder: str | Path,
    stars: Sequence[StarLightCurve],
    koi: pd.DataFrame,
    manifest: pd.DataFrame,
    readme: str,
) -> None:
    """Write a bundle folder (light curves, trimmed KOI table, manifest, README, checksums)."""
    folder = Path(folder)
    (folder / "lightcurves").mkdir(parents=True, exist_ok=True)
    for star in stars:
        save_npz(folder / star_file(star.kepid), **encode_star(star))
    kepids = {star.kepid for star in stars}
    trimmed = koi.loc[koi["kepid"].isin(kepids), KOI_COLUMNS].sort_values(["kepid", "kepoi_name"])
    write_gzip_csv(folder / "koi.csv.gz", trimmed)
    manifest.sort_values("kepid").to_csv(folder / "manifest.csv", index=False, lineterminator="\n")
    (folder / "README.md").write_text(readme)
    write_checksums(folder)


@dataclass(frozen=True)
class Bundle:
    manifest: pd.DataFrame
    koi: pd.DataFrame
    stars: dict[int, StarLightCurve]


def load_koi(path: str | Path) -> pd.DataFrame:
    """Read a KOI cumulative table (CSV, optionally gzip, ``#`` comments) with the needed columns.

    Raises
    ------
    UserError
        If the file is missing or lacks a needed column.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: KOI table not found; check kepler.koi_table / kepler.bundle_dir")
    koi = pd.read_csv(path, comment="#")
    missing = [c for c in KOI_COLUMNS if c not in koi.columns]
    if missing:
        raise UserError(
            f"{path}: KOI table lacks columns {missing}; use the NASA Exoplanet Archive KOI "
            "cumulative table"
        )
    return koi[KOI_COLUMNS].copy()


def load_manifest(folder: str | Path) -> pd.DataFrame:
    path = Path(folder) / "manifest.csv"
    if not path.is_file():
        raise UserError(f"{path}: bundle manifest not found; set kepler.bundle_dir to the bundle")
    return pd.read_csv(path)


def load_bundle(folder: str | Path) -> Bundle:
    """Verify the bundle's checksums, then load its manifest, KOI table and light curves."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(
            f"{folder}: Kepler bundle not found; set kepler.bundle_dir or restore the bundle"
        )
    verify_bundle(folder)
    manifest = load_manifest(folder)
    stars = {
        int(k): decode_star(int(k), load_npz(folder / star_file(k))) for k in manifest["kepid"]
    }
    return Bundle(manifest, load_koi(folder / "koi.csv.gz"), stars)


# --------------------------------------------------------------------------- KOI labels


def koi_label(dispositions: Iterable[str]) -> str:
    """Star-level label from its KOIs' dispositions (NOT_KOI when it has none)."""
    values = set(dispositions)
    if not values:
        return "NOT_KOI"
    if "CONFIRMED" in values:
        return "CONFIRMED"
    if values == {"FALSE POSITIVE"}:
        return "FALSE_POSITIVE_ONLY"
    return "CANDIDATE"


def star_kois(koi: pd.DataFrame, kepid: int) -> pd.DataFrame:
    rows = koi.loc[koi["kepid"] == kepid].sort_values("kepoi_name").reset_index(drop=True)
    return rows


def planet_name(row: Any) -> str:
    """Kepler name of a KOI row (a namedtuple from ``itertuples``), else its KOI name."""
    name = row.kepler_name
    return str(name) if isinstance(name, str) and name else str(row.kepoi_name)


def transit_offset(time: np.ndarray, period: float, t0: float) -> np.ndarray:
    """Days from the nearest predicted mid-transit ``t0 + n * period``."""
    return np.mod(time - t0 + 0.5 * period, period) - 0.5 * period


def transit_near(
    t_start: np.ndarray, t_end: np.ndarray, period: float, t0: float, pad: float
) -> np.ndarray:
    """Whether a predicted mid-transit lies within ``pad`` days of each ``[t_start, t_end]``."""
    first = np.ceil((t_start - pad - t0) / period)
    last = np.floor((t_end + pad - t0) / period)
    return last >= first


# --------------------------------------------------------------------------- windows


@dataclass(frozen=True)
class WindowSettings:
    """The numbers that turn light curves into labelled windows (``dataset`` and ``kepler``)."""

    rules: lightcurve.WindowRules  # length, cadence, max_missing_fraction: shared with predict
    stride: int
    min_in_transit_cadences: int
    exclusion_margin_days: float
    include_hard_negatives: bool
    exclude_kepids: frozenset[int]

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> WindowSettings:
        kep = params["kepler"]
        return cls(
            rules=lightcurve.WindowRules.from_params(params),
            stride=kep["stride"],
            min_in_transit_cadences=kep["min_in_transit_cadences"],
            exclusion_margin_days=kep["exclusion_margin_hours"] / 24.0,
            include_hard_negatives=kep["include_hard_negatives"],
            exclude_kepids=frozenset(kep["exclude_kepids"]),
        )


def robust_noise_ppm(flux: np.ndarray) -> np.ndarray:
    """Per-cadence white-noise scatter of each window: 1.4826 MAD of point-to-point differences.

    Differences of neighbouring cadences cancel slow variability; dividing by
    sqrt(2) converts the scatter of a difference into that of one cadence.
    """
    diff = np.diff(flux, axis=1)
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
        centre = np.nanmedian(diff, axis=1, keepdims=True)
        mad = np.nanmedian(np.abs(diff - centre), axis=1)
    return MAD_TO_SIGMA * mad / np.sqrt(2.0) * 1e6


@dataclass
class StarWindows:
    """Windows of one star, before concatenation into the pool."""

    flux: np.ndarray  # (n, L) float32
    time: np.ndarray  # (n, L) float64
    table: pd.DataFrame
    dropped_missing: int
    dropped_ambiguous: int


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
    segments = lightcurve.to_segments(
        lightcurve.from_star(star), rules.cadence_days, skip_bad_level=True
    )
    windows = lightcurve.cut_windows(segments, rules.length, settings.stride)
    sparse = lightcurve.too_sparse(windows, rules.max_missing_fraction)
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


# --------------------------------------------------------------------------- metrics and plot


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


def example_indices(table: pd.DataFrame, n_transit: int = 6, n_negative: int = 6) -> list[int]:
    """Deterministic picks for the figure: the highest-SNR transit window of distinct stars, then
    host windows without transit (distinct quarters) and the least gappy non-KOI windows of
    distinct stars (BKJD-timed first)."""
    transits = table.loc[table["label"] == 1].sort_values(["snr", "id"], ascending=[False, True])
    picks = list(transits.drop_duplicates("kepid").index[:n_transit])
    negatives = table.loc[table["label"] == 0].assign(relative_time=table["quarter"] < 0)
    negatives = negatives.sort_values(["relative_time", "missing_fraction", "id"])
    hosts = negatives.loc[negatives["kind"] == "host_no_transit"]
    picks += list(hosts.drop_duplicates(["kepid", "quarter"]).index[: n_negative // 3])
    others = negatives.loc[negatives["kind"] != "host_no_transit"].drop_duplicates("kepid")
    picks += list(others.index[: n_transit + n_negative - len(picks)])  # fill the free panels
    return picks


def plot_examples(pool: WindowPool, koi: pd.DataFrame) -> Any:
    """Figure of labelled real windows with every KOI's predicted mid-transit times marked."""
    from matplotlib.figure import Figure

    picks = example_indices(pool.table)
    ncols = 4
    nrows = max(1, -(-len(picks) // ncols))
    fig = Figure(figsize=(3.6 * ncols, 2.5 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, i in zip(axes, picks, strict=False):
        row = pool.table.loc[i]
        time, flux = pool.time[i], pool.flux[i]
        ax.plot(time, (flux - 1.0) * 1e6, ".", ms=1.5, color="0.25")
        for k in star_kois(koi, int(row["kepid"])).itertuples():
            if not np.isfinite(k.koi_period) or k.koi_period <= 0:
                continue
            first = np.ceil((time[0] - k.koi_time0bk) / k.koi_period)
            last = np.floor((time[-1] - k.koi_time0bk) / k.koi_period)
            colour = "tab:red" if k.koi_disposition == "CONFIRMED" else "tab:orange"
            for n in np.arange(first, last + 1):
                ax.axvline(k.koi_time0bk + n * k.koi_period, color=colour, lw=0.8, alpha=0.6)
        if row["label"] == 1:
            planets = row["planets"].split(";")
            more = f" +{len(planets) - 1}" if len(planets) > 1 else ""
            what = f"{planets[0]}{more}, SNR {row['snr']:.0f}"
        else:
            what = row["kind"]
        title = f"KIC {row['kepid']} Q{row['quarter']}: label {row['label']}, {what}"
        ax.set_title(title, fontsize=8)
        relative = row["quarter"] < 0
        ax.set_xlabel("days (source's relative time)" if relative else "BKJD (days)", fontsize=7)
        ax.set_ylabel("flux - 1 (ppm)", fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in axes[len(picks) :]:
        ax.set_visible(False)
    fig.suptitle(
        "Real Kepler windows (red: predicted transits of CONFIRMED planets, orange: other KOIs)",
        fontsize=9,
    )
    return fig
