"""How long ``sheetledger demo`` takes to play its day (run by hand or by ``make bench``).

The demo test checks what the day does; how fast it does it is a figure, printed here,
not a bound asserted in a test (a loaded CI machine would fail it for the wrong reason).

    .venv/bin/python bench/bench_demo.py [--runs 1]
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console

from sheetledger.demo import run_demo


def play(folder: Path) -> tuple[float, float, int, bool]:
    """One demo day: wall seconds, CPU seconds, checks run, whether every check passed."""
    cpu = time.process_time()
    wall = time.perf_counter()
    result = run_demo(folder, Console(file=io.StringIO(), width=160))
    return (
        time.perf_counter() - wall,
        time.process_time() - cpu,
        len(result.checks),
        result.exit_code == 0,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="how many days to play")
    args = parser.parse_args()
    walls, cpus = [], []
    ok = True
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            wall, cpu, checks, passed = play(Path(tmp) / "demo")
        walls.append(wall)
        cpus.append(cpu)
        ok = ok and passed
        print(
            f"demo day {run + 1}: {wall:.1f} s wall, {cpu:.1f} s CPU, {checks} checks, "
            f"{'all passed' if passed else 'SOME FAILED'}"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"demo: median {statistics.median(walls):.1f} s wall, "
        f"{statistics.median(cpus):.1f} s CPU (emulators included), peak {peak_mb:.0f} MB"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
