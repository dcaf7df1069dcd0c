"""params.yaml validation: every key, one line naming key, value and allowed range."""

import copy
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from support import stage_argv

from transit_classifier.errors import UserError
from transit_classifier.params import (
    SCHEMA,
    Choice,
    Flag,
    Number,
    Range,
    Sequence,
    Text,
    load_params,
    validate,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = yaml.safe_load((ROOT / "params.yaml").read_text())


def _invalid_value(spec):
    """A value the spec must refuse."""
    if isinstance(spec, Number):
        return spec.high * 2 + 1 if spec.high < float("inf") else "ten"
    if isinstance(spec, Range):
        return [2, 1] if spec.bounds.low < 1 else [spec.bounds.low + 2, spec.bounds.low + 1]
    if isinstance(spec, Sequence):
        return "not a list"
    if isinstance(spec, Choice):
        return "no-such-option"
    if isinstance(spec, Flag):
        return "yes"
    if isinstance(spec, Text):
        return 12
    raise AssertionError(spec)


def _set(params, dotted, value):
    node = params
    *parents, last = dotted.split(".")
    for part in parents:
        node = node[part]
    node[last] = value


def test_default_params_are_valid():
    assert load_params(ROOT / "params.yaml")["dataset"]["transit_ratio"] == 0.10


@pytest.mark.parametrize("key", sorted(SCHEMA))
def test_every_invalid_key_gives_one_line(key):
    params = copy.deepcopy(DEFAULT)
    _set(params, key, _invalid_value(SCHEMA[key]))
    with pytest.raises(UserError) as err:
        validate(params)
    message = str(err.value)
    assert key in message and "expected" in message and "\n" not in message


@pytest.mark.parametrize("key", ["seed", "dataset.transit_ratio", "train.lstm_units"])
def test_missing_key_is_named(key):
    params = copy.deepcopy(DEFAULT)
    *parents, last = key.split(".")
    node = params
    for part in parents:
        node = node[part]
    del node[last]
    with pytest.raises(UserError, match=f"missing key '{key}'"):
        validate(params)


@pytest.mark.parametrize("ratio", [0, -0.1, 0.51, "0.1", True])
def test_transit_ratio_range(ratio):
    params = copy.deepcopy(DEFAULT)
    params["dataset"]["transit_ratio"] = ratio
    with pytest.raises(UserError, match=r"dataset.transit_ratio .* in \(0, 0.5\]"):
        validate(params)


@pytest.mark.parametrize("value", ["multi_gpu", "Mirrored", "", None, 2])
def test_distribute_takes_only_the_known_strategies(value):
    params = copy.deepcopy(DEFAULT)
    params["train"]["distribute"] = value
    with pytest.raises(UserError) as err:
        validate(params)
    assert str(err.value) == (
        f"params.yaml: train.distribute = {value!r} invalid, expected one of default, mirrored"
    )
    params["train"]["distribute"] = "mirrored"
    assert validate(params)["train"]["distribute"] == "mirrored"


def test_split_must_sum_to_one():
    params = copy.deepcopy(DEFAULT)
    params["prepare"]["split"] = [0.7, 0.2, 0.2]
    with pytest.raises(UserError, match="sum to 1"):
        validate(params)


def test_broken_yaml_names_the_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("seed: 1\ndataset: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML at line"):
        load_params(path)


def test_stage_exits_nonzero_with_one_line(tmp_path):
    params = copy.deepcopy(DEFAULT)
    params["dataset"]["transit_ratio"] = 0.9
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    result = subprocess.run(
        stage_argv("prepare"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "error: params.yaml: dataset.transit_ratio = 0.9 invalid, expected a number in (0, 0.5]"
    ]
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p.update(evalute={"threshold": "max_f1"}), "did you mean 'evaluate'"),
        (lambda p: p["train"].update(epoch=3), "did you mean 'train.epochs'"),
        (lambda p: p["inject"].update(zzz_unrelated=1), "unknown key 'inject.zzz_unrelated'"),
    ],
)
def test_unknown_keys_are_errors_with_a_suggestion(mutate, message):
    params = copy.deepcopy(DEFAULT)
    mutate(params)
    with pytest.raises(UserError, match=re.escape(message)):
        validate(params)


def test_duplicate_keys_are_errors(tmp_path):
    text = (ROOT / "params.yaml").read_text().replace("seed: 42", "seed: 42\nseed: 7", 1)
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match="duplicate key 'seed' at line"):
        load_params(path)


def _refusal(mutate) -> str:
    params = copy.deepcopy(DEFAULT)
    mutate(params)
    with pytest.raises(UserError) as err:
        validate(params)
    assert "\n" not in str(err.value)
    return str(err.value)


# Issue 33: each was accepted by `dvc repro` (the setting silently not applied) or refused only
# after the stage's outputs were gone. Each message names the key and the fix.
@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p.update(sede=43), "unknown key 'sede'; did you mean 'seed'?"),
        (
            lambda p: p.update(evalute=p.pop("evaluate")),
            "unknown section 'evalute'; did you mean 'evaluate'?",
        ),
        (lambda p: p.update(epochs=3), "unknown key 'epochs'; did you mean 'train.epochs'?"),
        (
            lambda p: p["evaluate"]["baseline"].update(methd="tls"),
            "unknown key 'evaluate.baseline.methd'; did you mean 'evaluate.baseline.method'?",
        ),
        (
            lambda p: p["dataset"].update(transit_ratio=-0.1),
            "dataset.transit_ratio = -0.1 invalid, expected a number in (0, 0.5]",
        ),
        (
            lambda p: p["prepare"].update(split=[0.8, 0.3, -0.1]),
            "prepare.split = [0.8, 0.3, -0.1] invalid, expected a list of at least 3 values, "
            "each a number in (0, 1]",
        ),
        (
            lambda p: p["train"].update(epochs=0),
            "train.epochs = 0 invalid, expected an integer in [1, 10000]",
        ),
        (
            lambda p: p["synthetic"].update(snr=[100.0, 6.0]),
            "synthetic.snr = [100.0, 6.0] invalid, expected a [min, max] pair, min <= max",
        ),
        (
            lambda p: p["train"].update(epochs="20"),
            "train.epochs = '20' invalid, expected an integer",
        ),
        (
            lambda p: p["train"].update(batch_norm="yes"),
            "train.batch_norm = 'yes' invalid, expected true or false",
        ),
        (lambda p: p.pop("train"), "missing section 'train'; add it back"),
        (lambda p: p["prepare"].pop("augment"), "missing section 'prepare.augment'; add it back"),
        (lambda p: p.update(train=5), "'train' = 5 must be a section, its keys indented below it"),
        (
            lambda p: p["prepare"].update(augment=None),
            "'prepare.augment' = None must be a section",
        ),
    ],
)
def test_bad_params_are_refused_naming_key_and_fix(mutate, message):
    assert message in _refusal(mutate)


def test_missing_section_points_at_the_committed_copy():
    assert "`git show HEAD:params.yaml`" in _refusal(lambda p: p.pop("evaluate"))


@pytest.mark.parametrize("text", ["", "- 1\n- 2\n", "just text\n"])
def test_a_file_without_sections_is_refused(tmp_path, text):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match="expected a mapping of sections at the top level"):
        load_params(path)


def test_an_unreadable_file_is_one_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_bytes(b"seed: \xff\xfe 42\n")
    with pytest.raises(UserError, match="cannot be read as text"):
        load_params(path)
