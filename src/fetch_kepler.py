"""Stage `fetch_kepler`: real Kepler light curves (bundled copy or MAST) -> labelled windows."""

from pathlib import Path

from transit_classifier import kepler, kepler_windows, mast, stage
from transit_classifier.bundle import load_bundle
from transit_classifier.figures import kepler_examples
from transit_classifier.io import atomic_dir, save_figure, save_npz, write_csv, write_json
from transit_classifier.params import load_params

OUT_DIR = Path("data/kepler")
METRICS = Path("metrics/kepler.json")
PLOT = Path("plots/kepler_examples.png")


def load_source(kep: dict) -> tuple[dict, object, list]:
    """Per-star arrays, KOI table and fetch report from the configured source."""
    if kep["source"] == "bundled":
        bundle = load_bundle(kep["bundle_dir"])
        report = [kepler.star_entry(star) for _, star in sorted(bundle.stars.items())]
        return bundle.stars, bundle.koi, report
    targets = mast.resolve_targets(kep)
    koi = mast.koi_for_targets(kep, targets)
    retry = mast.Retry(kep["download_retries"], kep["backoff_seconds"])
    fetched = mast.fetch_targets(targets, kep["cache_dir"], retry)
    return fetched.stars, koi, fetched.report


def main() -> None:
    params = load_params()
    kep = params["kepler"]
    stars, koi, report = load_source(kep)
    settings = kepler_windows.WindowSettings.from_params(params)
    pool = kepler_windows.build_pool(stars, koi, settings, progress=True)
    metrics = kepler_windows.pool_metrics(pool, kep["source"])
    metrics["fetch_failures"] = sum(entry["status"] != "ok" for entry in report)
    figure = kepler_examples(pool, koi)
    with atomic_dir(OUT_DIR) as tmp:
        save_npz(tmp / "windows.npz", flux=pool.flux, time=pool.time)
        write_csv(tmp / "windows.csv", pool.table)
        write_json(tmp / "fetch_report.json", {"source": kep["source"], "stars": report})
        # The KOI rows of the pooled stars: evaluate derives each real window's expected MES.
        used = koi.loc[koi["kepid"].isin(pool.table["kepid"].unique())]
        write_csv(tmp / "koi.csv", used.sort_values(["kepid", "kepoi_name"]))
    write_json(METRICS, metrics)
    save_figure(figure, PLOT)
    print(
        f"fetch_kepler: {len(pool.table)} windows ({metrics['windows']['label_1']} transit) "
        f"from {metrics['stars']['with_windows']} stars -> {OUT_DIR}"
    )


if __name__ == "__main__":
    stage.run(main)
