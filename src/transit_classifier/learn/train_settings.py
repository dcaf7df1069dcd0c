"""The ``train`` section as frozen, typed settings, built once per train stage.

``src/train.py`` builds :class:`TrainSettings` from the validated params and
hands the same object to :mod:`.model` and :mod:`.training`, so no function
below the stage reads the params dict for a training knob, and nothing can
edit a setting halfway through a run (lists become tuples).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transit_classifier.simulate.settings import frozen_values


@dataclass(frozen=True)
class TrainSettings:
    """Every ``train.*`` key of params.yaml (see there for what each one does)."""

    seed: int
    architecture: str
    conv_filters: tuple[int, ...]
    kernel_size: int
    activation: str
    batch_norm: bool
    pool_sizes: tuple[int, ...]
    global_max_pool: bool
    conv_dropout: float
    lstm_units: tuple[int, ...]
    bidirectional: bool
    dense_units: tuple[int, ...]
    dense_dropout: float
    loss: str
    focal_gamma: float
    focal_alpha: float
    learning_rate: float
    ema_momentum: float
    batch_size: int
    epochs: int
    patience: int
    reduce_lr_patience: int
    reduce_lr_factor: float
    lr_schedule: str
    monitor: str
    threads: int
    validation_injections: int
    distribute: str

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> TrainSettings:
        """The settings of the validated params dict's ``train`` section (:func:`frozen_values`:
        not cast, so Keras receives exactly what it did from the dict)."""
        return cls(**frozen_values(params["train"], cls))
