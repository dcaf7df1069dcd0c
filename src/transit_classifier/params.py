"""Load and validate ``params.yaml``: the single source of every tunable number.

Every stage calls :func:`load_params`. An unknown or missing key or section, a wrong
type or an out-of-range value raises :class:`~transit_classifier.errors.UserError` with
one line naming the key, the bad value and what is allowed. The ``check_params`` stage,
which every other stage depends on, runs it on the whole file first: a bad params.yaml
stops ``dvc repro`` before any stage starts, not minutes into the pipeline.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from transit_classifier.cadence import MINUTES_PER_DAY
from transit_classifier.errors import UserError

INF = math.inf


@dataclass(frozen=True)
class Number:
    """An int or float in [low, high] (``low_open`` excludes ``low``)."""

    low: float = -INF
    high: float = INF
    integer: bool = False
    low_open: bool = False

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a number"
        left = "(" if self.low_open else "["
        return f"{kind} in {left}{self.low}, {self.high}]"

    def check(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.integer and not isinstance(value, int):
            return False
        if not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        return above and value <= self.high


@dataclass(frozen=True)
class Range:
    """A ``[min, max]`` pair of numbers inside ``bounds`` with min <= max."""

    bounds: Number

    def describe(self) -> str:
        return f"a [min, max] pair, min <= max, each {self.bounds.describe()}"

    def check(self, value: Any) -> bool:
        return (
            isinstance(value, list)
            and len(value) == 2
            and all(self.bounds.check(v) for v in value)
            and value[0] <= value[1]
        )


@dataclass(frozen=True)
class Sequence:
    """A list of numbers inside ``item``; ``increasing`` demands strictly ascending values."""

    item: Number
    min_len: int = 1
    increasing: bool = False

    def describe(self) -> str:
        order = ", strictly increasing" if self.increasing else ""
        return f"a list of at least {self.min_len} values{order}, each {self.item.describe()}"

    def check(self, value: Any) -> bool:
        if not isinstance(value, list) or len(value) < self.min_len:
            return False
        if not all(self.item.check(v) for v in value):
            return False
        return not self.increasing or all(a < b for a, b in zip(value, value[1:], strict=False))


@dataclass(frozen=True)
class Choice:
    options: tuple[Any, ...]

    def describe(self) -> str:
        return "one of " + ", ".join(map(str, self.options))

    def check(self, value: Any) -> bool:
        return value in self.options


@dataclass(frozen=True)
class Flag:
    def describe(self) -> str:
        return "true or false"

    def check(self, value: Any) -> bool:
        return isinstance(value, bool)


@dataclass(frozen=True)
class Text:
    def describe(self) -> str:
        return "a string"

    def check(self, value: Any) -> bool:
        return isinstance(value, str)


def _int(low: float = -INF, high: float = INF) -> Number:
    return Number(low, high, integer=True)


POSITIVE = Number(0, INF, low_open=True)
NON_NEGATIVE = Number(0, INF)
FRACTION = Number(0, 1)
KEPID = _int(1, 10**9)

SCHEMA: dict[str, Any] = {
    "seed": _int(0, 2**32 - 1),
    # dataset
    "dataset.transit_ratio": Number(0, 0.5, low_open=True),
    "dataset.synthetic_negatives": _int(10, 1_000_000),
    "dataset.real_windows": _int(0, 100_000),
    "dataset.window_length": _int(64, 100_000),
    "dataset.cadence_minutes": Number(0.1, 1440),
    # synthetic
    "synthetic.min_transits": _int(1, 100),
    "synthetic.period_days": Range(Number(0.2, 1000)),
    "synthetic.snr": Range(POSITIVE),
    "synthetic.max_depth_ppm": Number(1, 500_000),
    "synthetic.stellar_density_cgs": Range(Number(0.01, 100)),
    "synthetic.limb_darkening_u1": Range(FRACTION),
    "synthetic.limb_darkening_u2": Range(Number(-0.5, 1)),
    "synthetic.impact_fraction": Range(FRACTION),
    "synthetic.supersample": _int(1, 101),
    "synthetic.cdpp_ppm": Range(POSITIVE),
    "synthetic.red_noise_ratio": Range(NON_NEGATIVE),
    "synthetic.red_noise_timescale_hours": Range(POSITIVE),
    "synthetic.variability_ppm": Range(NON_NEGATIVE),
    "synthetic.rotation_period_days": Range(POSITIVE),
    "synthetic.granulation_ppm": Range(NON_NEGATIVE),
    "synthetic.granulation_timescale_hours": Range(POSITIVE),
    "synthetic.trend_ppm": Range(NON_NEGATIVE),
    "synthetic.pulsator_fraction": FRACTION,
    "synthetic.pulsation_ppm": Range(NON_NEGATIVE),
    "synthetic.pulsation_period_hours": Range(POSITIVE),
    "synthetic.pulsation_modes": Range(_int(1, 50)),
    "synthetic.gap_probability": FRACTION,
    "synthetic.gap_length_days": Range(NON_NEGATIVE),
    "synthetic.outlier_fraction": Number(0, 0.1),
    "synthetic.outlier_sigma": Range(POSITIVE),
    "synthetic.outlier_positive_fraction": FRACTION,
    # kepler
    "kepler.source": Choice(("bundled", "mast")),
    "kepler.bundle_dir": Text(),
    "kepler.cache_dir": Text(),
    "kepler.targets": Sequence(KEPID, min_len=0),
    "kepler.targets_csv": Text(),
    "kepler.koi_table": Text(),
    "kepler.stride": _int(1, 100_000),
    "kepler.max_missing_fraction": FRACTION,
    "kepler.min_in_transit_cadences": _int(1, 1000),
    "kepler.exclusion_margin_hours": NON_NEGATIVE,
    "kepler.include_hard_negatives": Flag(),
    "kepler.exclude_kepids": Sequence(KEPID, min_len=0),
    "kepler.download_retries": _int(1, 20),
    "kepler.backoff_seconds": NON_NEGATIVE,
    # prepare
    "prepare.split": Sequence(Number(0, 1, low_open=True), min_len=3),
    "prepare.detrend_method": Choice(("biweight", "median")),
    "prepare.detrend_windows_days": Sequence(POSITIVE, increasing=True),
    "prepare.prewhiten_modes": _int(0, 1000),
    "prepare.prewhiten_min_frequency": POSITIVE,
    "prepare.prewhiten_snr": POSITIVE,
    "prepare.prewhiten_mask_sigma": NON_NEGATIVE,
    "prepare.clip_high_sigma": POSITIVE,
    "prepare.compress_low_sigma": POSITIVE,
    "prepare.augment.copies_positive": _int(0, 100),
    "prepare.augment.copies_negative": _int(0, 100),
    "prepare.augment.max_shift_fraction": FRACTION,
    "prepare.augment.reverse_probability": FRACTION,
    "prepare.augment.noise_sigma": Range(NON_NEGATIVE),
    "prepare.augment.scale": Range(POSITIVE),
    "prepare.augment.gap_probability": FRACTION,
    "prepare.augment.gap_length_cadences": Range(_int(0, 100_000)),
    "prepare.balance": Choice(("smote", "none", "random_oversample", "adasyn")),
    "prepare.sampling_strategy": Number(0, 1, low_open=True),
    "prepare.k_neighbors": _int(1, 100),
    # inject
    "inject.bank_size": _int(1, 1_000_000),
    "inject.per_epoch": _int(0, 10_000_000),
    "inject.mes": Range(POSITIVE),
    "inject.period_days": Range(Number(0.2, 10_000)),
    "inject.real_host_fraction": FRACTION,
    "inject.negative_hosts": Choice(("uniform", "twins")),
    "inject.scattered_gap_probability": FRACTION,
    "inject.scattered_gap_fraction": Range(Number(0, 0.9)),
    # train
    "train.seed": _int(0, 2**32 - 1),
    "train.architecture": Choice(("compact", "seed")),
    "train.conv_filters": Sequence(_int(1, 4096)),
    "train.kernel_size": _int(1, 1001),
    "train.activation": Choice(("relu", "swish", "gelu", "elu", "tanh")),
    "train.batch_norm": Flag(),
    "train.pool_sizes": Sequence(_int(1, 64)),
    "train.global_max_pool": Flag(),
    "train.conv_dropout": Number(0, 0.99),
    "train.lstm_units": Sequence(_int(1, 4096)),
    "train.bidirectional": Flag(),
    "train.dense_units": Sequence(_int(1, 8192), min_len=0),
    "train.dense_dropout": Number(0, 0.99),
    "train.loss": Choice(("focal", "bce")),
    "train.focal_gamma": NON_NEGATIVE,
    "train.focal_alpha": Number(0, 0.99, low_open=True),
    "train.learning_rate": Number(0, 1, low_open=True),
    "train.ema_momentum": Number(0, 0.9999),
    "train.batch_size": _int(1, 65_536),
    "train.epochs": _int(1, 10_000),
    "train.patience": _int(0, 10_000),
    "train.reduce_lr_patience": _int(0, 10_000),
    "train.reduce_lr_factor": Number(0, 1, low_open=True),
    "train.lr_schedule": Choice(("plateau", "cosine")),
    "train.monitor": Choice(("val_pr_auc", "val_roc_auc", "val_loss")),
    "train.threads": _int(1, 256),
    "train.distribute": Choice(("default", "mirrored")),
    "train.validation_injections": _int(0, 1_000_000),
    # evaluate
    "evaluate.threshold": Choice(("max_f1", "target_fpr")),
    "evaluate.target_fpr": Number(0, 1, low_open=True),
    "evaluate.release_point": Text(),
    "evaluate.bootstrap_resamples": _int(100, 1_000_000),
    "evaluate.strict_fpr": Number(0, 1, low_open=True),
    "evaluate.injection_per_bin": _int(1, 100_000),
    "evaluate.mes_bins": Sequence(POSITIVE, min_len=2, increasing=True),
    "evaluate.baseline.method": Choice(("bls", "tls")),
    "evaluate.baseline.detrend_windows_days": Sequence(POSITIVE, increasing=True),
    "evaluate.baseline.clip_high_sigma": POSITIVE,
    "evaluate.baseline.periods": _int(10, 1_000_000),
    "evaluate.baseline.durations_hours": Sequence(POSITIVE, increasing=True),
    "evaluate.baseline.oversample": _int(1, 100),
    # cadence_head
    "cadence_head.rounds": _int(1, 1000),
    "cadence_head.injections_per_round": _int(1, 1_000_000),
    "cadence_head.epochs": _int(1, 1000),
    # search
    "search.detrend_window_days": POSITIVE,
    "search.durations_hours": Sequence(POSITIVE, increasing=True),
    "search.period_min_days": POSITIVE,
    "search.min_transits": _int(2, 100),
    "search.oversample": Number(0.5, 20),
    "search.max_candidates": _int(1, 50),
    "search.clip_high_sigma": POSITIVE,
    "search.statistic": Choice(("box", "learned", "combined")),
    "search.null_scrambles": _int(0, 100),
    "search.scramble_days": POSITIVE,
    "search.mes_bins": Sequence(POSITIVE, min_len=2, increasing=True),
    "search.injections_per_bin": _int(1, 100_000),
    "search.inject_period_days": Range(POSITIVE),
    "search.baseline_nulls": _int(1, 100_000),
    "search.baseline_per_bin": _int(1, 100_000),
    "evaluate.real_examples": _int(0, 100),
}


# Every mapping of params.yaml: the top-level sections and the sub-sections below them.
SECTIONS = frozenset(key.rsplit(".", n)[0] for key in SCHEMA for n in range(1, key.count(".") + 1))
RESTORE = "see the committed copy: `git show HEAD:params.yaml`"


def _lookup(params: dict[str, Any], dotted: str) -> Any:
    node: Any = params
    parts = dotted.split(".")
    for depth, part in enumerate(parts, 1):
        if part not in node:
            path = ".".join(parts[:depth])
            kind = "section" if path in SECTIONS else "key"
            raise UserError(f"params.yaml: missing {kind} '{path}'; add it back ({RESTORE})")
        node = node[part]
    return node


def _suggestion(path: str) -> str:
    """The fix for an unknown key: its nearest sibling, else the same name where it belongs."""
    parent = path.rpartition(".")[0]
    siblings = [k for k in SCHEMA.keys() | SECTIONS if k.rpartition(".")[0] == parent]
    close = difflib.get_close_matches(path, siblings, n=1, cutoff=0.6)
    close = close or [k for k in SCHEMA if k.rpartition(".")[2] == path.rpartition(".")[2]]
    return f"did you mean '{close[0]}'?" if close else "remove it, or fix its spelling"


def _check_unknown(node: dict[Any, Any], prefix: str = "") -> None:
    """A misspelt key or section would otherwise be ignored silently while its default is used,
    and a section written as a plain value would hide every key below it."""
    for key, value in node.items():
        path = f"{prefix}{key}"
        if path in SECTIONS and isinstance(value, dict):
            _check_unknown(value, f"{path}.")
        elif path in SECTIONS:
            raise UserError(
                f"params.yaml: '{path}' = {value!r} must be a section, its keys indented below "
                f"it ({RESTORE})"
            )
        elif path not in SCHEMA:
            kind = "section" if isinstance(value, dict) else "key"
            raise UserError(f"params.yaml: unknown {kind} '{path}'; {_suggestion(path)}")


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate keys (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise UserError(
                    f"params.yaml: duplicate key '{key}' at line {line}; keep only one of them"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def validate(params: dict[str, Any]) -> dict[str, Any]:
    """Check ``params`` against :data:`SCHEMA` and cross-key rules; return it unchanged."""
    if not isinstance(params, dict):
        raise UserError(f"params.yaml: expected a mapping of sections at the top level ({RESTORE})")
    _check_unknown(params)
    for key, spec in SCHEMA.items():
        value = _lookup(params, key)
        if not spec.check(value):
            raise UserError(f"params.yaml: {key} = {value!r} invalid, expected {spec.describe()}")
    split = params["prepare"]["split"]
    if len(split) != 3 or abs(sum(split) - 1) > 1e-6:
        raise UserError(
            f"params.yaml: prepare.split = {split!r} is invalid; expected 3 fractions "
            "(train, validation, test) that sum to 1"
        )
    _check_release_point(params["evaluate"])
    return params


def fpr_label(fpr: float) -> str:
    """``0.01 -> "fpr_1pct"``, ``0.001 -> "fpr_0p1pct"``: a metric-name-safe label.

    >>> fpr_label(0.001)
    'fpr_0p1pct'
    """
    return "fpr_" + f"{fpr * 100:g}".replace(".", "p") + "pct"


def _check_release_point(evaluate: dict[str, Any]) -> None:
    """``evaluate.release_point`` must name a threshold the evaluate stage makes."""
    points = {fpr_label(evaluate["target_fpr"]), fpr_label(evaluate["strict_fpr"])}
    if evaluate["threshold"] == "max_f1":
        points.add("max_f1")
    if evaluate["release_point"] not in points:
        raise UserError(
            f"params.yaml: evaluate.release_point = {evaluate['release_point']!r} is not an "
            f"operating point the evaluate stage makes; use one of {sorted(points)}"
        )


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Read and validate ``params.yaml``.

    Raises
    ------
    UserError
        If the file is missing or not YAML, or any key is missing, mistyped or
        out of range. The message is one line naming the key and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: file not found; run from the repository root")
    try:
        params = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot be read as text ({exc}); check the file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise UserError(f"{path}: not valid YAML{where}; fix the syntax") from None
    return validate(params)


def window_days(params: dict[str, Any]) -> float:
    """Length of one light-curve window in days."""
    ds = params["dataset"]
    return ds["window_length"] * ds["cadence_minutes"] / MINUTES_PER_DAY
