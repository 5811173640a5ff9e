"""One summary per measured case: its rounds, median, noise, status and FLOPs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .load import CASE_KEY
from .palette import backend_order
from .stats import NOISY, iqr_over_median


@dataclass(frozen=True)
class Case:
    machine: str
    model: str
    config: str
    backend: str
    dtype: str
    threads: int
    batch_size: int
    resolution: int | None
    status: str
    error: str
    run_id: str
    seconds: np.ndarray = field(repr=False)  # seconds per step, one per timed round (empty unless ok)
    flops: int = 0
    macs: int = 0
    verified_error: float = float("nan")  # largest relative error vs torch float64 (ok cases)
    tolerance: float = float("nan")

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.seconds.size > 0

    @property
    def median(self) -> float:
        return float(np.median(self.seconds)) if self.ok else float("nan")

    @property
    def rounds(self) -> int:
        return int(self.seconds.size)

    @property
    def noise(self) -> float:
        return iqr_over_median(self.seconds) if self.ok else float("nan")

    @property
    def noisy(self) -> bool:
        return self.ok and self.noise > NOISY

    @property
    def one_round(self) -> bool:
        return self.ok and self.rounds == 1

    @property
    def label(self) -> str:
        """``numpy float32 4 threads``: what distinguishes cases within one config."""
        return f"{self.backend} {self.dtype} {self.threads} thread{'s' if self.threads != 1 else ''}"

    @property
    def flags(self) -> str:
        """Marks shown beside a time: noisy and one-round cases."""
        marks = []
        if self.noisy:
            marks.append(f"noisy: IQR/median {self.noise:.0%}")
        if self.one_round:
            marks.append("one round")
        return "; ".join(marks)


def summarize(cases: pd.DataFrame) -> list[Case]:
    """One Case per (machine, case key) in the (already latest-run) rows, in a stable order."""
    out: list[Case] = []
    keyed = cases.assign(_res=cases["resolution"].fillna(-1))
    key = ["machine"] + [k if k != "resolution" else "_res" for k in CASE_KEY]
    for values, rows in keyed.groupby(key, sort=False, dropna=False):
        first = rows.iloc[0]
        statuses = set(rows["status"])
        status = "ok" if statuses == {"ok"} else ("failed" if "failed" in statuses else sorted(statuses)[0])
        ok_rows = rows[rows["status"] == "ok"].sort_values("round")
        error = "; ".join(sorted(set(str(e) for e in rows["error"].dropna() if str(e))))
        resolution = None if pd.isna(first["resolution"]) else int(first["resolution"])
        out.append(Case(
            machine=str(first["machine"]), model=str(first["model"]), config=str(first["config"]),
            backend=str(first["backend"]), dtype=str(first["dtype"]), threads=int(first["threads"]),
            batch_size=int(first["batch_size"]), resolution=resolution, status=status, error=error,
            run_id=str(first["run_id"]),
            seconds=ok_rows["seconds"].to_numpy(dtype=float) if status == "ok" else np.empty(0),
            flops=int(first["flops"]), macs=int(first["macs"]),
            verified_error=float(rows["verified_max_rel_error"].max()),
            tolerance=float(rows["tolerance"].max()),
        ))
    out.sort(key=lambda c: (c.machine, c.model, config_order(c.config), c.batch_size,
                            backend_order(c.backend), c.dtype, c.threads))
    return out


def config_order(config: str) -> tuple:
    """Named MLPs first, the width sweep by width, then ResNet-50 by resolution; others by name."""
    fixed = ("mlp-tiny", "mlp-mnist", "mlp-wide")
    if config in fixed:
        return (0, fixed.index(config), "")
    width = sweep_width(config)
    if width is not None:
        return (1, width, "")
    if config.startswith("resnet50-") and config.removeprefix("resnet50-").isdigit():
        return (2, int(config.removeprefix("resnet50-")), "")
    return (3, 0, config)


def sweep_width(config: str) -> int | None:
    """N of ``mlp-width-N``; None for any other config."""
    prefix = "mlp-width-"
    tail = config.removeprefix(prefix)
    return int(tail) if config.startswith(prefix) and tail.isdigit() else None
