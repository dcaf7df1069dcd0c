"""The Dask side of ``scan``: which cluster, how it starts and stops, and what the log shows.

Three things a long scan needs beyond submitting work:

* **One address check.** ``--scheduler`` takes ``tcp://host:port`` (or
  ``tls://``); anything else (``foo``, ``http://...``, a port that is not a
  number) is refused in one line before Dask parses it into a traceback.
* **One SIGINT path.** Ctrl-C in a terminal reaches the whole process group.
  LocalCluster workers are started with SIGINT ignored (they inherit it through
  ``spawn``), so only the driver is interrupted; it then stops the cluster with
  the cluster's own complaints about the work it cut short silenced, and
  ``scan`` prints one line.
* **A clean stop.** A worker that has loaded TensorFlow is slow to exit, more so
  on a busy machine, and can outlast the nanny's default wait (then "Worker
  process still alive ..., killing"). Workers are closed with a longer wait
  first (:data:`WORKER_EXIT_SECONDS`), so a normal run ends quietly.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit

from transit_classifier.errors import UserError

CONNECT_TIMEOUT = "10s"
WORKER_EXIT_SECONDS = 30.0  # wait this long for a worker to exit before it is killed
SCHEMES = ("tcp", "tls")
ADDRESS_FORM = "give tcp://host:port, e.g. tcp://127.0.0.1:8786 (`dask scheduler` prints it)"
LOCAL_DASHBOARD = "127.0.0.1:0"  # this machine only, on any free port


def scheduler_address(text: str) -> str:
    """``text`` as a Dask scheduler address; ``host:port`` alone means ``tcp://host:port``.

    >>> scheduler_address("localhost:8786"), scheduler_address("tls://[::1]:8786")
    ('tcp://localhost:8786', 'tls://[::1]:8786')

    Raises
    ------
    UserError
        One line naming the expected form, for any other text.
    """
    address = text if "://" in text else f"tcp://{text}"
    parts = urlsplit(address)
    try:
        port = parts.port
    except ValueError:
        port = None
    plain = not (parts.path or parts.query or parts.fragment or parts.username)
    if parts.scheme not in SCHEMES or not parts.hostname or port is None or not plain:
        raise UserError(f"--scheduler {text!r}: not a Dask scheduler address; {ADDRESS_FORM}")
    return address


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while worker processes are spawned, so they inherit it ignored.

    Only the main thread may set handlers; a scan run from another thread (a notebook's
    executor) leaves them as they are.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _quiet_worker_logs() -> None:
    """Run on each worker at Ctrl-C: tasks cancelled on purpose are not worth a warning."""
    logging.getLogger("distributed").setLevel(logging.CRITICAL)


def _quiet(client: Any) -> None:
    """Silence the cluster's log lines about work cut short (driver, nannies and workers)."""
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    with suppress(Exception):  # a cluster already going down has nothing left to say
        client.run(_quiet_worker_logs)


async def _stop_workers(cluster: Any, timeout: float) -> None:
    await asyncio.gather(*(w.close(timeout=timeout) for w in list(cluster.workers.values())))


def _announce(client: Any, dashboard: bool) -> None:
    if dashboard:
        link = client.dashboard_link or "none (this scheduler serves no dashboard)"
        print(f"dashboard: {link}", file=sys.stderr, flush=True)


@contextmanager
def local_client(workers: int, dashboard: bool) -> Iterator[Any]:
    """A client of a new LocalCluster of ``workers`` single-threaded processes.

    On Ctrl-C the cluster is torn down quietly and the KeyboardInterrupt goes on
    to the caller; on a normal end, workers get :data:`WORKER_EXIT_SECONDS` to exit.
    """
    from distributed import Client, LocalCluster

    with _sigint_ignored():
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=LOCAL_DASHBOARD if dashboard else None,
        )
    try:
        with Client(cluster) as client:
            _announce(client, dashboard)
            try:
                yield client
            except KeyboardInterrupt:
                _quiet(client)
                raise
        cluster.sync(_stop_workers, cluster, WORKER_EXIT_SECONDS)
    finally:
        cluster.close()


@contextmanager
def remote_client(scheduler: str, dashboard: bool) -> Iterator[Any]:
    """A client of the cluster at ``scheduler`` (left running when the scan ends).

    Raises
    ------
    UserError
        If the address is malformed or the scheduler cannot be reached.
    """
    from distributed import Client

    address = scheduler_address(scheduler)
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise UserError(
            f"cannot reach the Dask scheduler at {scheduler} ({' '.join(str(exc).split())[:80]});"
            " start one with `dask scheduler`, or drop --scheduler to scan on this machine"
        ) from None
    with client:
        _announce(client, dashboard)
        try:
            yield client
        except KeyboardInterrupt:
            logging.getLogger("distributed").setLevel(logging.CRITICAL)
            raise


class Progress:
    """How far a scan is: tqdm's bar on a terminal; elsewhere (nohup, Slurm, CI logs),
    where a bar is unreadable, one line every ``every`` inputs and at the end."""

    def __init__(self, total: int, every: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc="scan", unit="input", disable=None)
        self.total, self.every = total, every
        self.done = self.failed = 0
        self.started = time.monotonic()

    def update(self, done: int, failed: int) -> None:
        """Count ``done`` more inputs, ``failed`` of them failed; log a line when one is due."""
        self.bar.update(done)
        before, self.done, self.failed = self.done, self.done + done, self.failed + failed
        due = self.done // self.every > before // self.every or self.done == self.total
        if self.bar.disable and done and due:
            print(self.line(time.monotonic() - self.started), file=sys.stderr, flush=True)

    def line(self, elapsed: float) -> str:
        """``scan: 200/5000 inputs (3 failed), 41.2/min, about 1 h 57 min left`` (or ``done``)."""
        rate = self.done / max(elapsed, 1e-9) * 60
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        hours, minutes = divmod(round(left), 60) if left != float("inf") else (0, 0)
        eta = f"{hours} h {minutes} min" if hours else f"{minutes} min"
        left_text = "done" if self.done >= self.total else f"about {eta} left"
        return (
            f"scan: {self.done}/{self.total} inputs ({self.failed} failed), {rate:.1f}/min, "
            + left_text
        )

    def close(self) -> None:
        self.bar.close()
