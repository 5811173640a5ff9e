"""What the harness hands every rank: the case and its inputs, and where to take commands from."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# The faults a test may plant in a rank (``Job.planted``): what each does is the worker's.
PLANTABLE = ("gradient 1% off", "dies in a block", "hangs in a block")


@dataclass
class Job:
    """One case for the ranks of one worker group.

    ``params``, ``x``, ``y``: the config's initial weights and its whole batch (every rank takes its
    shard). ``device``: ``cpu`` (gloo) or ``cuda`` (a GPU per process, its local rank's; NCCL). ``threads``: torch threads per rank. ``control``: ``host:port`` of the harness's store
    (rank 0 takes commands there). ``idle_seconds``: how long a rank waits for the next command or a
    collective before it gives up (the harness's own timeouts are shorter: it ends a group that
    stops answering). ``planted``: a fault a test plants in rank ``planted_rank`` (``PLANTABLE``;
    empty in every real run).
    """

    backend: str
    model: str
    spec: object
    params: dict[str, np.ndarray] = field(repr=False)
    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    dtype: str
    threads: int
    control: str
    idle_seconds: float = 3600.0
    planted: str = ""
    planted_rank: int = 1
    device: str = "cpu"

    def __post_init__(self):
        if self.planted and self.planted not in PLANTABLE:
            raise ValueError(f"unknown planted fault {self.planted!r}; accepted: {', '.join(PLANTABLE)}")
