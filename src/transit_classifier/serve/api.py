"""Python API: load the released model and score light curves, lightkurve style.

Examples
--------
>>> import transit_classifier as tc
>>> model = tc.load_model()                      # the repository's committed model/
>>> lk = tc.sources.lightcurve.import_lightkurve()
>>> lc = lk.read("tests/fixtures/kepler/kplr011442793-2010174085026_llc.fits")
>>> table = model.score(lc)                      # doctest: +SKIP
>>> table.loc[table["verdict"] == "transit", ["start", "end", "probability"]]  # doctest: +SKIP
>>> model.vet(lc, "kepler90_vetting.png").epoch  # Kepler-90 h, seen once  # doctest: +SKIP
472.11...

The same light-curve and preprocessing path as training and ``predict`` is used,
so a window scores the same here, on the command line and in the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transit_classifier.errors import UserError
from transit_classifier.io import save_figure
from transit_classifier.search.calibration import SearchCalibration
from transit_classifier.sources import inputs, lightcurve

from . import predict as scoring
from . import vetting
from .artifact import DEFAULT_MODEL_DIR, FIX, SEARCH_FILE, load_threshold
from .artifact_check import check_artifact
from .candidates import candidates_frame, find_candidates, load_search

CANDIDATE_COLUMNS = ("period", "epoch", "duration", "depth")
COLUMNS = (
    "input",
    "start",
    "end",
    "probability",
    "inverted",
    "verdict",
    "missing_fraction",
    *CANDIDATE_COLUMNS,
)


@dataclass
class TransitClassifier:
    """A trained classifier with its windowing, preprocessing and validated threshold.

    Use :func:`load_model` to get one.
    """

    model: Any
    info: dict[str, Any]
    setup: scoring.ModelSetup
    operating_point: str
    search: SearchCalibration | None = None

    @property
    def threshold(self) -> float:
        return self.setup.threshold

    def score(
        self,
        data: Any,
        flux: np.ndarray | None = None,
        name: str = "input",
        plot: str | Path | None = None,
    ) -> pd.DataFrame:
        """Score every window of a light curve; one row per window.

        Parameters
        ----------
        data
            A ``lightkurve.LightCurve`` or ``LightCurveCollection`` (quarters or
            sectors become segments), a pandas DataFrame with ``time`` (or a time
            index) and ``flux`` (or ``mag``) columns, a path to a Kepler or TESS
            FITS or CSV file, a list of such paths holding parts of one star
            (stitched into one light curve), or an array of times in days when
            ``flux`` is given. Every kind is read by
            :func:`~transit_classifier.sources.inputs.read_object`: fill values
            (-9999, 0, 1e30, inf) are masked and flux in ``u.mag`` converted, each
            with a warning; flux that only looks like magnitudes is refused.
        flux
            Flux values matching ``data`` when ``data`` is a time array (an
            astropy Quantity in ``u.mag`` is converted to relative flux).
        name
            Label of the input in the output (arrays only).
        plot
            Where to write the one-page vetting PNG (as :meth:`vet` draws it) if
            any window is flagged; nothing is written otherwise.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`COLUMNS`: window start and end (days), transit
            probability (NaN if too sparse to score), the probability of the
            window turned upside down (``inverted``: a flagged window that is
            high here too is more likely stellar variability than a transit)
            and verdict at :attr:`threshold`,
            then :data:`CANDIDATE_COLUMNS` (days, depth as a fraction): the
            candidate of the whole light curve (:meth:`vet`, one box search per
            light curve) on the flagged rows holding one of its transits, NaN
            elsewhere (a flagged window without one has no estimate of its own).
            ``period`` is NaN for a single transit.

        Raises
        ------
        UserError
            For input that cannot be read or trusted, or a ``plot`` path that
            cannot be written (one line naming the fix).
        """
        return self._score_curve(self._observations(data, flux, name), plot)

    def examine(
        self,
        data: Any,
        flux: np.ndarray | None = None,
        name: str = "input",
        plot: str | Path | None = None,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """:meth:`score` and :meth:`candidates` of one light curve, read once (for ``scan``).

        The candidates table is empty, with its columns, for a model without a calibration.
        """
        curve = self._observations(data, flux, name)
        found = [] if self.search is None else find_candidates(curve, self.search)
        return self._score_curve(curve, plot, self.search is not None), candidates_frame(found)

    def _score_curve(
        self, curve: lightcurve.Observations, plot: str | Path | None, searched: bool = False
    ) -> pd.DataFrame:
        """The windows table; with ``searched`` a light curve shorter than a window gets an
        empty one (its candidates come from the search) instead of a refusal."""
        prediction = scoring.predict_lightcurve(
            curve, self.model, self.setup, search_follows=searched
        )
        table = self._windows(prediction)
        if prediction.flagged.any():
            self._add_candidate(table, prediction, self._candidate(prediction, plot))
        return table

    def candidates(
        self, data: Any, flux: np.ndarray | None = None, name: str = "input"
    ) -> pd.DataFrame:
        """Search the whole light curve; one row per candidate, in detection order.

        Takes the same inputs as :meth:`score`. Columns are those of ``predict --json``'s
        ``candidates`` (period in days, NaN for a single event; epoch in the input's time
        system; ``fap`` per light curve, from the null measured on real Kepler quarters;
        ``verdict`` at FAP 1%).

        Raises
        ------
        UserError
            If the input cannot be read, or the model was released without a search
            calibration.
        """
        if self.search is None:
            raise UserError(f"this model has no search calibration ({SEARCH_FILE}); {FIX}")
        return candidates_frame(find_candidates(self._observations(data, flux, name), self.search))

    def vet(
        self,
        data: Any,
        path: str | Path | None = None,
        flux: np.ndarray | None = None,
        name: str = "input",
    ) -> vetting.Candidate:
        """Estimate the transit candidate of a light curve and optionally save its vetting plot.

        The light curve is scored first so the flagged windows can be shaded and
        a single transit looked for inside them; the box search itself runs on
        the whole detrended light curve (see :mod:`transit_classifier.serve.vetting`).

        Parameters
        ----------
        data, flux, name
            As for :meth:`score`.
        path
            Where to write the one-page vetting PNG (raw and detrended flux,
            folded transit with the box model, odd/even depths); None writes nothing.

        Returns
        -------
        vetting.Candidate
            Period (NaN for a single transit), epoch, duration, depth with error
            and SNR, odd/even depths and their difference in sigma, transit times.

        Raises
        ------
        UserError
            For unreadable input, or a light curve too short to search.
        """
        prediction = scoring.predict_lightcurve(
            self._observations(data, flux, name), self.model, self.setup
        )
        return self._candidate(prediction, path)

    def _candidate(
        self, prediction: scoring.Prediction, path: str | Path | None
    ) -> vetting.Candidate:
        """The light curve's candidate; its vetting plot is saved to ``path`` unless None."""
        candidate, flat = vetting.vet(prediction, self.setup.preprocessing)
        if path is not None:
            from .figures import prediction_figure

            _save_plot(prediction_figure(prediction, flat, candidate), path)
        return candidate

    @staticmethod
    def _add_candidate(
        table: pd.DataFrame, prediction: scoring.Prediction, candidate: vetting.Candidate
    ) -> None:
        """Fill the candidate columns of the flagged windows holding one of its transits."""
        times = candidate.transit_times[None, :]
        holds = (times >= table[["start"]].to_numpy()) & (times <= table[["end"]].to_numpy())
        rows = prediction.flagged & holds.any(axis=1)
        for column in CANDIDATE_COLUMNS:
            table.loc[rows, column] = getattr(candidate, column)

    @staticmethod
    def _windows(prediction: scoring.Prediction) -> pd.DataFrame:
        """One row per window, candidate columns NaN."""
        nan = np.full(len(prediction.verdict), np.nan)
        return pd.DataFrame(
            {
                "input": prediction.lightcurve.name,
                "start": prediction.t_start,
                "end": prediction.t_end,
                "probability": prediction.probability,
                "inverted": prediction.inverted,
                "verdict": prediction.verdict,
                "missing_fraction": prediction.missing_fraction,
                **{column: nan for column in CANDIDATE_COLUMNS},
            },
            columns=list(COLUMNS),
        )

    @staticmethod
    def _observations(data: Any, flux: np.ndarray | None, name: str) -> lightcurve.Observations:
        return inputs.read_object(data, flux, name)


def _save_plot(fig: Any, path: str | Path) -> None:
    """Save the vetting figure, or one line naming why it cannot be written (nothing is left).

    A folder in the path that is really a file, a read-only folder or a full
    disk otherwise end in an OSError traceback after all the scoring work.
    """
    import matplotlib.pyplot as plt

    try:
        save_figure(fig, path)
    except OSError as exc:
        plt.close(fig)
        blocking = next((p for p in Path(path).parents if p.is_file()), None)
        reason = f"{blocking} is a file, not a folder" if blocking else exc.strerror or str(exc)
        raise UserError(
            f"{path}: cannot write the vetting plot ({reason}); choose a writable path for plot"
        ) from None


def load_model(
    path: str | Path | None = None, operating_point: str | None = None
) -> TransitClassifier:
    """Load a model artifact (default: the repository's committed ``model/``).

    Parameters
    ----------
    path
        An artifact directory written by the ``evaluate`` stage.
    operating_point
        ``fpr_1pct`` (default), ``fpr_0p1pct`` or ``max_f1``: thresholds chosen on validation.
    """
    from transit_classifier.learn.model import load_classifier

    model_dir = DEFAULT_MODEL_DIR if path is None else Path(path)
    check_artifact(model_dir)  # refuse absurd files before TensorFlow builds anything
    model, info = load_classifier(model_dir)
    point, threshold = load_threshold(model_dir, info, operating_point)
    setup = scoring.model_setup(info, threshold)
    return TransitClassifier(model, info, setup, point, load_search(model_dir, model, info))
