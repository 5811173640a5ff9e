"""The timer study (``python -m studies.timer_difference``): vecbench's timer against
pytest-benchmark's on the same cases, both run in one job, alternately. A study file is JSON:
the machine, the pairs, and per run the tool, the load average around it and each case's
statistics (``median`` seconds; vecbench's also ``contended_share``, pytest-benchmark's ``min``,
``mean`` and ``rounds``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .errors import UsageError
from .formatting import seconds
from .results import newest_in

TOOLS = ("vecbench", "pytest-benchmark")


def summary(study: dict) -> dict[str, dict]:
    """Per case: pytest-benchmark's median over vecbench's in each pair where both timed it, then
    the median over those pairs, the lowest and the highest; and each tool's median over pairs."""
    out = {}
    for case in sorted({case for run in study["runs"] for case in run["cases"]}):
        ratios, medians = [], {tool: [] for tool in TOOLS}
        for pair in range(study["pairs"]):
            got = {run["tool"]: run["cases"].get(case) for run in study["runs"] if run["pair"] == pair}
            if all(got.get(tool) for tool in TOOLS):
                ratios.append(got["pytest-benchmark"]["median"] / got["vecbench"]["median"])
                for tool in TOOLS:
                    medians[tool].append(got[tool]["median"])
        if ratios:
            out[case] = {"pairs": len(ratios), "median": float(np.median(ratios)), "low": min(ratios),
                         "high": max(ratios), **{tool: float(np.median(v)) for tool, v in medians.items()}}
    return out


def read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a timer study ({exc})") from None


def newest(folder: Path) -> Path:
    """The newest study of a machine kind's folder."""
    return newest_in(folder, ".json", "timer study")


def timer_table(folder: Path) -> tuple[list[str], list[list[str]], str]:
    """(columns, rows, note): the newest study of ``folder``, a row per case, its two medians and
    their ratio."""
    study = read(newest(folder))
    rows = [[case, seconds(s["vecbench"]), seconds(s["pytest-benchmark"]),
             f"{s['median']:.2f} ({s['low']:.2f}-{s['high']:.2f})", str(s["pairs"])]
            for case, s in summary(study).items()]
    loads = [run[key] for run in study["runs"] for key in ("load_before", "load_after")]
    note = (f"{study['pairs']} pairs of runs in one job on {study['machine']['cpu']} ({study['machine']['cores']} "
            f"cores), the tools' order alternating; load average {min(loads):.2f} to {max(loads):.2f} around the "
            f"runs. Ratio: pytest-benchmark's median over vecbench's, median over pairs (lowest-highest).")
    return ["case", "vecbench median", "pytest-benchmark median", "ratio", "pairs"], rows, note
