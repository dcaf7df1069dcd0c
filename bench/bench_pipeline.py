"""Wall time and peak memory of every stage of the default `dvc repro` (target: <= 20 min).

Run from the repository root after `make setup`. Each stage is forced to rerun
alone (`dvc repro --force --single-item`), so its outputs are rebuilt in place;
they come out byte-identical because every stage is deterministic.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from common import record, run_measured, table

DVC = str(Path(sys.executable).with_name("dvc"))
TARGET_SECONDS = 1200  # issue 30: "Default `dvc repro` <= 20 min"


def main() -> None:
    stages = list(yaml.safe_load(Path("dvc.yaml").read_text())["stages"])
    rows, total = [], 0.0
    for stage in stages:
        wall, peak = run_measured([DVC, "repro", "--force", "--single-item", stage])
        total += wall
        rows.append([stage, f"{wall:.1f}", f"{peak:.0f}"])
        print(f"{stage}: {wall:.1f} s, {peak:.0f} MiB", flush=True)
    verdict = "meets" if total <= TARGET_SECONDS else "misses"
    rows.append(["**total**", f"**{total:.1f}**", ""])
    body = table(["stage", "wall time (s)", "peak memory (MiB)"], rows)
    body += f"\n\nThe whole default pipeline {verdict} the {TARGET_SECONDS // 60}-minute target."
    record("Pipeline stages (default params, `dvc repro`)", body)


if __name__ == "__main__":
    main()
