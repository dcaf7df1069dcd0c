"""The ``transit-classifier`` command line: run the trained model on your own light curves.

``transit-classifier predict FILE_OR_KIC ...`` (or ``python -m transit_classifier
predict ...``) prints a per-window table, ``--json`` for scripts, ``--plot`` for
a figure, ``--vet DIR`` for one vetting page per flagged input. Problems the
user can fix end as one ``error: ...`` line and exit 1; usage errors exit 2
(argparse's convention).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from transit_classifier.errors import InputWarning, UserError
from transit_classifier.search.calibration import SearchCalibration
from transit_classifier.sources import inputs
from transit_classifier.sources.lightcurve import Observations
from transit_classifier.stage import quiet_tensorflow

from . import predict as scoring
from . import scan, vetting
from .artifact import DEFAULT_MODEL_DIR, load_threshold
from .artifact_check import check_artifact
from .boundary import reason
from .candidates import find_candidates, load_search
from .figures import vetting_path
from .scan_inputs import join_id_tokens


def _probability(text: str) -> float:
    """argparse type for ``--threshold``: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return value


def _png(text: str) -> str:
    """argparse type for ``--plot``: the figure is always written as PNG."""
    if not text.lower().endswith(".png"):
        raise argparse.ArgumentTypeError(f"must end in .png, got {text!r}")
    return text


def _add_input_arguments(predict: argparse.ArgumentParser) -> None:
    """The inputs to score and how to read them (kept apart so the parser stays readable)."""
    predict.add_argument(
        "inputs",
        nargs="+",
        metavar="FILE_OR_KIC",
        help="Kepler or TESS SPOC light-curve FITS (*_llc.fits, *_lc.fits), "
        "CSV with time (days) and flux columns, "
        "or a KIC id ('KIC 11442793', kic11442793, 11442793) downloaded from MAST",
    )
    predict.add_argument(
        "--stitch",
        action="store_true",
        help="the inputs are parts (quarters, sectors) of one star: score them as one light "
        "curve, each part normalised on its own",
    )
    predict.add_argument(
        "--cache-dir",
        default=None,
        help="where KIC downloads are cached (default: params.yaml's kepler.cache_dir when run "
        "in the project folder, else lightkurve's cache directory)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="transit-classifier",
        description="Find exoplanet transits in Kepler or TESS light curves with the trained model",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    predict = commands.add_parser(
        "predict",
        help="score your own light curves",
        description=(
            "Score light curves window by window. Each input is binned to the model's cadence, "
            "cut into windows of the model's length overlapping by half, and each window gets a "
            "transit probability and a verdict at the threshold chosen for the model on "
            "validation data (stored with it in model/thresholds.json)."
        ),
    )
    _add_input_arguments(predict)
    predict.add_argument("--json", action="store_true", help="print machine-readable JSON")
    predict.add_argument(
        "--plot", type=_png, metavar="OUT.png", help="save light curves with flagged windows shaded"
    )
    predict.add_argument(
        "--vet",
        metavar="DIR",
        help="write a vetting page (NAME_vetting.png: light curve, folded transit, odd/even "
        "depths) for every input with a flagged window",
    )
    predict.add_argument(
        "--threshold",
        type=_probability,
        help="decision threshold in [0, 1] (default: the model's validated operating point)",
    )
    predict.add_argument(
        "--operating-point",
        metavar="NAME",
        help="a threshold stored with the model: fpr_1pct (default), fpr_0p1pct or max_f1",
    )
    predict.add_argument(
        "--model-dir",
        default=str(DEFAULT_MODEL_DIR),
        help="model artifact directory (default: the repository's committed model/)",
    )
    predict.set_defaults(func=run_predict)
    scan.add_parser(commands)
    return parser


def _each(
    items: Sequence, work: Callable, desc: str, failures: list[str], name: Callable[[Any], str]
) -> list:
    """Apply ``work`` to every item; any exception is that item's one line, and it is skipped.

    This is predict's one per-input boundary, as in ``scan``: a UserError keeps
    its message, a damaged file or a bug on one input (see :func:`.boundary.reason`)
    never costs the other inputs their results.
    """
    done = []
    for item in tqdm(items, desc=desc, disable=None):
        try:
            done.append(work(item))
        except Exception as exc:  # per-input failures are lines, never fatal
            failures.append(reason(name(item), exc))
    return done


def _candidates(
    predictions: list[scoring.Prediction], setup: scoring.ModelSetup, failures: list[str]
) -> dict[str, tuple[vetting.Candidate, Any]]:
    """Candidate and detrended flux of every flagged input, keyed by its name."""
    flagged = [p for p in predictions if p.flagged.any()]
    return dict(
        _each(
            flagged,
            lambda p: (p.lightcurve.name, vetting.vet(p, setup.preprocessing)),
            "vetting",
            failures,
            _curve_name,
        )
    )


def _with_candidates(records: dict[str, Any], found: dict[str, tuple]) -> dict[str, Any]:
    """``--json`` records with a ``candidate`` object on each flagged input (NaN as null)."""
    for record in records["inputs"]:
        if record["input"] in found:
            candidate = found[record["input"]][0]
            fields = {k: v if v == v else None for k, v in candidate.as_dict().items()}
            record["candidate"] = {**fields, "transit_times": candidate.transit_times.tolist()}
    return records


def _curve_name(prediction: scoring.Prediction) -> str:
    return prediction.lightcurve.name


def _page_paths(names: list[str], directory: str) -> dict[str, Path]:
    """Each input's vetting page; inputs whose pages would share a name (``a/star.csv`` and
    ``b/star.csv``) get a short hash of their full name, so no page overwrites another."""
    plain = {name: vetting_path(directory, name) for name in names}
    shared = Counter(plain.values())
    return {
        name: path
        if shared[path] == 1
        else vetting_path(directory, name, hashlib.sha256(name.encode()).hexdigest()[:8])
        for name, path in plain.items()
    }


def _write_vetting(
    predictions: list[scoring.Prediction], found: dict[str, tuple], directory: str
) -> str | None:
    """Save each flagged input's vetting page; the first write failure is one line, then stop."""
    from transit_classifier.io import save_figure

    from .figures import prediction_figure

    paths = _page_paths(
        [p.lightcurve.name for p in predictions if p.lightcurve.name in found], directory
    )
    for p in predictions:
        if p.lightcurve.name in found:
            candidate, flat = found[p.lightcurve.name]
            try:
                save_figure(prediction_figure(p, flat, candidate), paths[p.lightcurve.name])
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
                return (
                    f"{directory}: cannot write the vetting plots ({reason}); the results above "
                    "are complete; choose a writable --vet directory"
                )
    return None


def _scorer(
    model: Any, setup: scoring.ModelSetup, calibration: SearchCalibration | None
) -> Callable[[Observations], scoring.Prediction]:
    """Score one light curve's windows and, when the model ships a calibration, search it."""

    def score(curve: Observations) -> scoring.Prediction:
        searched = calibration is not None  # then a light curve shorter than a window is searched
        prediction = scoring.predict_lightcurve(curve, model, setup, search_follows=searched)
        if not searched:
            return prediction
        return replace(prediction, candidates=find_candidates(curve, calibration))

    return score


def _load(args: argparse.Namespace) -> tuple[Any, scoring.ModelSetup, SearchCalibration | None]:
    """The model, its setup and search calibration, every file checked before TensorFlow."""
    from transit_classifier.learn.model import load_classifier

    if args.threshold is not None and args.operating_point is not None:
        raise UserError(
            f"--threshold {args.threshold} and --operating-point {args.operating_point} both set "
            "the threshold; pass only one of them"
        )
    artifact = check_artifact(args.model_dir)  # no model, nothing to do: fail at once
    threshold = args.threshold
    if threshold is None:
        threshold = load_threshold(args.model_dir, artifact.info, args.operating_point)[1]
    model, info = load_classifier(args.model_dir)
    calibration = load_search(args.model_dir, model, info)
    return model, scoring.model_setup(info, threshold), calibration


def _plot(predictions: list[scoring.Prediction], threshold: float, where: str) -> str | None:
    """Save the ``--plot`` figure; a failure is one line (the printed results stay complete)."""
    from transit_classifier.io import save_figure

    from .figures import plot_predictions

    try:
        save_figure(plot_predictions(predictions, threshold), where)
    except OSError as exc:
        return (
            f"{where}: cannot write the plot ({exc.strerror or type(exc).__name__}); "
            "the results above are complete; choose a writable --plot path"
        )
    except Exception as exc:  # the results are printed: never lose them
        return reason(where, exc)
    return None


@contextmanager
def _input_warnings_as_lines() -> Iterator[None]:
    """Print each InputWarning (an input used only after a repair: fill values masked,
    magnitudes converted) as one ``warning: ...`` line, not Python's two-line format."""

    def show(message: Any, category: type, *args: Any, **kwargs: Any) -> None:
        if issubclass(category, InputWarning):
            print(f"warning: {message}", file=sys.stderr)
        else:
            shown(message, category, *args, **kwargs)

    with warnings.catch_warnings():
        shown = warnings.showwarning
        warnings.simplefilter("always", InputWarning)
        warnings.showwarning = show
        yield


def run_predict(args: argparse.Namespace) -> int:
    """Score every readable input; report each bad one on its own line and exit 1 if any failed.

    Results are printed before the plot and vetting pages are drawn, so a
    figure that cannot be written never loses them.
    """
    with _input_warnings_as_lines():
        return _predict(args)


def _predict(args: argparse.Namespace) -> int:
    model, setup, calibration = _load(args)
    failures: list[str] = []
    if calibration is None:
        print(
            f"warning: {args.model_dir}: no search calibration (search.json): windows are "
            "scored, candidates skipped; rebuild the release with `dvc repro` for candidates",
            file=sys.stderr,
        )
    texts = join_id_tokens(args.inputs)
    curves = _each(texts, lambda t: inputs.load_input(t, args.cache_dir), "reading", failures, str)
    if args.stitch and len(curves) > 1:
        curves = _each([curves], inputs.stitch, "stitching", failures, lambda c: c[0].name)
    score = _scorer(model, setup, calibration)
    predictions = _each(curves, score, "scoring", failures, lambda c: c.name)
    found = _candidates(predictions, setup, failures) if args.json or args.vet else {}
    if args.json:  # always a document scripts can parse, "inputs": [] if every input failed
        print(json.dumps(_with_candidates(scoring.to_records(predictions, setup), found), indent=2))
    elif predictions:
        print(scoring.format_table(predictions, setup.threshold))
    sys.stdout.flush()
    if predictions and args.plot:
        failures.extend(filter(None, [_plot(predictions, setup.threshold, args.plot)]))
    if found and args.vet:
        failures.extend(filter(None, [_write_vetting(predictions, found, args.vet)]))
    for line in failures:
        print(f"error: {line}", file=sys.stderr)
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 user error, 2 usage error)."""
    quiet_tensorflow()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.func(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        message = "interrupted; predict wrote nothing, a scan keeps its finished batches"
        print(f"error: {message}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (`| head`) closed the pipe: stop quietly as Unix tools do, and keep
        # Python's exit-time flush of stdout from raising again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
