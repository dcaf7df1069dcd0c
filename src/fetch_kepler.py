"""Stage `fetch_kepler`: real Kepler light curves (bundled copy or MAST) -> labelled windows."""

from pathlib import Path

from transit_classifier import kepler_windows, mast, stage
from transit_classifier.figures import kepler_examples
from transit_classifier.io import atomic_dir, save_figure, save_npz, write_csv, write_json
from transit_classifier.params import load_params

OUT_DIR = Path("data/kepler")
METRICS = Path("metrics/kepler.json")
PLOT = Path("plots/kepler_examples.png")


def main() -> None:
    params = load_params()
    kep = params["kepler"]
    stars, koi, report = mast.load_source(kep)
    settings = kepler_windows.WindowSettings.from_params(params)
    pool = kepler_windows.build_pool(stars, koi, settings, progress=True)
    metrics = kepler_windows.pool_metrics(pool, kep["source"])
    metrics["fetch_failures"] = sum(entry["status"] != "ok" for entry in report)
    figure = kepler_examples(pool, koi)
    with atomic_dir(OUT_DIR) as tmp:
        save_npz(tmp / "windows.npz", flux=pool.flux, time=pool.time)
        write_csv(tmp / "windows.csv", pool.table)
        write_json(tmp / "fetch_report.json", {"source": kep["source"], "stars": report})
        write_csv(tmp / "koi.csv", kepler_windows.pool_koi(pool, koi))
    write_json(METRICS, metrics)
    save_figure(figure, PLOT)
    print(
        f"fetch_kepler: {len(pool.table)} windows ({metrics['windows']['label_1']} transit) "
        f"from {metrics['stars']['with_windows']} stars -> {OUT_DIR}"
    )


if __name__ == "__main__":
    stage.run(main)
