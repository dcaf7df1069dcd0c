"""Independent, reproducible random streams derived from the one ``seed`` in params.yaml."""

from __future__ import annotations

import zlib

import numpy as np


def make_rng(seed: int, *streams: str | int) -> np.random.Generator:
    """Return a numpy Generator for ``seed`` and a named stream.

    Each stage (and each purpose inside a stage) asks for its own stream, so
    changing how many numbers one part draws never shifts another part's
    numbers: e.g. the test split does not move when augmentation params change.
    """
    keys = [zlib.crc32(s.encode()) if isinstance(s, str) else int(s) for s in streams]
    return np.random.default_rng(np.random.SeedSequence([int(seed), *keys]))
