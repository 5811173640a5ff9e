"""Where a training step's cost goes at mlp-tiny, for ``loops`` and the textbook: instructions and
first-level cache misses per step, under cachegrind.

    python -m studies.loops_footprint [--repeats 3] [--out results/floor/footprint-<machine>.parquet]

The loops floor study (studies/loops_floor.py) times ``loops`` against the textbook MLP step; at
mlp-tiny (4-3-2, batch 5), where the step is all calls, a clock says little about why one side is
faster (until 1e8f11c loops was the slower there). This study counts it, without a clock: each side
runs its step (built by the floor study's own ``_steps``) in a process of its own under ``valgrind
--tool=cachegrind --cache-sim=yes``, once for ``LOW`` steps and once for ``HIGH``; the difference
over the extra steps is what one step costs, without the interpreter's start, the imports and the
setup. GC is off in that process, as in every timed block, ``PYTHONHASHSEED=0`` fixes the dicts'
layout, and the thread pools have one thread (``CHILD_ENV``); each count is the median of
``--repeats`` runs, which then agree to a few parts in ten thousand.

Counts, not times: they are not disturbed by neighbours, but the caches are valgrind's simulation,
sized as this machine's first-level caches (recorded per row), and a miss has no cost in it. Needs
valgrind (Debian: ``apt-get install valgrind``); without it, one line and exit 2. A run that fails
under valgrind says which side and its last line of output, and exits 1, writing nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from bench.floor import footprint_medians
from bench.machine import describe_machine
from bench.timing import collector_paused

SHAPE = ("mlp-tiny", (4, 3, 2), 5)
LOW, HIGH = 300, 1300  # steps in the two runs of a side; one step's cost is their difference / 1000
EVENTS = {"Ir": "instructions", "I1mr": "i1_misses", "D1mr": "d1_read_misses", "D1mw": "d1_write_misses"}
SIDES = ("loops", "textbook")
# The child's dicts laid out alike in every run, and no thread pool but its own thread: valgrind
# runs a process's threads one at a time, and the BLAS and OpenMP workers the imports start spin a
# while before they sleep, adding instructions (up to 7% of a step's, a different number each run).
CHILD_ENV = {"PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def read_counts(text: str) -> tuple[dict[str, int], dict[str, str]]:
    """The program totals of a cachegrind output file (its ``events:`` and ``summary:`` lines) by
    event name, and its ``desc:`` lines (the simulated caches) by cache."""
    names, totals, caches = None, None, {}
    for line in text.splitlines():
        if line.startswith("events:"):
            names = line.split()[1:]
        elif line.startswith("summary:"):
            totals = [int(v) for v in line.split()[1:]]
        elif line.startswith("desc:") and "cache:" in line:
            cache, _, size = line[len("desc:"):].partition("cache:")
            caches[cache.strip()] = " ".join(size.split())
    if names is None or totals is None or len(names) != len(totals):
        raise ValueError("not a cachegrind output file: no events and summary lines of one length")
    return dict(zip(names, totals)), caches


def _cachegrind(side: str, steps: int) -> tuple[dict[str, int], dict[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "cachegrind.out"
        subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=yes", f"--cachegrind-out-file={out}",
                        sys.executable, "-m", "studies.loops_footprint", "--child", side, str(steps)],
                       check=True, capture_output=True, env={**os.environ, **CHILD_ENV})
        return read_counts(out.read_text())


def study(repeats: int) -> pd.DataFrame:
    machine = describe_machine()
    name, sizes, batch = SHAPE
    rows = []
    for repeat in range(repeats):
        for side in SIDES:
            low, _ = _cachegrind(side, LOW)
            high, caches = _cachegrind(side, HIGH)
            per_step = {column: (high[event] - low[event]) / (HIGH - LOW) for event, column in EVENTS.items()}
            rows.append(dict(shape=name, sizes="-".join(map(str, sizes)), batch=batch, side=side, repeat=repeat,
                             **per_step, i1_cache=caches.get("I1", ""), d1_cache=caches.get("D1", ""), gc="off",
                             cpu=machine["cpu"], cores=machine["cores"], git_commit=machine["git_commit"]))
    return pd.DataFrame(rows)


def summary(frame: pd.DataFrame) -> list[str]:
    medians = footprint_medians(frame)
    lines = [f"{frame['shape'].iloc[0]} (batch {frame['batch'].iloc[0]}), per step, median of "
             f"{frame['repeat'].nunique()} runs (simulated I1 {frame['i1_cache'].iloc[0]}, D1 {frame['d1_cache'].iloc[0]}):"]
    for column in EVENTS.values():
        loops, textbook = medians["loops"][column], medians["textbook"][column]
        lines.append(f"  {column}: loops {loops:,.0f}, textbook {textbook:,.0f}, loops / textbook {loops / textbook:.2f}")
    return lines


def _child(side: str, steps: int) -> None:
    from studies.loops_floor import _steps  # noqa: PLC0415  (the floor study's very steps)

    _, sizes, batch = SHAPE
    loops, textbook = _steps(sizes, batch)
    step = loops if side == "loops" else textbook
    with collector_paused():  # as every timed block, so that the counts are of what is timed
        for _ in range(steps):
            step()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], int(args.child[1]))
        return 0
    if shutil.which("valgrind") is None:
        print("loops_footprint: valgrind is not installed (Debian: apt-get install valgrind); nothing measured",
              file=sys.stderr)
        return 2
    try:
        frame = study(args.repeats)
    except subprocess.CalledProcessError as failed:
        last = (failed.stderr or b"").decode(errors="replace").strip().splitlines() or ["(no output)"]
        print(f"loops_footprint: {' '.join(map(str, failed.cmd[-3:]))} failed under valgrind (exit "
              f"{failed.returncode}): {last[-1]}", file=sys.stderr)
        return 1
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(args.out, index=False)
    print("\n".join(summary(frame)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
