"""Fill the generated blocks of README.md and docs/*.md from metrics/, reports/ and bench/.

Every measured figure of the README and the docs sits between a ``<!-- NAME:start -->`` and a
``<!-- NAME:end -->`` marker and is written here, so none is typed by hand and none drifts from
the files that measured it (``tests/test_docs.py`` checks both).

Usage (from the repository root, after ``dvc repro``):

    python tools/update_readme.py                   # rewrite every generated block
    python tools/update_readme.py --snapshot EXP    # first copy the 1% experiment's outputs

``--snapshot EXP`` reads the outputs of ``dvc exp run -S dataset.transit_ratio=0.01`` with
``git show`` into ``reports/ratio_0.01/`` and records the commit the experiment ran from, so the
docs can quote it after the experiment ref (local to one machine) is gone.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
METRICS = ROOT / "metrics"
REPORTS = ROOT / "reports"
SNAPSHOT = REPORTS / "ratio_0.01"
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
BLOCK = re.compile(r"(<!-- ([\w-]+):start -->\n).*?(<!-- \2:end -->)", re.S)
FIXTURE = "tests/fixtures/kepler/kplr011442793-2010174085026_llc.fits"
CROSS_CPU = "tests/fixtures/cross_cpu.json"  # measured retrains on two CPUs
TOLERANCE_Z = 1.96  # two-sided 95% of a normal difference
METHODS = ("network.json", "baseline.json", "combined.json")
BINS = (
    ("7p1_to_10", "7.1–10"),
    ("10_to_15", "10–15"),
    ("15_to_20", "15–20"),
    ("20_to_30", "20–30"),
    ("ge_10", "≥ 10"),
)
FAP_TEXT = {"fap_1pct": "1%", "fap_0p1pct": "0.1%"}
PERIOD_TEXT = {
    "0p5_to_2": "0.5–2 d",
    "2_to_10": "2–10 d",
    "10_to_40": "10–40 d",
    "long": "over 40 d",
    "single": "one transit",
}
STUDIES = (  # (report, the command that rewrites it)
    ("auc_ceiling.md", "python studies/auc_ceiling.py"),
    ("white_noise_recall.md", "python studies/white_noise_recall.py 1000 100"),
    ("host_flags.md", "python studies/host_flags.py"),
    ("decision_rules.md", "python studies/decision_rules.py model"),
    ("tess_injections.md", "python studies/tess_injections.py --n-injected 180 --n-null 60"),
    ("tls_search.md", "python studies/tls_search.py --per-bin 100 --nulls 400"),
    ("learned_ses.md", "python studies/learned_ses.py"),
)


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def experiment_commit(name: str) -> str:
    """The commit of an experiment given by name (its ``refs/exps/.../NAME`` ref) or revision."""
    refs = _git("for-each-ref", "--format=%(refname)", "refs/exps").splitlines()
    named = [ref for ref in refs if ref.rsplit("/", 1)[-1] == name]
    try:
        return _git("rev-parse", "--verify", f"{named[0] if named else name}^{{commit}}")
    except subprocess.CalledProcessError:
        raise SystemExit(f"no experiment or revision {name!r}; see `dvc exp show`") from None


def snapshot(name: str) -> None:
    """Copy the experiment's outputs out of git and record the commit it was run from."""
    rev = experiment_commit(name)
    SNAPSHOT.mkdir(parents=True, exist_ok=True)
    for path in SNAPSHOT_FILES:
        blob = subprocess.run(
            ["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        (SNAPSHOT / Path(path).name).write_bytes(blob)
    base = _git("rev-parse", "--short", f"{rev}^")  # an experiment's parent: where it ran from
    (SNAPSHOT / "SOURCE").write_text(f"from commit {base}\n")


def _load(folder: Path, name: str) -> dict:
    return json.loads((folder / name).read_text())


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _dig(block: dict, path: tuple[str, ...]) -> float | None:
    for key in path:
        block = block[key]
    return block


def _cells(reports: tuple[dict, ...], path: tuple[str, ...]) -> str:
    """``network / baseline / combined`` of one nested metric."""
    return " / ".join(_fmt(_dig(report, path)) for report in reports)


def _rate(block: dict) -> str:
    """A rate with its counts and 95% Wilson interval, as the metrics files store it."""
    if not block["n"]:
        return "–"
    low, high = block["low"], block["high"]
    return f"{block['rate']:.2f} ({block['hits']}/{block['n']}, {low:.2f}–{high:.2f})"


def _detection_rows(add: Callable[[str, tuple[str, ...]], None]) -> None:
    """Injection recall by MES, KOI windows and non-KOI flag rate at both operating points."""
    for fpr, label in (("fpr_1pct", "1%"), ("fpr_0p1pct", "0.1%")):
        for source, what in (("synthetic", "synthetic"), ("real", "real-noise")):
            for key, bin_label in BINS if fpr == "fpr_1pct" else BINS[-1:]:
                add(
                    f"recall, {what} injections, MES {bin_label}, {label} FPR",
                    ("detection", fpr, f"{source}_injections", f"recall_mes_{key}"),
                )
        add(
            f"real KOI test windows flagged, expected MES ≥ 10, {label} FPR",
            ("detection", fpr, "real_koi_windows", "recall_mes_ge_10"),
        )
        add(
            f"real non-KOI test windows flagged, {label} FPR",
            ("detection", fpr, "real_non_koi_flag_rate", "rate"),
        )


def _share(block: dict) -> str:
    """``hits of n (rate; 95% interval)`` of a rate block, for prose."""
    low, high = block.get("low", block.get("rate_low")), block.get("high", block.get("rate_high"))
    hits = block.get("hits", block.get("flagged"))
    return f"{hits} of {block['n']} ({block['rate']:.1%}; 95% interval {low:.1%}–{high:.1%})"


def headline(results: dict[str, tuple[dict, ...]]) -> str:
    """Network, tuned baseline and their combination for each run, with the seed's claims."""
    seed = {"ROC-AUC, test split": "0.928", "transit F1 at the validation-chosen threshold": "0.92"}
    lines = [
        "| metric (test stars and test split) | "
        + " | ".join(f"{n}: network / baseline / combined" for n in results)
        + " | seed notebook (10%, optimistic) |",
        "|---|" + "---:|" * (len(results) + 1),
        "| test light curves (transits) | "
        + " | ".join(f"{r[0]['n']} ({r[0]['n_positive']})" for r in results.values())
        + " | 1143 (127) |",
    ]

    def add(label: str, path: tuple[str, ...]) -> None:
        cells = [_cells(reports, path) for reports in results.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {seed.get(label, '–')} |")

    add("ROC-AUC, test split", ("roc_auc",))
    add("PR-AUC, test split", ("pr_auc",))
    add("transit F1 at the validation-chosen threshold", ("report", "transit", "f1-score"))
    _detection_rows(add)
    det = next(iter(results.values()))[0]["detection"]["fpr_1pct"]
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
    network = next(iter(results.values()))[0]
    return "\n".join(lines) + "\n\n" + counts + upside_down(network) + seed_spread()


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


def _seeds() -> dict[str, dict]:
    """``reports/seeds.json`` keyed by seed ("seed 1"), without machine-local experiment refs."""
    path = REPORTS / "seeds.json"
    runs = json.loads(path.read_text()) if path.is_file() else {}
    return {name.split(" (")[0]: run for name, run in runs.items()}


def seed_spread() -> str:
    """One sentence on how much the headline moves with ``train.seed`` (reports/seeds.json)."""
    runs = _seeds().values()
    if not runs:
        return ""

    def span(key: str) -> str:
        values = [run[key] for run in runs]
        return f"{min(values):.3f}–{max(values):.3f}"

    return (
        f" Over {len(runs)} training seeds (the seed sweep, under Experiments) the network's test "
        f"ROC-AUC ranged {span('test ROC-AUC')}, real-noise recall at MES ≥ 10 "
        f"{span('real-noise recall, MES >= 10, 1% FPR')} and the real non-KOI flag rate at 1% "
        f"FPR {span('real non-KOI flag rate, 1% FPR')}: read single-run differences smaller than "
        "that as noise."
        + (
            ""
            if seeds_vintage().startswith("Seed 0 is")
            else " (That sweep predates the current model.)"
        )
    )


def seeds_table() -> str:
    """The seed sweep's metrics, one column per seed, from ``reports/seeds.json``."""
    runs = _seeds()
    keys = [k for k, v in next(iter(runs.values())).items() if isinstance(v, float | int)]
    lines = ["| metric | " + " | ".join(runs) + " | spread |", "|---|" + "---:|" * (len(runs) + 1)]
    for key in keys:
        values = [run[key] for run in runs.values()]
        cells = " | ".join(f"{v:.3f}" for v in values)
        lines.append(f"| {key} | {cells} | {max(values) - min(values):.3f} |")
    flagged = [
        f"{r['kepler90']['h_flagged']} of {r['kepler90']['h_windows']}" for r in runs.values()
    ]
    lines.append("| Kepler-90 h windows flagged (fixture Q5) | " + " | ".join(flagged) + " | |")
    return "\n".join(lines) + "\n\n" + seeds_vintage()


def seeds_vintage(rerun: str = "Rerun it (above)") -> str:
    """Whether the sweep's seed 0 is the current default run, judged by its test ROC-AUC."""
    sweep = _seeds()["seed 0"]["test ROC-AUC"]
    current = _load(METRICS, "network.json")["roc_auc"]
    if round(sweep, 3) == round(current, 3):
        return "Seed 0 is the current default run (`metrics/`)."
    return (
        f"The sweep was made with an earlier default: its seed 0 scored test ROC-AUC {sweep:.3f}, "
        f"the current default run {current:.3f}. {rerun} to measure today's spread."
    )


def cross_cpu_tolerance(runs: dict[str, dict] | None = None) -> dict[str, float]:
    """How far a retrain on another CPU may move each seed-sweep metric, from the seed spread.

    A retrain on another CPU trains other weights from the same data, and moves the metrics
    about as far as another training seed does (reports/reproducibility.md). Two runs that
    differ like two seeds differ by a draw of standard deviation sqrt(2) sigma, sigma the
    seeds' sample standard deviation; TOLERANCE_Z of those bound 95% of such differences.
    The seeds' max - min range is no bound: with three seeds it is about 1.7 sigma, and a
    measured cross-CPU move exceeded it (``cross_cpu_block`` names which).
    """
    runs = _seeds() if runs is None else runs
    keys = [k for k, v in next(iter(runs.values())).items() if isinstance(v, float | int)]
    return {
        key: TOLERANCE_Z * math.sqrt(2) * statistics.stdev(run[key] for run in runs.values())
        for key in keys
    }


def cross_cpu_moves() -> list[tuple[str, dict[str, float]]]:
    """Each measured retrain on two CPUs (``tests/fixtures/cross_cpu.json``): |move| per metric."""
    runs = json.loads((ROOT / CROSS_CPU).read_text())["runs"]
    return [
        (
            f"{run['cpus']}, {run['code']}; from {run['source']}",
            {
                key: abs(value[1] - value[0]) if isinstance(value, list) else abs(value)
                for key, value in run["metrics"].items()
            },
        )
        for run in runs
    ]


def cross_cpu_block() -> str:
    """The Reliability page's cross-CPU tolerance: the seed spread, the bound, the measurements."""
    seeds = _seeds()
    tolerance = cross_cpu_tolerance(seeds)
    moves = cross_cpu_moves()
    lines = [
        "| metric | seeds: min – max | seeds: std | tolerance | "
        + " | ".join(f"measured move {i}" for i in range(1, len(moves) + 1)) + " |",
        "|---|---:|---:|---:|" + "---:|" * len(moves),
    ]  # fmt: skip
    beyond_range = []
    for key, bound in tolerance.items():
        values = [run[key] for run in seeds.values()]
        cells = [f"{m[key]:.3f}" if key in m else "–" for _, m in moves]
        lines.append(
            f"| {key} | {min(values):.3f} – {max(values):.3f} | {statistics.stdev(values):.4f} "
            f"| {bound:.3f} | " + " | ".join(cells) + " |"
        )
        if any(m.get(key, 0) > max(values) - min(values) for _, m in moves):
            beyond_range.append(key)
    outside = [key for key, bound in tolerance.items() for _, m in moves if m.get(key, 0) > bound]
    notes = [
        f"Tolerance: {TOLERANCE_Z} × √2 × the standard deviation over the {len(seeds)} training "
        "seeds of `reports/seeds.json`, the 95% band of the difference between two runs that "
        f"differ as two seeds do. From {len(seeds)} seeds that standard deviation is itself a "
        "rough estimate: a sweep over more seeds would tighten it.",
        *(f"Measured move {i}: {name}." for i, (name, _) in enumerate(moves, 1)),
        "Measured moves outside the tolerance: "
        + ("; ".join(outside) if outside else "none") + ". Outside the seeds' max – min range: "
        + ("; ".join(beyond_range) if beyond_range else "none") + ".",
    ]  # fmt: skip
    if not all(tolerance.values()):
        notes.append(
            "A tolerance of 0.000: no seed moved that metric, so the sweep measured no spread, "
            "and any move across CPUs falls outside it."
        )
    if not seeds_vintage().startswith("Seed 0 is"):
        notes.append(seeds_vintage("Rerun it ([Experiments](experiments.md#the-seed-sweep))"))
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {note}" for note in notes)


def report_table(metrics: dict) -> str:
    """The seed notebook's per-class report table."""
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
        for point in ("fap_1pct", "fap_0p1pct"):
            far = search[method]["false_alarms"]["quiet_test_quarters"][point]
            cells = [_rate(search[method]["recall"][point][b]) for b in bins]
            lines.append(
                f"| {label} | {FAP_TEXT[point]} | " + " | ".join(cells) + f" | {_rate(far)} |"
            )
    for point in ("fap_1pct", "fap_0p1pct"):
        cells = [f"{search['ideal'][point][b]:.2f}" for b in bins]
        lines.append(
            f"| ideal searching detector, white noise | {FAP_TEXT[point]} | " + " | ".join(cells)
            + " | – |"
        )  # fmt: skip
    inverted = search["search"]["false_alarms"]["inverted_test_quarters"]
    periods = search["search"]["recall"]["fap_0p1pct"]
    by_period = ", ".join(
        f"{PERIOD_TEXT[k[7:]]} {_rate(v)}" for k, v in periods.items() if k.startswith("period_")
    )
    notes = [
        f"Inverted test quarters flagged by the search: FAP 1% {_rate(inverted['fap_1pct'])}, "
        f"0.1% {_rate(inverted['fap_0p1pct'])}.",
        f"Recall of the search by period at FAP 0.1% (MES ≥ 7.1): {by_period}.",
        "Period right among recovered injections with 3+ transits at MES ≥ 10: "
        f"{_rate(search['search']['period_right'])}.",
        "Test stars' confirmed KOIs with 3+ transits in a quarter and expected MES ≥ 10, "
        f"found with the right period at FAP 0.1%: {_rate(search['koi'])}.",
        f"Null light curves: {search['search']['n_null']}.",
    ]
    return "\n".join([*lines, "", *(f"- {n}" for n in notes)])


def _snapshot_source() -> str:
    """Where the 1% snapshot came from, if ``--snapshot`` recorded the commit."""
    source = (SNAPSHOT / "SOURCE").read_text().strip() if (SNAPSHOT / "SOURCE").is_file() else ""
    if source.startswith("from commit "):
        return f"run {source}"
    return "run from an earlier commit than the default run (the snapshot does not name it)"


def results_block() -> str:
    """The docs' Results page: both datasets, the search, the dataset tables and the plots."""
    results = {"10% transits": tuple(_load(METRICS, name) for name in METHODS)}
    if (SNAPSHOT / "network.json").is_file():
        results["1% transits"] = tuple(_load(SNAPSHOT, name) for name in METHODS)
    parts = ["### Window classification and injection-recovery", "", headline(results), ""]
    if len(results) > 1:
        parts += [
            f"The 1% columns come from `reports/ratio_0.01/`, {_snapshot_source()}; rerun it "
            "with `dvc exp run -S dataset.transit_ratio=0.01` and "
            "`python tools/update_readme.py --snapshot <experiment name>`.",
            "",
        ]
    parts += [
        "### The light-curve search (whole quarters of test stars)",
        "",
        search_section(_load(METRICS, "search.json")),
        "",
        "### The 10% dataset (default)",
        "",
        (METRICS / "dataset.md").read_text().strip(),
        "",
        report_table(results["10% transits"][0]),
        "",
        "![ROC and PR](plots/roc_pr.png)",
        "![Confusion matrices](plots/confusion_matrix.png)",
        "![Recall vs MES](plots/recall_vs_mes.png)",
    ]
    if len(results) > 1:
        parts += [
            "",
            "### The 1% dataset",
            "",
            (SNAPSHOT / "dataset.md").read_text().strip(),
            "",
            report_table(results["1% transits"][0]),
            "",
            "![ROC and PR, 1%](reports/ratio_0.01/roc_pr.png)",
            "![Recall vs MES, 1%](reports/ratio_0.01/recall_vs_mes.png)",
        ]
    return "\n".join(parts)


def readme_headline() -> str:
    """The README's short results table: the default run's test figures and the search."""
    reports = tuple(_load(METRICS, name) for name in METHODS)
    search = _load(METRICS, "search.json")["search"]
    lines = [
        "| test stars and test split (thresholds chosen on validation) | network | "
        "wotan + BLS | combined |",
        "|---|---:|---:|---:|",
    ]
    rows = (
        ("ROC-AUC", ("roc_auc",)),
        ("PR-AUC", ("pr_auc",)),
        ("recall at 1% FPR, transits injected into real stars' noise, MES ≥ 10",
         ("detection", "fpr_1pct", "real_injections", "recall_mes_ge_10")),
        ("the same, MES 7.1–10",
         ("detection", "fpr_1pct", "real_injections", "recall_mes_7p1_to_10")),
        ("real KOI windows flagged at 1% FPR, expected MES ≥ 10",
         ("detection", "fpr_1pct", "real_koi_windows", "recall_mes_ge_10")),
        ("real non-KOI windows flagged at 1% FPR",
         ("detection", "fpr_1pct", "real_non_koi_flag_rate", "rate")),
    )  # fmt: skip
    for label, path in rows:
        lines.append(f"| {label} | " + " | ".join(_fmt(_dig(r, path)) for r in reports) + " |")
    recall = search["recall"]["fap_0p1pct"]
    quiet = search["false_alarms"]["quiet_test_quarters"]["fap_0p1pct"]
    return "\n".join(lines) + (
        "\n\nThe whole-light-curve search, at a false-alarm probability of 0.1% per light curve, "
        f"found {_share(recall['mes_ge_15'])} transits injected into test stars' quarters at "
        f"MES ≥ 15 and {_share(recall['mes_10_to_15'])} at MES 10–15, and flagged "
        f"{_share(quiet)} quiet test quarters." + seed_spread()
    )


def limits_block() -> str:
    """The README's limitations, each with the figure that measures it."""
    model = _load(ROOT / "model", "model.json")["window"]
    days = model["length"] * model["cadence_minutes"] / 1440
    network = _load(METRICS, "network.json")["detection"]
    dataset = _load(METRICS, "dataset.json")
    negatives = network["fpr_1pct"]["threshold"]["n_negatives"]
    synthetic = sum(
        row["non_transit"] for row in dataset["composition"]
        if row["split"] == "val" and row["source"] == "synthetic"
    )  # fmt: skip
    search = _load(METRICS, "search.json")
    per_curve = search["window_network"]["thresholds"]["fap_1pct"]["any"]
    quiet = search["search"]["false_alarms"]["quiet_test_quarters"]
    strict = network["fpr_0p1pct"]
    return "\n".join([
        f"- **At least one window.** The network scores windows of {model['length']} cadences of "
        f"{model['cadence_minutes']:.1f} min ({days:.1f} days): a shorter light curve gets no "
        "window probability, only the search's candidates (a model without a search "
        "calibration refuses it).",
        "- **False alarms are per window, not per light curve.** A light curve of many windows "
        "has many chances: to flag only 1% of null quarters, the window network's threshold has "
        f"to rise from {network['fpr_1pct']['threshold']['value']:.3f} (1% of windows) to "
        f"{per_curve:.3f}. The whole-light-curve search is calibrated per light curve; it "
        f"flagged {_share(quiet['fap_1pct'])} quiet test quarters at FAP 1% and "
        f"{_share(quiet['fap_0p1pct'])} at FAP 0.1%.",
        f"- **Which operating point on real stars.** The thresholds come from {negatives} "
        f"validation negatives, {synthetic} of them synthetic, the rest from "
        f"{dataset['real_stars']['val']} real validation stars. At the default `fpr_1pct`, "
        f"{_share(network['fpr_1pct']['real_non_koi_flag_rate'])} real non-KOI test windows were "
        f"flagged; at `fpr_0p1pct`, {_share(strict['real_non_koi_flag_rate'])}, while recall of "
        f"transits injected into real noise at MES ≥ 10 went from "
        f"{network['fpr_1pct']['real_injections']['recall_mes_ge_10']:.3f} to "
        f"{strict['real_injections']['recall_mes_ge_10']:.3f}.",
    ])  # fmt: skip


def _bench_section(title: str) -> tuple[str, list[str]]:
    """The machine line and table rows of one section of ``bench/RESULTS.md``."""
    text = (ROOT / "bench" / "RESULTS.md").read_text()
    body = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    machine = next(line for line in body.splitlines() if line.startswith("Machine:"))
    rows = [line for line in body.splitlines() if line.startswith("| ")]
    return machine.removeprefix("Machine: ").strip(), rows


def pipeline_time() -> str:
    """How long ``make repro`` took, from the pipeline benchmark."""
    machine, rows = _bench_section("Pipeline stages (default params, `dvc repro`)")
    total = next(r for r in rows if "**total**" in r).split("|")[2].strip(" *")
    return (
        f"The whole default pipeline took {float(total) / 60:.1f} min on {machine}, no GPU "
        "(`python bench/bench_pipeline.py`, in `bench/RESULTS.md`)."
    )


def speed_block() -> str:
    """``bench/RESULTS.md`` without its title, each section one level down."""
    text = (ROOT / "bench" / "RESULTS.md").read_text().split("\n", 1)[1].strip()
    return re.sub(r"^## ", "### ", text, flags=re.M)


def studies_block() -> str:
    """Each study's report, headings moved below the page's, with the command that rewrites it."""
    parts = []
    for name, command in STUDIES:
        path = REPORTS / name
        if not path.is_file():
            continue
        title, body = path.read_text().strip().split("\n", 1)
        parts += [
            f"### {title.lstrip('# ')}",
            "",
            f"From `reports/{name}`, rewritten only by `{command}`: any figure of the model "
            "quoted inside may predate the current model, whose figures are above.",
            "",
            re.sub(r"^(#+) ", r"\1## ", body.strip(), flags=re.M),
            "",
        ]
    return "\n".join(parts).strip()


def predict_example() -> str:
    """`predict` on the Kepler-90 Q5 fixture with the committed model, as a user would run it."""
    cli = str(Path(sys.executable).with_name("transit-classifier"))
    out = subprocess.run(
        [cli, "predict", FIXTURE], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return f"```\n$ transit-classifier predict {FIXTURE}\n{out.strip()}\n```"


PRODUCERS: dict[str, Callable[[], str]] = {
    "headline": readme_headline,
    "limits": limits_block,
    "pipeline-time": pipeline_time,
    "results": results_block,
    "speed": speed_block,
    "studies": studies_block,
    "seeds": seeds_table,
    "cross-cpu": cross_cpu_block,
    "predict-example": predict_example,
}


def targets() -> list[Path]:
    """The files that may hold generated blocks."""
    return [README, *sorted(DOCS.glob("*.md"))]


def render(text: str, skip: frozenset[str] = frozenset()) -> str:
    """``text`` with every generated block it holds rewritten (blocks named in ``skip`` kept)."""

    def fill(match: re.Match) -> str:
        name = match.group(2)
        if name in skip:
            return match.group(0)
        if name not in PRODUCERS:
            raise SystemExit(f"unknown generated block {name!r}; add it to PRODUCERS")
        return f"{match.group(1)}{PRODUCERS[name]().strip()}\n{match.group(3)}"

    return BLOCK.sub(fill, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", metavar="EXP", help="experiment name or revision (1%% run)")
    args = parser.parse_args()
    if args.snapshot:
        snapshot(args.snapshot)
    for path in targets():
        text = path.read_text()
        new = render(text)
        if new != text:
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(new)
            tmp.replace(path)
            print(f"updated {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
