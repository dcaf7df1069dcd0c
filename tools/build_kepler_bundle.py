"""Rebuild ``data/kepler_bundle`` from the shared real-Kepler collection (``../shared/kepler``).

The only code that reads ``../shared``. Users do not have it, so the repository
ships the result: compact per-star arrays (the same arrays a MAST download gives
through :func:`transit_classifier.sources.kepler.from_collection`), a trimmed KOI table,
a manifest, a README with provenance and credits, and ``SHA256SUMS``.

Which stars are usable (decided here, documented in the bundle README):

* FITS stars: read with ``lightkurve.read`` (default quality mask, PDCSAP), the
  exact code path of MAST downloads.
* CSV stars with BKJD time: cadence numbers and quarters come from the Kepler
  cadence clock (TIME -> CADENCENO of a reference star's LLC files covering
  Q0-Q17), so they are gridded exactly like FITS data.
* Fluxes are kept in their own units when a per-quarter median normalises them
  (e-/s, ~1); zero-centred fractional fluxes (LC_DETREND) become 1 + x and the
  KEPSEISMIC ppm flux 1 + x / 1e6 (documented units). The zero-centred flux of
  undocumented scale (KIC 8783286) is skipped.
* Relative (non-BKJD) time: only for non-KOI stars (negatives need no
  ephemeris), split at every gap > 0.5 day (each quarter boundary is one) into
  segments stored as quarters -1, -2, ...

Usage: ``python tools/build_kepler_bundle.py [--shared DIR] [--out DIR] [--fixtures DIR]``
(defaults: ``../shared/kepler``, ``data/kepler_bundle``, ``tests/fixtures/kepler``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits
from bundle_writer import write_bundle  # tools/bundle_writer.py, beside this script

from transit_classifier.cadence import MINUTES_PER_DAY
from transit_classifier.errors import UserError
from transit_classifier.io import atomic_dir, sha256_file
from transit_classifier.simulate.orbits import transit_offset
from transit_classifier.sources import kepler
from transit_classifier.sources.koi import KOI_COLUMNS, koi_label, load_koi, planet_name, star_kois

ROOT = Path(__file__).resolve().parents[1]
CADENCE_DAYS = 29.4244 / MINUTES_PER_DAY
REFERENCE_KEPID = 7660594  # non-KOI star whose LLC files cover every quarter Q0-Q17
MAX_CLOCK_RESIDUAL = 0.25  # cadences: a time further than this from the clock is rejected
MAX_RELATIVE_GAP_DAYS = 0.5  # every Kepler quarter boundary is a gap longer than this
FIXTURES = [  # small real FITS files copied to tests/fixtures/kepler
    "kplr011442793-2010009091648_llc.fits",  # Kepler-90, Q4 (truncated at the source: 21 days)
    "kplr011442793-2010174085026_llc.fits",  # Kepler-90, Q5: transit of Kepler-90 h
    "kplr008417738-2009131105131_llc.fits",  # non-KOI star, Q0
    "kplr005899262-2009131105131_llc.fits",  # non-KOI star, Q0
    "kplr005899262-2009166043257_llc.fits",  # non-KOI star, Q1
]


def verify_shared(shared: Path) -> None:
    """Check the shared collection against its own ``SHA256SUMS`` before using it."""
    for line in (shared / "SHA256SUMS").read_text().splitlines():
        expected, name = line.split(maxsplit=1)
        if sha256_file(shared / name) != expected:
            raise UserError(f"{shared / name}: checksum mismatch; the shared data are damaged")


class CadenceClock:
    """Kepler's cadence clock: BKJD time -> CADENCENO and quarter, from one star's LLC files."""

    def __init__(self, paths: list[Path]) -> None:
        times, cads, ranges = [], [], {}
        for path in paths:
            with fits.open(path) as hdul:
                data = hdul[1].data
                quarter = int(hdul[0].header["QUARTER"])
                cad = np.asarray(data["CADENCENO"], dtype=np.int64)
                time = np.asarray(data["TIME"], dtype=np.float64)
            ranges[quarter] = (int(cad.min()), int(cad.max()))
            ok = np.isfinite(time)
            times.append(time[ok])
            cads.append(cad[ok])
        order = np.argsort(np.concatenate(cads))
        self.cadence = np.concatenate(cads)[order]
        self.time = np.concatenate(times)[order]
        self.ranges = dict(sorted(ranges.items()))

    def cadences(self, time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cadence numbers of ``time`` and a mask of times that sit on the clock."""
        estimate = np.interp(time, self.time, self.cadence)
        cad = np.round(estimate).astype(np.int64)
        back = np.interp(cad, self.cadence, self.time)
        on_clock = np.abs(time - back) < MAX_CLOCK_RESIDUAL * CADENCE_DAYS
        return cad, on_clock

    def quarters(self, cad: np.ndarray) -> np.ndarray:
        quarter = np.full(len(cad), kepler.UNKNOWN_QUARTER)
        for q, (lo, hi) in self.ranges.items():
            quarter[(cad >= lo) & (cad <= hi)] = q
        return quarter


def convert_flux(flux: np.ndarray, kind: str) -> tuple[np.ndarray | None, str]:
    """Flux that a per-quarter median normalises honestly, or None with the reason to skip."""
    if "LC_DETREND" in kind:
        return 1.0 + flux, "1 + LC_DETREND (fractional flux; folded depths match koi_depth)"
    if kind.startswith("KEPSEISMIC"):
        return 1.0 + flux * 1e-6, "1 + flux_ppm / 1e6"
    if "zero-centred" in kind:
        return None, "skipped: zero-centred flux of undocumented scale"
    return flux, "as given (normalised per quarter by the pipeline)"


def csv_star(
    row: pd.Series, shared: Path, clock: CadenceClock
) -> tuple[kepler.StarLightCurve | None, str]:
    """A converted CSV light curve, or None with the reason it is not usable."""
    data = pd.read_csv(shared / row["file"])
    flux, conversion = convert_flux(data["flux"].to_numpy(np.float64), row["flux_kind"])
    if flux is None:
        return None, conversion
    time = data["time"].to_numpy(np.float64)
    if row["time_system"] == "BKJD":
        cad, on_clock = clock.cadences(time)
        quarter = clock.quarters(cad)
        keep = on_clock & (quarter != kepler.UNKNOWN_QUARTER)
        given = data["quarter"].to_numpy()
        if np.any((given >= 0) & keep & (given != quarter)):
            raise UserError(f"KIC {row['kepid']}: quarters from the cadence clock disagree")
        note = f"; cadence clock: {int((~keep).sum())} off-clock rows dropped"
    else:
        if row["koi_label"] != "NOT_KOI":
            return None, "skipped: relative time, but a KOI needs BKJD for its ephemeris"
        cad = np.round((time - time[0]) / CADENCE_DAYS).astype(np.int64)
        segment = np.concatenate([[0], np.cumsum(np.diff(time) > MAX_RELATIVE_GAP_DAYS)])
        quarter = kepler.UNKNOWN_QUARTER - segment
        keep = np.ones(len(time), dtype=bool)
        note = f"; relative time: {segment[-1] + 1} gap-free segment(s), quarters -1, -2, ..."
    star = kepler.make_star(row["kepid"], time[keep], flux[keep], quarter[keep], cad[keep])
    return star, conversion + note


def folded_depths(star: kepler.StarLightCurve, kois: pd.DataFrame) -> str:
    """Measured depth / koi_depth of each CONFIRMED planet: proves the flux scale is honest.

    Each transit is measured against its own neighbourhood (1-3 durations from
    mid-transit), so stellar variability cancels; the median over transits is
    reported.
    """
    flux = star.flux.astype(np.float64)
    for q in star.quarters:
        flux[star.quarter == q] /= np.median(flux[star.quarter == q])
    parts = []
    for row in kois.loc[kois["koi_disposition"] == "CONFIRMED"].itertuples():
        offset = transit_offset(star.time, row.koi_period, row.koi_time0bk)
        epoch = np.round((star.time - offset - row.koi_time0bk) / row.koi_period)
        duration = row.koi_duration / 24.0
        frame = pd.DataFrame({"epoch": epoch, "flux": flux, "offset": np.abs(offset)})
        inside = frame[frame["offset"] < duration / 4].groupby("epoch")["flux"].mean()
        near = frame[(frame["offset"] > duration) & (frame["offset"] < 3 * duration)]
        depth = (near.groupby("epoch")["flux"].mean() - inside).dropna()
        if len(depth):
            parts.append(f"{planet_name(row)} {np.median(depth) * 1e6 / row.koi_depth:.2f}")
    return "; ".join(parts)


def collect_stars(
    shared: Path, manifest: pd.DataFrame, koi: pd.DataFrame
) -> tuple[list[kepler.StarLightCurve], pd.DataFrame]:
    """Every usable star and one manifest row per shared star (used or skipped)."""
    fits_rows = manifest.loc[manifest["format"] == "fits"]
    clock = CadenceClock(
        [shared / f for f in fits_rows.loc[fits_rows["kepid"] == REFERENCE_KEPID, "file"]]
    )
    stars, rows = [], []
    for kepid, group in manifest.groupby("kepid", sort=True):
        first = group.iloc[0]
        kois = star_kois(koi, int(kepid))
        label = koi_label(kois["koi_disposition"])
        if label != first["koi_label"]:
            raise UserError(f"KIC {kepid}: KOI label {label} differs from the shared manifest")
        if first["format"] == "fits":
            star = kepler.read_fits([shared / f for f in sorted(group["file"])])
            conversion = "PDCSAP_FLUX via lightkurve.read (default quality mask)"
        else:
            star, conversion = csv_star(first, shared, clock)
        commit = str(first["source_commit"])[:7] if first["source_commit"] != "n/a" else "n/a"
        row = {
            "kepid": int(kepid),
            "koi_label": label,
            "kepler_names": first["kepler_names"] if isinstance(first["kepler_names"], str) else "",
            "source": f"{first['source_repo']} @ {commit}",
            "quarters": "",
            "n_points": 0,
            "time_system": first["time_system"],
            "flux_kind": first["flux_kind"],
            "conversion": conversion,
            "depth_check": "",
            "licence": first["license"],
            "used": star is not None,
        }
        if star is not None:
            stars.append(star)
            row.update(
                quarters=";".join(map(str, star.quarters)),
                n_points=len(star.flux),
                depth_check=folded_depths(star, kois) if label == "CONFIRMED" else "",
            )
        rows.append(row)
    return stars, pd.DataFrame(rows)


def shared_section(readme: str, title: str) -> str:
    """One ``## title`` section of the shared README, copied verbatim (provenance, credits)."""
    match = re.search(rf"^## {title}\n(.*?)(?=^## |\Z)", readme, flags=re.M | re.S)
    if match is None:
        raise UserError(f"shared README has no '## {title}' section")
    return match.group(1).strip()


def render_readme(table: pd.DataFrame, shared_readme: str) -> str:
    used = table.loc[table["used"]]
    counts = used.groupby("koi_label").agg(stars=("kepid", "size"), cadences=("n_points", "sum"))
    count_lines = "\n".join(
        f"| {label} | {int(r.stars)} | {int(r.cadences)} |" for label, r in counts.iterrows()
    )
    skipped = table.loc[~table["used"]]
    skipped_lines = "\n".join(
        f"  - KIC {r.kepid} ({r.koi_label}): {r.conversion}" for r in skipped.itertuples()
    )
    checks = "\n".join(
        f"| KIC {r.kepid} | {r.depth_check} |" for r in used.itertuples() if r.depth_check
    )
    return f"""# Bundled real Kepler light curves

A compact, checksummed copy of real NASA Kepler long-cadence photometry so that the
`fetch_kepler` stage runs offline (`kepler.source: bundled`). Rebuilt by
`tools/build_kepler_bundle.py` from the shared collection described below; nothing here is
synthetic. `kepler.source: mast` downloads the same stars' original files from MAST with
lightkurve instead and processes them through the same code.

## Files

- `lightcurves/KIC<kepid, 9 digits>.npz`: one star each, arrays `time_ticks_diff` (int64),
  `cadenceno_diff` (int32), `flux` (float32), `quarter` (int8), one entry per observed cadence
  sorted by cadence number. `time = cumsum(time_ticks_diff) / 1e7` is BKJD (BJD - 2454833) to
  1e-7 day; `cadenceno = cumsum(cadenceno_diff)` is the Kepler cadence number. Differences
  deflate to under a byte per cadence. Read with `transit_classifier.sources.bundle.load_bundle`.
- `koi.csv.gz`: the NASA Exoplanet Archive KOI cumulative table (version of 2019-01-20), only
  the rows of the bundled stars and the columns used: {", ".join(KOI_COLUMNS)}.
- `manifest.csv`: one row per bundled star: `kepid`, `koi_label`, `kepler_names`, `source`
  (repository @ commit), `quarters`, `n_points`, `time_system`, `flux_kind` (as given by the
  source), `conversion` (what the build did), `depth_check` (CONFIRMED hosts: measured folded
  depth / `koi_depth` per planet), `licence`. Skipped stars are listed below.
- `SHA256SUMS`: SHA-256 of every other file; the stage verifies it before reading
  (`sha256sum -c SHA256SUMS` works too).

## What was kept and how

- FITS stars are read with `lightkurve.read` (default quality mask, PDCSAP_FLUX, NaN cadences
  removed): exactly the arrays a MAST download gives.
- CSV stars with BKJD time get cadence numbers and quarters from Kepler's cadence clock (TIME
  -> CADENCENO of KIC {REFERENCE_KEPID}'s LLC files, Q0-Q17); rows more than
  {MAX_CLOCK_RESIDUAL} cadence off the clock are dropped. Their quality mask is the source's
  (`SAP_QUALITY == 0` for converted FITS).
- Flux stays in its own units when a per-quarter median normalises it (e-/s, ~1). Zero-centred
  fractional flux (`LC_DETREND`) is stored as 1 + x, KEPSEISMIC ppm as 1 + x / 1e6; the depth
  check below shows the fractional scale is right. `LC_DETREND`, KEPSEISMIC and the dl_kep
  spline flux were already detrended by their sources; the pipeline detrends every window
  again in `prepare`.
- Relative (non-BKJD) time is kept only for non-KOI stars (negatives need no ephemeris). Their
  quarters are unknown, so the data are split at every gap longer than
  {MAX_RELATIVE_GAP_DAYS} day (every Kepler quarter boundary is a longer gap) and segment k is
  stored as quarter -k: a window never crosses a quarter. Cadence numbers count from the first
  sample. Their window times are on the source's own scale, not BKJD.
- Skipped:
{skipped_lines}

| koi_label | stars | cadences |
|---|---:|---:|
{count_lines}

Folded depth / `koi_depth` of each CONFIRMED planet, each transit against its own
neighbourhood (1.00 = the flux scale matches the KOI table; shallow planets are noisy, planets
with TTVs come out shallower):

| star | planets |
|---|---|
{checks}

## Labels

`koi_label` comes from `koi_disposition` of all the star's KOI rows: CONFIRMED (at least one
CONFIRMED KOI), CANDIDATE (no CONFIRMED, at least one CANDIDATE), FALSE_POSITIVE_ONLY, NOT_KOI
(no KOI row). Windows are labelled from the ephemerides (`koi_time0bk + n * koi_period`, BKJD;
`koi_duration` hours; `koi_depth` ppm) by `transit_classifier.sources.kepler`.

## Provenance of the shared collection

{shared_section(shared_readme, "Provenance")}

## Credits

{shared_section(shared_readme, "Credits")}

## Caveats (from the shared collection)

{shared_section(shared_readme, "Caveats")}
"""


def copy_fixtures(shared: Path, manifest: pd.DataFrame, target: Path) -> None:
    """Copy the small real FITS test fixtures unchanged, with a README naming their sources."""
    sources = manifest.set_index("file")
    lines = [
        "# Real Kepler FITS test fixtures\n\n",
        "Original MAST Kepler long-cadence files (data release 25), copied unchanged by\n",
        "`tools/build_kepler_bundle.py`. Kepler data are NASA public data from MAST.\n\n",
    ]
    with atomic_dir(target) as tmp:
        for name in FIXTURES:
            shutil.copyfile(shared / "fits" / name, tmp / name)
            row = sources.loc[f"fits/{name}"]
            lines.append(
                f"- `{name}`: KIC {row['kepid']} ({row['koi_label']}), Q{row['quarters']}; from "
                f"{row['source_repo']} @ {str(row['source_commit'])[:7]} ({row['license']})\n"
            )
        (tmp / "README.md").write_text("".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "kepler")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "kepler_bundle")
    parser.add_argument("--fixtures", type=Path, default=ROOT / "tests" / "fixtures" / "kepler")
    args = parser.parse_args()
    verify_shared(args.shared)
    manifest = pd.read_csv(args.shared / "manifest.csv")
    koi = load_koi(args.shared / "koi_cumulative.csv.gz")
    stars, table = collect_stars(args.shared, manifest, koi)
    readme = render_readme(table, (args.shared / "README.md").read_text())
    with atomic_dir(args.out) as tmp:
        used = table.loc[table["used"]].drop(columns="used")
        write_bundle(tmp, stars, koi, used, readme)
    copy_fixtures(args.shared, manifest, args.fixtures)
    print(table[["kepid", "koi_label", "used", "quarters", "n_points", "depth_check"]].to_string())
    print(f"{len(stars)} stars, {int(table['n_points'].sum())} cadences -> {args.out}")


if __name__ == "__main__":
    try:
        main()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
