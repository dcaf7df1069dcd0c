"""How much of the real-noise injection recall is the host window alone (reports/host_flags.md)?

The evaluate stage injects transits into real non-transit windows of the test
stars and counts an injection found when its window scores above the
validation threshold. A host window that already scores above the threshold
with nothing injected counts as found whatever was injected, so a model that
flags a star's own variability inflates that recall. This script rebuilds the
evaluate stage's real-noise injections (``assessment.build_sets``), scores
every host with and without its transit, and gives the recall per MES bin over
all injections and over those whose host was not flagged on its own.

    python studies/host_flags.py            # uses model/ and data/prepared/ of the workspace
    python studies/host_flags.py previous/  # another model artifact (prints, writes nothing)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from transit_classifier import stage

stage.quiet_tensorflow()

from transit_classifier.io import write_text  # noqa: E402
from transit_classifier.judge.assessment import build_sets  # noqa: E402
from transit_classifier.learn.model import load_classifier, predict_proba  # noqa: E402
from transit_classifier.params import load_params  # noqa: E402
from transit_classifier.serve.artifact import load_threshold  # noqa: E402
from transit_classifier.signal.preprocess import PreprocessSettings, preprocess  # noqa: E402

OUT = Path("reports/host_flags.md")
PREPARED = Path("data/prepared")  # the prepare stage's output, as dvc.yaml names it
BINS = ((7.1, 10.0), (10.0, 15.0), (15.0, 20.0), (20.0, 30.0), (10.0, np.inf))


def main(model_dir: str = "model") -> None:
    params = load_params()
    model, info = load_classifier(model_dir)
    _, threshold = load_threshold(Path(model_dir), info, "fpr_1pct")
    settings = PreprocessSettings.from_model(info["preprocess"])
    sets = build_sets(params, settings, PREPARED)
    table = sets.injected["real"]
    host_flag = predict_proba(model, preprocess(sets.hosts["real"], settings)) >= threshold
    found = predict_proba(model, preprocess(sets.flux["real_injected"], settings)) >= threshold
    alone = host_flag[table["host"].to_numpy()]  # per injection: its host flagged on its own
    clean, kepid, mes = ~alone, table["kepid"].to_numpy(), table["mes"].to_numpy()
    lines = [
        "# Real-noise injection recall and hosts flagged on their own",
        "",
        f"Written by `python studies/host_flags.py` from `{model_dir}/` (1% FPR threshold "
        f"{threshold:.4f}, chosen on validation) and the evaluate stage's real-noise injections.",
        "",
        f"Host windows flagged with nothing injected: **{host_flag.sum()} of {host_flag.size}**.",
        "",
        "| star (kepid) | injections | host flagged alone | recall, MES 7.1–10 (n) "
        "| recall, MES 10–15 (n) | recall, MES ≥ 10 (n) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for star in np.unique(kepid):
        mine = kepid == star
        cells = [str(star), str(mine.sum()), str(alone[mine].sum())]
        for lo, hi in (BINS[0], BINS[1], BINS[-1]):
            b = mine & (mes >= lo) & (mes < hi)
            cells.append(f"{found[b].mean():.2f} ({b.sum()})" if b.any() else "– (0)")
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "| MES bin | recall, all | n | recall, host not flagged alone | n |",
        "|---|---:|---:|---:|---:|",
    ]
    for lo, hi in BINS:
        b = (mes >= lo) & (mes < hi)
        c = b & clean
        name = f"{lo:g}–{hi:g}" if np.isfinite(hi) else f"≥ {lo:g}"
        lines.append(
            f"| {name} | {found[b].mean():.3f} | {b.sum()} | {found[c].mean():.3f} | {c.sum()} |"
        )
    if model_dir == "model":
        write_text(OUT, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(*sys.argv[1:2])
