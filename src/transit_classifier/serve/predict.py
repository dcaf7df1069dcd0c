"""Score anyone's light curves with the trained classifier (`transit-classifier predict`).

A light curve of any length and cadence (Kepler or TESS SPOC FITS, CSV, a KIC
id fetched from MAST, or a lightkurve object; read and checked by
:mod:`transit_classifier.sources.inputs`) goes through the same light-curve path as the
training windows (:mod:`transit_classifier.signal.windowing`): per-segment
normalisation, the model's cadence grid, windows inside one quarter/segment,
and the model's own missing-cadence limit. Windows overlap by half (the last
one flush with the segment's end, so the tail is scored too), are preprocessed
by the very function training used, and scored. A window is flagged as a
transit when its probability reaches the threshold the ``evaluate`` stage chose
on validation data.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from transit_classifier.errors import UserError
from transit_classifier.signal import windowing
from transit_classifier.signal.preprocess import PreprocessSettings, preprocess_inverted
from transit_classifier.signal.windowing import WindowRules, Windows
from transit_classifier.sources.lightcurve import Observations

from .candidates import format_candidates, json_number

TRANSIT, NO_TRANSIT, TOO_SPARSE = "transit", "no transit", "too sparse"


@dataclass(frozen=True)
class ModelSetup:
    """What scoring needs from the trained model and the evaluate stage."""

    rules: WindowRules  # the training windows' length, cadence and missing-cadence limit
    preprocessing: PreprocessSettings  # read back once from model.json
    threshold: float

    @property
    def window_days(self) -> float:
        return self.rules.length * self.rules.cadence_days


@dataclass(frozen=True)
class Prediction:
    """Per-window scores of one light curve on the model's cadence grid."""

    lightcurve: Observations
    grid_time: np.ndarray  # (m,) days, every segment's cadence grid end to end
    grid_flux: np.ndarray  # (m,) relative flux on that grid, NaN for missing cadences
    t_start: np.ndarray  # (w,) days, first cadence of each window
    t_end: np.ndarray  # (w,) days, last cadence of each window
    missing_fraction: np.ndarray  # (w,)
    probability: np.ndarray  # (w,) NaN for windows too sparse to score
    inverted: np.ndarray  # (w,) probability of the window upside down (variability check)
    verdict: np.ndarray  # (w,) TRANSIT | NO_TRANSIT | TOO_SPARSE
    candidates: list[dict[str, Any]] | None = None  # the whole-light-curve search (None: off)
    short: str | None = None  # why no window was cut (too short for one): searched only

    @property
    def flagged(self) -> np.ndarray:
        return self.verdict == TRANSIT

    def flagged_cadences(self) -> np.ndarray:
        """Boolean mask over the grid: cadences inside at least one flagged window."""
        first = np.searchsorted(self.grid_time, self.t_start[self.flagged])
        last = np.searchsorted(self.grid_time, self.t_end[self.flagged])
        edges = np.zeros(len(self.grid_time) + 1, dtype=np.int64)
        np.add.at(edges, first, 1)
        np.add.at(edges, last + 1, -1)
        return np.cumsum(edges[:-1]) > 0

    def summary(self, threshold: float) -> str:
        """One line: how many windows are flagged and where the strongest one is."""
        if self.short is not None:
            return f"{self.lightcurve.name}: no window probability ({self.short}); searched only"
        scored = np.isfinite(self.probability)
        n_sparse = int((~scored).sum())
        sparse = f", {n_sparse} too sparse to score" if n_sparse else ""
        head = (
            f"{self.lightcurve.name}: {int(self.flagged.sum())} of {len(self.verdict)} windows "
            f"flagged as transit{sparse}"
        )
        best = int(np.nanargmax(self.probability))
        both = int((self.flagged & (self.inverted >= threshold)).sum())
        warn = f"; {both} of them also flagged upside down: variability likely" if both else ""
        return (
            f"{head}; max probability {self.probability[best]:.3f} "
            f"({self.t_start[best]:.2f}-{self.t_end[best]:.2f} d), threshold {threshold:.3f}{warn}"
        )


# ------------------------------------------------------------------------- windows


def inference_windows(
    curve: Observations, rules: WindowRules
) -> tuple[list[windowing.Segment], Windows]:
    """Segments of ``curve`` on the model grid (in time order) and their windows.

    Windows overlap by half and the last of each segment ends on its last
    cadence; segments shorter than one window hold none (then there are no windows).
    """
    segments = windowing.to_segments(curve, rules.cadence_days)
    segments.sort(key=lambda seg: seg.time[0])
    return segments, windowing.cut_windows(segments, rules.length, rules.inference_stride, True)


def too_short(curve: Observations, segments: list[windowing.Segment], rules: WindowRules) -> str:
    """Why ``curve`` holds no window: its longest segment against one window's length."""
    longest = max((len(seg.flux) for seg in segments), default=0) * rules.cadence_days
    return (
        f"too short: {longest:.1f} days in its longest segment at the model's "
        f"{rules.cadence_minutes:.2f}-min cadence, but one window needs "
        f"{rules.length * rules.cadence_days:.1f} days ({rules.length} cadences)"
    )


def scorable(windows: Windows, rules: WindowRules) -> np.ndarray:
    """Windows within the model's missing-cadence limit whose flux is not constant."""
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):
        spread = np.nanmax(windows.flux, axis=1) - np.nanmin(windows.flux, axis=1)
    return ~windowing.too_sparse(windows, rules.max_missing_fraction) & (spread > 0)


# ------------------------------------------------------------------------- scoring


def model_setup(info: dict[str, Any], threshold: float) -> ModelSetup:
    """Collect what scoring needs from the model's ``model.json`` info.

    Raises
    ------
    UserError
        If the window rules cannot be honoured or the preprocessing settings are missing.
    """
    rules = WindowRules.from_info(info)
    settings = info.get("preprocess")
    if not isinstance(settings, dict):
        raise UserError(f"model.json: no 'preprocess' settings; {windowing.RETRAIN}")
    return ModelSetup(rules, PreprocessSettings.from_model(settings), float(threshold))


def predict_lightcurve(
    curve: Observations, model: Any, setup: ModelSetup, *, search_follows: bool = False
) -> Prediction:
    """Score every window of one light curve.

    With ``search_follows`` (the caller searches the whole light curve next), a light curve
    shorter than one window is not refused: it gets no window, and :attr:`Prediction.short`
    says why; only the window probability needs a full window.

    Raises
    ------
    UserError
        If the light curve is shorter than one window (without ``search_follows``), or no
        window has enough data.

    Examples
    --------
    >>> from transit_classifier.learn.model import load_classifier
    >>> model, info = load_classifier("checkpoint")  # doctest: +SKIP
    >>> curve = lightcurve.read_csv("my_star.csv")  # doctest: +SKIP
    >>> predict_lightcurve(curve, model, model_setup(info, 0.5)).summary(0.5)  # doctest: +SKIP
    'my_star.csv: 1 of 9 windows flagged as transit; max probability 0.981 (...)'
    """
    segments, windows = inference_windows(curve, setup.rules)
    if not len(windows):
        reason = too_short(curve, segments, setup.rules)
        if not (search_follows and segments):
            raise UserError(f"{curve.name}: {reason}; supply a longer light curve")
        return _windowless(curve, segments, reason)
    usable = scorable(windows, setup.rules)
    if not usable.any():
        raise UserError(
            f"{curve.name}: every window misses more than {setup.rules.max_missing_fraction:.0%} "
            "of its cadences; supply a light curve with fewer gaps"
        )
    probability, inverted = _probabilities(model, windows, usable, setup)
    verdict = np.where(probability >= setup.threshold, TRANSIT, NO_TRANSIT)
    verdict[~usable] = TOO_SPARSE
    grid_time, grid_flux = windowing.concatenate(segments)
    return Prediction(
        lightcurve=curve,
        grid_time=grid_time,
        grid_flux=grid_flux,
        t_start=windows.time[:, 0],
        t_end=windows.time[:, -1],
        missing_fraction=windows.missing_fraction,
        probability=probability,
        inverted=inverted,
        verdict=verdict,
    )


def _probabilities(
    model: Any, windows: Windows, usable: np.ndarray, setup: ModelSetup
) -> tuple[np.ndarray, np.ndarray]:
    """The network's probability of every usable window, right way up and upside down."""
    from transit_classifier.learn.model import predict_proba

    probability, inverted = np.full((2, len(windows)), np.nan)
    X, X_inverted = preprocess_inverted(windows.flux[usable], setup.preprocessing)
    probability[usable] = predict_proba(model, X)
    inverted[usable] = predict_proba(model, X_inverted)
    return probability, inverted


def _windowless(curve: Observations, segments: list[windowing.Segment], reason: str) -> Prediction:
    """A prediction without windows, for a light curve only the search can judge."""
    grid_time, grid_flux = windowing.concatenate(segments)
    empty = np.empty(0)
    return Prediction(
        curve, grid_time, grid_flux, empty, empty, empty, empty, empty,
        np.empty(0, dtype=object), short=reason,
    )  # fmt: skip


# -------------------------------------------------------------------------- output


def format_table(predictions: list[Prediction], threshold: float) -> str:
    """An aligned text table of every window, then one summary line per input."""
    header = ("file", "start [d]", "end [d]", "probability", "inverted", "verdict")
    rows = [
        (p.lightcurve.name, f"{s:.3f}", f"{e:.3f}", _cell(q), _cell(i), v)
        for p in predictions
        for s, e, q, i, v in zip(
            p.t_start, p.t_end, p.probability, p.inverted, p.verdict, strict=True
        )
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    align = ("<", ">", ">", ">", ">", "<")

    def line(row: tuple[str, ...]) -> str:
        cells = (f"{cell:{a}{w}}" for cell, a, w in zip(row, align, widths, strict=True))
        return "  ".join(cells).rstrip()

    table = [line(header), line(tuple("-" * w for w in widths)), *map(line, rows)]
    found = [
        text
        for p in predictions
        if p.candidates is not None
        for text in format_candidates(p.lightcurve.name, p.candidates)
    ]
    head = ["", "Candidates of the whole-light-curve search:"] if found else []
    return "\n".join([*table, "", *(p.summary(threshold) for p in predictions), *head, *found])


def _cell(probability: float) -> str:
    return "-" if np.isnan(probability) else f"{probability:.4f}"


def to_records(predictions: list[Prediction], setup: ModelSetup) -> dict[str, Any]:
    """The machine-readable result behind ``--json``; NaN becomes null."""
    inputs = []
    for p in predictions:
        scored = np.isfinite(p.probability)
        inputs.append(
            {
                "input": p.lightcurve.name,
                "source": p.lightcurve.source,
                "n_points": int(np.isfinite(p.lightcurve.flux).sum()),
                "time_start": json_number(p.grid_time[0]),
                "time_end": json_number(p.grid_time[-1]),
                "n_windows": len(p.verdict),
                "n_scored": int(scored.sum()),
                "n_flagged": int(p.flagged.sum()),
                "max_probability": json_number(np.nanmax(p.probability)) if scored.any() else None,
                "no_windows_reason": p.short,
                "candidates": p.candidates,
                "windows": [
                    {
                        "start": json_number(s),
                        "end": json_number(e),
                        "probability": json_number(q),
                        "inverted_probability": json_number(i),
                        "missing_fraction": json_number(m, 4),
                        "verdict": str(v),
                    }
                    for s, e, q, i, m, v in zip(
                        p.t_start,
                        p.t_end,
                        p.probability,
                        p.inverted,
                        p.missing_fraction,
                        p.verdict,
                        strict=True,
                    )
                ],
            }
        )
    return {
        "threshold": json_number(setup.threshold),
        "window_length": setup.rules.length,
        "cadence_minutes": setup.rules.cadence_minutes,
        "max_missing_fraction": setup.rules.max_missing_fraction,
        "window_days": json_number(setup.window_days),
        "inputs": inputs,
    }
