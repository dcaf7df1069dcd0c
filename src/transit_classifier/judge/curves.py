"""The test split's ROC, PR and confusion data as small tables, for ``dvc plots``.

The curves are thinned so the committed CSVs stay small and diff-able in pull requests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from .evaluation import CLASS_NAMES, binary

MAX_CURVE_POINTS = 500  # plot files stay small and diff-able


def _thin(frame: pd.DataFrame, max_points: int = MAX_CURVE_POINTS) -> pd.DataFrame:
    if len(frame) <= max_points:
        return frame.reset_index(drop=True)
    keep = np.unique(np.round(np.linspace(0, len(frame) - 1, max_points)).astype(int))
    return frame.iloc[keep].reset_index(drop=True)


def roc_points(labels: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    """``fpr, tpr`` of the ROC curve, collinear points dropped, thinned for plotting."""
    fpr, tpr, _ = roc_curve(binary(labels), scores, drop_intermediate=True)
    return _thin(pd.DataFrame({"fpr": fpr, "tpr": tpr}))


def pr_points(labels: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    """``recall, precision`` of the PR curve (recall ascending), thinned for plotting."""
    precision, recall, _ = precision_recall_curve(binary(labels), scores, drop_intermediate=True)
    frame = pd.DataFrame({"recall": recall[::-1], "precision": precision[::-1]})
    return _thin(frame)


def confusion_rows(labels: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    """One ``actual, predicted`` row per light curve, for DVC's ``confusion`` template."""
    names = np.asarray(CLASS_NAMES)
    return pd.DataFrame(
        {
            "actual": names[binary(labels).astype(int)],
            "predicted": names[np.asarray(predicted, int)],
        }
    )
