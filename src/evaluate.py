"""Stage `evaluate`: the network and the tuned classical baseline, scored identically.

Thresholds and the baseline's settings are chosen on validation data only; the
test split, the test stars' real windows and the injections into them are
scored once (:mod:`transit_classifier.evaluate_run`).
"""

from transit_classifier import artifact, evaluate_run, stage
from transit_classifier.params import load_params

MODEL_DIR = "models"
ARTIFACT_DIR = "model"


def main() -> None:
    params = load_params()
    run = evaluate_run.evaluate(params, MODEL_DIR)
    evaluate_run.write_outputs(params, run)
    points = evaluate_run.operating_points(run.reports)
    artifact.complete(MODEL_DIR, ARTIFACT_DIR, points, artifact.DEFAULT_POINT)
    print("timing (s): " + ", ".join(f"{k} {v:.1f}" for k, v in run.timings.items()))


if __name__ == "__main__":
    stage.run(main)
