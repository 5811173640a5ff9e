"""Read results files for the report: validate them and split rows into cases, peaks and overhead.

A machine is ``(hostname, cpu, gpu)``; a case is a machine plus ``CASE_KEY``. When one case was
measured in several runs on the same machine, the latest run (by its last timestamp) counts and
the earlier ones are dropped, so rounds from different commits are never pooled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..results import read_results

MACHINE_KEY = ("hostname", "cpu", "gpu")
CASE_KEY = ("model", "config", "backend", "dtype", "threads", "batch_size", "resolution")
HARNESS_MODELS = ("peak", "noop")


def load(paths: list[str | Path]) -> pd.DataFrame:
    """Every row of every file, validated; UsageError naming the file for anything unusable."""
    frame = read_results(paths)
    for source, rows in frame.groupby("source_file", sort=True):
        ok = rows[(rows["status"] == "ok") & ~rows["model"].isin(HARNESS_MODELS)]
        if ok.empty:
            raise UsageError(f"{source}: no successful case (status 'ok') to report; "
                             f"{len(rows)} row(s), statuses: {', '.join(sorted(rows['status'].dropna().unique())) or 'none'}")
        bad = ok[~np.isfinite(ok["seconds"].astype(float)) | (ok["seconds"].astype(float) <= 0)]
        if not bad.empty:
            row = bad.iloc[0]
            raise UsageError(f"{source}: ok row for {row['config']} {row['backend']} has seconds={row['seconds']}; "
                             "an ok round needs a positive time")
    frame["resolution"] = frame["resolution"].astype("Int64")
    frame["gpu"] = frame["gpu"].fillna("")
    return frame


def latest_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """Only the latest run of each case on each machine."""
    key = list(MACHINE_KEY + CASE_KEY)
    stamped = frame.assign(_res=frame["resolution"].fillna(-1))
    key = [k if k != "resolution" else "_res" for k in key]
    last = stamped.groupby(key + ["run_id"], dropna=False)["timestamp"].max().rename("_last").reset_index()
    best = last.sort_values("_last").groupby(key, dropna=False).tail(1)[key + ["run_id"]]
    kept = stamped.merge(best, on=key + ["run_id"], how="inner")
    # the same file named twice (or copied into two folders) must not double a case's rounds
    kept = kept.drop_duplicates(subset=key + ["run_id", "round", "status", "seconds"])
    return kept.drop(columns="_res")


def machine_label(hostname: str, cpu: str, gpu: str) -> str:
    """Short human name of a machine: hostname, with its GPU when it has one."""
    return f"{hostname} ({gpu})" if gpu else str(hostname)


def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(model cases, peak rows, noop rows), each with a ``machine`` label column."""
    frame = frame.assign(machine=[machine_label(h, c, g) for h, c, g in
                                  zip(frame["hostname"], frame["cpu"], frame["gpu"])])
    peaks = frame[frame["model"] == "peak"]
    noops = frame[frame["model"] == "noop"]
    cases = latest_runs(frame[~frame["model"].isin(HARNESS_MODELS)])
    return cases, peaks, noops
