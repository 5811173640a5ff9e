"""Achieved GFLOP/s of every ok case against the machine's measured peak.

Peak cases (model ``peak``) time one large matrix product per config (``gemm-float32-2048``); their
GFLOP/s is flops / time / 1e9 (``bench.measurement``: the median of the uncontended rounds), and a machine's peak for a (device, precision,
threads) is the best of its GEMM sizes. A case is compared with the peak from its own run, in the
precision it computed in (float32, float64; on the GPU tf32 or bfloat16, as its row records) and
same threads; failing that the nearest thread count, then another run on the same
machine. The table says which was used.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..keys import MachineKey, device
from ..measurement import measurements
from .cases import Case


@dataclass(frozen=True)
class Peak:
    machine: MachineKey
    run_id: str
    device: str  # "gpu" or "cpu"
    backend: str
    dtype: str
    precision: str  # what the GEMM computed in: float32, float64, tf32, bfloat16
    threads: int
    gflops: float
    config: str  # the GEMM that reached it


@dataclass(frozen=True)
class Efficiency:
    case: Case
    gflops: float
    peak: Peak | None
    matched: str  # how the peak was chosen

    @property
    def fraction(self) -> float:
        return self.gflops / self.peak.gflops if self.peak else float("nan")


def peaks(peak_rows: pd.DataFrame) -> list[Peak]:
    """Best GEMM GFLOP/s per (machine, run, device, precision, threads), from every run's peak cases."""
    best: dict[tuple, Peak] = {}
    for m in measurements(peak_rows, newest=False, harness=True):
        if not m.ok or m.flops <= 0:
            continue
        gflops = m.flops / m.time / 1e9
        precision = m.precision or m.dtype
        key = (m.machine, m.run_id, device(m.backend), precision, m.threads)
        if key not in best or gflops > best[key].gflops:
            best[key] = Peak(m.machine, m.run_id, device(m.backend), m.backend, m.dtype, precision, m.threads,
                             gflops, m.config)
    return list(best.values())


def _match(case: Case, candidates: list[Peak]) -> tuple[Peak | None, str]:
    precision = case.precision or case.dtype  # a bfloat16 autocast step against the bfloat16 GEMM
    mine = [p for p in candidates if p.machine == case.machine and p.device == device(case.backend)
            and p.precision == precision]
    for same_run in (True, False):
        pool = [p for p in mine if (p.run_id == case.run_id) == same_run]
        if not pool:
            continue
        run = "same run" if same_run else "other run"
        exact = [p for p in pool if p.threads == case.threads]
        if exact:
            return max(exact, key=lambda p: p.gflops), f"{run}, same threads"
        near = min(pool, key=lambda p: (abs(p.threads - case.threads), -p.gflops))
        return near, f"{run}, {near.threads} threads"
    return None, "no peak measured for this device and precision"


def efficiencies(cases: list[Case], machine_peaks: list[Peak]) -> list[Efficiency]:
    out = []
    for case in cases:
        if not case.ok or case.flops <= 0:
            continue
        peak, how = _match(case, machine_peaks)
        out.append(Efficiency(case, case.flops / case.median / 1e9, peak, how))
    return out
