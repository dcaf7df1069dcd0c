"""Kepler light curves from MAST with lightkurve: retries, a cache that heals, one-line errors.

``kepler.source: mast`` downloads each target's long-cadence PDCSAP files
(``search_lightcurve(..., author="Kepler", exptime=1800).download_all``) into
``kepler.cache_dir`` and hands the resulting ``LightCurveCollection`` to
:func:`transit_classifier.sources.kepler.from_collection`, the same path the bundle was
built through. Network failures are retried with exponential backoff; if MAST
stays unreachable the stage stops with one line (and writes nothing). A cached
file that does not open (an interrupted download) is deleted and fetched once
more. Any other per-target failure is recorded in the fetch report and the
target skipped. :func:`load_source` reads either this or the bundled copy.
"""

from __future__ import annotations

import socket
import time
import urllib.error
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import requests
from astropy.utils.exceptions import AstropyUserWarning
from astroquery.exceptions import RemoteServiceError
from astroquery.exceptions import TimeoutError as AstroqueryTimeout

from transit_classifier.errors import UserError

from .bundle import load_bundle, load_manifest, verify_bundle
from .kepler import StarLightCurve, from_collection, star_entry
from .koi import load_koi
from .lightcurve import import_lightkurve

T = TypeVar("T")

NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    requests.exceptions.RequestException,
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    urllib.error.URLError,
    RemoteServiceError,
    AstroqueryTimeout,
)


class MastUnreachable(UserError):
    """MAST could not be reached after every retry: the whole stage stops."""


def is_network_error(exc: BaseException | None) -> bool:
    """Whether ``exc`` or anything in its cause/context chain is a network failure.

    lightkurve and astroquery sometimes wrap the ``requests`` error, so the
    chain is followed rather than only the outer type.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, NETWORK_ERRORS):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def unreachable(exc: BaseException) -> MastUnreachable:
    detail = " ".join(str(exc).split())[:100]
    return MastUnreachable(
        f"MAST is unreachable ({type(exc).__name__}: {detail}); check the network, or set "
        "kepler.source: bundled in params.yaml to use the offline Kepler copy"
    )


@dataclass(frozen=True)
class Retry:
    """Call with retries on network errors, waiting ``backoff_seconds * 2**attempt`` between."""

    attempts: int
    backoff_seconds: float
    sleep: Callable[[float], None] | None = None  # None: time.sleep, looked up at call time

    def call(self, function: Callable[[], T]) -> T:
        for attempt in range(self.attempts):
            try:
                return function()
            except Exception as exc:
                if not is_network_error(exc):
                    raise
                if attempt + 1 == self.attempts:
                    raise unreachable(exc) from None
                (self.sleep or time.sleep)(self.backoff_seconds * 2**attempt)
        raise ValueError("Retry.attempts must be at least 1")


def inside_cache(cache_dir: str | Path, *names: str) -> Path:
    """``cache_dir/names...`` resolved, refused unless it stays inside the cache.

    The names come from MAST's product table; a ``..`` or absolute name must
    never make a download write, or a purge delete, a file elsewhere.

    Raises
    ------
    UserError
        If the resolved path leaves ``cache_dir``.
    """
    root = Path(cache_dir).resolve()
    path = root.joinpath(*names).resolve()
    if not path.is_relative_to(root):
        raise UserError(
            f"MAST product path {'/'.join(names)!r} leads outside the cache {root}; refusing to "
            "download or delete it (report it, or use kepler.source: bundled)"
        )
    return path


def cached_paths(search: Any, cache_dir: str | Path) -> list[Path]:
    """Where lightkurve caches each product of ``search``, each checked to stay in the cache.

    Mirrors ``lightkurve.SearchResult._download_one``: a file already at this
    path is read without downloading, so a truncated one must be removed here.

    Raises
    ------
    UserError
        If a product's path leads outside ``cache_dir``.
    """
    return [
        inside_cache(
            cache_dir,
            "mastDownload",
            str(row["obs_collection"]),
            str(row["obs_id"]),
            str(row["productFilename"]),
        )
        for row in search.table
    ]


def purge_unreadable(paths: Sequence[Path]) -> list[Path]:
    """Delete cached files that lightkurve cannot open; return the deleted paths."""
    lk = import_lightkurve()
    removed = []
    for path in paths:
        if not path.is_file():
            continue
        try:
            with warnings.catch_warnings(action="ignore", category=AstropyUserWarning):
                lk.read(str(path))
        except Exception:  # any reader failure means the file is unusable: fetch it again
            path.unlink()
            removed.append(path)
    return removed


def download(search: Any, cache_dir: str | Path, retry: Retry) -> Any:
    """``search.download_all`` into the cache; if a file is unreadable, purge it and fetch again.

    Every product path is checked to stay inside the cache before anything is written.
    """
    paths = cached_paths(search, cache_dir)

    def fetch() -> Any:
        return retry.call(lambda: search.download_all(download_dir=str(cache_dir)))

    try:
        return fetch()
    except MastUnreachable:
        raise
    except Exception:  # typically LightkurveError: a cached or fresh file does not open
        if not purge_unreadable(paths):
            raise
        return fetch()


@dataclass
class FetchResult:
    stars: dict[int, StarLightCurve]
    report: list[dict[str, Any]]


def fetch_star(kepid: int, cache_dir: str | Path, retry: Retry) -> StarLightCurve:
    """One target's Kepler long-cadence light curves as arrays.

    Raises
    ------
    MastUnreachable
        If the network fails on every retry.
    UserError
        If MAST has no Kepler long-cadence light curve of the target.
    """
    lk = import_lightkurve()
    search = retry.call(
        lambda: lk.search_lightcurve(
            f"KIC {kepid}", mission="Kepler", author="Kepler", exptime=1800
        )
    )
    if search is None or len(search) == 0:
        raise UserError(f"KIC {kepid}: MAST has no Kepler long-cadence light curve")
    return from_collection(download(search, cache_dir, retry))


def fetch_targets(
    kepids: Sequence[int], cache_dir: str | Path, retry: Retry, progress: bool = True
) -> FetchResult:
    """Fetch every target; a failing target is reported and skipped, an unreachable MAST stops all.

    Raises
    ------
    MastUnreachable
        If the network fails (nothing is returned, so no partial outputs are written).
    UserError
        If no target could be fetched.
    """
    from tqdm.auto import tqdm

    stars: dict[int, StarLightCurve] = {}
    report: list[dict[str, Any]] = []
    bar = tqdm(kepids, desc="MAST", unit="star", leave=False, disable=None if progress else True)
    for kepid in bar:
        try:
            star = fetch_star(int(kepid), cache_dir, retry)
        except MastUnreachable:
            bar.close()  # clear the bar so the error stays the only line
            raise
        except Exception as exc:  # one bad target must not stop the others: record it
            reason = " ".join(str(exc).split())[:200]
            report.append({"kepid": int(kepid), "status": "failed", "reason": reason})
            continue
        stars[int(kepid)] = star
        report.append(star_entry(star))
    if not stars:
        first = report[0] if report else {"kepid": "-", "reason": "no targets"}
        raise UserError(
            f"none of the {len(kepids)} MAST targets could be fetched (KIC {first['kepid']}: "
            f"{first['reason']}); check the kepids or use kepler.source: bundled"
        )
    return FetchResult(stars, report)


def resolve_targets(kep: dict[str, Any]) -> list[int]:
    """Target kepids: ``kepler.targets``, else ``kepler.targets_csv``, else the bundle's stars.

    Raises
    ------
    UserError
        If the targets CSV is missing, has no ``kepid`` column or non-integer kepids.
    """
    if kep["targets"]:
        return sorted(set(kep["targets"]))
    if kep["targets_csv"]:
        path = Path(kep["targets_csv"])
        if not path.is_file():
            raise UserError(f"{path}: kepler.targets_csv not found; fix the path or clear it")
        frame = pd.read_csv(path)
        if "kepid" not in frame.columns:
            raise UserError(f"{path}: no 'kepid' column; add one with one KIC id per row")
        kepids = pd.to_numeric(frame["kepid"], errors="coerce")
        if kepids.isna().any() or (kepids <= 0).any() or (kepids % 1 != 0).any():
            raise UserError(f"{path}: the kepid column must hold positive integer KIC ids")
        return sorted(set(kepids.astype(int)))
    verify_bundle(kep["bundle_dir"])
    return sorted(int(k) for k in load_manifest(kep["bundle_dir"])["kepid"])


def koi_for_targets(kep: dict[str, Any], kepids: Sequence[int]) -> pd.DataFrame:
    """The KOI rows that label ``kepids``: ``kepler.koi_table`` if set, else the bundle's table.

    The bundle's table only holds the bundled stars, so a star missing from it
    could be a KOI; such targets need the full table rather than being taken
    for non-KOI stars.

    Raises
    ------
    UserError
        If a target is outside the bundle and no ``kepler.koi_table`` is given.
    """
    if kep["koi_table"]:
        return load_koi(kep["koi_table"])
    verify_bundle(kep["bundle_dir"])
    bundled = set(load_manifest(kep["bundle_dir"])["kepid"].astype(int))
    outside = sorted(set(kepids) - bundled)
    if outside:
        raise UserError(
            f"KIC {outside[0]} (and {len(outside) - 1} more) not in the bundle's KOI table; set "
            "kepler.koi_table to the NASA Exoplanet Archive KOI cumulative CSV"
        )
    return load_koi(Path(kep["bundle_dir"]) / "koi.csv.gz")


def load_source(kep: dict[str, Any]) -> tuple[dict[int, StarLightCurve], pd.DataFrame, list]:
    """Per-star arrays, KOI table and fetch report from ``kepler.source`` (bundled or MAST)."""
    if kep["source"] == "bundled":
        bundle = load_bundle(kep["bundle_dir"])
        report = [star_entry(star) for _, star in sorted(bundle.stars.items())]
        return bundle.stars, bundle.koi, report
    targets = resolve_targets(kep)
    koi = koi_for_targets(kep, targets)
    retry = Retry(kep["download_retries"], kep["backoff_seconds"])
    fetched = fetch_targets(targets, kep["cache_dir"], retry)
    return fetched.stars, koi, fetched.report
