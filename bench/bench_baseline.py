"""Light curves per second of the classical baseline: the BLS search and TLS.

Run from the repository root: ``python bench/bench_baseline.py [--n N] [--n-tls M]``.
Simulates ``N`` default synthetic light curves (10 % transits), then times the
default BLS search (the first ``evaluate.baseline.detrend_windows_days``, two
threads, the full period grid) on all of them and TLS on the first ``M``, and
stores the table in ``bench/RESULTS.md``. It needs no earlier pipeline stage.
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
from common import record, table

from transit_classifier.judge.baseline import BaselineSearch  # noqa: E402
from transit_classifier.params import load_params  # noqa: E402
from transit_classifier.simulate.settings import SimulateSettings  # noqa: E402
from transit_classifier.simulate.synthetic import simulate  # noqa: E402

WORKERS = 2


def _time(params: dict, method: str, flux: np.ndarray) -> float:
    """Wall seconds of one search of ``flux`` with ``method`` at the default window."""
    params = copy.deepcopy(params)
    params["evaluate"]["baseline"]["method"] = method
    window = params["evaluate"]["baseline"]["detrend_windows_days"][0]
    search = BaselineSearch.from_params(params, window)
    start = time.perf_counter()
    search.search(flux, workers=WORKERS, progress=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="light curves for BLS")
    parser.add_argument("--n-tls", type=int, default=10, help="light curves for TLS (slow)")
    args = parser.parse_args()
    params = load_params()
    labels = (np.arange(args.n) % 10 == 0).astype(np.int64)  # 10 % transits
    flux, _ = simulate(SimulateSettings.from_params(params), labels, np.random.default_rng(0))
    _time(params, "tls", flux[:1])  # load TLS's compiled kernels outside the timing
    rows = []
    for method, subset in (("bls", flux), ("tls", flux[: args.n_tls])):
        seconds = _time(params, method, subset)
        rows.append([method, len(subset), f"{seconds:.2f}", f"{len(subset) / seconds:.1f}"])
        print(f"{method}: {len(subset)} light curves in {seconds:.2f} s", flush=True)
    base = params["evaluate"]["baseline"]
    body = table(["method", "light curves", "seconds", "light curves / s"], rows)
    body += (
        f"\n\n{flux.shape[1]} cadences each, detrending window "
        f"{base['detrend_windows_days'][0]} d, {WORKERS} threads; BLS over {base['periods']} "
        f"periods x {len(base['durations_hours'])} durations, oversample {base['oversample']}."
    )
    record("Classical baseline (BLS / TLS)", body)


if __name__ == "__main__":
    main()
