"""The rows a run records: what every row of one run says beside its case (run id, profile, the
machine), a case's row before it is timed, the rows of one timed block and of one instrumented
step, and what became of a case (``CaseOutcome``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from implementations import architecture

from .contention import is_contended
from .machine import describe_machine
from .plan import size_kwargs
from .schema import Round
from .suite import Case
from .timing import Block


@dataclass
class CaseOutcome:
    """What became of one case: ``status`` ok, failed or skipped, the ``error`` that says why, and
    every row it recorded."""

    label: str
    status: str
    error: str = ""
    rows: list[Round] = field(default_factory=list)


def now() -> datetime:
    return datetime.now(timezone.utc)


def new_run_id() -> str:
    """``20261206T101500Z-1a2b3c4d``: the start time, and 8 random hex digits for runs started together."""
    return f"{now():%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class RunStamp:
    """What every row of one run records beside its case: the run's id, its profile, the machine
    (``bench.machine.describe_machine``), and ``slowdown``: a test's planted slowdown, named in the
    rows' ``planted`` (empty in every ``bench run``)."""

    run_id: str
    profile: str
    machine: dict
    slowdown: str = ""

    @classmethod
    def here(cls, profile: str, slowdowns: dict[str, float] | None = None) -> RunStamp:
        """A new run on this machine. ``slowdowns``: backend -> factor its steps are stretched by."""
        hook = ("slowdown " + ",".join(f"{backend}:{factor:g}" for backend, factor in slowdowns.items())
                if slowdowns else "")
        return cls(new_run_id(), profile, describe_machine(), hook)

    def row(self, **fields) -> Round:
        """A round of this run on this machine: ``fields`` say what it is (the schema's defaults
        for the rest)."""
        machine = dict(self.machine)
        if self.slowdown:  # the slowed rows say so, beside a planted tree's own mark
            machine["planted"] = "; ".join(filter(None, (machine.get("planted", ""), self.slowdown)))
        return Round(run_id=self.run_id, timestamp=now(), profile=self.profile, **{**machine, **fields})

    def case_row(self, case: Case) -> Round:
        """What every row of ``case`` records before it is verified and timed: what it is, and the
        FLOPs and multiply-adds of one step (its model's own counts)."""
        config = case.config
        arch = architecture(config.model)
        size = size_kwargs(config)
        return self.row(
            model=config.model, config=config.name, backend=case.backend, dtype=case.dtype, threads=case.threads,
            world_size=case.world_size,
            batch_size=config.batch_size, resolution=config.resolution, sweep_width=config.sweep_width,
            flops=arch.step_flops(config.spec, config.batch_size, **size),
            macs=arch.step_macs(config.spec, config.batch_size, **size),
        )


def block_rows(base: Round, block: Block, repeat: int, first_round: int, mode: str, threads: int,
               extra_warmup: int = 0) -> list[Round]:
    """One row per round of ``block``, numbered from ``first_round``: its wall and CPU seconds per
    step, the load around the block and whether that load made the round contended (``threads``:
    every thread the case ran, over all its processes), and each rank's seconds where it has ranks.
    ``extra_warmup``: untimed steps before the block beside its own warm-up (the first block's)."""
    stamp = now()
    ranks = block.rank_seconds or [None] * len(block.seconds)
    return [base.with_(timestamp=stamp, round=first_round + i, repeat=repeat, iterations=block.iterations,
                       seconds=s, cpu_seconds=c, timing_mode=mode, warmup_steps=block.warmup_calls + extra_warmup,
                       run_wait=block.load.run_wait, steal=block.load.steal,
                       contended=is_contended(block.load, threads, s, c),
                       rank_seconds=" ".join(f"{r:.9g}" for r in per_rank) if per_rank else None)
            for i, (s, c, per_rank) in enumerate(zip(block.seconds, block.cpu_seconds, ranks))]


def part_rows(base: Round, seconds: dict[str, float] | None) -> list[Round]:
    """One row per part of one instrumented step (``bench.stages``), seconds each; none without a breakdown."""
    return [base.with_(timestamp=now(), part=part, seconds=value, round=0, iterations=1,
                       timing_mode="instrumented", warmup_steps=0)
            for part, value in (seconds or {}).items()]
