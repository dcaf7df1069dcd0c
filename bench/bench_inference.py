"""Light curves per second: the network (preprocess + inference) and the tuned baseline.

Run from the repository root after `dvc repro` (it reads `checkpoint/`, the test
split and the baseline settings the evaluate stage chose on validation). The
headline is how many times faster the network scores a light curve than the
strong classical search (wotan biweight + cleaned BLS over the full grid).
"""

from __future__ import annotations

import time
from pathlib import Path

from common import record, table

from transit_classifier.stage import quiet_tensorflow

quiet_tensorflow()

import json  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import replace  # noqa: E402

from transit_classifier.io import load_npz  # noqa: E402
from transit_classifier.judge.baseline import BaselineSearch  # noqa: E402
from transit_classifier.learn.model import load_classifier, predict_proba  # noqa: E402
from transit_classifier.params import load_params  # noqa: E402
from transit_classifier.signal.preprocess import PreprocessSettings, preprocess  # noqa: E402

PREWHITEN_MODES = 20  # the prepare.prewhiten_modes tried in docs/experiments.md


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}"


def best_time(step: Callable[[], object], repeats: int = 3) -> float:
    """The fastest of ``repeats`` runs, for every method alike: first runs pay one-off costs
    (memory, caches) and slower runs measure the machine's other work."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    params = load_params()
    flux = load_npz("data/prepared/test.npz")["flux"]
    n = len(flux)
    model, info = load_classifier("checkpoint")
    settings = PreprocessSettings.from_model(info["preprocess"])
    predict_proba(model, preprocess(flux[:8], settings))  # build the graph once
    window = json.loads(Path("metrics/baseline.json").read_text())["search"]["detrend_window_days"]

    X = preprocess(flux, settings)
    t_pre = best_time(lambda: preprocess(flux, settings))
    t_net = best_time(lambda: predict_proba(model, X))
    whitening = replace(settings, prewhiten_modes=PREWHITEN_MODES)
    t_white = best_time(lambda: preprocess(flux, whitening))
    search = BaselineSearch.from_params(params, window)
    t_bls = best_time(lambda: search.search(flux, workers=2, progress=False))

    rows = [
        ["preprocess (biweight detrend + normalise)", n, f"{t_pre:.2f}", rate(n, t_pre)],
        [
            f"preprocess with prewhitening ({PREWHITEN_MODES} modes; off by default)",
            n,
            f"{t_white:.2f}",
            rate(n, t_white),
        ],
        ["network inference", n, f"{t_net:.2f}", rate(n, t_net)],
        ["preprocess + network", n, f"{t_pre + t_net:.2f}", rate(n, t_pre + t_net)],
        ["wotan + BLS baseline (2 threads)", n, f"{t_bls:.2f}", rate(n, t_bls)],
    ]
    body = table(["step", "light curves", "seconds", "light curves / s"], rows)
    body += (
        f"\n\nThe network (with its preprocessing) scores light curves "
        f"**{t_bls / (t_pre + t_net):.0f}x faster** than the tuned baseline on the same "
        f"{n} test light curves of {flux.shape[1]} cadences."
    )
    record("Network vs tuned baseline (test split)", body)


if __name__ == "__main__":
    main()
