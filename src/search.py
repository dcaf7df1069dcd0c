"""Stage `search`: calibrate the light-curve search on real nulls and judge it on test stars.

The false-alarm null comes from training and validation stars only; test stars are searched
once (:mod:`transit_classifier.judge.search_eval`). The calibration the release ships
(settings, null scores, thresholds) goes to ``--calibration``; the evaluate stage copies it
into ``model/``.
"""

from transit_classifier import stage
from transit_classifier.io import write_json
from transit_classifier.judge.search_eval import evaluate_search
from transit_classifier.params import load_params


def main() -> None:
    paths = stage.paths(__doc__, "prepared", "checkpoint", "head", "calibration", "metrics")
    params = load_params()
    results, calibration = evaluate_search(params, paths.prepared, paths.checkpoint, paths.head)
    write_json(paths.calibration, calibration)
    write_json(paths.metrics, results)
    search = results["search"]
    print(f"search: {search['n_null']} null light curves, thresholds {search['thresholds']}")


if __name__ == "__main__":
    stage.run(main)
