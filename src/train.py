"""Stage `train`: fit the Conv1D + LSTM on the prepared training split plus fresh injections."""

from transit_classifier import stage
from transit_classifier.io import write_json
from transit_classifier.learn import model as classifier
from transit_classifier.learn import training
from transit_classifier.learn.epochs import InjectSettings
from transit_classifier.learn.train_settings import TrainSettings
from transit_classifier.params import load_params
from transit_classifier.signal.preprocess import PreprocessSettings
from transit_classifier.simulate.settings import SimulateSettings


def main() -> None:
    paths = stage.paths(__doc__, "prepared", "out", "live_dir", "metrics")
    params = load_params()
    settings = PreprocessSettings.from_params(params)  # once: training and model.json share it
    sim = SimulateSettings.from_params(params)
    inject = InjectSettings.from_params(params)
    built = (TrainSettings.from_params(params), sim, inject, settings)
    # TensorFlow is imported only inside these calls, after stage.run silenced its log lines.
    model, summary = training.train(built, paths.prepared, paths.live_dir)
    info = classifier.inference_info(params, settings, sim.window_length)
    classifier.save_classifier(model, paths.out, info)
    write_json(paths.metrics, summary)


if __name__ == "__main__":
    stage.run(main)
