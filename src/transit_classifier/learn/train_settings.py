"""The ``train`` section as frozen, typed settings, built once per train stage.

``src/train.py`` builds :class:`TrainSettings` from the validated params and
hands the same object to :mod:`.model` and :mod:`.training`, so no function
below the stage reads the params dict for a training knob, and nothing can
edit a setting halfway through a run (lists become tuples).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


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
        """The settings of the validated params dict's ``train`` section.

        Values are taken as validated, not cast: an int written in params.yaml
        stays an int, so Keras receives exactly what it did from the dict.
        """
        section = params["train"]
        values = {f.name: section[f.name] for f in fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
