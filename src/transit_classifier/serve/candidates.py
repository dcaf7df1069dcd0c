"""Candidates of one light curve: the released search run on it, each with its FAP and verdict.

Every input of ``predict``, the API and ``scan`` is searched whole (all its segments on one
grid), beside the window table. A candidate is reported as ``"candidate"`` when its
per-light-curve false-alarm probability is within the operating point, else
``"below threshold"``: the weaker ones are kept so a user can see what the search saw.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from transit_classifier.errors import UserError
from transit_classifier.learn.cadence_head import INFO_FILE as HEAD_INFO_FILE
from transit_classifier.learn.cadence_head import load_head
from transit_classifier.search.calibration import POINTS, SearchCalibration
from transit_classifier.search.candidates import Candidate
from transit_classifier.search.flatten import search_grid
from transit_classifier.search.learned import network_evidence
from transit_classifier.sources.lightcurve import Observations

from .artifact import FIX, SEARCH_FILE
from .artifact_check import read_json

CANDIDATE_KEYS = (
    "period", "period_err", "epoch", "epoch_err", "duration_hours", "depth_ppm", "depth_err_ppm",
    "mes", "fap", "n_transits", "odd_even_sigma", "secondary_depth_ppm", "transit_times",
    "verdict",
)  # fmt: skip
DEFAULT_POINT = "fap_1pct"
CANDIDATE, BELOW = "candidate", "below threshold"
FAP_DIGITS = 8  # decimals of a FAP in the output; smaller ones print as below the floor
FAP_DIGITS_FLOOR = 10.0**-FAP_DIGITS
MAX_JSON_BYTES = 20_000_000  # far above a released calibration's size: this is not one


def read_search(model_dir: str | Path) -> SearchCalibration | None:
    """The model's search calibration as stored, or None for a model released without one.

    Raises
    ------
    UserError
        If ``search.json`` exists but is not a calibration record.
    """
    path = Path(model_dir) / SEARCH_FILE
    if not path.is_file():
        return None
    return SearchCalibration.from_dict(read_json(path, MAX_JSON_BYTES, FIX), str(path))


def load_search(
    model_dir: str | Path, model: Any, info: dict[str, Any]
) -> SearchCalibration | None:
    """:func:`read_search`, ready to run: when the search folds the learned statistic, the
    cadence head shipped beside the network (``model``; ``info``, its ``model.json``) is
    loaded and attached.

    Raises
    ------
    UserError
        If ``search.json`` is not a calibration record, or its cadence head is missing,
        altered or made for other weights.
    """
    calibration = read_search(model_dir)
    if calibration is None or not calibration.settings.learned:
        return calibration
    read_json(Path(model_dir) / HEAD_INFO_FILE)  # within the size limits of every model file
    head = load_head(model_dir, model, info)
    return replace(calibration, evidence=network_evidence(head, info))


def json_number(value: float | None, digits: int = 6) -> float | None:
    """A number for JSON output: rounded, and null when missing, NaN or infinite."""
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def record(candidate: Candidate, fap: float, fap_limit: float) -> dict[str, Any]:
    """One candidate as ``predict --json`` prints it (NaN and missing values are null)."""
    return {
        "period": json_number(candidate.period, 7),
        "period_err": json_number(candidate.period_err, 7),
        "epoch": json_number(candidate.epoch),
        "epoch_err": json_number(candidate.epoch_err),
        "duration_hours": json_number(candidate.duration_hours, 3),
        "depth_ppm": json_number(candidate.depth_ppm, 1),
        "depth_err_ppm": json_number(candidate.depth_err_ppm, 1),
        "mes": json_number(candidate.mes, 3),
        "fap": json_number(fap, FAP_DIGITS),
        "n_transits": int(candidate.n_transits),
        "odd_even_sigma": json_number(candidate.odd_even_sigma, 3),
        "secondary_depth_ppm": json_number(candidate.secondary_depth_ppm, 1),
        "transit_times": [json_number(t) for t in candidate.transit_times],
        "verdict": CANDIDATE if fap <= fap_limit else BELOW,
    }


def find_candidates(
    curve: Observations, calibration: SearchCalibration, point: str = DEFAULT_POINT
) -> list[dict[str, Any]]:
    """Search one light curve whole; every candidate as a :func:`record`, in detection order.

    Raises
    ------
    UserError
        If the light curve spans less than a day, or ``point`` is not an operating point.
    """
    if point not in POINTS:
        raise UserError(f"search operating point {point!r} unknown; use one of {sorted(POINTS)}")
    result = calibration.run(search_grid(curve, calibration.settings.cadence_days))
    return [record(c, calibration.fap(c), POINTS[point]) for c in result.candidates]


def candidates_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Candidates as a table: numbers as floats (a missing one, like a single event's period,
    is NaN), transit times as lists, verdicts as text."""
    frame = pd.DataFrame(rows, columns=list(CANDIDATE_KEYS))
    numeric = [k for k in CANDIDATE_KEYS if k not in ("transit_times", "verdict")]
    frame[numeric] = frame[numeric].astype(float)
    return frame


def _fap_text(fap: float) -> str:
    return f"{fap:.2g}" if fap > FAP_DIGITS_FLOOR else f"< {FAP_DIGITS_FLOOR:g}"


def format_candidates(name: str, candidates: list[dict[str, Any]]) -> list[str]:
    """Text lines for one input: one line per candidate, or a line saying there is none."""
    if not candidates:
        return [f"{name}: no candidate above MES 6"]
    lines = []
    for i, c in enumerate(candidates, 1):
        period = "single event" if c["period"] is None else f"P {c['period']:.5f} d"
        lines.append(
            f"{name}: #{i} {c['verdict']}: {period}, epoch {c['epoch']:.4f}, "
            f"{c['duration_hours']:.1f} h, {c['depth_ppm']:.0f} ppm, MES {c['mes']:.1f}, "
            f"{c['n_transits']} transit(s), FAP {_fap_text(c['fap'])}"
        )
    return lines


def table_rows(found: pd.DataFrame) -> pd.DataFrame:
    """The search's candidates as table rows: ranked, transit times as one text cell."""
    times = [" ".join(f"{t:.6f}" for t in row if t is not None) for row in found["transit_times"]]
    return found.assign(rank=range(1, len(found) + 1), transit_times=times)
