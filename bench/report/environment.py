"""Per-machine environment: hardware, software, commits, runs and the harness's own overhead."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..formatting import seconds


@dataclass(frozen=True)
class Environment:
    machine: str
    rows: list[tuple[str, str]]  # (field, value)


def _values(rows: pd.DataFrame, column: str, listed: bool = False) -> str:
    """The distinct values of ``column``; ``listed``: each value is itself a list ("a, b"), its
    items counted once whatever their order (the BLAS libraries a process loaded)."""
    values = {str(v) for v in rows[column].dropna() if str(v) != ""}
    if listed:
        values = {item for v in values for item in v.split(", ")}
    return ", ".join(sorted(values)) if values else "none recorded"


def overhead(noops: pd.DataFrame) -> str:
    """Median harness overhead per call from noop rows, per run."""
    ok = noops[noops["status"] == "ok"]
    if ok.empty:
        return "not measured (no noop rows)"
    parts = []
    for run_id, rows in ok.groupby("run_id", sort=True):
        parts.append(f"{seconds(float(np.median(rows['seconds'])))} per call (run {run_id}, {len(rows)} rounds)")
    return "; ".join(parts)


def load(rows: pd.DataFrame) -> str:
    """How busy the machine was while it was timed: contended rounds, run-queue wait, steal."""
    ok = rows[(rows["status"] == "ok") & rows["contended"].notna()]
    if ok.empty:
        return "not recorded (results older than schema version 3)"
    contended = ok["contended"].astype(bool)
    wait = ok["run_wait"].astype(float)
    steal = ok["steal"].astype(float)
    return (f"{contended.sum():,} of {len(ok):,} rounds contended ({contended.mean():.1%}, left out); run-queue "
            f"wait median {wait.median():.3f} s/s (99th percentile {wait.quantile(0.99):.3f}); steal median "
            f"{steal.median():.1%}")


def environments(frame: pd.DataFrame) -> list[Environment]:
    """One table per machine from every row of that machine (cases, peaks and noops)."""
    out = []
    for machine, rows in frame.groupby("machine", sort=True):
        stamps = rows["timestamp"].dropna()
        dates = (f"{stamps.min():%Y-%m-%d %H:%M} to {stamps.max():%Y-%m-%d %H:%M} UTC"
                 if not stamps.empty else "none recorded")
        out.append(Environment(str(machine), [
            ("CPU", _values(rows, "cpu")),
            ("logical cores", _values(rows, "cores")),
            ("GPU", _values(rows, "gpu") if _values(rows, "gpu") != "none recorded" else "none"),
            ("BLAS", _values(rows, "blas", listed=True)),
            ("platform", _values(rows, "platform")),
            ("Python", _values(rows, "python")),
            ("NumPy", _values(rows, "numpy")),
            ("PyTorch", _values(rows, "torch")),
            ("vecbench commit", _values(rows, "git_commit")),
            ("dates", dates),
            ("run ids", _values(rows, "run_id")),
            ("profiles; timing modes", f"{_values(rows, 'profile')}; {_values(rows, 'timing_mode')}"),
            ("harness overhead per call (noop)", overhead(rows[rows["model"] == "noop"])),
            ("machine load while timed", load(rows)),
            ("results files", _values(rows, "source_file")),
        ]))
    return out
