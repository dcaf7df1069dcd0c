"""The learned single-event statistic beside the box statistic, judged on validation stars.

A per-cadence head (:mod:`transit_classifier.learn.cadence_head`) is trained on the frozen
trunk of the committed window network (``checkpoint/``), on fresh batman injections into
training stars. Then three statistics are folded by the same search
(:mod:`transit_classifier.search.learned`) on the same light curves:

* ``box``: today's matched filter on the detrended flux;
* ``learned``: the head's per-cadence logits;
* ``combined``: the two standardised series added (each cadence's evidence from both).

Each gets its own false-alarm null (training stars only: inverted quarters, KOI hosts with
their transits masked, one scrambled copy of each non-host quarter) and is judged on
injections into validation stars' non-KOI quarters. Test stars are never touched: this is a
choice to be made on validation. Writes ``reports/learned_ses.md`` and ``.json``.

    python studies/learned_ses.py                   # 100 injections per MES bin
    python studies/learned_ses.py --per-bin 20 --rounds 1 --epochs 1   # a quick look
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from transit_classifier import stage
from transit_classifier.io import write_text
from transit_classifier.judge import search_report as report
from transit_classifier.judge.search_injection import injections
from transit_classifier.judge.search_run import grid_evidence, run_search
from transit_classifier.judge.search_sets import (
    inverted,
    koi_masked,
    quarters,
    scrambled,
    star_sides,
)
from transit_classifier.learn import cadence_head
from transit_classifier.learn.epochs import InjectSettings
from transit_classifier.params import load_params
from transit_classifier.search.learned import STATISTICS
from transit_classifier.search.settings import SearchSettings
from transit_classifier.seeding import make_rng
from transit_classifier.simulate.settings import SimulateSettings
from transit_classifier.sources.mast import load_source

OUT = Path("reports/learned_ses")
PREPARED = Path("data/prepared")
CHECKPOINT = Path("checkpoint")
BINS = [(7.1, 10.0), (10.0, 15.0)]


def train_head(params: dict, rounds: int, epochs: int) -> tuple:
    """The head as the ``train_head`` stage trains it, on the committed network's trunk."""
    built = (
        replace(cadence_head.HeadSettings.from_params(params), rounds=rounds, epochs=epochs),
        SimulateSettings.from_params(params),
        InjectSettings.from_params(params),
    )
    return cadence_head.train(built, PREPARED, CHECKPOINT)


def light_curves(params: dict, settings: SearchSettings, per_bin: int) -> tuple[list, list]:
    """Null grids (training stars) and injections (validation stars' non-KOI quarters)."""
    stars, koi, _ = load_source(params["kepler"])
    every = quarters(stars, koi, star_sides(PREPARED), settings.cadence_days)
    train = [q for q in every if q.side == "train"]
    rng = make_rng(params["seed"], "learned-ses")
    null = [inverted(q.grid, settings) for q in train]
    null += [koi_masked(q) for q in train if q.is_host]
    chunk = params["search"]["scramble_days"]
    null += [scrambled(q.grid, settings, chunk, rng) for q in train if not q.is_host]
    quiet = [q.grid for q in every if q.side == "val" and not q.is_host]
    found = params["search"]
    injected = injections(
        quiet, BINS, per_bin, tuple(found["inject_period_days"]), settings.detrend_window_days,
        params, rng,
    )  # fmt: skip
    return null, injected


def judge(null: list, injected: list, evidence: list, settings: SearchSettings) -> dict:
    """Thresholds on the null and recall on the injections, per statistic."""
    out = {}
    for statistic in STATISTICS:
        chosen = replace(settings, statistic=statistic)
        grids = [*null, *[i.grid for i in injected]]
        found = run_search(grids, chosen, None, evidence)  # every candidate, as the stage
        cuts = report.thresholds(found[: len(null)])
        recall = report.recall(found[len(null) :], injected, cuts)
        out[statistic] = {
            point: {b: by_bin[b] for b in report.MES_BINS if by_bin[b]["n"]}
            for point, by_bin in recall.items()
        }
        print(f"learned_ses: {statistic} done", flush=True)
    return out


def markdown(results: dict, n_null: int, per_bin: int) -> str:
    lines = [
        "# Learned single-event statistic vs the box statistic (validation stars)",
        "",
        "Written by `python studies/learned_ses.py`. The head is trained on the committed",
        "network's frozen trunk; each statistic is folded by the same search, calibrated on",
        f"its own null ({n_null} light curves of training stars) and judged on {per_bin}",
        "injections per MES bin into validation stars' non-KOI quarters. Recall counts the",
        "right period and epoch; 95% Wilson intervals.",
        "",
        "| statistic | FAP per light curve | MES 7.1-10 | MES 10-15 |",
        "|---|---|---:|---:|",
    ]
    for method, by_point in results.items():
        for point, label in (("fap_1pct", "1%"), ("fap_0p1pct", "0.1%")):
            cells = [
                f"{r['hits']}/{r['n']} [{r['low']:.2f}, {r['high']:.2f}]"
                for r in by_point[point].values()
            ]
            lines.append(f"| {method} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-bin", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="cadence_head.rounds")
    parser.add_argument("--epochs", type=int, default=4, help="cadence_head.epochs")
    args = parser.parse_args()
    params = load_params()
    head, info = train_head(params, args.rounds, args.epochs)
    settings = SearchSettings.from_params(params)
    null, injected = light_curves(params, settings, args.per_bin)
    evidence = grid_evidence([*null, *[i.grid for i in injected]], head, info)
    results = judge(null, injected, evidence, settings)
    write_text(OUT.with_suffix(".md"), markdown(results, len(null), args.per_bin))
    write_text(OUT.with_suffix(".json"), json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    stage.run(main)
