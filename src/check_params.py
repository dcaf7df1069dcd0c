"""Stage `check_params`: refuse a bad params.yaml before any other stage starts.

Every other stage depends on this stage's output, so `dvc repro` runs it first and a
misspelt key or an invalid value stops the pipeline here, in one line, with every output
still in place. The output's content never changes (DVC compares dependencies by content),
so a valid edit reruns only the stages whose own params changed.
"""

from pathlib import Path
from typing import Any

import requests
import yaml

from transit_classifier import stage
from transit_classifier.errors import UserError
from transit_classifier.io import write_text
from transit_classifier.params import load_params

MAST_URL = "https://mast.stsci.edu"
PROBE_SECONDS = 5.0  # an answer, not a download: offline, the DNS lookup fails at once
LOCK_FILE = "dvc.lock"
CHECKED = (
    "params.yaml passed transit_classifier.params.validate. Every stage depends on this file,\n"
    "so `dvc repro` checks params.yaml before it runs (or removes the outputs of) any stage.\n"
)


def _fetch_pending(params: dict[str, Any]) -> bool:
    """Whether ``fetch_kepler`` will download: its ``kepler`` params differ from dvc.lock's.

    Unchanged, the stage is not rerun for params, and offline work on later stages
    (``kepler.source: mast`` with its windows already fetched) must not be refused.
    """
    try:
        lock = yaml.safe_load(Path(LOCK_FILE).read_text())
        recorded = lock["stages"]["fetch_kepler"]["params"]["params.yaml"]["kepler"]
    except (OSError, yaml.YAMLError, TypeError, KeyError):
        return True
    return recorded != params["kepler"]


def _check_mast(params: dict[str, Any]) -> None:
    """Refuse ``kepler.source: mast`` offline now rather than after the download retries."""
    if params["kepler"]["source"] != "mast" or not _fetch_pending(params):
        return
    try:
        requests.head(MAST_URL, timeout=PROBE_SECONDS)  # any HTTP answer: MAST is reachable
    except requests.RequestException as exc:
        raise UserError(
            f"params.yaml: kepler.source = 'mast' but {MAST_URL} does not answer "
            f"({type(exc).__name__}); check the network, or set kepler.source: bundled to use "
            "the offline Kepler copy"
        ) from None


def main() -> None:
    paths = stage.paths(__doc__, "out")
    params = load_params()
    _check_mast(params)
    write_text(paths.out, CHECKED)


if __name__ == "__main__":
    stage.run(main)
