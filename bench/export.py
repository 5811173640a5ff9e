"""``bench export``: a results file as pytest-benchmark JSON and as CSV.

The JSON follows the file pytest-benchmark writes with ``--benchmark-json`` (``machine_info``,
``commit_info``, ``benchmarks`` with their ``stats``, ``datetime``, ``version``), so that
``pytest-benchmark compare`` reads it beside its own runs. One benchmark per measured case, the
newest run of it on each machine (as every reader here): ``group`` is its config and batch,
``name`` its backend, dtype and threads, ``stats.data`` its uncontended rounds in seconds per step
(vecbench leaves contended rounds out of every statistic; ``extra_info`` says how many). The
statistics are vecbench's (``bench.stats.describe``): quartiles are numpy's linear percentiles,
where pytest-benchmark interpolates its own way, so ``iqr`` and the outlier counts may differ from
what pytest-benchmark would compute from the same data; min, max, mean, stddev, median, rounds and
ops do not. The CSV has one row per case with the same figures.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import UsageError
from .measurement import Measurement, measurements
from .results import read_results
from .stats import describe

PYTEST_BENCHMARK_FORMAT = "5.3.1"  # the pytest-benchmark whose JSON this writes (constraints.txt)
CSV_COLUMNS = ("machine", "group", "name", "rounds", "min", "max", "mean", "stddev", "median", "iqr", "ops",
               "contended_rounds_left_out", "run_id", "git_commit")


def benchmark_stats(seconds: np.ndarray) -> dict:
    """pytest-benchmark's ``stats`` of rounds of ``seconds`` per step, from ``bench.stats.describe``."""
    s = describe(seconds)
    x = np.sort(np.asarray(seconds, dtype=float))
    low, high = s["q1"] - 1.5 * s["iqr"], s["q3"] + 1.5 * s["iqr"]
    within = x[(x >= low) & (x <= high)]
    beyond_sd = int(np.sum((x < s["mean"] - s["stddev"]) | (x > s["mean"] + s["stddev"])))
    beyond_iqr = int(np.sum((x < low) | (x > high)))
    total = float(x.sum())
    return {**s, "rounds": int(x.size), "iqr_outliers": beyond_iqr, "stddev_outliers": beyond_sd,
            "outliers": f"{beyond_sd};{beyond_iqr}", "ld15iqr": float(within.min()), "hd15iqr": float(within.max()),
            "ops": x.size / total if total else 0.0, "total": total, "data": [float(v) for v in x], "iterations": 1}


def _benchmark(case: Measurement) -> dict:
    rounds = case.clean
    group = f"{case.config}@{case.batch_size}"
    return {
        "group": group, "name": case.label, "fullname": f"vecbench::{group}::{case.label}",
        "params": None, "param": None,
        "extra_info": {"machine": str(case.machine), "case": [case.backend, case.dtype, case.threads],
                       "run_id": case.run_id, "contended_rounds_left_out": case.seconds.size - rounds.size,
                       "flops_per_step": case.flops, "verified_max_rel_error": case.verified_error,
                       "precision": case.precision},
        "options": {"timer": "vecbench (bench/timing.py: wall and CPU time per round)", "disable_gc": False,
                    "min_rounds": None, "max_time": None, "min_time": None, "warmup": True},
        "stats": benchmark_stats(rounds),
    }


def _machine_info(rows: pd.DataFrame) -> dict:
    first = rows.iloc[-1]
    platform = str(first["platform"]).split()  # "Linux 6.18.44 x86_64" (bench.machine)
    return {"node": str(first["hostname"]), "processor": str(first["cpu"]), "machine": platform[-1] if platform else "",
            "system": platform[0] if platform else "", "release": " ".join(platform[1:-1]),
            "python_version": str(first["python"]),
            "cpu": {"brand_raw": str(first["cpu"]), "count": int(first["cores"])}, "gpu": str(first["gpu"] or ""),
            "numpy": str(first["numpy"]), "torch": str(first["torch"]), "blas": str(first["blas"])}


def _commit_info(rows: pd.DataFrame) -> dict:
    commit = str(rows.iloc[-1]["git_commit"])
    return {"id": commit.removesuffix("-dirty"), "dirty": commit.endswith("-dirty"), "project": "vecbench",
            "branch": None, "time": None, "author_time": None}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def export(paths: list[str | Path], out_dir: str | Path) -> list[Path]:
    """One pytest-benchmark JSON per machine in the results files named, and one CSV of every case;
    returns the paths written. UsageError (one line) where there is nothing to export."""
    frame = read_results(paths)
    cases = [c for c in measurements(frame) if c.ok]
    if not cases:
        raise UsageError(f"{', '.join(map(str, paths))}: no successful case to export")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{out}: cannot write there ({exc.strerror or exc})") from None
    benchmarks = [(case, _benchmark(case)) for case in cases]  # each case's statistics, once
    written = []
    for machine in sorted({c.machine for c in cases}):
        mine = [(c, b) for c, b in benchmarks if c.machine == machine]
        rows = frame[(frame["cpu"] == machine.cpu) & (frame["cores"] == machine.cores)
                     & (frame["gpu"].fillna("") == machine.gpu)].sort_values("timestamp")
        document = {"machine_info": _machine_info(rows), "commit_info": _commit_info(rows),
                    "benchmarks": [b for _, b in mine],
                    "datetime": max(c.ended for c, _ in mine).isoformat(), "version": PYTEST_BENCHMARK_FORMAT}
        path = out / f"{_slug(machine.label)}.json"
        path.write_text(json.dumps(document, indent=2), encoding="utf-8")
        written.append(path)
    table = out / "cases.csv"
    with table.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for case, b in benchmarks:
            s, extra = b["stats"], b["extra_info"]
            writer.writerow([extra["machine"], b["group"], b["name"], s["rounds"], *(repr(s[k]) for k in
                             ("min", "max", "mean", "stddev", "median", "iqr", "ops")),
                             extra["contended_rounds_left_out"], case.run_id, case.git_commit])
    return written + [table]
