"""Input files checked before a reader touches them: one error type, one line per problem.

Every reader (CSV, Kepler and TESS FITS) calls :func:`check_input_file` first,
so a missing path, a folder, a device or pipe, and a file without read
permission each get their own message instead of a reader's guess ("no such
file" for ``/dev/null``, "truncated" for a permission problem, or a hang on a
FIFO). Every refusal is a :class:`~transit_classifier.errors.BadInputFile`.
"""

from __future__ import annotations

import gzip
import logging
import stat
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from transit_classifier.errors import BadInputFile

# No light-curve CSV has lines longer than a few hundred characters (lightkurve's to_csv
# writes about 20 columns), but pandas crawls through one line of megabytes: it makes a column
# per comma. Both limits are checked on the decompressed bytes before pandas parses anything.
MAX_CSV_LINE_BYTES = 10_000
MAX_CSV_BYTES = 1 << 30  # 1 GiB: decades of 20-s TESS cadences of one star fit in far less
CHUNK_BYTES = 1 << 20
LINE_BREAKS = np.array([10, 13], np.uint8)  # \n and \r (classic Mac line endings)
_READABLE = "make the file readable (chmod u+r) or pass a copy you can read"


def fits_errors() -> tuple[type[Exception], ...]:
    """What astropy and the decompressors raise on a damaged FITS file.

    astropy's VerifyError (an unparsable header card) derives from Exception
    only; it is imported here, not at module load, as astropy.io.fits is slow to import.
    """
    from astropy.io.fits.verify import VerifyError

    return (OSError, ValueError, TypeError, IndexError, KeyError, EOFError, zlib.error, VerifyError)


def check_input_file(path: Path, missing: str = "no such file; check the path") -> None:
    """Refuse a path that is not a readable regular file, before any reader opens it.

    ``missing`` is the message after ``"<path>: "`` when nothing is there.

    Raises
    ------
    BadInputFile
        For a missing path, a folder, a device, FIFO or socket, or a file
        without read permission.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise BadInputFile(f"{path}: {missing}") from None
    except PermissionError:
        raise BadInputFile(f"{path}: permission denied; {_READABLE}") from None
    except OSError as exc:
        raise BadInputFile(f"{path}: cannot be opened ({exc.strerror}); check the path") from None
    if stat.S_ISDIR(mode):
        raise BadInputFile(f"{path}: is a directory; pass light-curve files")
    if not stat.S_ISREG(mode):
        raise BadInputFile(
            f"{path}: not a regular file (a device, pipe or socket); save the light curve to a "
            "file and pass that"
        )
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise BadInputFile(f"{path}: permission denied; {_READABLE}") from None


def check_csv_lines(path: Path) -> None:
    """Refuse a CSV with a line over :data:`MAX_CSV_LINE_BYTES` or over :data:`MAX_CSV_BYTES`.

    The file is read once in 1 MiB chunks (gzip decompressed), which costs far
    less than the parse that follows and bounds it; a truncated gzip is found here.

    Raises
    ------
    BadInputFile
        For a line or file over the limits, or a gzip stream that is cut or corrupt.
    """
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    line = size = 0  # length of the line still open at the end of the last chunk; bytes read
    try:
        with opener(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
                size += len(chunk)
                breaks = np.flatnonzero(np.isin(np.frombuffer(chunk, np.uint8), LINE_BREAKS))
                if breaks.size == 0:
                    line, longest = line + len(chunk), line + len(chunk)
                else:
                    first, line = line + int(breaks[0]), len(chunk) - 1 - int(breaks[-1])
                    longest = max(first, int(np.diff(breaks).max(initial=0)) - 1, line)
                _check_limits(path, longest, size)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInputFile(
            f"{path}: not a readable CSV (the gzip data is cut short or corrupt: {reason}); "
            "download or compress it again, or save it as plain CSV"
        ) from None


def _check_limits(path: Path, longest: int, size: int) -> None:
    if longest > MAX_CSV_LINE_BYTES:
        raise BadInputFile(
            f"{path}: not a readable CSV (a line of over {MAX_CSV_LINE_BYTES} characters); "
            "write one row per line (time,flux,...), not all values on one line"
        )
    if size > MAX_CSV_BYTES:
        raise BadInputFile(
            f"{path}: over {MAX_CSV_BYTES >> 30} GiB of CSV, far more than one star's light "
            "curve; split it into one file per star or sector"
        )


@contextmanager
def quiet_lightkurve() -> Iterator[None]:
    """Silence lightkurve's logger ("N% of the cadences will be ignored ...") while reading.

    Its lines on stderr would break the one-line contract; an all-flagged file is
    refused by the caller instead, with a message that names the fix.
    """
    logger = logging.getLogger("lightkurve")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
