"""Cost of `transit-classifier scan` on this machine: throughput, and wall time and memory vs size.

Two measurements, each a real ``transit-classifier scan`` command run in its own
process on a 2-worker Dask ``LocalCluster``:

* **Kepler FITS quarters**: copies of the bundled real FITS fixtures
  (tests/fixtures/kepler), read through lightkurve exactly as users' files are.
  Start-up (cluster, TensorFlow and the model in every worker) is timed apart by
  a first scan of one file.
* **Cost curve**: 100, 1,000 and 10,000 light curves generated from the bundled
  real Kepler stars that are not KOIs (one quarter each, as CSV, in the
  temporary folder; nothing is committed). Wall time and the peak memory of the
  scan and all its worker processes together, so docs/scan.md's estimate of a
  200,000-star sweep rests on a measured slope, not on one point.

Copies get distinct names, so the scan's resume key treats each as a new input.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from common import record, table

from transit_classifier.sources.bundle import load_bundle  # noqa: E402

FIXTURES = Path("tests/fixtures/kepler")
BUNDLE = Path("data/kepler_bundle")
MIN_BYTES = 100_000  # the 9.7-day Q0 files are shorter than one window: leave them out
MIN_QUARTER_POINTS = 1500  # a quarter long enough for at least one window


def fits_copies(folder: Path, n: int) -> None:
    """``n`` copies of the fixture quarters long enough to score."""
    sources = [p for p in sorted(FIXTURES.glob("*_llc.fits")) if p.stat().st_size > MIN_BYTES]
    folder.mkdir()
    for i in range(n):
        source = sources[i % len(sources)]
        shutil.copyfile(source, folder / f"copy{i:05d}_{source.name}")


def bundle_quarters() -> list[pd.DataFrame]:
    """Every quarter of the bundled non-KOI stars, as (time, flux) tables."""
    bundle = load_bundle(BUNDLE)
    quiet = bundle.manifest.loc[bundle.manifest["koi_label"] == "NOT_KOI", "kepid"]
    quarters = []
    for kepid in quiet:
        star = bundle.stars[int(kepid)]
        for q in np.unique(star.quarter):
            keep = star.quarter == q
            if keep.sum() >= MIN_QUARTER_POINTS:
                quarters.append(pd.DataFrame({"time": star.time[keep], "flux": star.flux[keep]}))
    return quarters


def csv_inputs(folder: Path, quarters: list[pd.DataFrame], n: int) -> None:
    """``n`` CSV light curves, cycling through the bundled quarters."""
    folder.mkdir()
    for i in range(n):
        quarters[i % len(quarters)].to_csv(folder / f"lc{i:05d}.csv", index=False)


def run_scan(inputs: Path, out: Path, workers: int) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MiB, the scan and every child summed) of one scan."""
    cmd = [sys.executable, "-m", "transit_classifier", "scan", str(inputs), "--out", str(out)]
    cmd += ["--workers", str(workers)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    root, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree))
        except psutil.Error:  # a worker exited between listing and reading
            pass
        time.sleep(0.2)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"scan failed ({' '.join(cmd)}):\n{proc.stderr.read()}")
    return wall, peak / 2**20


def fits_section(tmp: Path, n: int, workers: int) -> None:
    fits_copies(tmp / "one", 1)
    startup, _ = run_scan(tmp / "one", tmp / "one.parquet", workers)
    fits_copies(tmp / "fits", n)
    total, peak = run_scan(tmp / "fits", tmp / "fits.parquet", workers)
    windows = len(pd.read_parquet(tmp / "fits.parquet"))
    steady = max(total - startup, 1e-9)
    rows = [
        ["start-up (one light curve)", 1, f"{startup:.1f}", ""],
        ["scan, start-up included", n, f"{total:.1f}", f"{n / total:.2f}"],
        ["steady state (scan minus start-up)", n, f"{steady:.1f}", f"{n / steady:.2f}"],
    ]
    body = table(["case", "light curves", "seconds", "light curves / s"], rows)
    body += (
        f"\n\n{workers} Dask workers (LocalCluster, one thread each), each scan a separate "
        f"`transit-classifier scan` process; inputs are copies of the bundled Kepler FITS "
        f"quarters longer than one window (mostly planet hosts, so most are flagged and get the "
        f"vetting box search), {windows} windows scored in all; peak memory {peak:.0f} MiB."
    )
    record("Scan throughput (Dask, real Kepler quarters)", body)


def cost_section(tmp: Path, sizes: list[int], workers: int) -> None:
    quarters = bundle_quarters()
    rows = []
    for n in sizes:
        folder, out = tmp / f"csv{n}", tmp / f"csv{n}.parquet"
        csv_inputs(folder, quarters, n)
        wall, peak = run_scan(folder, out, workers)
        scored = pd.read_parquet(out)
        flagged = scored.loc[scored["verdict"] == "transit", "input"].nunique()
        rows.append(
            [
                f"{n:,}",
                f"{len(scored):,}",
                f"{flagged:,}",
                f"{wall:.0f}",
                f"{n / wall:.1f}",
                f"{peak:.0f}",
            ]
        )
        shutil.rmtree(folder)
    body = table(
        [
            "light curves",
            "windows",
            "flagged light curves",
            "wall time (s)",
            "light curves / s",
            "peak memory (MiB)",
        ],
        rows,
    )
    body += (
        f"\n\nEach input is one quarter (CSV) of a bundled Kepler star that is not a KOI, "
        f"cycling through {len(quarters)} quarters; {workers} Dask workers (LocalCluster), one "
        "`transit-classifier scan` process per size, start-up included; peak memory sums the "
        "scan and all its worker processes. Flagged inputs also get the vetting box search."
    )
    record("Scan cost curve (Dask, bundled real quarters)", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="FITS light curves to scan")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fits_section(Path(tmp), args.n, args.workers)
        cost_section(Path(tmp), args.sizes, args.workers)


if __name__ == "__main__":
    main()
