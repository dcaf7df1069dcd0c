"""Stage `fetch_kepler`: real Kepler light curves (bundled copy or MAST) -> labelled windows."""

from transit_classifier import stage
from transit_classifier.io import atomic_dir, save_figure, save_npz, write_csv, write_json
from transit_classifier.learn import kepler_windows
from transit_classifier.learn.figures import kepler_examples
from transit_classifier.params import load_params
from transit_classifier.sources import mast


def main() -> None:
    paths = stage.paths(__doc__, "out", "metrics", "plot")
    params = load_params()
    kep = params["kepler"]
    stars, koi, report = mast.load_source(kep)
    settings = kepler_windows.WindowSettings.from_params(params)
    pool = kepler_windows.build_pool(stars, koi, settings, progress=True)
    metrics = kepler_windows.pool_metrics(pool, kep["source"])
    metrics["fetch_failures"] = sum(entry["status"] != "ok" for entry in report)
    figure = kepler_examples(pool, koi)
    with atomic_dir(paths.out) as tmp:
        save_npz(tmp / "windows.npz", flux=pool.flux, time=pool.time)
        write_csv(tmp / "windows.csv", pool.table)
        write_json(tmp / "fetch_report.json", {"source": kep["source"], "stars": report})
        write_csv(tmp / "koi.csv", kepler_windows.pool_koi(pool, koi))
    write_json(paths.metrics, metrics)
    save_figure(figure, paths.plot)
    print(
        f"fetch_kepler: {len(pool.table)} windows ({metrics['windows']['label_1']} transit) "
        f"from {metrics['stars']['with_windows']} stars -> {paths.out}"
    )


if __name__ == "__main__":
    stage.run(main)
