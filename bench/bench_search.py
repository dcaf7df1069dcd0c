"""Whole-quarter search speed: this project's search beside wotan + BLS and TLS, per quarter.

Run from the repository root after `dvc repro prepare` (it takes test stars' non-KOI quarters
of the bundled Kepler data). Every method gets the same raw quarters, one thread each, one
after the other, and does its own detrending: seconds per quarter from raw flux to its answer.
The search's figure is with the default `search.max_candidates` (find, mask, search again) and
with one candidate (all a false-alarm null needs). With `search.statistic` learned or combined
it includes the network's per-cadence evidence (the cadence head on every window a quarter
window apart, TensorFlow on one thread); the combined statistic is timed beside the default
either way. Needs `checkpoint/` and `cadence_head/` (`dvc repro train_head`).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # one thread each: methods compared per core

from dataclasses import replace  # noqa: E402

from common import record, table  # noqa: E402

from transit_classifier.judge.search_eval import build_sets  # noqa: E402
from transit_classifier.judge.search_run import baseline_search  # noqa: E402
from transit_classifier.learn.cadence_head import load_head  # noqa: E402
from transit_classifier.learn.model import load_classifier  # noqa: E402
from transit_classifier.learn.training import configure_determinism  # noqa: E402
from transit_classifier.params import load_params  # noqa: E402
from transit_classifier.search.learned import network_evidence  # noqa: E402
from transit_classifier.search.settings import SearchSettings  # noqa: E402

PREPARED = "data/prepared"
CHECKPOINT, HEAD = "checkpoint", "cadence_head"  # as dvc.yaml names them


def timed(run, grids) -> float:
    start = time.perf_counter()
    for grid in grids:
        run(grid)
    return (time.perf_counter() - start) / len(grids)


def with_evidence(settings: SearchSettings):  # noqa: ANN201
    """``run(grid, most)`` of a learned or combined search, the network's evidence included."""
    configure_determinism(0, 1)  # TensorFlow on one thread, as every other method
    model, info = load_classifier(CHECKPOINT)
    evidence = network_evidence(load_head(HEAD, model, info), info)
    return lambda g, most=None: settings.run(g, most, evidence(g.flux))


def main(count: int) -> None:
    params = load_params()
    params["search"]["injections_per_bin"] = 1
    settings = SearchSettings.from_params(params)
    grids = build_sets(params, PREPARED, settings).quiet[:count]
    run = with_evidence(settings) if settings.learned else settings.run
    combined = with_evidence(replace(settings, statistic="combined"))
    run(grids[0]), combined(grids[0])  # numba compiles and TensorFlow traces once, untimed
    window = settings.detrend_window_days
    seconds = {
        "search, 6 candidates": timed(run, grids),
        "search, 1 candidate": timed(lambda g: run(g, 1), grids),
        "combined statistic (network evidence included), 6 candidates": timed(combined, grids),
        "wotan + BLS (whole-quarter grid)": timed(
            lambda g: baseline_search(g, params, window, "bls"), grids
        ),
        "wotan + TLS": timed(lambda g: baseline_search(g, params, window, "tls"), grids),
    }
    ours = seconds["search, 6 candidates"]
    rows = [[name, f"{s:.2f}", f"{s / ours:.1f}"] for name, s in seconds.items()]
    body = table(["method", "seconds per quarter", "× the search's time"], rows)
    body += (
        f"\n\n{len(grids)} test-star non-KOI Kepler quarters ({grids[0].flux.size} cadences "
        f"or so), one thread each (`NUMBA_NUM_THREADS=1`), raw flux to answer; the search "
        f"folds the `{settings.statistic}` statistic. Rerun: "
        "`python bench/bench_search.py`.\n"
    )
    record("Whole-quarter search (search / BLS / TLS)", body)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=12, help="quarters timed")
    main(parser.parse_args().count)
