"""The report's cases are ``bench.measurement.Measurement`` records; this orders them for display,
from what their rows record (model, sweep width, multiply-adds), never from their configs' names."""

from __future__ import annotations

from ..measurement import Measurement
from implementations.registry import order_key

Case = Measurement


def config_ranks(cases: list[Case]) -> dict[str, tuple]:
    """Each config's display place: models by name; within a model the named configs, then the
    width sweep by width; named configs by their multiply-adds per sample (the most any of their
    rows recorded: a failed row may record none), so mlp-tiny, mlp-mnist, mlp-wide, and ResNet-50
    by resolution; ties by name."""
    per_sample: dict[str, float] = {}
    for c in cases:
        here = c.macs / c.batch_size if c.macs and c.batch_size else 0.0
        per_sample[c.config] = max(per_sample.get(c.config, 0.0), here)
    first = {}
    for c in cases:
        first.setdefault(c.config, c)
    return {config: (c.model, c.sweep_width is not None, c.sweep_width or 0, per_sample[config], config)
            for config, c in first.items()}


def ordered(cases: list[Measurement]) -> list[Measurement]:
    """Machines, then configs in display order, batch, backend, dtype, threads."""
    ranks = config_ranks(cases)
    return sorted(cases, key=lambda c: (c.machine, ranks[c.config], c.batch_size, order_key(c.backend), c.dtype,
                                        c.threads))
