"""Stage `synthesize`: simulated Kepler long-cadence light curves with and without transits."""

from transit_classifier import stage
from transit_classifier.io import atomic_dir, save_figure, save_npz, write_csv
from transit_classifier.params import load_params
from transit_classifier.simulate.figures import synthetic_examples
from transit_classifier.simulate.settings import SimulateSettings
from transit_classifier.simulate.synthetic import synthesize_dataset


def main() -> None:
    paths = stage.paths(__doc__, "out", "plot")
    sim = SimulateSettings.from_params(load_params())
    flux, meta = synthesize_dataset(sim)
    time = sim.time()
    with atomic_dir(paths.out) as tmp:
        save_npz(tmp / "lightcurves.npz", flux=flux, time=time)
        write_csv(tmp / "metadata.csv", meta)
    save_figure(synthetic_examples(flux, meta, time), paths.plot)
    positives = meta[meta["label"] == 1]
    print(
        f"synthesize: {len(meta)} light curves ({len(positives)} with transits), "
        f"median SNR {positives['snr'].median():.1f}, "
        f"median depth {positives['depth_ppm'].median():.0f} ppm"
    )


if __name__ == "__main__":
    stage.run(main)
