"""Read results files for the report: validate them and split rows into cases, peaks and overhead.

Cases are ``bench.measurement.Measurement`` records (the newest run of each case on each machine);
a machine is ``bench.keys.MachineKey``. Peaks and the no-op stay rows, with a ``machine``
column holding the same key.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..keys import machine_key
from ..measurement import HARNESS_MODELS, Measurement, measurements
from ..results import read_results


def load(paths: list[str | Path]) -> pd.DataFrame:
    """Every row of every file, validated; UsageError naming the file for anything unusable."""
    frame = read_results(paths)
    for source, rows in frame.groupby("source_file", sort=True):
        planted = sorted({str(fault) for fault in rows["planted"].dropna() if str(fault)})
        if planted:
            raise UsageError(f"{source}: times code with a fault planted on purpose ({', '.join(planted)}: a power "
                             "study's slowed copy), not vecbench; leave it out of the report")
        ok = rows[(rows["status"] == "ok") & ~rows["model"].isin(HARNESS_MODELS)]
        if ok.empty:
            raise UsageError(f"{source}: no successful case (status 'ok') to report; "
                             f"{len(rows)} row(s), statuses: {', '.join(sorted(rows['status'].dropna().unique())) or 'none'}")
        bad = ok[~np.isfinite(ok["seconds"].astype(float)) | (ok["seconds"].astype(float) <= 0)]
        if not bad.empty:
            row = bad.iloc[0]
            raise UsageError(f"{source}: ok row for {row['config']} {row['backend']} has seconds={row['seconds']}; "
                             "an ok round needs a positive time")
    frame["gpu"] = frame["gpu"].fillna("")
    frame["machine"] = [machine_key(row) for _, row in frame[["cpu", "cores", "gpu"]].iterrows()]
    return frame


def split(frame: pd.DataFrame) -> tuple[list[Measurement], pd.DataFrame, pd.DataFrame]:
    """(the newest measurement of every model case, peak rows, noop rows)."""
    peaks = frame[frame["model"] == "peak"]
    noops = frame[frame["model"] == "noop"]
    return measurements(frame), peaks, noops
