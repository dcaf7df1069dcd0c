"""Stage `train`: fit the Conv1D + LSTM on the prepared training split plus fresh injections."""

import os
import time

from transit_classifier import stage
from transit_classifier.io import load_npz, write_json
from transit_classifier.params import load_params
from transit_classifier.seeding import make_rng

PREPARED = "data/prepared"
MODEL_DIR = "models"
METRICS = "metrics/train.json"
LIVE_DIR = "metrics/train_live"
VALIDATION_INJECTIONS = 1000


def main() -> None:
    params = load_params()
    train_params = params["train"]
    # TensorFlow is imported only now, after stage.run silenced its log lines.
    from transit_classifier import epochs, injection, training
    from transit_classifier import model as classifier
    from transit_classifier.preprocess import channel_names, settings_from_params

    seed = int(make_rng(params["seed"], "train", train_params["seed"]).integers(2**31))
    training.configure_determinism(seed, train_params["threads"])
    length = params["dataset"]["window_length"]
    settings = settings_from_params(params)
    channels = len(channel_names(settings))
    base = training.load_split(f"{PREPARED}/train.npz", length, channels)
    hosts_npz = load_npz(f"{PREPARED}/hosts_train.npz")
    hosts = epochs.Hosts.from_flux(hosts_npz["flux"], hosts_npz["source"] == "real", settings)
    bank = injection.make_bank(
        params,
        params["inject"]["bank_size"],
        make_rng(params["seed"], "inject", "bank"),
        params["inject"]["period_days"],
    )
    data = epochs.injection_dataset(base, hosts, bank, params, train_params["batch_size"])
    val = epochs.validation_set(
        load_npz(f"{PREPARED}/val.npz"),
        load_npz(f"{PREPARED}/real_val.npz"),
        params,
        VALIDATION_INJECTIONS,
    )
    model = classifier.build_model(length, train_params, channels)
    print(
        f"train: {train_params['architecture']} model, {model.count_params():,} parameters; "
        f"{len(data.y)} windows per epoch ({int(data.y.sum())} transits, "
        f"{params['inject']['per_epoch']} freshly injected), {len(hosts.X)} injection hosts; "
        f"{len(val[1])} validation windows ({int(val[1].sum())} transits)"
    )
    start = time.perf_counter()
    history, best_epoch = training.fit(
        model, data, val, train_params, live=training.make_live(LIVE_DIR)
    )
    elapsed = time.perf_counter() - start
    epochs_run = len(history["loss"])
    print(
        f"train: {epochs_run} epochs in {elapsed:.0f} s ({elapsed / epochs_run:.1f} s/epoch), "
        f"best epoch {best_epoch + 1}"
    )
    classifier.save_classifier(model, MODEL_DIR, classifier.inference_info(params, length))
    summary = training.summarise(
        history, best_epoch, model, train_params, len(data.y), len(val[1])
    )
    summary["injected_transits_seen"] = params["inject"]["per_epoch"] * epochs_run
    summary["onednn_max_cpu_isa"] = os.environ.get("ONEDNN_MAX_CPU_ISA", "")  # see stage.py
    write_json(METRICS, summary)


if __name__ == "__main__":
    stage.run(main)
