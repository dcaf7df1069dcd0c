"""The light-curve table every split carries: one row per light curve, one field per column.

It lives apart from :mod:`.dataset` so that :mod:`.augmentation` can name it without importing
the module that calls augmentation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "val", "test")


@dataclass
class LightCurves:
    """Raw light curves with the per-sample columns every split carries."""

    flux: np.ndarray  # (n, length) float32 relative flux, NaN at gaps
    y: np.ndarray  # (n,) int8
    source: np.ndarray  # (n,) 'synthetic' | 'real'
    ids: np.ndarray  # (n,) str
    kepid: np.ndarray  # (n,) int64, 0 for synthetic
    snr: np.ndarray  # (n,) float32 white-noise SNR, NaN when unknown
    mes: np.ndarray  # (n,) float32 MES-like SNR (injection.mes), NaN when unknown

    def __len__(self) -> int:
        return len(self.y)

    def take(self, index: np.ndarray) -> LightCurves:
        return LightCurves(*(getattr(self, f)[index] for f in self.__dataclass_fields__))

    @classmethod
    def concat(cls, parts: list[LightCurves]) -> LightCurves:
        return cls(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__)
        )
