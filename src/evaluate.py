"""Stage `evaluate`: the network and the tuned classical baseline, scored identically.

Thresholds and the baseline's settings are chosen on validation data only; the
test split, the test stars' real windows and the injections into them are
scored once (:mod:`transit_classifier.judge.evaluate_run`).
"""

import json

from transit_classifier import stage
from transit_classifier.judge import evaluate_run, search_report
from transit_classifier.params import load_params
from transit_classifier.serve import artifact


def main() -> None:
    paths = stage.paths(
        __doc__, "prepared", "checkpoint", "release", "metrics_dir", "plots_dir",
        "search_calibration", "search_metrics", "head",
    )  # fmt: skip
    params = load_params()
    search = search_report.headline(json.loads(paths.search_metrics.read_text()))
    run = evaluate_run.evaluate(params, paths.checkpoint, paths.prepared)
    evaluate_run.write_outputs(params, run, paths.metrics_dir, paths.plots_dir, search)
    points = evaluate_run.operating_points(run.reports, params["evaluate"]["threshold"])
    artifact.complete(
        paths.checkpoint, paths.release, points, params["evaluate"]["release_point"],
        paths.search_calibration, paths.head,
    )  # fmt: skip
    print("timing (s): " + ", ".join(f"{k} {v:.1f}" for k, v in run.timings.items()))


if __name__ == "__main__":
    stage.run(main)
