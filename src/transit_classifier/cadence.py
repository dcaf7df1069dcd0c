"""Time units and the fixed cadence grid shared by synthetic and real light curves.

Cadences are configured in minutes (``dataset.cadence_minutes``) while every
time axis is in days (BKJD for Kepler), so the one conversion factor lives here
instead of as a bare ``1440`` at each use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MINUTES_PER_DAY = 1440.0
SECONDS_PER_DAY = 86400.0


def time_grid(params: dict[str, Any]) -> np.ndarray:
    """Cadence mid-times in days from 0, ``dataset.window_length`` of them.

    Examples
    --------
    >>> grid = time_grid({"dataset": {"window_length": 3, "cadence_minutes": 720.0}})
    >>> grid.tolist()
    [0.0, 0.5, 1.0]
    """
    ds = params["dataset"]
    return cadence_grid(ds["window_length"], ds["cadence_minutes"])


def cadence_grid(length: int, cadence_minutes: float) -> np.ndarray:
    """``length`` cadence mid-times in days from 0, ``cadence_minutes`` apart.

    Examples
    --------
    >>> cadence_grid(3, 720.0).tolist()
    [0.0, 0.5, 1.0]
    """
    return np.arange(length) * (cadence_minutes / MINUTES_PER_DAY)
