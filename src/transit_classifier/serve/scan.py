"""``transit-classifier scan``: score thousands of light curves on a Dask cluster, resumably.

Inputs (directories, globs, manifest CSVs, KIC/TIC ids) are streamed in
batches to ``dask.distributed`` workers: a :class:`~distributed.LocalCluster`
on this machine's cores by default, or any cluster with ``--scheduler
tcp://host:8786``. Each worker loads the model once and scores every input
through :meth:`transit_classifier.TransitClassifier.score`, the same
light-curve path and input checks as ``predict``. Results are appended batch by
batch to part-file tables (:mod:`transit_classifier.serve.scan_store`); an input that
cannot be scored becomes a failures row with its one-line reason.

A rerun skips inputs already scored or failed: each is keyed by its resolved
path, size and modification time (or its id) and the model's hash, so a changed
file or another model is scored again.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any

import pandas as pd

from transit_classifier.errors import InputWarning, UserError
from transit_classifier.stage import quiet_tensorflow

from .api import TransitClassifier, load_model
from .artifact import DEFAULT_MODEL_DIR, load_threshold
from .artifact_check import check_artifact
from .boundary import reason
from .candidates import table_rows
from .figures import vetting_path
from .scan_cluster import Progress, local_client, remote_client, scheduler_address
from .scan_inputs import Task, batched, join_id_tokens, pending
from .scan_store import (
    FAILURE_COLUMNS,
    FORMATS,
    KEYS,
    SEARCH_COLUMNS,
    TABLES,
    WARNING_COLUMNS,
    WINDOW_COLUMNS,
    Batch,
    ScanStore,
    empty_frame,
)

IN_FLIGHT_PER_WORKER = 2  # batches queued per worker: keeps workers busy, memory bounded
TIC_FIX = "scan its light-curve file, or a CSV with time and flux columns, instead"
RESUME = "finished batches are kept in the tables: rerun the same scan to resume"
MAX_REPORTED = 10  # failure lines printed; the failures table holds them all
PROGRESS_EVERY = 100  # inputs per progress line in a log: a line every minute or so at ~2/s


# --------------------------------------------------------------------------- workers


@lru_cache(maxsize=2)
def cached_model(model_dir: str, operating_point: str | None) -> TransitClassifier:
    """The classifier, loaded once per worker process and reused for every batch it scores."""
    quiet_tensorflow()
    check_artifact(model_dir)  # before TensorFlow builds anything from it
    return load_model(model_dir, operating_point)


def download_tic(tic: int) -> Any:
    """Every TESS SPOC light curve of a star, as a lightkurve collection (lightkurve's cache).

    Raises
    ------
    UserError
        If MAST cannot be reached or holds no SPOC light curve of the star.
    """
    from transit_classifier.sources import mast
    from transit_classifier.sources.lightcurve import import_lightkurve

    lk = import_lightkurve()
    retry = mast.Retry(attempts=2, backoff_seconds=1.0)
    try:
        search = retry.call(lambda: lk.search_lightcurve(f"TIC {tic}", author="SPOC"))
        if search is None or len(search) == 0:
            raise UserError(f"TIC {tic}: MAST has no TESS SPOC light curve; {TIC_FIX}")
        return retry.call(lambda: search.download_all())
    except mast.MastUnreachable:
        raise UserError(f"TIC {tic}: cannot reach MAST to download it; {TIC_FIX}") from None


def score_batch(
    tasks: list[Task],
    model_dir: str,
    operating_point: str | None,
    model_hash: str,
    vet_dir: str | None = None,
) -> Batch:
    """Score a batch on a worker: its windows, one failures row per input that failed, the
    search candidates, one warnings row per repair made to an input (fill values masked), and
    the keys of the inputs scored.

    A model that cannot be loaded raises (the whole scan stops: nothing could
    be scored); any error of one input only becomes that input's failures row.
    With ``vet_dir`` (a folder), each flagged input's vetting PNG is written there.
    """
    classifier = cached_model(model_dir, operating_point)
    windows, searched, failures = [empty_frame(WINDOW_COLUMNS)], [empty_frame(SEARCH_COLUMNS)], []
    notes, scored = [], []
    for task in tasks:
        tagged = {"input": task.input, "input_key": task.key, "model_hash": model_hash}
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("ignore")  # library chatter; the input's repairs are kept
                warnings.simplefilter("always", InputWarning)
                data = task.target
                if data.startswith("TIC "):
                    data = download_tic(int(data.split()[1]))
                plot = None if vet_dir is None else vetting_path(vet_dir, task.input, task.key[:12])
                table, found = classifier.examine(data, plot=plot)
        except Exception as exc:  # per-input failures are rows, never fatal
            failures.append({**tagged, "reason": reason(task.input, exc)})
        else:
            windows.append(table.assign(**tagged))
            searched.append(table_rows(found).assign(**tagged))
            scored.append(tagged)  # a light curve shorter than a window has no window row
            notes += [{**tagged, "warning": " ".join(str(w.message).split())} for w in caught]
    failed = pd.DataFrame(failures, columns=list(FAILURE_COLUMNS))
    noted = pd.DataFrame(notes, columns=list(WARNING_COLUMNS))
    return Batch(pd.concat(windows, ignore_index=True), failed,
                 pd.concat(searched, ignore_index=True), noted,
                 pd.DataFrame(scored, columns=KEYS, dtype="string"))  # fmt: skip


# --------------------------------------------------------------------------- driver


def model_hash(model_dir: str | Path, operating_point: str | None) -> str:
    """Hash of the weights and the threshold in use: what the resume key must change with.

    Read from ``model.json`` and ``thresholds.json`` without loading TensorFlow
    here; each worker verifies the weights against this same sha256 when it loads them.

    Raises
    ------
    UserError
        If a file of the model directory is missing or invalid, or the threshold is unknown.
    """
    info = check_artifact(model_dir).info
    weights = info["weights_sha256"]
    point, threshold = load_threshold(model_dir, info, operating_point)
    return hashlib.sha256(f"{weights}|{point}|{threshold!r}".encode()).hexdigest()[:16]


def dask_client(scheduler: str | None, workers: int, dashboard: bool = False) -> Any:
    """A client of the cluster at ``scheduler``, or of a new LocalCluster of ``workers``."""
    if scheduler is None:
        return local_client(workers, dashboard)
    return remote_client(scheduler, dashboard)


@dataclass
class Tally:
    """What one run did, for the summary line."""

    scored: int = 0
    failed: int = 0
    windows: int = 0
    candidates: int = 0
    search_candidates: int = 0


def dispatch(
    client: Any, batches: Iterator[list[Task]], store: ScanStore, progress: Progress, **score: Any
) -> tuple[Tally, list[str]]:
    """Keep a few batches queued per worker, append each result as it completes.

    Only ``IN_FLIGHT_PER_WORKER`` batches per worker exist at any time, so the
    input list and the results never sit in memory whole.
    """
    from distributed import as_completed

    in_flight = IN_FLIGHT_PER_WORKER * max(1, len(client.scheduler_info()["workers"]))
    futures = as_completed(
        [
            client.submit(score_batch, batch, pure=False, **score)
            for batch in islice(batches, in_flight)
        ]
    )
    tally, reasons = Tally(), []
    for future in futures:
        windows, failures, searched, notes, scored = future.result()
        future.release()
        store.write_batch(windows, failures, searched, notes, scored)
        next_batch = next(batches, None)
        if next_batch is not None:
            futures.add(client.submit(score_batch, next_batch, pure=False, **score))
        tally.failed += len(failures)
        tally.scored += len(scored)
        tally.windows += len(windows)
        tally.candidates += int((windows["verdict"] == "transit").sum())
        tally.search_candidates += int((searched["verdict"] == "candidate").sum())
        reasons.extend("error: " + failures["reason"].head(MAX_REPORTED - len(reasons)))
        reasons.extend("warning: " + notes["warning"].head(MAX_REPORTED - len(reasons)))
        progress.update(len(scored) + len(failures), len(failures))
    return tally, reasons


def report(tally: Tally, reasons: list[str], store: ScanStore) -> None:
    """One summary line on stdout; the first failure reasons (``error:``) and input repairs
    (``warning:``, all of them in the warnings table) on stderr."""
    print(
        f"scanned {tally.scored + tally.failed} input(s) ({tally.failed} failed); "
        f"{tally.windows} windows, {tally.candidates} flagged; "
        f"{tally.search_candidates} search candidate(s) at FAP 1%; tables: "
        + ", ".join(str(store.directory(t)) for t in TABLES)
    )
    for line in reasons:
        print(line, file=sys.stderr)
    failed = sum(line.startswith("error: ") for line in reasons)
    if tally.failed > failed:
        print(f"error: ... {tally.failed - failed} more in the failures table", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Scan every input not yet done; print a summary and the first failure reasons.

    Returns 0 once the scan completes, even if some inputs failed: those are
    rows of the failures table, and ``error:`` lines here.
    """
    if args.scheduler is not None:
        scheduler_address(args.scheduler)  # a malformed address fails before any work
    sources = join_id_tokens(args.inputs)
    vet_dir = _vet_folder(args.vet)
    store = ScanStore(Path(args.out or f"scan.{args.format}"), args.format)
    model = model_hash(args.model_dir, args.operating_point)
    with store.lock():
        store.prepare(forget_failures=args.retry_failed)
        done = store.done_keys()
        skip = frozenset(store.directory(t).resolve() for t in TABLES)
        total = sum(1 for _ in pending(sources, set(done), model, skip))
        batches = batched(pending(sources, done, model, skip), args.batch_size)
        score = {
            "model_dir": str(Path(args.model_dir).resolve()),  # workers may run elsewhere
            "operating_point": args.operating_point,
            "model_hash": model,
            "vet_dir": vet_dir,
        }
        tally, reasons = Tally(), []
        if total:  # a rerun with nothing left to do starts no cluster
            progress = Progress(total, args.progress_every)
            try:
                with dask_client(args.scheduler, args.workers, args.dashboard) as client:
                    tally, reasons = dispatch(client, batches, store, progress, **score)
            finally:
                progress.close()
            store.drop_superseded()  # a changed input's new rows replace its old ones
    report(tally, reasons, store)
    return 0


# ----------------------------------------------------------------------- command line


def _vet_folder(vet_dir: str | None) -> str | None:
    """The absolute ``--vet`` folder, created now so a bad path fails before any scoring."""
    if vet_dir is None:
        return None
    folder = Path(vet_dir).resolve()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"--vet {vet_dir}: cannot create the folder ({exc.strerror}); choose a writable path"
        ) from None
    return str(folder)


def _positive(text: str) -> int:
    """argparse type for counts: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


DESCRIPTION = (
    "Score many light curves on a Dask cluster (this machine's cores by default) and append "
    "one row per window to a Parquet or CSV table, plus a candidates table (flagged windows) "
    "and a failures table (one-line reason per input that could not be scored). A rerun "
    "skips inputs already done with the same model."
)


def _add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the scan runs, in what pieces, and how a long job shows its progress."""
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a running Dask scheduler, e.g. tcp://host:8786 (default: a LocalCluster here)",
    )
    parser.add_argument(
        "--workers",
        type=_positive,
        default=os.cpu_count() or 1,
        help="LocalCluster worker processes, one thread each (default: the number of cores)",
    )
    parser.add_argument(
        "--batch-size", type=_positive, default=8, help="inputs per task and part file (default: 8)"
    )
    parser.add_argument(
        "--progress-every",
        type=_positive,
        default=PROGRESS_EVERY,
        metavar="N",
        help="when stderr is not a terminal (nohup, Slurm logs), log a progress line every N "
        f"inputs (default: {PROGRESS_EVERY}); a terminal shows a progress bar instead",
    )
    parser.add_argument(
        "--dashboard",
        action="store_true",
        help="serve the Dask dashboard (on this machine only, for a LocalCluster) and print "
        "its URL",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``scan`` options, shared by :func:`add_parser` and :func:`main`."""
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="a directory (searched recursively), a quoted glob, a light-curve FITS or CSV, a "
        "manifest CSV with a 'path', 'kepid' or 'tic' column, or an id ('KIC 11442793', "
        "'TIC 261136679') downloaded from MAST",
    )
    parser.add_argument("--out", help="output table directory (default: scan.FORMAT)")
    parser.add_argument("--format", choices=FORMATS, default="parquet", help="default: parquet")
    _add_cluster_arguments(parser)
    parser.add_argument(
        "--vet",
        metavar="DIR",
        help="write a one-page vetting PNG per flagged input into DIR (on --scheduler, a "
        "folder every worker can write under the same path)",
    )
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="forget the recorded failures and try those inputs again",
    )
    parser.add_argument(
        "--operating-point",
        metavar="NAME",
        help="a threshold stored with the model: fpr_1pct (default), fpr_0p1pct or max_f1",
    )
    parser.add_argument(
        "--model-dir",
        default=str(DEFAULT_MODEL_DIR),
        help="model artifact directory (default: the repository's committed model/)",
    )


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``scan`` on the ``transit-classifier`` command's subparsers."""
    parser = subparsers.add_parser(
        "scan", help="score many light curves on Dask", description=DESCRIPTION
    )
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``scan`` alone; return the exit code (0 ok, 1 user error, 2 usage error)."""
    quiet_tensorflow()
    parser = argparse.ArgumentParser(prog="transit-classifier scan", description=DESCRIPTION)
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return run(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"error: interrupted; {RESUME}", file=sys.stderr, flush=True)
        return 130
