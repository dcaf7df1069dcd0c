"""TLS at the light-curve level beside the search, on the same test quarters and nulls.

TLS (Hippke & Heller 2019) is too slow for the pipeline, so it runs here on a subset: its SDE
is calibrated on a seeded subset of the search stage's null light curves (training and
validation stars), then both methods search the same injections into test stars' quarters,
MES 7.1-10 and 10-15, and are judged by the same rule (right period and epoch, FAP per light
curve). Writes ``reports/tls_search.md``.

    python studies/tls_search.py --nulls 400      # 100 injections per bin, 400 nulls
    python studies/tls_search.py --per-bin 20 --nulls 60    # a quick look
"""

from __future__ import annotations

import argparse
import copy
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from transit_classifier import stage
from transit_classifier.io import write_text
from transit_classifier.judge import search_report as report
from transit_classifier.judge.search_eval import build_sets
from transit_classifier.judge.search_run import Found, baseline_search, run_search
from transit_classifier.params import load_params
from transit_classifier.search.settings import SearchSettings
from transit_classifier.seeding import make_rng

OUT = Path("reports/tls_search.md")
PREPARED = Path("data/prepared")  # the prepare stage's output, as dvc.yaml names it
BINS = {"mes_7p1_to_10": (7.1, 10.0), "mes_10_to_15": (10.0, 15.0)}


def tls(grids: list, params: dict, settings: SearchSettings) -> list[Found]:
    """TLS on every grid, two threads (TLS's numba core runs one thread per call)."""
    window = settings.detrend_window_days
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda g: baseline_search(g, params, window, "tls"), grids))


def table(results: dict[str, dict], counts: dict[str, int]) -> str:
    lines = [
        "| method | FAP | " + " | ".join(BINS) + " |",
        "|---|---|" + "---:|" * len(BINS),
    ]
    for method, recall in results.items():
        for point in ("fap_1pct", "fap_0p1pct"):
            cells = [
                f"{r['hits']}/{r['n']} = {r['rate']:.2f} [{r['low']:.2f}, {r['high']:.2f}]"
                for r in (recall[point][b] for b in BINS)
            ]
            lines.append(f"| {method} | {point} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\nNull light curves: {counts}.\n"


def main(per_bin: int, nulls: int) -> None:
    params = copy.deepcopy(load_params())
    params["search"]["mes_bins"] = [7.1, 10.0, 15.0]
    params["search"]["injections_per_bin"] = per_bin
    settings = SearchSettings.from_params(params)
    sets = build_sets(params, PREPARED, settings)
    rng = make_rng(params["seed"], "studies", "tls")
    null = [sets.null[i] for i in np.sort(rng.permutation(len(sets.null))[:nulls])]
    grids = [i.grid for i in sets.injected]
    results = {}
    for name, run in (
        ("search", lambda g: run_search(g, settings)),
        ("TLS", lambda g: tls(g, params, settings)),
    ):
        found_null, found = run(null), run(grids)
        cuts = report.thresholds(found_null)
        results[name] = report.recall(found, sets.injected, cuts)
    body = (
        "# TLS beside the search, whole test quarters\n\n"
        f"Written by `python studies/tls_search.py --per-bin {per_bin} --nulls {nulls}`. "
        "Thresholds per method from the same seeded subset of the search stage's null light "
        "curves (training and validation stars); the same batman injections into test stars' "
        "non-KOI quarters; a detection is the right period (0.1%) and epoch (half a "
        "duration). Counts, rates and 95% Wilson intervals.\n\n"
        + table(results, {"nulls": len(null), "injections": len(grids)})
    )
    write_text(OUT, body)
    print(body)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-bin", type=int, default=100)
    parser.add_argument("--nulls", type=int, default=400)
    args = parser.parse_args()
    stage.run(lambda: main(args.per_bin, args.nulls))
