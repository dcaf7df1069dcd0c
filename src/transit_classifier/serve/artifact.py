"""The released model: trained weights plus the thresholds chosen for them, as one directory.

``train`` writes ``checkpoint/`` (architecture, weights, ``model.json`` with every
windowing and preprocessing setting). ``evaluate`` chooses the decision
thresholds on validation data and completes the artifact: ``model/`` holds a
copy of those files plus ``thresholds.json``, hash-linked to the weights it was
chosen for. ``model/`` is small and committed to git, so a fresh clone can
``predict`` at once, from any directory, with no retraining; a threshold that
does not belong to the weights beside it is refused.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from transit_classifier.errors import UserError
from transit_classifier.io import atomic_dir, write_json
from transit_classifier.learn.cadence_head import INFO_FILE as HEAD_INFO_FILE
from transit_classifier.learn.cadence_head import WEIGHTS_FILE as HEAD_WEIGHTS_FILE
from transit_classifier.learn.cadence_head import check_head
from transit_classifier.learn.model import ARCHITECTURE_FILE, INFO_FILE, WEIGHTS_FILE

from .artifact_check import THRESHOLDS_FILE, check_thresholds, read_json

SEARCH_FILE = "search.json"  # the light-curve search: settings, null scores, FAP thresholds
PACKAGED_DIR = "release"  # where a wheel ships the artifact, inside the package (setup.py)


def default_model_dir() -> Path:
    """The released model: inside the installed package when a wheel shipped it, else the
    repository's committed ``model/`` (a clone, or an editable install), so predict works
    from any folder either way."""
    package = Path(__file__).resolve().parents[1]
    packaged = package / PACKAGED_DIR
    return packaged if (packaged / INFO_FILE).is_file() else package.parents[1] / "model"


DEFAULT_MODEL_DIR = default_model_dir()
FIX = (
    "restore model/ with `git checkout -- model` (or rebuild it with `dvc repro evaluate`), "
    "or pass --threshold"
)


def complete(
    models_dir: str | Path,
    out_dir: str | Path,
    points: dict[str, float],
    default: str,
    search_calibration: str | Path,
    head_dir: str | Path,
) -> None:
    """Copy the trained model into ``out_dir`` with its validation-chosen thresholds, atomically.

    Parameters
    ----------
    models_dir
        The train stage's ``checkpoint/``.
    out_dir
        The artifact directory (``model/``), replaced as a whole.
    points
        Operating points ``{name: threshold}``, e.g. ``max_f1``, ``fpr_1pct``.
    default
        The point ``predict`` uses unless told otherwise.
    search_calibration
        The search stage's settings, null scores and thresholds, shipped as ``search.json``.
    head_dir
        The ``train_head`` stage's output: the cadence head the search folds, shipped beside
        the window network it was trained on (checked first: :func:`check_head`).
    """
    models_dir = Path(models_dir)
    info = json.loads((models_dir / INFO_FILE).read_text())
    if default not in points:
        raise UserError(f"operating point {default!r} not among {sorted(points)}")
    with atomic_dir(out_dir) as tmp:
        for name in (ARCHITECTURE_FILE, WEIGHTS_FILE, INFO_FILE):
            shutil.copyfile(models_dir / name, tmp / name)
        shutil.copyfile(search_calibration, tmp / SEARCH_FILE)
        check_head(head_dir, info)
        for name in (HEAD_INFO_FILE, HEAD_WEIGHTS_FILE):
            shutil.copyfile(Path(head_dir) / name, tmp / name)
        write_json(
            tmp / THRESHOLDS_FILE,
            {
                "weights_sha256": info["weights_sha256"],
                "chosen_on": "validation",
                "default": default,
                "operating_points": points,
            },
        )


def load_threshold(
    model_dir: str | Path, info: dict[str, Any], point: str | None = None
) -> tuple[str, float]:
    """The threshold of operating ``point`` (the artifact's default if None) for these weights.

    Raises
    ------
    UserError
        If ``thresholds.json`` is missing, malformed, chosen for other weights,
        or lacks the point.
    """
    path = Path(model_dir) / THRESHOLDS_FILE
    if not path.is_file():
        raise UserError(f"{path}: not found (this model has no validated threshold); {FIX}")
    record = check_thresholds(read_json(path), path)
    points, default = record["operating_points"], record["default"]
    if record["weights_sha256"] != info.get("weights_sha256"):
        raise UserError(
            f"{path}: chosen for other weights than {Path(model_dir) / WEIGHTS_FILE}; {FIX}"
        )
    name = default if point is None else point
    if name not in points:
        known = ", ".join(sorted(points))
        fix = f"choose one of {known}" if point is not None else FIX
        raise UserError(f"{path}: no operating point {name!r} (known: {known}); {fix}")
    return name, float(points[name])
