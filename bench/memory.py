"""What a case needs in memory, and whether this machine has it: checked before anything runs, so
that a run that cannot fit says so in one line instead of being killed an hour in."""

from __future__ import annotations

from implementations import architecture, is_cuda_backend
from implementations.registry import LOOP_BASELINE, role_of

from .errors import UsageError
from .suite import Case


def estimated_bytes(case: Case) -> int:
    """A generous estimate of the host memory ``case`` needs, in bytes: its model's own estimate
    (``host_bytes`` in its architecture module) for the case's batch, dtype, backend role and device."""
    config = case.config
    size = {"resolution": config.resolution} if config.resolution else {}
    return architecture(config.model).host_bytes(
        config.spec, config.batch_size, 8 if case.dtype == "float64" else 4,
        loops=role_of(case.backend) == LOOP_BASELINE, on_gpu=is_cuda_backend(case.backend), **size)


def available_bytes() -> int | None:
    """Memory the machine can give a new process now (/proc/meminfo MemAvailable); None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def check_memory(cases: list[Case], available: int | None = None) -> None:
    """UsageError naming the first case that cannot fit, before anything is run."""
    available = available_bytes() if available is None else available
    if available is None:
        return
    for case in cases:
        need = estimated_bytes(case)
        if need > 0.8 * available:
            raise UsageError(f"{case.label} needs about {_gib(need)} of memory; "
                             f"this machine has {_gib(available)} available: choose a smaller width or batch size")


def _gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB" if n < 2**50 else f"{n / 2**30:.3g} GiB"
