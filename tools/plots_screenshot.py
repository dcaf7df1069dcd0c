"""Render ``dvc plots show`` in headless Chromium with the network blocked, and screenshot it.

This is how the offline plots template (``tools/build_plots_template.py``) is
checked: a page that still needed the CDN would come out blank here. The tests in
``tests/test_plots_offline.py`` import these helpers, and running the script
refreshes the committed screenshots::

    python tools/plots_screenshot.py            # writes reports/plots_offline.png
    python tools/plots_screenshot.py --out reports/plots_colours.png --window 1000x1000 \
        roc precision_recall recall_vs_mes_synthetic recall_vs_mes_real

Needs a ``chromium`` binary (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "reports" / "plots_offline.png"
WINDOW = (1100, 850)
# Headless, no sandbox (CI runs as root), and no request can leave the machine: every
# host name fails to resolve and any proxied request goes to a closed local port.
# The background-networking switches stop Chromium's own calls, which otherwise
# hang on a closed network.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--virtual-time-budget=15000",  # let vega-embed finish before the DOM/screenshot is taken
]


def find_chromium() -> str | None:
    """Path of a Chromium-family browser on PATH, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


def _chromium(page: Path, *extra: str) -> str:
    """Run headless Chromium on ``page`` with a fresh profile; return its stdout."""
    binary = find_chromium()
    if binary is None:
        raise FileNotFoundError("no chromium on PATH (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        result = subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    return result.stdout


def dump_dom(page: Path) -> str:
    """The page's DOM after its scripts ran (vega-embed inserts a canvas per chart)."""
    return _chromium(page, "--dump-dom")


def screenshot(page: Path, png: Path, window: tuple[int, int] = WINDOW) -> None:
    """Save a screenshot of the top ``window`` of ``page`` to ``png``."""
    _chromium(page, f"--window-size={window[0]},{window[1]}", f"--screenshot={png.resolve()}")
    if not png.is_file():
        raise RuntimeError(f"chromium wrote no screenshot to {png}")


def ink_fraction(png: Path) -> float:
    """Fraction of pixels that are not near-white: 0 for a blank page.

    DVC's page is white apart from what Vega draws, so this measures how much of
    the window the charts cover.
    """
    grey = np.asarray(Image.open(png).convert("L"), dtype=np.uint8)
    return float(np.mean(grey < 230))


def plots_show(repo: Path, out: Path, *args: str) -> Path:
    """Run ``dvc plots show -o out [args]`` in ``repo``; return the page it wrote."""
    subprocess.run(
        [sys.executable, "-m", "dvc", "plots", "show", "-o", str(out), *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return out / "index.html"


def main(argv: list[str] | None = None) -> None:
    """Screenshot this repository's ``dvc plots show`` page, offline, into ``--out``.

    The screenshot is reduced to a 64-colour palette so the committed PNG stays small.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=SCREENSHOT, help="PNG to write")
    parser.add_argument(
        "--window", default="x".join(map(str, WINDOW)), help="WIDTHxHEIGHT in pixels"
    )
    parser.add_argument("targets", nargs="*", help="plot ids to show (default: all)")
    args = parser.parse_args(argv)
    width, height = (int(side) for side in args.window.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        page = plots_show(ROOT, Path(tmp) / "plots", *args.targets)
        raw = Path(tmp) / "shot.png"
        screenshot(page, raw, (width, height))
        ink = ink_fraction(raw)
        if ink < 0.02:
            raise RuntimeError(f"the page looks blank ({ink:.1%} ink): not written")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        Image.open(raw).convert("RGB").quantize(colors=64).save(args.out, optimize=True)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, {ink:.1%} ink)")


if __name__ == "__main__":
    main()
