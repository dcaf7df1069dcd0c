"""Run every benchmark in turn (`make bench`); each writes its section of bench/RESULTS.md."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SCRIPTS = [
    "bench_synthesize.py",
    "bench_pipeline.py",
    "bench_baseline.py",
    "bench_inference.py",
    "bench_scan.py",
    "bench_search.py",
    "bench_robust.py",
]

if __name__ == "__main__":
    for script in SCRIPTS:
        print(f"== {script}", flush=True)
        subprocess.run([sys.executable, str(HERE / script)], check=True)
