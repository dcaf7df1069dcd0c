"""Stage `train_head`: the per-cadence head (a learned single-event statistic) on the frozen
trunk of the trained window network, for the search to fold."""

from transit_classifier import stage
from transit_classifier.learn import cadence_head
from transit_classifier.learn.epochs import InjectSettings
from transit_classifier.params import load_params
from transit_classifier.simulate.settings import SimulateSettings


def main() -> None:
    paths = stage.paths(__doc__, "prepared", "checkpoint", "out")
    params = load_params()
    built = (
        cadence_head.HeadSettings.from_params(params),
        SimulateSettings.from_params(params),
        InjectSettings.from_params(params),
    )
    # TensorFlow is imported only inside these calls, after stage.run silenced its log lines.
    head, window_info = cadence_head.train(built, paths.prepared, paths.checkpoint)
    cadence_head.save_head(head, paths.out, window_info)


if __name__ == "__main__":
    stage.run(main)
