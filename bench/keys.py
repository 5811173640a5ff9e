"""What tells measured cases apart: the machine's key, the case's key, and the one way to name a case.

"The same machine" is ``MachineKey``: CPU brand, logical cores and GPU. The hostname is not part
of it: CI's machines of one kind have new hostnames every run. "The same case" is ``CaseKey``:
model, config, backend, dtype, threads, batch size, resolution and the processes a step spans
(``world_size``), apart from where and when it ran.
Both are read from a results row here and nowhere else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from implementations.registry import on_gpu


def device(backend: str) -> str:
    """``gpu`` for a backend that describes itself as running on CUDA (``Backend.device``; the
    harness's GPU peaks are timed by such a backend too), else ``cpu``, also for a backend not
    registered here (a plug-in installed elsewhere)."""
    return "gpu" if on_gpu(backend) else "cpu"


@dataclass(frozen=True, order=True)
class MachineKey:
    """What makes two runs comparable as one machine."""

    cpu: str
    cores: int
    gpu: str = ""

    @property
    def label(self) -> str:
        """``AMD EPYC, 2 cores``; a GPU machine by its GPU: ``NVIDIA H100 80GB HBM3 (Intel Xeon, 16 cores)``."""
        short = self.cpu.split(" with ")[0]
        for noise in ("(R)", "(TM)", " Processor"):
            short = short.replace(noise, "")
        host = f"{' '.join(short.split())}, {self.cores} cores"
        return f"{self.gpu} ({host})" if self.gpu else host

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True, order=True)
class CaseKey:
    """What a case is, apart from where and when it ran."""

    model: str
    config: str
    backend: str
    dtype: str
    threads: int
    batch_size: int
    resolution: int = 0  # 0 for models without an image size
    world_size: int = 1  # processes one step spans (data parallelism); threads are per process

    @property
    def label(self) -> str:
        """``mlp-mnist@32 numpy float32 2t``; ``... torch-ddp float32 2x1t`` over 2 processes."""
        return f"{self.config}@{self.batch_size} {case_name(self.backend, self.dtype, self.threads, True, self.world_size, True)}"

    @property
    def short(self) -> str:
        """``numpy float32 2 threads``: what tells cases of one config apart (:func:`case_name`)."""
        return case_name(self.backend, self.dtype, self.threads, world_size=self.world_size)

    @property
    def short_compact(self) -> str:
        """``numpy float32 2t``: ``short`` for a legend or a narrow cell."""
        return case_name(self.backend, self.dtype, self.threads, compact=True, world_size=self.world_size)


def case_name(backend: str, dtype: str, threads: int, compact: bool = False, world_size: int = 1,
              host_threads: bool = False) -> str:
    """``numpy float32 2 threads`` (``numpy float32 2t`` when ``compact``, for legends); over several
    processes ``torch-ddp float32 2 processes x 1 thread`` (``2x1t``). A GPU backend's host threads
    do not tell its cases apart: ``torch-cuda float32`` (unless ``host_threads``: the one label)."""
    if device(backend) == "gpu" and not host_threads:
        return f"{backend} {dtype}"
    if compact:
        return f"{backend} {dtype} {f'{world_size}x' if world_size > 1 else ''}{threads}t"
    processes = f"{world_size} processes x " if world_size > 1 else ""
    return f"{backend} {dtype} {processes}{threads} thread{'s' if threads != 1 else ''}"


def stored_text(value) -> str:
    """A stored cell as text: empty for a missing value (None, NaN, NA: a column an older file lacks)."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA else str(value)


def machine_key(row) -> MachineKey:
    """The machine of one results row (a mapping of column -> value)."""
    return MachineKey(stored_text(row["cpu"]), int(row["cores"]), stored_text(row["gpu"]))


def case_key(row) -> CaseKey:
    """The case of one results row (a mapping of column -> value)."""
    resolution = row["resolution"]
    world_size = row.get("world_size", 1)
    return CaseKey(str(row["model"]), str(row["config"]), str(row["backend"]), stored_text(row["dtype"]),
                   int(row["threads"]), int(row["batch_size"]), 0 if pd.isna(resolution) else int(resolution),
                   1 if world_size is None or pd.isna(world_size) else int(world_size))


def machines(frame: pd.DataFrame) -> list[MachineKey]:
    """The machines whose rows ``frame`` holds."""
    cols = frame[["cpu", "cores", "gpu"]].drop_duplicates()
    return sorted({machine_key(row) for _, row in cols.iterrows()})


# The columns whose values together name one run of one case on one machine: what rows are grouped by.
RUN_OF_CASE = ["run_id", "model", "config", "backend", "dtype", "threads", "batch_size", "world_size", "cpu", "cores",
               "gpu"]
