"""Stage `synthesize`: simulated Kepler long-cadence light curves with and without transits."""

from transit_classifier import stage
from transit_classifier.io import atomic_dir, save_npz, write_csv
from transit_classifier.params import load_params
from transit_classifier.synthetic import plot_examples, synthesize_dataset, time_grid


def main() -> None:
    params = load_params()
    flux, meta = synthesize_dataset(params)
    time = time_grid(params)
    with atomic_dir("data/synthetic") as tmp:
        save_npz(tmp / "lightcurves.npz", flux=flux, time=time)
        write_csv(tmp / "metadata.csv", meta)
    plot_examples(flux, meta, time, "plots/synthetic_examples.png")
    positives = meta[meta["label"] == 1]
    print(
        f"synthesize: {len(meta)} light curves ({len(positives)} with transits), "
        f"median SNR {positives['snr'].median():.1f}, "
        f"median depth {positives['depth_ppm'].median():.0f} ppm"
    )


if __name__ == "__main__":
    stage.run(main)
