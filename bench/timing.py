"""Timing through pytest-benchmark's engine, driven without pytest.

pytest-benchmark's ``BenchmarkFixture`` does the calibration (iterations per round so that a round
outlasts the timer's resolution many times over), the warm-up and the GC handling. We build one
fixture per case, exactly as its pytest plugin would, and read back every round it timed.
"""

from __future__ import annotations

import gc
import inspect
import time
from dataclasses import dataclass
from types import SimpleNamespace

from pytest_benchmark.fixture import BenchmarkFixture
from pytest_benchmark.utils import NameWrapper


class _SilentLogger:
    """pytest-benchmark reports calibration details through its logger; the harness has its own bar."""

    def debug(self, *args, **kwargs):
        pass

    info = debug

    def warning(self, *args, **kwargs):
        pass


@dataclass
class Timing:
    """Seconds per call of every timed round, and how they were obtained."""

    seconds: list[float]
    iterations: int
    mode: str  # "calibrated" or "pedantic"
    result: object  # what the last call returned


def _fixture(name: str, *, min_rounds: int, min_time: float, max_time: float, warmup: bool) -> BenchmarkFixture:
    options = {
        "node": SimpleNamespace(name=name, nodeid=name),
        # GC off inside rounds: a collection landing in one round and not another is noise, and
        # the timed code creates no reference cycles for it to collect.
        "disable_gc": True,
        "timer": NameWrapper(time.perf_counter),
        "min_rounds": min_rounds,
        "min_time": min_time,
        "max_time": max_time,
        "precision": None,
        "confidence": None,
        "warmup": warmup,
        "warmup_iterations": 100_000,
        "calibration_precision": 10,
        "add_stats": lambda stats: None,
        "logger": _SilentLogger(),
        "warner": None,
        "disabled": False,
        "cprofile": False,
        "cprofile_loops": None,
        "cprofile_dump": None,
        "group": None,
    }
    # Versions differ in their constructor (the GPU machine's may be older): pass what it takes.
    accepted = inspect.signature(BenchmarkFixture.__init__).parameters
    return BenchmarkFixture(**{k: v for k, v in options.items() if k in accepted})


def time_calibrated(name: str, target, *, min_rounds: int, min_time: float, max_time: float) -> Timing:
    """pytest-benchmark's default mode: calibrate iterations, warm up, then time rounds."""
    gc.collect()
    fixture = _fixture(name, min_rounds=min_rounds, min_time=min_time, max_time=max_time, warmup=True)
    result = fixture(target)
    return Timing(list(fixture.stats.stats.data), fixture.stats.iterations, "calibrated", result)


def time_rounds(name: str, target, *, rounds: int, warmup_rounds: int = 0) -> Timing:
    """pytest-benchmark's pedantic mode: exactly ``rounds`` calls, one per round, no calibration.

    For steps that take seconds or minutes, where calibration would run the step again for
    nothing.
    """
    gc.collect()
    fixture = _fixture(name, min_rounds=rounds, min_time=0.0, max_time=0.0, warmup=False)
    result = fixture.pedantic(target, rounds=rounds, warmup_rounds=warmup_rounds, iterations=1)
    return Timing(list(fixture.stats.stats.data), 1, "pedantic", result)
