"""The search as released: its settings and the null it was calibrated on, in one object.

The search stage measures the null on training and validation stars (DR25-style inverted and
scrambled light curves, KOI hosts with their transits masked); the evaluate stage ships it in
``model/search.json``; predict reads it back here. A candidate's FAP is the share of null
light curves whose best score of the same kind reaches the candidate's score, times the
number of kinds (periodic trains and single events are calibrated apart, and a light curve is
flagged by either), so that a FAP threshold holds per light curve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from transit_classifier.errors import UserError

from .candidates import Candidate, SearchResult
from .flatten import SearchGrid
from .null import NullModel
from .settings import REBUILD, SearchSettings

POINTS = {"fap_1pct": 0.01, "fap_0p1pct": 0.001}  # per-light-curve operating points


@dataclass(frozen=True)
class SearchCalibration:
    """Search settings plus one :class:`NullModel` per candidate kind."""

    settings: SearchSettings
    null: dict[str, NullModel]
    evidence: Callable[[np.ndarray], np.ndarray] | None = field(default=None, compare=False)
    """Raw gridded flux -> the learned series (:func:`.learned.evidence_dips`), attached by
    whoever loaded the network when ``settings.learned``; never serialised."""

    def run(self, grid: SearchGrid) -> SearchResult:
        """Search ``grid`` as the calibration's null was searched.

        Raises
        ------
        UserError
            If the statistic needs the network's evidence and none is attached.
        """
        if self.settings.learned and self.evidence is None:
            statistic = self.settings.statistic
            raise UserError(f"the {statistic} search needs the cadence head; {REBUILD}")
        series = self.evidence(grid.flux) if self.settings.learned else None
        return self.settings.run(grid, evidence=series)

    def fap(self, candidate: Candidate) -> float:
        """Per-light-curve false-alarm probability of a candidate's score."""
        return min(1.0, len(self.null) * self.null[candidate.kind].fap(candidate.score))

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": self.settings.to_dict(),
            "null": {kind: model.to_dict() for kind, model in self.null.items()},
        }

    @classmethod
    def from_dict(cls, record: Any, where: str) -> SearchCalibration:
        """Read back ``model/search.json``; one line naming the file if it is not usable.

        Raises
        ------
        UserError
            If the record lacks settings or a null for both candidate kinds.
        """
        try:
            settings = SearchSettings.from_dict(record["settings"], where)
            null = {k: NullModel.from_dict(record["null"][k]) for k in ("periodic", "single")}
        except (KeyError, TypeError, ValueError):
            raise UserError(f"{where}: not a search calibration record; {REBUILD}") from None
        return cls(settings, null)
