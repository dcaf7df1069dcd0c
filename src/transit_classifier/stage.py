"""Run a stage script: quiet TensorFlow, turn a UserError into one line and exit code 1."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from .errors import UserError


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ log lines before it is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def run(main: Callable[[], None]) -> None:
    """Call ``main``; on a :class:`UserError` print ``error: <message>`` and exit 1."""
    quiet_tensorflow()
    try:
        main()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("error: interrupted; no outputs were replaced", file=sys.stderr)
        sys.exit(130)
