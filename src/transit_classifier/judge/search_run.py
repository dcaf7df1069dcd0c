"""The ``search`` stage's methods, each run on the same whole light curves.

* the search (:mod:`transit_classifier.search`), on two processes, one numba thread each;
* the window network alone: the highest window probability of the light curve, today's
  ``predict`` verdict;
* the tuned wotan + BLS baseline over the whole light curve (astropy BLS, the evaluate
  stage's recipe and grid density, SDE as its score), on a subset: it is the slow one.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

import numba
import numpy as np
from threadpoolctl import threadpool_limits

from transit_classifier.learn.model import predict_proba
from transit_classifier.params import window_days
from transit_classifier.search.candidates import Candidate
from transit_classifier.search.flatten import SearchGrid
from transit_classifier.search.learned import network_evidence
from transit_classifier.search.settings import SearchSettings
from transit_classifier.signal.preprocess import PreprocessSettings, channel_names, preprocess
from transit_classifier.signal.windowing import Segment, WindowRules, cut_windows, too_sparse

from .baseline import BaselineSearch, period_grid

KINDS = ("periodic", "single")  # the search's candidate kinds, each with its own null
WORKERS = 2  # one per core, one numba and one BLAS thread each
CHUNKSIZE = 8  # light curves per task: pickling a grid costs little next to its search


@dataclass(frozen=True)
class Found:
    """What one method reports for one light curve: its best score of each kind it calibrates
    apart (the search: ``periodic`` and ``single``; the others: ``any``), and its candidates."""

    scores: dict[str, float]
    candidates: tuple[Candidate, ...]


def _one_thread() -> None:
    """Limit a worker to one thread of each pool, through the pools' runtime calls.

    Environment variables cannot do it here: the worker has already imported numba and NumPy
    while unpickling this function, and numba refuses a changed ``NUMBA_NUM_THREADS`` once its
    pool is up (the CI failure of 2026-12-07).
    """
    numba.set_num_threads(1)
    threadpool_limits(1)


def _search_one(args: tuple[SearchSettings, SearchGrid, int | None, np.ndarray | None]) -> Found:
    settings, grid, most, evidence = args
    result = settings.run(grid, most, evidence)
    return Found({k: result.best(k) for k in KINDS}, tuple(result.candidates))


def run_search(
    grids: list[SearchGrid],
    settings: SearchSettings,
    most: int | None = None,
    evidence: list[np.ndarray] | None = None,
) -> list[Found]:
    """The search on every grid, in input order, on :data:`WORKERS` processes; ``most``
    candidates per light curve (the settings' number if None). ``evidence`` gives each grid's
    learned series (:func:`grid_evidence`) when the statistic needs it."""
    context = get_context("spawn")  # TensorFlow may be loaded: never fork it
    series = evidence if evidence is not None else [None] * len(grids)
    tasks = [(settings, g, most, e) for g, e in zip(grids, series, strict=True)]
    with ProcessPoolExecutor(WORKERS, mp_context=context, initializer=_one_thread) as pool:
        return list(pool.map(_search_one, tasks, chunksize=CHUNKSIZE))


def grid_evidence(grids: list[SearchGrid], head: Any, info: dict[str, Any]) -> list[np.ndarray]:
    """Each grid's learned series, from the cadence head on the window network (``info``: its
    ``model.json``), computed here where TensorFlow runs, then shipped to the search workers."""
    evidence = network_evidence(head, info)
    return [evidence(g.flux) for g in grids]


def _segments(grid: SearchGrid) -> list[Segment]:
    """The grid's segments as the window cutter takes them (grid index as cadence)."""
    out = []
    for label in np.unique(grid.segment[grid.segment >= 0]):
        where = np.flatnonzero(grid.segment == label)
        part = slice(where[0], where[-1] + 1)
        out.append(Segment(int(label), int(where[0]), grid.time[part], grid.flux[part]))
    return out


def _window_inputs(args: tuple[SearchGrid, WindowRules, PreprocessSettings]) -> np.ndarray:
    """Network inputs of every scorable window of one light curve, as predict cuts them."""
    grid, rules, settings = args
    windows = cut_windows(_segments(grid), rules.length, rules.inference_stride, True)
    windows = windows.select(~too_sparse(windows, rules.max_missing_fraction))
    if not len(windows):
        return np.zeros((0, rules.length, len(channel_names(settings))), np.float32)
    return preprocess(windows.flux, settings)


def window_scores(grids: list[SearchGrid], model: Any, info: dict[str, Any]) -> np.ndarray:
    """Each light curve's highest window probability (0 when no window can be scored).

    The windows are detrended on :data:`WORKERS` processes (wotan's biweight is most of the
    cost), then scored in one batch per light curve."""
    context = get_context("spawn")
    rules, settings = WindowRules.from_info(info), PreprocessSettings.from_model(info["preprocess"])
    tasks = [(g, rules, settings) for g in grids]
    best = np.zeros(len(grids))
    with ProcessPoolExecutor(WORKERS, mp_context=context, initializer=_one_thread) as pool:
        for i, X in enumerate(pool.map(_window_inputs, tasks, chunksize=CHUNKSIZE)):
            if len(X):
                best[i] = float(predict_proba(model, X).max())
    return best


def baseline_search(
    grid: SearchGrid, params: dict[str, Any], detrend_days: float, method: str = "bls"
) -> Found:
    """wotan + BLS (or TLS) over one whole light curve, its SDE as the score.

    The window baseline searches ``evaluate.baseline.periods`` periods over one window; the
    same phase resolution over a longer light curve needs proportionally more periods (TLS
    makes its own grid over the same range).
    """
    base = params["evaluate"]["baseline"]
    span = float(grid.time[-1] - grid.time[0])
    n_periods = int(base["periods"] * span / window_days(params))
    search = BaselineSearch(
        method=method,
        cadence_days=grid.cadence_days,
        detrend_window_days=detrend_days,
        periods=period_grid(span / params["search"]["min_transits"], n_periods),
        durations=np.asarray(base["durations_hours"], float) / 24.0,
        oversample=int(base["oversample"]),
        clip_high_sigma=float(base["clip_high_sigma"]),
    )
    row = search.search(grid.flux[None], workers=1, progress=False).iloc[0]
    if not np.isfinite(row["period_days"]):
        return Found({"any": float(row["sde"])}, ())
    t0 = grid.time[0] + row["t0_days"] % row["period_days"]  # BLS ran on time from 0
    times = np.arange(t0, grid.time[-1], row["period_days"])
    candidate = Candidate(
        period=float(row["period_days"]), period_err=None, epoch=float(t0), epoch_err=None,
        duration_hours=float(row["duration_hours"]), depth_ppm=float(row["depth_ppm"]),
        depth_err_ppm=None, mes=float(row[search.statistics[-1]]), score=float(row["sde"]),
        n_transits=int(times.size), odd_even_sigma=float("nan"),
        secondary_depth_ppm=float("nan"), transit_times=times.tolist(), single_event_ses=[],
        kind="periodic",
    )  # fmt: skip
    return Found({"any": float(row["sde"])}, (candidate,))


def run_baseline(
    grids: list[SearchGrid], params: dict[str, Any], detrend_days: float
) -> list[Found]:
    """The baseline on every grid, in input order, on :data:`WORKERS` threads (BLS frees the
    GIL, and threads are safe next to TensorFlow)."""
    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(lambda g: baseline_search(g, params, detrend_days), grids))
