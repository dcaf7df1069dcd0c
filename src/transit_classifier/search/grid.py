"""Trial-period grids, one per box width, and the physical duration limit.

Spacing rule: two neighbouring trial periods ``P`` and ``P + dP`` put the last transit of
the span ``span / P`` cycles later by ``span * dP / P``; keeping that drift below
``w * dt / oversample`` keeps every transit inside its box to within ``1/oversample`` of the
box, which bounds the MES loss from the grid. This gives ``dP / P = w dt / (oversample span)``,
i.e. a geometric (log-spaced) grid, and wider boxes need proportionally fewer periods.
"""

import numpy as np

G_CGS = 6.674e-8
"""Gravitational constant, cgs."""

SECONDS_PER_DAY = 86400.0

RHO_MIN_CGS = 0.07
"""Lowest stellar density considered (g/cm^3, ~0.05 solar: an evolved subgiant). Low density
means a large star relative to the orbit, i.e. the longest possible transit at a period."""

RADIUS_RATIO_MAX = 0.3
"""Largest companion-to-star radius ratio; ``(1 + k)`` lengthens a transit by first-to-last
contact, and 0.3 admits grazing eclipsing binaries that the vetter should still see."""

MAX_DUTY_CYCLE = 0.15
"""A box longer than this fraction of the period is no longer a transit but a modulation."""


def max_duration_days(period_days: np.ndarray | float) -> np.ndarray:
    """Longest plausible transit at a period: central transit of a low-density star.

    ``T = P / pi * arcsin((1 + k) R* / a)`` with ``a / R* = (G rho P^2 / (3 pi))^(1/3)`` at
    ``rho = RHO_MIN_CGS`` and ``k = RADIUS_RATIO_MAX``, capped at ``MAX_DUTY_CYCLE * P``.
    """
    period = np.asarray(period_days, dtype=float)
    p_sec = period * SECONDS_PER_DAY
    a_over_r = (G_CGS * RHO_MIN_CGS * p_sec**2 / (3.0 * np.pi)) ** (1.0 / 3.0)
    central = period / np.pi * np.arcsin(np.minimum(1.0, (1.0 + RADIUS_RATIO_MAX) / a_over_r))
    return np.minimum(central, MAX_DUTY_CYCLE * period)


def period_grid(
    span_days: float,
    width: int,
    dt: float,
    *,
    period_min: float = 0.5,
    period_max: float | None = None,
    min_transits: int = 2,
    oversample: float = 2.0,
) -> np.ndarray:
    """Log-spaced trial periods (days) for a box of ``width`` cadences.

    Periods run from ``period_min`` to ``span / (min_transits - 1)`` (so ``min_transits``
    transits fit in the span), optionally capped by ``period_max``, and periods at which the
    box is longer than :func:`max_duration_days` are dropped.
    """
    p_hi = span_days / max(min_transits - 1, 1)
    if period_max is not None:
        p_hi = min(p_hi, period_max)
    if p_hi <= period_min:
        return np.empty(0)
    log_step = np.log1p(width * dt / (oversample * span_days))
    count = int(np.floor(np.log(p_hi / period_min) / log_step)) + 1
    periods = period_min * np.exp(np.arange(count) * log_step)
    return periods[max_duration_days(periods) >= width * dt]
