"""Stage `prepare`: compose the 1% / 10% dataset, split it by star, augment and balance train."""

import pandas as pd

from transit_classifier import stage
from transit_classifier.io import atomic_dir, load_npz, save_npz, write_json, write_text
from transit_classifier.learn import dataset
from transit_classifier.params import load_params


def main() -> None:
    paths = stage.paths(__doc__, "synthetic", "kepler", "out", "metrics_dir")
    params = load_params()
    windows = load_npz(paths.kepler / "windows.npz")
    arrays, report, table = dataset.build(
        load_npz(paths.synthetic / "lightcurves.npz")["flux"],
        pd.read_csv(paths.synthetic / "metadata.csv"),
        windows["flux"],
        windows["time"],
        pd.read_csv(paths.kepler / "windows.csv"),
        pd.read_csv(paths.kepler / "koi.csv"),
        params,
    )
    with atomic_dir(paths.out) as out:
        for name, split_arrays in arrays.items():
            save_npz(out / f"{name}.npz", **split_arrays)
    markdown = dataset.composition_markdown(table)
    write_json(paths.metrics_dir / "dataset.json", report)
    write_text(paths.metrics_dir / "dataset.md", markdown)
    print(markdown)
    print("training set:", report["train_after_augmentation_and_balancing"])


if __name__ == "__main__":
    stage.run(main)
