"""Stage `train`: fit the Conv1D + LSTM classifier on the prepared train split, stop on val."""

import time

from transit_classifier import stage
from transit_classifier.io import write_json
from transit_classifier.params import load_params
from transit_classifier.seeding import make_rng

TRAIN = "data/prepared/train.npz"
VAL = "data/prepared/val.npz"
MODEL_DIR = "models"
METRICS = "metrics/train.json"
LIVE_DIR = "metrics/train_live"


def main() -> None:
    params = load_params()
    train_params = params["train"]
    # TensorFlow is imported only now, after stage.run silenced its log lines.
    from transit_classifier import model as classifier
    from transit_classifier import training

    seed = int(make_rng(params["seed"], "train").integers(2**31))
    training.configure_determinism(seed, train_params["threads"])
    train = training.load_split(TRAIN, params["dataset"]["window_length"])
    val = training.load_split(VAL, params["dataset"]["window_length"])
    length = train[0].shape[1]
    model = classifier.build_model(length, train_params)
    print(
        f"train: {train_params['architecture']} model, {model.count_params():,} parameters; "
        f"{len(train[1])} training ({int(train[1].sum())} transits), "
        f"{len(val[1])} validation ({int(val[1].sum())} transits) windows"
    )
    start = time.perf_counter()
    history, best_epoch = training.fit(
        model, train, val, train_params, live=training.make_live(LIVE_DIR)
    )
    elapsed = time.perf_counter() - start
    epochs = len(history["loss"])
    print(
        f"train: {epochs} epochs in {elapsed:.0f} s ({elapsed / epochs:.1f} s/epoch), "
        f"best epoch {best_epoch + 1}"
    )
    classifier.save_classifier(model, MODEL_DIR, classifier.inference_info(params, length))
    write_json(
        METRICS,
        training.summarise(history, best_epoch, model, train_params, len(train[1]), len(val[1])),
    )


if __name__ == "__main__":
    stage.run(main)
