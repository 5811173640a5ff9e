"""Timing a config's verified cases: their repeats interleaved in ABBA order (``bench.schedule``),
then one instrumented step per case for its stage breakdown.

Each pass over the config times one block of every case still due a repeat, and its rows are
written before the next pass starts, so that an interrupted run keeps every finished pass. A case
that fails in a later repeat (out of memory, say) records that failure and is timed no further.
"""

from __future__ import annotations

import gc
from typing import Callable

from . import stages
from .case_preparation import TimedCase, stage_parts
from .plan import estimated_seconds
from .run_rows import block_rows, part_rows
from .schedule import interleaved
from .schema import Round
from .profiles import SLOW_STEP, TimingBudget
from .threads import thread_limit
from .timing import time_block


def time_repeat(timed: TimedCase, budget: TimingBudget, cores: int) -> list[Round]:
    """One block of ``timed``'s rounds; returns its rows."""
    case = timed.case
    if timed.timer is not None:  # the step runs in other processes, which time it themselves
        block = timed.timer(timed.iterations, timed.rounds, timed.warmup_calls)
    else:
        with thread_limit(case.threads):
            block = time_block(timed.target, iterations=timed.iterations, rounds=timed.rounds,
                               warmup_time=budget.warmup_time, warmup_max_calls=timed.warmup_calls, cores=cores)
    mode = "pedantic" if timed.step > SLOW_STEP else "calibrated"
    rows = block_rows(timed.base, block, timed.done, timed.done * timed.rounds, mode, case.threads * case.world_size,
                      timed.first_warmup if timed.done == 0 else 0)
    timed.done += 1
    return rows


def time_interleaved(ready: list[TimedCase], budget: TimingBudget, cores: int, write: Callable[[list[Round]], None],
                     tick: Callable[[str, float], None], say: Callable[[str], None]) -> None:
    """Time every repeat of ``ready``, one block of each case per pass, passes in ABBA order.

    ``write(rows)`` gets each pass's rows when the pass ends; ``tick(label, seconds)`` moves the
    progress bar by a repeat's expected cost; ``say(line)`` reports a case that failed.
    """
    for _, order in interleaved(ready, max((t.repeats for t in ready), default=0)):
        gc.collect()  # outside every block (time_block keeps GC off inside)
        new_rows = []
        for timed in order:
            if timed.done < timed.repeats and timed.outcome.status == "ok":
                try:
                    rows = time_repeat(timed, budget, cores)
                except (ValueError, RuntimeError, MemoryError) as exc:  # e.g. out of memory in a later repeat
                    message = f"{type(exc).__name__} in repeat {timed.done}: {exc}"
                    timed.outcome.status, timed.outcome.error = "failed", message
                    rows = [timed.base.with_(status="failed", error=message)]
                    say(f"failed: {timed.case.label}: {message}")
                timed.outcome.rows.extend(rows)
                new_rows.extend(rows)
                tick(timed.case.label, estimated_seconds(timed.case, budget) / max(1, timed.repeats))
        if new_rows:
            write(new_rows)


def time_breakdowns(ready: list[TimedCase]) -> list[Round]:
    """The stage breakdown of every case that kept its trainer for one (``TimedCase.trainer``): one
    instrumented step each, after the timed ones, so that no hook is in a timed step; a case whose
    step runs elsewhere gives its own (``TimedCase.breakdown``). Each case is released after (a
    ResNet trainer holds hundreds of MB; a data-parallel case's ranks end)."""
    rows = []
    for timed in ready:
        try:
            if timed.outcome.status != "ok":
                continue
            if timed.breakdown is not None:
                try:
                    rows += part_rows(timed.base, timed.breakdown())
                except (ValueError, RuntimeError):  # its ranks failed after every timed block: no breakdown
                    pass
            elif timed.trainer is not None:
                with thread_limit(timed.case.threads):
                    seconds = stages.time_parts(timed.trainer, timed.target, stage_parts(timed.case.config))
                rows += part_rows(timed.base, seconds)
        finally:
            timed.release()
    return rows
