"""Where the time of one instrumented step went: the ``part`` rows of a results file (schema 4), as
one record per case and machine."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .keys import RUN_OF_CASE, CaseKey, MachineKey, case_key, machine_key
from .results import WHOLE_STEP


@dataclass(frozen=True)
class Breakdown:
    """Where the time of one instrumented step of a case went (the ``part`` rows of schema 4):
    seconds per part in the order the parts ran (``architectures.resnet.stage_parts``)."""

    key: CaseKey
    machine: MachineKey
    run_id: str
    ended: pd.Timestamp
    parts: dict[str, float]

    @property
    def total(self) -> float:
        """Seconds of the instrumented step: the sum of its parts."""
        return sum(self.parts.values())


def breakdowns(frame: pd.DataFrame) -> list[Breakdown]:
    """The newest breakdown of every case on every machine in ``frame`` (rows of ``bench.results``)."""
    if frame.empty or "part" not in frame.columns:
        return []
    rows = frame[(frame["part"].fillna(WHOLE_STEP) != WHOLE_STEP) & (frame["status"] == "ok")]
    latest: dict[tuple, Breakdown] = {}
    for _, group in rows.groupby(RUN_OF_CASE, sort=False, dropna=False):
        group = group.drop_duplicates(subset=["part"], keep="last")  # the same file read twice
        first = group.iloc[0]
        found = Breakdown(case_key(first), machine_key(first), str(first["run_id"]), group["timestamp"].max(),
                          dict(zip(group["part"].astype(str), group["seconds"].astype(float))))
        slot = (found.machine, found.key)
        if slot not in latest or latest[slot].ended < found.ended:
            latest[slot] = found
    return sorted(latest.values(), key=lambda b: (b.machine, b.key))
