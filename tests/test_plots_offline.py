"""Plots that render offline: the inlined-Vega HTML template, checked in headless Chromium.

DVC's default plots page loads Vega from a CDN and is blank without network. The
template built by ``tools/build_plots_template.py`` inlines the scripts; these
tests check it holds exactly what dvc-render would load, that ``.dvc/config``
uses it, and that ``dvc plots show`` / ``dvc plots diff`` pages draw their charts
in Chromium with every host unreachable, while the CDN page stays blank there.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from configobj import ConfigObj
from dvc_render.html import PAGE_HTML
from dvc_render.vega import VegaRenderer
from PIL import Image
from support import load_script

ROOT = Path(__file__).resolve().parents[1]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg"}
SKLEARN = Path("metrics/evaluate_live/plots/sklearn")  # dvclive's ROC, PR, confusion data


build = load_script("tools", "build_plots_template")
shots = load_script("tools", "plots_screenshot")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repo holding this project's plot definitions, config and committed plot data."""
    for name in ("dvc.yaml", "params.yaml", ".dvc/config", ".dvc/plots", "plots", "metrics"):
        src, dest = ROOT / name, tmp_path / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "plots"], cwd=tmp_path, check=True)
    return tmp_path


@pytest.fixture(scope="module")
def chromium() -> str:
    """Chromium's path; CI (REQUIRE_CHROMIUM=1, set by .ci/run and test.yml) must have it."""
    binary = shots.find_chromium()
    if binary is None:
        if os.environ.get("REQUIRE_CHROMIUM") == "1":
            pytest.fail("REQUIRE_CHROMIUM=1 but no chromium on PATH")
        pytest.skip("no chromium on PATH (apt-get install chromium)")
    return binary


def _dvc(repo: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=repo, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _assert_charts_drawn(page: Path, min_charts: int) -> int:
    """Every vegaEmbed call on the page produced a drawn canvas; returns the chart count."""
    html = page.read_text()
    assert "cdn.jsdelivr.net" not in html and "<script src=" not in html
    charts = html.count("vegaEmbed('#")
    assert charts >= min_charts
    dom = shots.dump_dom(page)
    drawn = re.findall(r'<canvas width="(\d+)" height="(\d+)" class="marks"', dom)
    assert len(drawn) == charts, (len(drawn), charts)
    assert all(int(w) > 100 and int(h) > 100 for w, h in drawn)
    return charts


# --- the template -------------------------------------------------------------------


def test_template_inlines_exactly_what_dvc_render_loads() -> None:
    template = (ROOT / ".dvc" / "plots" / "offline.html").read_text()
    provenance = build.PROVENANCE_RE.findall(template)
    assert [(name, version) for name, version, *_ in provenance] == build.cdn_packages(
        VegaRenderer.SCRIPTS
    ), "dvc-render changed its Vega versions: rerun tools/build_plots_template.py"
    scripts = re.findall(r"<script>(.*?)</script>", template, flags=re.DOTALL)
    assert len(scripts) == len(provenance)
    for text, (*_, digest, _tarball) in zip(scripts, provenance, strict=True):
        assert base64.b64encode(hashlib.sha512(text.encode()).digest()).decode() == digest
    assert "{plot_divs}" in template and "{refresh_tag}" in template
    assert "{scripts}" not in template and "<script src=" not in template


def test_dvc_config_points_at_the_template() -> None:
    config = ConfigObj(str(ROOT / ".dvc" / "config"))
    # DVC resolves a relative plots.html_template against the .dvc directory.
    assert (ROOT / ".dvc" / config["plots"]["html_template"]).is_file()


def test_integrity_is_checked() -> None:
    data = b"tarball bytes"
    good = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    build.verify_integrity(data, good)
    with pytest.raises(ValueError, match="mismatch"):
        build.verify_integrity(data + b"!", good)
    with pytest.raises(ValueError, match="unsupported"):
        build.verify_integrity(data, "sha1-abc")


def _tarball(path: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(f"package/{path}")
        info.size = len(text.encode())
        archive.addfile(info, io.BytesIO(text.encode()))
    return buffer.getvalue()


def test_scripts_that_cannot_be_inlined_verbatim_are_refused() -> None:
    assert build.extract_member(_tarball("a.js", "var a = 1;"), "a.js") == "var a = 1;"
    for bad in ('s = "</SCRIPT>";', "x = '{plot_divs}';"):
        with pytest.raises(ValueError, match="cannot be inlined"):
            build.extract_member(_tarball("a.js", bad), "a.js")


def test_committed_page_is_what_the_builder_renders() -> None:
    """The page's CSS (images scaled to the window, not cropped) is the builder's own."""
    template = (ROOT / ".dvc" / "plots" / "offline.html").read_text()
    pair = r"    (<!-- inlined .*?-->)\n    (<script>.*?</script>)"
    scripts = re.findall(pair, template, re.DOTALL)
    assert build.render(scripts) == template
    assert re.search(r"img \{\s*max-width: 92vw;", template)


def test_series_templates_are_the_committed_ones() -> None:
    for name, spec in build.series_templates().items():
        assert json.loads((ROOT / ".dvc" / "plots" / f"{name}.json").read_text()) == spec, name


def test_top_level_plots_have_titles_and_colour_by_series() -> None:
    plots = yaml.safe_load((ROOT / "dvc.yaml").read_text())["plots"]
    custom = {path.stem for path in (ROOT / ".dvc" / "plots").glob("*.json")}
    for plot in plots:
        ((name, props),) = plot.items()
        title = props["title"]  # a sentence, not the data file's path
        assert title != name and not re.search(r"\.(csv|tsv|json)$", title), name
        assert props["template"] in custom | {"confusion"}, name


def test_template_is_written_atomically(tmp_path: Path) -> None:
    target = tmp_path / "t.html"
    target.write_text("old")
    build.write_atomic(target, build.render([("<!-- c -->", "<script>1</script>")]))
    assert "{plot_divs}" in target.read_text() and "<script>1</script>" in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["t.html"]  # no temporary left behind


# --- plot names -----------------------------------------------------------------------


def _declared_vega_plots(dvc_yaml: dict) -> list[str]:
    """Top-level plot ids and non-image stage plot paths, as dvc.yaml declares them."""
    names = [next(iter(p)) if isinstance(p, dict) else p for p in dvc_yaml.get("plots", [])]
    for stage in dvc_yaml["stages"].values():
        for plot in stage.get("plots", []):
            path = next(iter(plot)) if isinstance(plot, dict) else plot
            if Path(path).suffix.lower() not in IMAGE_SUFFIXES:
                names.append(path)
    return names


def test_every_declared_plot_is_selectable_by_name(repo: Path) -> None:
    declared = _declared_vega_plots(yaml.safe_load((repo / "dvc.yaml").read_text()))
    assert declared and all(re.fullmatch(r"[\w./-]+", name) for name in declared), declared
    shown = json.loads(_dvc(repo, "plots", "show", "--json"))["data"]
    for name in declared:
        # a directory plot is selected through the files DVC lists under it
        ids = [key for key in shown if key == name or key.startswith(name.rstrip("/") + "/")]
        assert ids, f"{name} is declared but dvc plots show has no data for it"
        for plot_id in ids:
            spec = json.loads(_dvc(repo, "plots", "show", "--show-vega", plot_id))
            assert spec["data"]["values"], plot_id


# --- in the browser, network blocked ----------------------------------------------------


def test_plots_show_draws_the_charts_offline(repo: Path, chromium: str, tmp_path: Path) -> None:
    page = shots.plots_show(repo, tmp_path / "show")
    _assert_charts_drawn(page, min_charts=4)
    shots.screenshot(page, tmp_path / "show.png")
    assert shots.ink_fraction(tmp_path / "show.png") > 0.02  # lines and axes, not a blank page


def test_plots_diff_draws_the_charts_offline(repo: Path, chromium: str, tmp_path: Path) -> None:
    roc = repo / SKLEARN / "roc.json"
    points = json.loads(roc.read_text())
    points["roc"] = points["roc"][::2]  # the workspace differs from HEAD
    roc.write_text(json.dumps(points))
    targets = ["--targets", "roc", "precision_recall"]
    _dvc(repo, "plots", "diff", "HEAD", "-o", str(tmp_path / "diff"), *targets)
    page = tmp_path / "diff" / "index.html"
    assert '"rev": "HEAD"' in page.read_text() and '"rev": "workspace"' in page.read_text()
    assert _assert_charts_drawn(page, min_charts=2) == 2


def test_the_cdn_page_stays_blank_offline(repo: Path, chromium: str, tmp_path: Path) -> None:
    """The control: DVC's own template draws nothing here, so the network really is blocked."""
    (tmp_path / "cdn.html").write_text(PAGE_HTML)
    template = ["--html-template", str(tmp_path / "cdn.html")]
    # only Vega plots: the image plots are inlined PNGs and would show either way
    page = shots.plots_show(repo, tmp_path / "cdn", *template, "roc", "precision_recall")
    assert "cdn.jsdelivr.net" in page.read_text()
    assert 'class="marks"' not in shots.dump_dom(page)
    shots.screenshot(page, tmp_path / "cdn.png")
    assert shots.ink_fraction(tmp_path / "cdn.png") < 0.002


def _colour_pixels(png: Path, colour: str, tolerance: int = 24) -> int:
    """How many pixels of ``png`` are within ``tolerance`` of ``colour`` in every channel."""
    rgb = np.asarray(Image.open(png).convert("RGB"), dtype=int)
    target = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int(np.all(np.abs(rgb - target) <= tolerance, axis=-1).sum())


def test_each_method_is_drawn_in_its_own_colour(repo: Path, chromium: str, tmp_path: Path) -> None:
    """Network, baseline and combined lines come out in their template colours, offline."""
    page = shots.plots_show(repo, tmp_path / "methods", "recall_vs_mes_synthetic")
    shots.screenshot(page, tmp_path / "methods.png", (700, 560))
    for name in (build.NETWORK, build.BASELINE, build.COMBINED):
        assert _colour_pixels(tmp_path / "methods.png", build.COLOURS[name]) > 150, name


def test_committed_screenshots_show_charts() -> None:
    for name in ("plots_offline.png", "plots_colours.png"):
        png = ROOT / "reports" / name
        assert png.stat().st_size < 200_000
        assert shots.ink_fraction(png) > 0.02
    colours = ROOT / "reports" / "plots_colours.png"
    for name in (build.NETWORK, build.BASELINE, build.COMBINED):
        assert _colour_pixels(colours, build.COLOURS[name], tolerance=40) > 100, name
