"""How a case's timing is shaped before it runs: warm-ups, rounds, repeats, and its expected cost.

A step over ``SLOW_STEP`` is timed one call per round (pedantic), in as many repeats as the
budget's ``slow_budget`` seconds allow; a faster one is calibrated (iterations per round so that a
round lasts ``min_time``) and timed in ``budget.repeats`` blocks of rounds filling ``block_time``.
"""

from __future__ import annotations

import math

from implementations import architecture
from implementations.registry import LOOP_BASELINE, role_of

from .profiles import SLOW_STEP, TimingBudget
from .suite import Case

# Untimed steps of a GPU rung between verification and timing: cuDNN autotuning, torch.compile's
# remaining (re)compilation, the caching allocator's growth and the momentum buffers all happen in
# the first steps and stay out of the numbers.
GPU_WARMUP_STEPS = 5
# Steps longer than this get no warm-up call: a warm-up of minutes is not affordable, and a
# pure-Python step has no caches or thread pools to warm.
WARMUP_MAX_STEP = 5.0


def size_kwargs(config) -> dict:
    """The size arguments of ``config``'s step counts (an image model's resolution)."""
    return {"resolution": config.resolution} if config.resolution else {}


def slow_plan(budget: TimingBudget, step: float) -> tuple[int, int]:
    """(repeats, rounds per repeat) of a step slower than ``SLOW_STEP``: one call per round,
    as many repeats as ``budget.slow_budget`` seconds allow (at least one), then rounds."""
    total = max(1, int(budget.slow_budget / step))
    repeats = max(1, min(budget.repeats, total))
    return repeats, max(1, min(budget.min_rounds, total // repeats))


def calibrated_plan(budget: TimingBudget, step: float, iterations: int) -> tuple[int, int, int]:
    """(rounds per repeat, repeats, warm-up calls at most per block) of a calibrated case whose
    step takes ``step`` seconds, ``iterations`` calls a round."""
    rounds = max(budget.min_rounds, round(budget.block_time / (iterations * step)))
    return rounds, budget.repeats, max(1, math.ceil(budget.warmup_time / step))


def estimated_seconds(case: Case, budget: TimingBudget) -> float:
    """A rough cost of a case over all its repeats, so that the progress bar's ETA is about right."""
    arch = architecture(case.config.model)
    macs = arch.step_macs(case.config.spec, case.config.batch_size, **size_kwargs(case.config))
    if role_of(case.backend) == LOOP_BASELINE:
        step = macs * 40e-9
    else:
        step = macs / (5e9 if case.dtype == "float64" else 10e9) + 1e-4
    if step > SLOW_STEP:
        repeats, rounds = slow_plan(budget, step)
        return step * (1 + repeats * rounds)
    return budget.repeats * (budget.block_time + budget.warmup_time + 3 * step) + step


def harness_seconds(budget: TimingBudget) -> float:
    """A rough cost of one harness case (a peak or the no-op): its repeats back to back."""
    return budget.repeats * (budget.block_time + budget.warmup_time) + 0.5
