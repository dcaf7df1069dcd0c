"""One per-input exception boundary, shared by ``predict`` and ``scan``.

Whatever goes wrong with one input becomes that input's own one-line reason,
and the other inputs are still scored: a batch of a thousand files must not be
lost to one truncated download or one bug. A :class:`UserError` keeps its
message (it already names the problem and the fix); a reader's low-level error
on a damaged file (a gzip cut short) is named as such; anything else is an
internal error the user should report, never a traceback.
"""

from __future__ import annotations

import gzip
import zlib

from transit_classifier.errors import UserError

# What Python's decompressors raise on a file cut short or with damaged bytes.
DAMAGED_FILE = (EOFError, zlib.error, gzip.BadGzipFile)
MAX_DETAIL = 160  # characters of an exception's own text kept in the one-line reason


def reason(name: str, exc: BaseException) -> str:
    """The one-line reason ``name`` failed with ``exc``, naming the problem and the fix.

    >>> reason("cut.csv.gz", EOFError("Compressed file ended before the end-of-stream marker"))
    'cut.csv.gz: truncated or corrupt (EOFError: Compressed file ended before the end-of-stream marker); re-download it'
    >>> reason("a.csv", KeyError("x"))
    "a.csv: internal error (KeyError: 'x'); please report it"
    """  # noqa: E501
    text = " ".join(str(exc).split())
    if isinstance(exc, UserError):
        return text
    detail = f"{type(exc).__name__}: {text[:MAX_DETAIL] or 'no message'}"
    if isinstance(exc, DAMAGED_FILE):
        return f"{name}: truncated or corrupt ({detail}); re-download it"
    if isinstance(exc, OSError) and exc.errno is not None:
        where = exc.filename or name
        return f"{name}: cannot access {where} ({exc.strerror}); check the path and permissions"
    return f"{name}: internal error ({detail}); please report it"
