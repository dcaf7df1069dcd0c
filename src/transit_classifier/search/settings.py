"""The search's settings: made once from ``params.yaml``'s ``search`` section, stored with the
released model and read back by predict, so a light curve is searched one way only.

``statistic`` says what is folded: ``box`` (the matched filter on the detrended flux),
``learned`` (the network's per-cadence evidence, :mod:`.learned`) or ``combined`` (both,
standardised and added). The two last need that evidence, given to :meth:`SearchSettings.run`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from transit_classifier.cadence import MINUTES_PER_DAY
from transit_classifier.errors import UserError

from .candidates import SearchResult, search
from .flatten import SearchGrid, cleaned, detrended
from .learned import STATISTICS, folded_series, in_flux_units, learned_ses


@dataclass(frozen=True)
class SearchSettings:
    """How a light curve is detrended and searched (see :func:`.candidates.search`)."""

    cadence_minutes: float
    detrend_window_days: float
    durations_hours: tuple[float, ...]
    period_min_days: float
    min_transits: int
    oversample: float
    max_candidates: int
    clip_high_sigma: float
    statistic: str = "box"

    @property
    def learned(self) -> bool:
        """Whether the search needs the network's per-cadence evidence."""
        return self.statistic != "box"

    @property
    def cadence_days(self) -> float:
        return self.cadence_minutes / MINUTES_PER_DAY

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> SearchSettings:
        """The validated params' ``search`` section and the dataset cadence."""
        found = params["search"]
        return cls(
            cadence_minutes=float(params["dataset"]["cadence_minutes"]),
            detrend_window_days=float(found["detrend_window_days"]),
            durations_hours=tuple(float(h) for h in found["durations_hours"]),
            period_min_days=float(found["period_min_days"]),
            min_transits=int(found["min_transits"]),
            oversample=float(found["oversample"]),
            max_candidates=int(found["max_candidates"]),
            clip_high_sigma=float(found["clip_high_sigma"]),
            statistic=str(found["statistic"]),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for ``model/search.json``."""
        record = asdict(self)
        record["durations_hours"] = list(self.durations_hours)
        return record

    @classmethod
    def from_dict(cls, record: Any, where: str) -> SearchSettings:
        """Settings read back from ``where``; one line naming the file if they are not usable.

        Raises
        ------
        UserError
            If keys are missing or unknown, or a value has the wrong type or sign.
        """
        names = [f.name for f in fields(cls)]
        if isinstance(record, dict) and "statistic" not in record:
            record = {**record, "statistic": "box"}  # released before the learned statistic
        if not isinstance(record, dict) or sorted(record) != sorted(names):
            raise UserError(f"{where}: search settings must hold exactly {names}; {REBUILD}")
        try:
            settings = cls(**{**record, "durations_hours": tuple(record["durations_hours"])})
            numbers = [n for n in names if n not in ("durations_hours", "statistic")]
            valid = (
                settings.statistic in STATISTICS
                and all(float(getattr(settings, n)) > 0 for n in numbers)
                and len(settings.durations_hours) > 0
                and all(float(h) > 0 for h in settings.durations_hours)
            )
        except (TypeError, ValueError):
            valid = False
        if not valid:
            raise UserError(f"{where}: search settings hold invalid values; {REBUILD}")
        return settings

    def flat(self, grid: SearchGrid) -> SearchGrid:
        """``grid`` (raw relative flux) detrended and cleaned, as the search sees it."""
        return cleaned(detrended(grid, self.detrend_window_days), self.clip_high_sigma)

    def run(
        self,
        grid: SearchGrid,
        max_candidates: int | None = None,
        evidence: np.ndarray | None = None,
    ) -> SearchResult:
        """Detrend ``grid`` (raw relative flux) and search it.

        ``max_candidates`` overrides the setting (a quick look at the best candidate only).
        ``evidence`` is the network's standardised per-cadence evidence on ``grid``
        (:func:`.learned.evidence_dips`), required unless the statistic is ``box``.

        Raises
        ------
        UserError
            If the statistic needs evidence and none is given.
        """
        flat = self.flat(grid)
        ses = None
        if self.learned:
            if evidence is None:
                raise UserError(f"the {self.statistic} search needs the network's evidence")
            ses = learned_ses(folded_series(self.statistic, flat.flux, evidence, grid.cadence_days))
        result = search(
            flat.time,
            flat.flux,
            flat.flux_err,
            durations_hours=self.durations_hours,
            period_min=self.period_min_days,
            min_transits=self.min_transits,
            oversample=self.oversample,
            max_candidates=max_candidates or self.max_candidates,
            ses=ses,
        )
        return in_flux_units(result, flat.time, flat.flux, flat.flux_err) if ses else result


REBUILD = "rebuild the release with `dvc repro`"
