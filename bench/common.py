"""Shared helpers for the benchmarks: machine description and the RESULTS.md sections."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = "# Benchmark results\n\nWritten by the scripts in `bench/`; rerun with `make bench`.\n"


def machine() -> str:
    """One line naming the CPU, core count, memory, Python and numpy versions."""
    import numpy

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{mem_kb / 2**20:.0f} GiB RAM"
    except OSError:
        mem = "RAM unknown"
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem}, Python {platform.python_version()}, "
        f"numpy {numpy.__version__}"
    )


def table(header: list[str], rows: list[list[object]]) -> str:
    """A markdown table; also what the benchmarks print."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def record(section: str, body: str) -> None:
    """Print ``body`` and store it as ``## section`` of RESULTS.md, replacing an older one."""
    print(body)
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    block = f"## {section}\n\nMachine: {machine()}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(block + "\n", text)
    else:
        text = text.rstrip() + "\n\n" + block
    RESULTS.write_text(text.rstrip() + "\n")


def run_measured(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd``; return (wall seconds, peak resident memory in MiB) of it and its children."""
    import time

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"benchmark command failed: {' '.join(cmd)}\n{proc.stderr.read().decode()}")
    return wall, usage.ru_maxrss / 1024
