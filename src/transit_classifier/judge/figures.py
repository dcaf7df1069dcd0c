"""Figures of the pipeline: matplotlib ``Figure`` objects, no pyplot state, no saving.

Plotting lives apart from the logic that computes what is drawn
(:mod:`transit_classifier.judge.recovery`); callers save with :func:`io.save_figure`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from .evaluation import binary, confusion_counts, operating_point
from .recovery import KEPLER_MES


@dataclass(frozen=True)
class Scored:
    """A method's test scores and its validation-chosen threshold, for the figures."""

    name: str
    labels: np.ndarray
    scores: np.ndarray
    threshold: float
    rule: str = ""  # how the threshold reads, when its raw value would mislead (figures)

    @property
    def caption(self) -> str:
        """The threshold as a figure states it: ``rule``, else the value."""
        return self.rule or f"threshold {self.threshold:.4g}"

    @property
    def predicted(self) -> np.ndarray:
        return np.asarray(self.scores) >= self.threshold


TITLES = {"synthetic": "synthetic stars", "real": "real Kepler noise (test stars)"}
STYLES = {"fpr_1pct": "-", "fpr_0p1pct": "--"}
FPR_TEXT = {"fpr_1pct": "1%", "fpr_0p1pct": "0.1%"}


def recall_vs_mes(curves: Sequence[pd.DataFrame], names: dict[str, str]) -> Any:
    """Recall per MES bin, one panel per injection source, every method at each FPR.

    Wilson 95% bars on the measured recall; grey lines are the ideal
    known-ephemeris matched filter at the same false-alarm rates, the ceiling.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6 * len(curves), 4.6), layout="constrained")
    axes = fig.subplots(1, len(curves), squeeze=False)[0]
    for ax, table in zip(axes, curves, strict=True):
        _recall_curves(ax, table, names)
        _recall_axes(ax, table)
    axes[0].legend(loc="lower right", fontsize=7)
    return fig


def _recall_curves(ax: Any, table: pd.DataFrame, names: dict[str, str]) -> None:
    """One source's ceilings and each method's recall with Wilson bars, per FPR."""
    centre = np.sqrt(table["mes_bin_low"] * table["mes_bin_high"]).to_numpy()
    for fpr, style in STYLES.items():
        ax.plot(
            centre,
            table[f"ceiling_{fpr}"],
            style,
            color="0.6",
            lw=1.5,
            label=f"ideal matched filter, FPR {FPR_TEXT[fpr]}",
        )
        for i, (method, name) in enumerate(names.items()):
            column = f"recall_{method}_{fpr}"
            recall = table[column].to_numpy()
            bounds = [recall - table[f"{column}_low"], table[f"{column}_high"] - recall]
            err = np.clip(np.vstack(bounds), 0, None)  # Wilson bounds touch 0/1 in float
            ax.errorbar(
                centre,
                recall,
                yerr=err,
                fmt="o" + style,
                color=f"C{i}",
                capsize=3,
                ms=4,
                label=f"{name}, FPR {FPR_TEXT[fpr]}",
            )


def _recall_axes(ax: Any, table: pd.DataFrame) -> None:
    """The Kepler threshold line, MES bin-edge ticks, labels and title of one source's panel."""
    ax.axvline(KEPLER_MES, ls=":", color="k", lw=1, label=f"Kepler threshold (MES {KEPLER_MES})")
    edges = np.r_[table["mes_bin_low"].to_numpy(), table["mes_bin_high"].iloc[-1]]
    ax.set_xscale("log")
    ax.set_xticks(edges, [f"{edge:g}" for edge in edges])
    ax.minorticks_off()
    ax.set(
        xlabel="MES-like SNR (depth / noise at transit duration x sqrt(N transits))",
        ylabel="recall",
        ylim=(0, 1.05),
        title=f"Injection-recovery, {TITLES.get(table['source'].iloc[0], '')} "
        f"(n={int(table['n'].sum())})",
    )
    ax.grid(alpha=0.3)


def plot_roc_pr(methods: Sequence[Scored]) -> Any:
    """ROC and precision-recall side by side, every method on the same axes.

    Each curve's AUC is in the legend and the validation-chosen operating point
    is marked, so the figure shows where the method is actually used.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.6))
    ax_roc, ax_pr = fig.subplots(1, 2)
    for i, method in enumerate(methods):
        color = f"C{i}"
        y, s = binary(method.labels), np.asarray(method.scores, float)
        point = operating_point(y, method.predicted)
        fpr, tpr, _ = roc_curve(y, s)
        ax_roc.plot(fpr, tpr, color=color, label=f"{method.name} (AUC {roc_auc_score(y, s):.3f})")
        ax_roc.plot(point["fpr"], point["recall"], "o", color=color, ms=7, mec="k")
        precision, recall, _ = precision_recall_curve(y, s)
        ap = average_precision_score(y, s)
        ax_pr.step(
            recall, precision, where="post", color=color, label=f"{method.name} (AP {ap:.3f})"
        )
        ax_pr.plot(point["recall"], point["precision"], "o", color=color, ms=7, mec="k")
    prevalence = float(np.mean(binary(methods[0].labels)))
    ax_roc.plot([0, 1], [0, 1], ":", color="grey", label="chance")
    ax_pr.axhline(prevalence, ls=":", color="grey", label=f"chance ({prevalence:.3f})")
    ax_roc.set(xlabel="false positive rate", ylabel="true positive rate (recall)", title="ROC")
    ax_pr.set(xlabel="recall", ylabel="precision", title="Precision-recall", ylim=(0, 1.02))
    for ax in (ax_roc, ax_pr):
        ax.legend(loc="lower right" if ax is ax_roc else "lower left", fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(f"Test split (n={len(methods[0].labels)}); dots: threshold chosen on validation")
    fig.tight_layout()
    return fig


def plot_confusions(methods: Sequence[Scored]) -> Any:
    """Confusion-matrix counts of each method at its operating point, side by side."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.4 * len(methods), 4))
    axes = fig.subplots(1, len(methods), squeeze=False)
    for ax, method in zip(axes[0], methods, strict=True):
        c = confusion_counts(method.labels, method.predicted)
        matrix = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]])
        ax.imshow(matrix, cmap="Blues")
        for (row, col), count in np.ndenumerate(matrix):
            dark = count > matrix.max() / 2
            ax.text(col, row, str(count), ha="center", va="center", color="w" if dark else "k")
        ax.set_xticks([0, 1], ["no transit", "transit"])
        ax.set_yticks([0, 1], ["no transit", "transit"])
        ax.set(xlabel="predicted", ylabel="actual")
        ax.set_title(f"{method.name}\n{method.caption}", fontsize=10)
    fig.tight_layout()
    return fig
