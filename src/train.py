"""Stage `train`: fit the Conv1D + LSTM on the prepared training split plus fresh injections."""

from transit_classifier import model as classifier
from transit_classifier import stage, training
from transit_classifier.io import write_json
from transit_classifier.params import load_params

PREPARED = "data/prepared"
MODEL_DIR = "models"
METRICS = "metrics/train.json"
LIVE_DIR = "metrics/train_live"
VALIDATION_INJECTIONS = 1000


def main() -> None:
    params = load_params()
    # TensorFlow is imported only inside these calls, after stage.run silenced its log lines.
    model, summary = training.train(params, PREPARED, LIVE_DIR, VALIDATION_INJECTIONS)
    length = params["dataset"]["window_length"]
    classifier.save_classifier(model, MODEL_DIR, classifier.inference_info(params, length))
    write_json(METRICS, summary)


if __name__ == "__main__":
    stage.run(main)
