"""Reading and verifying the offline Kepler bundle (``data/kepler_bundle``).

The bundle lets the pipeline run without network access: per-star arrays,
the KOI rows of those stars, a manifest and ``SHA256SUMS``. Every load checks
the checksums first, so a truncated or hand-edited file fails loudly instead
of silently changing the data. Writing a bundle is
``tools/bundle_writer.py``'s job (used by
``tools/build_kepler_bundle.py`` only).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from transit_classifier.errors import UserError
from transit_classifier.io import load_npz, sha256_file

from .kepler import TICKS_PER_DAY, StarLightCurve
from .koi import load_koi


@dataclass(frozen=True)
class Bundle:
    """A loaded bundle: its manifest, KOI rows and light curves keyed by kepid."""

    manifest: pd.DataFrame
    koi: pd.DataFrame
    stars: dict[int, StarLightCurve]


def star_file(kepid: int) -> str:
    """Path of a star's arrays inside the bundle folder."""
    return f"lightcurves/KIC{int(kepid):09d}.npz"


def decode_star(kepid: int, arrays: dict[str, np.ndarray]) -> StarLightCurve:
    """Inverse of ``encode_star`` of ``tools/bundle_writer.py``.

    Time and cadence numbers are stored as first values plus differences of
    integer ticks, so cumulative sums restore BKJD exactly to 1e-7 day.
    """
    time = np.cumsum(arrays["time_ticks_diff"].astype(np.int64)) / TICKS_PER_DAY
    cadenceno = np.cumsum(arrays["cadenceno_diff"].astype(np.int64)).astype(np.int32)
    return StarLightCurve(
        int(kepid), time, arrays["flux"].astype(np.float32), arrays["quarter"], cadenceno
    )


def verify_bundle(folder: str | Path) -> int:
    """Check every file listed in ``SHA256SUMS``; return how many were verified.

    Raises
    ------
    UserError
        If the checksum list or a listed file is missing or a file's SHA-256 differs.
    """
    folder = Path(folder)
    sums = folder / "SHA256SUMS"
    fix = f"restore it (git checkout -- {folder}) or rebuild with tools/build_kepler_bundle.py"
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


def load_manifest(folder: str | Path) -> pd.DataFrame:
    """The bundle's star list with provenance (one row per kepid)."""
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
