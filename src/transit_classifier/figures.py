"""Figures of the evaluate stage: matplotlib ``Figure`` objects, no pyplot state, no saving.

Plotting lives apart from the logic that computes what is drawn
(:mod:`transit_classifier.recovery`); callers save with :func:`io.save_figure`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .recovery import KEPLER_MES

TITLES = {"synthetic": "synthetic stars", "real": "real Kepler noise (test stars)"}
STYLES = {"fpr_1pct": "-", "fpr_0p1pct": "--"}


def recall_vs_mes(curves: Sequence[pd.DataFrame], names: dict[str, str]) -> Any:
    """Recall per MES bin, one panel per injection source, every method at each FPR.

    Wilson 95% bars on the measured recall; grey lines are the ideal
    known-ephemeris matched filter at the same false-alarm rates, the ceiling.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6 * len(curves), 4.6), layout="constrained")
    axes = fig.subplots(1, len(curves), squeeze=False)[0]
    for ax, table in zip(axes, curves, strict=True):
        centre = np.sqrt(table["mes_bin_low"] * table["mes_bin_high"]).to_numpy()
        for fpr, style in STYLES.items():
            ax.plot(
                centre,
                table[f"ceiling_{fpr}"],
                style,
                color="0.6",
                lw=1.5,
                label=f"ideal matched filter, {fpr[4:].replace('p', '.')}",
            )
            for i, (method, name) in enumerate(names.items()):
                column = f"recall_{method}_{fpr}"
                recall = table[column].to_numpy()
                err = np.vstack([recall - table[f"{column}_low"], table[f"{column}_high"] - recall])
                ax.errorbar(
                    centre,
                    recall,
                    yerr=err,
                    fmt="o" + style,
                    color=f"C{i}",
                    capsize=3,
                    ms=4,
                    label=f"{name}, FPR {fpr[4:].replace('p', '.')}",
                )
        ax.axvline(
            KEPLER_MES, ls=":", color="k", lw=1, label=f"Kepler threshold (MES {KEPLER_MES})"
        )
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
    axes[0].legend(loc="lower right", fontsize=7)
    return fig
