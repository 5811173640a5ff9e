"""The report's cases are ``bench.measurement.Measurement`` records; this orders them for display."""

from __future__ import annotations

from ..measurement import Measurement
from .palette import backend_order

Case = Measurement


def ordered(cases: list[Measurement]) -> list[Measurement]:
    """Machines, then models, configs in display order, batch, backend, dtype, threads."""
    return sorted(cases, key=lambda c: (c.machine, c.model, config_order(c.config), c.batch_size,
                                        backend_order(c.backend), c.dtype, c.threads))


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
