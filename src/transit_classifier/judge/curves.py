"""The test split's ROC, PR and confusion data for ``dvc plots``, logged with dvclive.

``Live.log_sklearn_plot`` computes each curve with scikit-learn
(``drop_intermediate=True``: collinear points dropped, so the files stay small)
and writes it as JSON under ``<live dir>/plots/sklearn/``. dvc.yaml's top-level
plots overlay the methods in one chart each, one colour per method.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from transit_classifier.io import atomic_dir
from transit_classifier.learn.training import make_live

from .evaluation import CLASS_NAMES, binary

SKLEARN_PLOTS = Path("plots") / "sklearn"  # where dvclive puts them inside its directory


def log_test_curves(
    live_dir: str | Path, labels: np.ndarray, methods: dict[str, tuple[np.ndarray, np.ndarray]]
) -> None:
    """Log ROC, precision-recall and confusion data of each method into ``live_dir``.

    ``methods`` maps a file-name suffix (``""`` for the network, ``"_baseline"``)
    to the method's test ``(scores, predicted)``. The confusion data is one
    ``actual, predicted`` row per light curve, in class names. dvclive writes its
    files in place, so the directory is built aside and swapped in whole
    (:func:`io.atomic_dir`): an interrupted run leaves the previous set, not half
    of a new one.
    """
    y = binary(labels)
    names = np.asarray(CLASS_NAMES)
    with atomic_dir(live_dir) as tmp:
        live = make_live(tmp)
        for suffix, (scores, predicted) in methods.items():
            for kind in ("roc", "precision_recall"):
                live.log_sklearn_plot(kind, y, scores, name=kind + suffix, drop_intermediate=True)
            live.log_sklearn_plot(
                "confusion_matrix",
                names[y.astype(int)],
                names[np.asarray(predicted, dtype=int)],
                name="confusion" + suffix,
            )
