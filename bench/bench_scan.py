"""Throughput of `transit-classifier scan` on this machine, from start-up to the last part file.

The inputs are copies of the bundled real Kepler quarters (tests/fixtures/kepler),
so every light curve is real flight data; copies get distinct names and
modification times, so the scan's resume key treats each as a new input.
Start-up (cluster, TensorFlow and the model in every worker) is timed apart
from the steady state by a first scan of one file. The table feeds the
README's paper estimate of a 200,000-star sweep.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from common import record, table  # noqa: E402

from transit_classifier import scan  # noqa: E402

FIXTURES = Path("tests/fixtures/kepler")
MIN_BYTES = 100_000  # the 9.7-day Q0 files are shorter than one window: leave them out


def copies(folder: Path, n: int) -> int:
    """``n`` copies of the fixture quarters long enough to score; returns how many were made."""
    sources = [p for p in sorted(FIXTURES.glob("*_llc.fits")) if p.stat().st_size > MIN_BYTES]
    for i in range(n):
        source = sources[i % len(sources)]
        shutil.copyfile(source, folder / f"copy{i:04d}_{source.name}")
    return n


def timed_scan(inputs: Path, out: Path, workers: int) -> float:
    start = time.perf_counter()
    code = scan.main([str(inputs), "--out", str(out), "--workers", str(workers)])
    if code != 0:
        raise SystemExit(f"scan exited {code}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="light curves to scan")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one, many = Path(tmp, "one"), Path(tmp, "many")
        one.mkdir(), many.mkdir()
        copies(one, 1)
        startup = timed_scan(one, Path(tmp, "one.parquet"), args.workers)
        n = copies(many, args.n)
        total = timed_scan(many, Path(tmp, "many.parquet"), args.workers)
        windows = len(pd.read_parquet(Path(tmp, "many.parquet")))
    steady = max(total - startup, 1e-9)
    rows = [
        ["start-up (one light curve)", 1, f"{startup:.1f}", ""],
        ["scan, start-up included", n, f"{total:.1f}", f"{n / total:.2f}"],
        ["steady state (scan minus start-up)", n, f"{steady:.1f}", f"{n / steady:.2f}"],
    ]
    body = table(["case", "light curves", "seconds", "light curves / s"], rows)
    body += (
        f"\n\n{args.workers} Dask workers (LocalCluster, one thread each); inputs are copies of "
        f"the bundled Kepler quarters longer than one window, {windows} windows scored in all "
        f"({windows / steady:.1f} windows / s in the steady state)."
    )
    record("Scan throughput (Dask, real Kepler quarters)", body)


if __name__ == "__main__":
    main()
