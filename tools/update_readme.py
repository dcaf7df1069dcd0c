"""Regenerate the README's results section from the metrics files, so it never drifts.

Usage (from the repository root, after `dvc repro` and `dvc exp run -S dataset.transit_ratio=0.01`):

    python tools/update_readme.py --snapshot EXP   # copy the 1% experiment's metrics and plots
    python tools/update_readme.py                  # rewrite the README section only

``--snapshot EXP`` reads the experiment's committed outputs with ``git show`` into
``reports/ratio_0.01/`` and records the real ``dvc metrics diff`` between the
workspace (10%) and the experiment.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SNAPSHOT = ROOT / "reports" / "ratio_0.01"
SNAPSHOT_FILES = [
    "metrics/evaluate.json",
    "metrics/network.json",
    "metrics/baseline.json",
    "metrics/combined.json",
    "metrics/dataset.json",
    "metrics/dataset.md",
    "metrics/train.json",
    "plots/roc_pr.png",
    "plots/confusion_matrix.png",
    "plots/recall_vs_mes.png",
]
SEED = {"roc_auc": 0.928, "precision": 0.99, "recall": 0.86, "f1": 0.92, "threshold": 0.653}
START, END = "<!-- results:start -->", "<!-- results:end -->"
EXAMPLE_START, EXAMPLE_END = "<!-- predict-example:start -->", "<!-- predict-example:end -->"
FIXTURE = "tests/fixtures/kepler/kplr011442793-2010174085026_llc.fits"
BINS = (
    ("7p1_to_10", "7.1–10"),
    ("10_to_15", "10–15"),
    ("15_to_20", "15–20"),
    ("20_to_30", "20–30"),
    ("ge_10", "≥ 10"),
)


def snapshot(rev: str) -> None:
    """Copy the experiment's outputs out of git and record `dvc metrics diff` against it."""
    SNAPSHOT.mkdir(parents=True, exist_ok=True)
    for name in SNAPSHOT_FILES:
        blob = subprocess.run(
            ["git", "show", f"{rev}:{name}"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        (SNAPSHOT / Path(name).name).write_bytes(blob)
    dvc = str(Path(sys.executable).with_name("dvc"))
    diff = subprocess.run(
        [dvc, "metrics", "diff", "--md", "HEAD", rev, "--precision", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (SNAPSHOT / "metrics_diff.md").write_text(diff.strip() + "\n")
    base = subprocess.run(  # the commit the experiments were run from (their parent)
        ["git", "rev-parse", f"{rev}^"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    shown = subprocess.run(
        [
            dvc,
            "exp",
            "show",
            "--no-pager",
            "--md",
            "--rev",
            base,
            "--only-changed",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (SNAPSHOT / "exp_show.md").write_text(shown.strip() + "\n")
    (SNAPSHOT / "SOURCE").write_text(f"experiment {rev}\n")


def _load(folder: Path, name: str) -> dict:
    return json.loads((folder / name).read_text())


def _ci(block: dict, key: str) -> str:
    low, high = block["bootstrap"][key]["low"], block["bootstrap"][key]["high"]
    return f"({low:.2f}–{high:.2f})"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _cells(reports: tuple[dict, ...], path: tuple[str, ...]) -> str:
    """``network / baseline / combined`` of one nested metric."""

    def get(block: dict) -> float | None:
        for key in path:
            block = block[key]
        return block

    return " / ".join(_fmt(get(report)) for report in reports)


def headline(results: dict[str, tuple[dict, ...]]) -> str:
    """Network, tuned baseline and their combination for each experiment, with the seed's claims."""
    names = list(results)
    lines = [
        "| metric (test stars and test split) | "
        + " | ".join(f"{n}: network / baseline / combined" for n in names)
        + " | seed notebook (10%, optimistic) |",
        "|---|" + "---:|" * (len(names) + 1),
    ]

    def row(label: str, path: tuple[str, ...], seed: str = "–") -> None:
        cells = [_cells(reports, path) for reports in results.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {seed} |")

    first = next(iter(results.values()))[0]
    lines.append(
        "| test light curves (transits) | "
        + " | ".join(f"{r[0]['n']} ({r[0]['n_positive']})" for r in results.values())
        + " | 1143 (127) |"
    )
    row("ROC-AUC, test split", ("roc_auc",), "0.928")
    row("PR-AUC, test split", ("pr_auc",))
    row("transit F1 at the validation-chosen threshold", ("report", "transit", "f1-score"), "0.92")
    for fpr, label in (("fpr_1pct", "1%"), ("fpr_0p1pct", "0.1%")):
        for source, what in (("synthetic", "synthetic"), ("real", "real-noise")):
            for key, bin_label in BINS if fpr == "fpr_1pct" else BINS[-1:]:
                row(
                    f"recall, {what} injections, MES {bin_label}, {label} FPR",
                    ("detection", fpr, f"{source}_injections", f"recall_mes_{key}"),
                )
        row(
            f"real KOI test windows flagged, expected MES ≥ 10, {label} FPR",
            ("detection", fpr, "real_koi_windows", "recall_mes_ge_10"),
        )
        row(
            f"real non-KOI test windows flagged, {label} FPR",
            ("detection", fpr, "real_non_koi_flag_rate", "rate"),
        )
    det = first["detection"]["fpr_1pct"]
    counts = (
        f"Counts at 1% FPR: {det['synthetic_injections']['n']} synthetic and "
        f"{det['real_injections']['n']} real-noise injections "
        f"({det['synthetic_injections']['n_mes_ge_10']} and "
        f"{det['real_injections']['n_mes_ge_10']} at MES ≥ 10), "
        f"{det['real_koi_windows']['n']} KOI windows of {det['real_koi_windows']['stars']} "
        f"test stars ({det['real_koi_windows']['n_mes_ge_10']} at expected MES ≥ 10), "
        f"{det['real_non_koi_flag_rate']['n']} non-KOI windows; thresholds set on "
        f"{det['threshold']['n_negatives']} validation negatives."
    )
    return "\n".join(lines) + "\n\n" + counts + upside_down(first) + seed_spread()


def upside_down(network: dict) -> str:
    """One sentence on the inverted-flux check behind predict's "variability likely" warning."""
    check = network.get("upside_down", {}).get("fpr_1pct")
    if not check:
        return ""
    koi, non_koi = check["transit"], check["non_koi"]
    return (
        f" Turned upside down (Kepler's inverted-light-curve check, `inverted` in predict's "
        f"output), {non_koi['also_upside_down']} of the network's {non_koi['flagged']} flagged "
        f"non-KOI windows still score above the 1% threshold, against "
        f"{koi['also_upside_down']} of its {koi['flagged']} flagged KOI transit windows."
    )


def seed_spread() -> str:
    """One sentence on how much the headline moves with ``train.seed`` (reports/seeds.json)."""
    path = ROOT / "reports" / "seeds.json"
    if not path.is_file():
        return ""
    runs = json.loads(path.read_text()).values()

    def span(key: str) -> str:
        values = [run[key] for run in runs]
        return f"{min(values):.3f}–{max(values):.3f}"

    return (
        f" Over {len(runs)} training seeds (`reports/seeds.md`) the network's test ROC-AUC "
        f"ranged {span('test ROC-AUC')}, real-noise recall at MES ≥ 10 "
        f"{span('real-noise recall, MES >= 10, 1% FPR')} and the real non-KOI flag rate at 1% "
        f"FPR {span('real non-KOI flag rate, 1% FPR')}: read single-run differences smaller than "
        "that as noise."
    )


def report_table(metrics: dict) -> str:
    """The seed's per-class report table."""
    rep = metrics["report"]
    lines = ["| class | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for key, label in (
        ("no_transit", "No transit"),
        ("transit", "Transit"),
        ("macro avg", "Macro avg"),
        ("weighted avg", "Weighted avg"),
    ):
        r = rep[key]
        lines.append(
            f"| {label} | {r['precision']:.3f} | {r['recall']:.3f} | "
            f"{r['f1-score']:.3f} | {int(r['support'])} |"
        )
    lines.append(f"| Accuracy | | | {rep['accuracy']:.3f} | {metrics['n']} |")
    return "\n".join(lines)


def _rate(block: dict) -> str:
    if not block["n"]:
        return "–"
    interval = f"{block['low']:.2f}–{block['high']:.2f}"
    return f"{block['rate']:.2f} ({block['hits']}/{block['n']}, {interval})"


FAP_TEXT = {"fap_1pct": "1%", "fap_0p1pct": "0.1%"}
PERIOD_TEXT = {
    "0p5_to_2": "0.5–2 d",
    "2_to_10": "2–10 d",
    "10_to_40": "10–40 d",
    "long": "over 40 d",
    "single": "one transit",
}


def search_section(search: dict) -> str:
    """The light-curve search against the window network, wotan + BLS and the ideal detector,
    at per-light-curve FAP 1% and 0.1%, from ``metrics/search.json``."""
    bins = ("mes_7p1_to_10", "mes_10_to_15", "mes_ge_15")
    names = {"search": "search (this project)", "window_network": "window network (max window)",
             "baseline": "wotan + BLS, whole light curve (subset)"}  # fmt: skip
    lines = [
        "| method | FAP | MES 7.1–10 | MES 10–15 | MES ≥ 15 | quiet test quarters flagged |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for method, label in names.items():
        block = search[method]
        for point in ("fap_1pct", "fap_0p1pct"):
            far = block["false_alarms"]["quiet_test_quarters"][point]
            cells = [_rate(block["recall"][point][b]) for b in bins]
            lines.append(
                f"| {label} | {FAP_TEXT[point]} | " + " | ".join(cells) + f" | {_rate(far)} |"
            )
    for point in ("fap_1pct", "fap_0p1pct"):
        ideal = search["ideal"][point]
        cells = [f"{ideal[b]:.2f}" for b in bins]
        lines.append(
            f"| ideal searching detector, white noise | {point[4:]} | "
            + " | ".join(cells)
            + " | – |"
        )
    koi, right = search["koi"], search["search"]["period_right"]
    inverted = search["search"]["false_alarms"]["inverted_test_quarters"]
    periods = search["search"]["recall"]["fap_0p1pct"]
    by_period = ", ".join(
        f"{PERIOD_TEXT[k[7:]]} {_rate(v)}" for k, v in periods.items() if k.startswith("period_")
    )
    intro = (
        "Generated from `metrics/search.json` (the `search` stage). Every method's "
        "per-light-curve threshold comes from the same null light curves of training and "
        "validation stars (inverted, scrambled, KOI hosts with their transits masked); recall "
        "is the share of batman transits injected into test stars' non-KOI quarters found with "
        "the right period (0.1%) and epoch (half a duration), with counts and 95% Wilson "
        "intervals; MES is the whole light curve's."
    )
    notes = [
        f"Inverted test quarters flagged by the search: FAP 1% {_rate(inverted['fap_1pct'])}, "
        f"0.1% {_rate(inverted['fap_0p1pct'])}.",
        f"Recall of the search by period at FAP 0.1% (MES ≥ 7.1): {by_period}.",
        f"Period right among recovered injections with 3+ transits at MES ≥ 10: {_rate(right)}.",
        "Test stars' confirmed KOIs with 3+ transits in a quarter and expected MES ≥ 10, "
        f"found with the right period at FAP 0.1%: {_rate(koi)}.",
        f"Null light curves: {search['search']['n_null']}.",
    ]
    title = "### The light-curve search (whole quarters of test stars)"
    return "\n".join([title, "", intro, "", *lines, "", *(f"- {n}" for n in notes)])


def section() -> str:
    ten = ROOT / "metrics"
    methods = ("network.json", "baseline.json", "combined.json")
    results = {"10% transits": tuple(_load(ten, name) for name in methods)}
    have_one = (SNAPSHOT / "network.json").is_file()
    if have_one:
        results["1% transits"] = tuple(_load(SNAPSHOT, name) for name in methods)
    parts = [
        "## Results",
        "",
        "Generated by `python tools/update_readme.py` from `metrics/` (default 10% run) and "
        "`reports/ratio_0.01/` (the `dvc exp run -S dataset.transit_ratio=0.01` experiment). "
        "Thresholds, early stopping and the baseline's settings use validation data only; the "
        "test split and test stars are scored once. Each cell is network / tuned wotan + BLS "
        "baseline / the two combined (a light curve flagged when either score is rarer among "
        "validation negatives than the combination's own validated threshold allows). "
        "MES is the MES-like SNR (depth over the light curve's own noise at the "
        "transit duration, times the square root of the number of transits). Per-bin Wilson "
        "intervals are in `plots/recall_vs_mes_*.csv`, bootstrap intervals of the test-split "
        "AUCs in `metrics/network.json` and `metrics/baseline.json`; the paired counts "
        "(transits found by one method only) in `metrics/head_to_head.json`.",
        "",
        headline(results),
        "",
        search_section(json.loads((ten / "search.json").read_text())),
        "",
        "### 10% dataset (default)",
        "",
        (ten / "dataset.md").read_text().strip(),
        "",
        report_table(results["10% transits"][0]),
        "",
        "![ROC and PR](plots/roc_pr.png)",
        "![Confusion matrices](plots/confusion_matrix.png)",
        "![Recall vs MES](plots/recall_vs_mes.png)",
    ]
    if have_one:
        parts += [
            "",
            "### 1% dataset",
            "",
            (SNAPSHOT / "dataset.md").read_text().strip(),
            "",
            report_table(results["1% transits"][0]),
            "",
            "![ROC and PR, 1%](reports/ratio_0.01/roc_pr.png)",
            "![Confusion matrices, 1%](reports/ratio_0.01/confusion_matrix.png)",
            "![Recall vs MES, 1%](reports/ratio_0.01/recall_vs_mes.png)",
            "",
            "### `dvc exp show`",
            "",
            "```bash",
            "dvc exp show --only-changed --md",
            "```",
            "",
            (SNAPSHOT / "exp_show.md").read_text().strip(),
            "",
            "### `dvc metrics diff` (10% workspace → 1% experiment)",
            "",
            (SNAPSHOT / "metrics_diff.md").read_text().strip(),
        ]
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", metavar="EXP", help="experiment name or revision (1%% run)")
    args = parser.parse_args()
    if args.snapshot:
        snapshot(args.snapshot)
    text = README.read_text()
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    text = pattern.sub(lambda _: f"{START}\n{section()}\n{END}", text)
    pattern = re.compile(re.escape(EXAMPLE_START) + ".*?" + re.escape(EXAMPLE_END), re.S)
    README.write_text(
        pattern.sub(lambda _: f"{EXAMPLE_START}\n{predict_example()}\n{EXAMPLE_END}", text)
    )


def predict_example() -> str:
    """`predict` on the Kepler-90 Q5 fixture with the committed model, as a user would run it."""
    cli = str(Path(sys.executable).with_name("transit-classifier"))
    out = subprocess.run(
        [cli, "predict", FIXTURE], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return (
        "Example, a real Kepler-90 quarter shipped as a test fixture (Kepler-90 h transits at "
        "BKJD 472.1; Kepler-90 is a test star, never trained on):\n\n"
        f"```\n$ transit-classifier predict {FIXTURE}\n{out.strip()}\n```"
    )


if __name__ == "__main__":
    main()
