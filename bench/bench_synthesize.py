"""Throughput of the synthetic light-curve generator (target: default set well under a minute).

Run from the repository root: ``python bench/bench_synthesize.py [--n NEGATIVES]``.
Times :func:`simulate` on negatives only, positives only (the batman solve) and
the default mix, and stores the table in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import record, table

from transit_classifier.params import load_params  # noqa: E402
from transit_classifier.simulate.settings import SimulateSettings  # noqa: E402
from transit_classifier.simulate.synthetic import simulate  # noqa: E402


def _time(params: dict, labels: np.ndarray) -> float:
    start = time.perf_counter()
    simulate(SimulateSettings.from_params(params), labels, np.random.default_rng(0))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, help="negatives (default: dataset.synthetic_negatives)")
    args = parser.parse_args()
    params = load_params()
    n_neg = args.n or params["dataset"]["synthetic_negatives"]
    n_pos = int(round(n_neg * params["dataset"]["transit_ratio"]))
    cases = {
        "negatives only": np.zeros(n_neg, np.int64),
        "positives only (batman solve)": np.ones(n_pos, np.int64),
        "default mix": np.concatenate([np.zeros(n_neg, np.int64), np.ones(n_pos, np.int64)]),
    }
    rows = []
    for name, labels in cases.items():
        seconds = _time(params, labels)
        rows.append([name, labels.size, f"{seconds:.2f}", f"{labels.size / seconds:.0f}"])
        print(f"{name}: {labels.size} light curves in {seconds:.2f} s", flush=True)
    length = params["dataset"]["window_length"]
    body = table(["case", "light curves", "seconds", "light curves / s"], rows)
    body += f"\n\n{length} cadences each, `synthetic.supersample` = "
    body += f"{params['synthetic']['supersample']}, one process."
    record("Synthetic light curves (`synthesize`)", body)


if __name__ == "__main__":
    main()
