"""Where KIC downloads are cached: params.yaml's ``kepler.cache_dir`` in the project, else
lightkurve's cache, and the CLI leaves the choice to that one resolver."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from transit_classifier.serve import cli
from transit_classifier.sources import inputs

ROOT = Path(__file__).resolve().parents[1]


def test_inside_the_project_the_cache_is_params_yaml_kepler_cache_dir(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    configured = yaml.safe_load((ROOT / "params.yaml").read_text())["kepler"]["cache_dir"]
    assert inputs.resolve_cache_dir() == Path(configured)


def test_an_edited_cache_dir_is_followed(tmp_path, monkeypatch) -> None:
    (tmp_path / "params.yaml").write_text("kepler:\n  cache_dir: elsewhere/cache\n")
    monkeypatch.chdir(tmp_path)
    assert inputs.resolve_cache_dir() == Path("elsewhere/cache")


@pytest.mark.parametrize(
    "params_yaml",
    [None, "stages: {}\n", "kepler: [1, 2]\n", "kepler:\n  cache_dir: ''\n", "kepler: {\n"],
    ids=["no file", "other project", "not a section", "empty", "broken yaml"],
)
def test_outside_the_project_the_cache_is_lightkurves(tmp_path, monkeypatch, params_yaml) -> None:
    from lightkurve.config import get_cache_dir

    if params_yaml is not None:
        (tmp_path / "params.yaml").write_text(params_yaml)
    monkeypatch.chdir(tmp_path)
    assert inputs.resolve_cache_dir() == Path(get_cache_dir())


def test_a_given_cache_dir_wins(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    assert inputs.resolve_cache_dir(tmp_path / "mine") == tmp_path / "mine"


def test_the_cli_default_is_left_to_the_resolver() -> None:
    args = cli.build_parser().parse_args(["predict", "KIC 757450"])
    assert args.cache_dir is None
    chosen = cli.build_parser().parse_args(["predict", "KIC 1", "--cache-dir", "c"]).cache_dir
    assert chosen == "c"
