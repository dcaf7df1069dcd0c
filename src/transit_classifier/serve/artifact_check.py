"""One validation of a model artifact's JSON files, before TensorFlow builds anything.

``model.json``, ``thresholds.json``, ``architecture.json`` and ``search.json``
steer what predict builds and how it reads a light curve. A damaged or
hand-edited file must be refused in one line naming the file, the key and the
fix, and never reach code that would raise a bare ``TypeError``, exhaust the
stack (deeply nested JSON), choke on a 5,000-digit number, allocate gigabytes
for a 2,000,000-unit LSTM, or, worse, score with nonsense settings
(``cadence_minutes = 0``).

The size bounds hold the released network (``model/``: 16 to 64 filters, a
32-unit LSTM, windows of 1,000 cadences) and the seed notebook's (up to 256
filters and units) with room to spare, and stop absurd ones before any
allocation.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transit_classifier.errors import UserError
from transit_classifier.learn.model import ARCHITECTURE_FILE, INFO_FILE
from transit_classifier.signal.windowing import WindowRules

THRESHOLDS_FILE = "thresholds.json"
RESTORE = (
    "restore the model files (`git checkout model` in a clone, or reinstall the package; "
    "`dvc repro` rebuilds them)"
)
MAX_JSON_BYTES = 4_000_000  # far above the released architecture.json's size
MAX_DEPTH = 64  # far deeper than the released architecture nests
MAX_NUMBER_CHARS = 40  # a float64 needs at most 17 significant digits; 5,000 is not a number
MAX_WIDTH = 1024  # units or filters per layer: 4x the seed network's widest (256)
MAX_KERNEL = 64  # kernel, pool, stride, dilation: the released network's largest is 7
MAX_LENGTH = 100_000  # cadences per window (2,000 days at Kepler's 29.4 min): released 1,000
MAX_DETREND_WINDOWS = 16
WIDTH_KEYS = ("units", "filters")
KERNEL_KEYS = ("kernel_size", "pool_size", "strides", "dilation_rate")
DETREND_METHODS = ("biweight", "median")


class _Refused(ValueError):
    """Raised inside the JSON parser's hooks; turned into a UserError naming the file."""


def _number(kind: type) -> Any:
    def parse(text: str) -> Any:
        if len(text) > MAX_NUMBER_CHARS:
            raise _Refused(f"a {len(text):,}-character number")
        return kind(text)

    return parse


def _constant(text: str) -> Any:
    raise _Refused(f"{text} (not valid JSON)")


def _depth(data: Any) -> int:
    """Nesting depth of parsed JSON, walked without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, (dict, list)) and depth <= MAX_DEPTH:
            stack.extend((child, depth + 1) for child in children)
    return deepest


def read_json(path: Path, max_bytes: int = MAX_JSON_BYTES, fix: str = RESTORE) -> Any:
    """Parse a model file's JSON within size, depth and number limits; one line if it cannot.

    Raises
    ------
    UserError
        If the file is missing, unreadable, too large, not UTF-8 JSON, nested
        deeper than ``MAX_DEPTH`` or holds a number of absurd length, NaN or Infinity.
    """
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise UserError(f"{path}: {size:,} bytes, too large for a model file; {fix}")
        text = path.read_bytes().decode("utf-8")
        data = json.loads(
            text, parse_int=_number(int), parse_float=_number(float), parse_constant=_constant
        )
    except FileNotFoundError:
        raise UserError(f"{path}: not found; {fix}") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.strerror}); {fix}") from None
    except RecursionError:
        raise UserError(f"{path}: JSON nested too deeply (corrupted); {fix}") from None
    except _Refused as exc:
        raise UserError(f"{path}: holds {exc} (corrupted or hand-edited); {fix}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UserError(f"{path}: not valid JSON (corrupted); {fix}") from None
    if _depth(data) > MAX_DEPTH:
        raise UserError(f"{path}: JSON nested deeper than {MAX_DEPTH} levels; {fix}")
    return data


# ----------------------------------------------------------------------- value checks


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_count(value: Any, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= high


def _refuse(path: Path, key: str, expected: str, value: Any) -> UserError:
    shown = json.dumps(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return UserError(f"{path}: '{key}' must be {expected}, found {shown}; {RESTORE}")


def _field(record: dict[str, Any], path: Path, key: str) -> Any:
    """``record[key]`` (``key`` may be ``a.b``), or a one-line refusal naming it."""
    node: Any = record
    parts = key.split(".")
    for depth, part in enumerate(parts, start=1):
        if not isinstance(node, dict) or part not in node:
            raise UserError(f"{path}: '{'.'.join(parts[:depth])}' is missing; {RESTORE}")
        node = node[part]
    return node


def _positive(record: dict[str, Any], path: Path, key: str) -> float:
    value = _field(record, path, key)
    if not (_is_number(value) and value > 0):
        raise _refuse(path, key, "a positive number", value)
    return float(value)


def _object(data: Any, path: Path) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise UserError(f"{path}: not a JSON object (found a {type(data).__name__}); {RESTORE}")
    return data


# ------------------------------------------------------------------------ the files


def check_info(info: Any, path: Path) -> dict[str, Any]:
    """``model.json``: the window and preprocessing settings predict will use, typed and sane."""
    info = _object(info, path)
    length = _field(info, path, "input_length")
    if not _is_count(length, MAX_LENGTH):
        raise _refuse(path, "input_length", f"a count of cadences, 1 to {MAX_LENGTH:,}", length)
    for key in ("cadence_minutes", "preprocess.cadence_minutes", "preprocess.clip_high_sigma",
                "preprocess.compress_low_sigma"):  # fmt: skip
        _positive(info, path, key)
    method = _field(info, path, "preprocess.detrend_method")
    if method not in DETREND_METHODS:
        raise _refuse(path, "preprocess.detrend_method", " or ".join(DETREND_METHODS), method)
    windows = _field(info, path, "preprocess.detrend_windows_days")
    good = isinstance(windows, list) and 1 <= len(windows) <= MAX_DETREND_WINDOWS
    if not good or not all(_is_number(w) and w > 0 for w in windows):
        raise _refuse(path, "preprocess.detrend_windows_days", "a list of positive days", windows)
    for key in ("prewhiten_modes", "prewhiten_min_frequency", "prewhiten_snr",
                "prewhiten_mask_sigma"):  # fmt: skip
        value = info["preprocess"].get(key, 0)
        if not (_is_number(value) and value >= 0):
            raise _refuse(path, f"preprocess.{key}", "a number >= 0", value)
    if info["preprocess"]["cadence_minutes"] != info["cadence_minutes"]:
        raise _refuse(path, "preprocess.cadence_minutes", "the model's cadence_minutes",
                      info["preprocess"]["cadence_minutes"])  # fmt: skip
    WindowRules.from_info(info)  # the "window" rules, checked against the network's
    sha = _field(info, path, "weights_sha256")
    if not (isinstance(sha, str) and len(sha) == 64):
        raise _refuse(path, "weights_sha256", "a sha256 hex digest", sha)
    return info


def check_thresholds(record: Any, path: Path) -> dict[str, Any]:
    """``thresholds.json``: a default point's name and ``{name: threshold in [0, 1]}``."""
    record = _object(record, path)
    for key in ("weights_sha256", "default"):
        value = _field(record, path, key)
        if not isinstance(value, str):
            raise _refuse(path, key, "a string", value)
    points = _field(record, path, "operating_points")
    if not isinstance(points, dict) or not points:
        raise _refuse(path, "operating_points", "an object of {name: threshold}", points)
    for name, value in points.items():
        if not (_is_number(value) and 0 <= value <= 1):
            raise _refuse(path, f"operating_points.{name}", "a threshold in [0, 1]", value)
    return record


def _check_sizes(node: dict[str, Any], path: Path) -> None:
    """Layer widths, kernel sizes and shapes of one config object within the bounds."""
    for key in WIDTH_KEYS:
        if key in node and not _is_count(node[key], MAX_WIDTH):
            raise _refuse(path, key, f"a layer width of 1 to {MAX_WIDTH}", node[key])
    for key in KERNEL_KEYS:
        value = node.get(key)
        values = value if isinstance(value, list) else [value]
        if not all(v is None or _is_count(v, MAX_KERNEL) for v in values):  # None: the default
            raise _refuse(path, key, f"sizes of 1 to {MAX_KERNEL}", value)
    for key, value in node.items():
        if key.endswith("shape") and isinstance(value, list):
            dims = list(value)
            while dims:
                dim = dims.pop()
                if isinstance(dim, list):
                    dims.extend(dim)
                elif dim is not None and not _is_count(dim, MAX_LENGTH):
                    raise _refuse(path, key, f"dimensions of 1 to {MAX_LENGTH:,}", value)


def _input_shape(config: dict[str, Any]) -> Any:
    """The ``batch_shape`` of the model's first layer (its input), or None if not found."""
    node: Any = config
    for key in ("config", "layers", 0, "config", "batch_shape"):
        is_list = isinstance(key, int) and isinstance(node, list) and node
        if not (is_list or (isinstance(key, str) and isinstance(node, dict) and key in node)):
            return None
        node = node[key]
    return node


def check_architecture(config: Any, path: Path, info: dict[str, Any]) -> None:
    """``architecture.json``: every layer of a sane size, built for the model's windows."""
    config = _object(config, path)
    stack: list[Any] = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            _check_sizes(node, path)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    shape = _input_shape(config)
    channels = len(info["preprocess"]["detrend_windows_days"]) + 1
    expected = [None, info["input_length"], channels]
    if shape is not None and list(shape) != expected:
        raise UserError(
            f"{path}: the network takes inputs of shape {shape} but model.json makes windows of "
            f"{expected}; {RESTORE}"
        )


@dataclass(frozen=True)
class Artifact:
    """A model directory's JSON, validated: ``thresholds`` is None where there is no file."""

    info: dict[str, Any]
    thresholds: dict[str, Any] | None


def check_artifact(model_dir: str | Path) -> Artifact:
    """Validate a model directory's JSON files, in one pass, before anything is built.

    ``thresholds.json`` may be absent (a ``checkpoint/`` with ``--threshold``);
    ``search.json`` is read by :func:`~transit_classifier.serve.candidates.load_search`
    through :func:`read_json`.

    Raises
    ------
    UserError
        One line naming the file, the key and the fix.
    """
    model_dir = Path(model_dir)
    info = check_info(read_json(model_dir / INFO_FILE), model_dir / INFO_FILE)
    network = model_dir / ARCHITECTURE_FILE
    check_architecture(read_json(network), network, info)
    path = model_dir / THRESHOLDS_FILE
    thresholds = check_thresholds(read_json(path), path) if path.exists() else None
    return Artifact(info, thresholds)
