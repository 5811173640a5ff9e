"""What a model's step of one size can be measured as, where its cost rules cases out: each
model's ``step_limits(spec, batch_size, ...)`` says, and the suite reads it (it holds no rule keyed
by a model's name or size)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StepLimits:
    """``loop_baseline``: whether the loop baseline (explicit loops in the interpreter, the
    registry's ``LOOP_BASELINE`` role) is run at this size: False where one of its steps would take
    hours. ``dtypes``: the dtypes run at this size (None: every dtype a backend offers).
    ``degenerate``: why a step of this size is numerically degenerate (empty: it is not), so that
    no verification can judge it: e.g. a batch so small that a batch norm normalizes a handful of
    values (the data-parallel rung asks this of each process's shard)."""

    loop_baseline: bool = True
    dtypes: tuple[str, ...] | None = None
    degenerate: str = ""


NO_LIMITS = StepLimits()
