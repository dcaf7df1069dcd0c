"""Writing the offline Kepler bundle; only ``tools/build_kepler_bundle.py`` needs this.

Kept apart from :mod:`transit_classifier.sources.bundle` so the stages and ``predict``
load only the reading side. Every file is written byte-reproducibly (sorted
rows, gzip without a timestamp) so a rebuild from the same sources gives the
same ``SHA256SUMS``.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from transit_classifier.io import save_npz, sha256_file
from transit_classifier.sources.bundle import star_file
from transit_classifier.sources.kepler import TICKS_PER_DAY, StarLightCurve
from transit_classifier.sources.koi import KOI_COLUMNS


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


def write_checksums(folder: Path) -> None:
    """Write ``SHA256SUMS`` (``sha256sum -c`` format) for every other file in ``folder``."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "SHA256SUMS")
    lines = [f"{sha256_file(p)}  {p.relative_to(folder).as_posix()}\n" for p in files]
    (folder / "SHA256SUMS").write_text("".join(lines))


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
