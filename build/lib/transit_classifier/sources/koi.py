"""The Kepler Object of Interest (KOI) table: reading it and labelling stars from it.

Every real label in the pipeline comes from the NASA Exoplanet Archive KOI
cumulative table: a star's dispositions decide whether its windows can be
positives, safe negatives, or neither, and each KOI's ephemeris says where its
transits fall (see :func:`transit_classifier.simulate.orbits.transit_offset`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from transit_classifier.errors import UserError

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


def koi_label(dispositions: Iterable[str]) -> str:
    """Star-level label from its KOIs' dispositions (NOT_KOI when it has none).

    Examples
    --------
    >>> koi_label(["FALSE POSITIVE", "CONFIRMED"]), koi_label([]), koi_label(["CANDIDATE"])
    ('CONFIRMED', 'NOT_KOI', 'CANDIDATE')
    """
    values = set(dispositions)
    if not values:
        return "NOT_KOI"
    if "CONFIRMED" in values:
        return "CONFIRMED"
    if values == {"FALSE POSITIVE"}:
        return "FALSE_POSITIVE_ONLY"
    return "CANDIDATE"


def star_kois(koi: pd.DataFrame, kepid: int) -> pd.DataFrame:
    """The KOI rows of one star in ``kepoi_name`` order, so every loop over them is stable."""
    rows = koi.loc[koi["kepid"] == kepid].sort_values("kepoi_name").reset_index(drop=True)
    return rows


def planet_name(row: Any) -> str:
    """Kepler name of a KOI row (a namedtuple from ``itertuples``), else its KOI name."""
    name = row.kepler_name
    return str(name) if isinstance(name, str) and name else str(row.kepoi_name)
