"""A data-parallel case (a backend whose step spans processes: ``Backend.launch``), made ready and
timed: its ranks started where ``Spread`` says, its steps verified against the float64 steps per
shard, its blocks timed by the ranks themselves, and the share of a step its all-reduce costs.

Timing: every round starts on every rank together (a barrier), each rank times its own steps
(wall and CPU), and the round's ``seconds`` is the slowest rank's, since a step is not done until
every rank's is; every rank's time is kept (``rank_seconds``). The harness waits meanwhile, and
the load it records is that of the ranks' threads.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

from implementations import CaseUnsupported, get_backend
from implementations.registry import spans_processes
from implementations.data_parallel.group import Placement, split_endpoint
from implementations.data_parallel.job import Job

from . import stats, verify
from .case_preparation import TimedCase, _verified, plan
from .contention import LoadProbe
from .profiles import TimingBudget
from .run_rows import CaseOutcome
from .schema import Round
from .suite import Case
from .timing import Block

# How long the ranks may take to answer, beyond what the work asked should take: past it a rank
# is taken to have hung and the group is ended. Generous: two ranks on two busy cores, and
# verification's first steps, run slower than the timed ones.
ANSWER_SECONDS = 120.0
ANSWER_FACTOR = 10.0
# Pairs of steps (with, and without the all-reduce) the communication breakdown is the median of.
BREAKDOWN_PAIRS = 5
# The parts of a data-parallel step's breakdown (schema: ``part``).
COMPUTE, COMMUNICATION = "step without all-reduce", "all-reduce (exposed)"


@dataclass(frozen=True)
class Spread:
    """Where ``bench run`` puts a data-parallel case's ranks: over ``nodes`` machines, node 0's
    rendezvous at ``rendezvous`` (``HOST:PORT``; None: this machine alone, on a free port).
    ``planted``: a fault a test plants in one rank (``data_parallel.job.PLANTABLE``)."""

    nodes: int = 1
    rendezvous: str | None = None
    planted: str = ""

    def for_case(self, index: int) -> str | None:
        """The rendezvous of the run's ``index``-th data-parallel case (0-based, counting those
        skipped): the named port plus ``index``, so that a node starting its next case's processes
        can never meet the previous case's, whichever node gets there first."""
        if not self.rendezvous:
            return None
        host, port = split_endpoint(self.rendezvous)
        return f"{host}:{port + index}"


def unsupported(case: Case) -> str:
    """Why ``case``'s step cannot be split over its processes (empty: it can): a batch that does not
    split evenly, or shards its model calls degenerate. Every node asks, so that all skip alike."""
    config = case.config
    if config.batch_size % case.world_size:
        return f"a batch of {config.batch_size} does not split evenly over {case.world_size} processes"
    shard = replace(config, batch_size=config.batch_size // case.world_size).limits.degenerate
    return f"over {case.world_size} processes, {shard}: use a larger batch (NAME@B)" if shard else ""


def _deadline(seconds: float) -> float:
    return ANSWER_SECONDS + ANSWER_FACTOR * seconds


def _timer(group, cores: int, step: float):
    """A block of the case, as ``TimedCase.timer``: the ranks time it, the harness records the load
    of their threads around it."""
    def timer(iterations: int, rounds: int, warmup: int) -> Block:
        probe = LoadProbe(cores, tuple(group.pids))
        probe.start()
        answers = group.command("block", _deadline(step * (iterations * rounds + warmup)),
                                iterations=iterations, rounds=rounds, warmup=warmup)
        load = probe.stop()
        by_round = list(zip(*answers))  # rounds x ranks of (wall, cpu)
        return Block(seconds=[max(wall for wall, _ in ranks) for ranks in by_round],
                     cpu_seconds=[sum(cpu for _, cpu in ranks) for ranks in by_round],
                     iterations=iterations, warmup_calls=warmup, load=load, result=None,
                     rank_seconds=[[wall for wall, _ in ranks] for ranks in by_round])
    return timer


def _breakdown(group, step: float):
    """``TimedCase.breakdown``: the median step with DDP's all-reduce and without it (``no_sync``),
    ``BREAKDOWN_PAIRS`` pairs alternating, each pair's slowest rank; the all-reduce's exposed part
    is the difference (what overlapping it with the backward did not hide), left out where none."""
    def breakdown() -> dict[str, float]:
        answers = group.command("breakdown", _deadline(step * 2 * BREAKDOWN_PAIRS), rounds=BREAKDOWN_PAIRS)
        pairs = list(zip(*answers))
        whole = stats.center([max(full for full, _ in ranks) for ranks in pairs])
        local = min(whole, stats.center([max(alone for _, alone in ranks) for ranks in pairs]))
        # nothing exposed (the backward hid the all-reduce, or noise did): no row, not a row of 0 s
        return {COMPUTE: local, **({COMMUNICATION: whole - local} if whole > local else {})}
    return breakdown


def _job(case: Case, params, x, y, planted: str = "") -> Job:
    """What ``case``'s ranks are handed: the case, its weights and whole batch (``control`` is the
    group's to fill)."""
    config = case.config
    return Job(case.backend, config.model, config.spec, params, x, y, case.dtype, case.threads, "", planted=planted)


def _started(case: Case, verifier: verify.Verifier, spread: Spread, index: int):
    """(the verifier judging ``case``'s shards, its started group, the ranks' hello): the group ends
    if it cannot start. CaseUnsupported where the step cannot be split (``unsupported``)."""
    reason = unsupported(case)
    if reason:
        raise CaseUnsupported(reason)
    judge = verifier.sharded(case.world_size)
    reference = judge.reference
    job = _job(case, reference.params, reference.x, reference.y, spread.planted)
    group = get_backend(case.backend).launch(job, Placement(case.world_size, spread.nodes, 0, spread.for_case(index)))
    try:
        return judge, group, group.start()
    except BaseException:
        group.close(force=True)
        raise


def _steps(group, steps: int) -> verify.StepResult:
    """The verification steps, run by every rank; rank 0's result."""
    return verify.StepResult(*group.command("steps", _deadline(600.0), steps=steps)[0])


def verified_steps(case: Case, verifier: verify.Verifier, precision: str) -> tuple[verify.Verifier, verify.StepResult]:
    """``bench verify``'s view of a data-parallel case: its ranks started here, its verification
    steps run, the ranks ended; (the verifier judging its shards, rank 0's steps)."""
    judge, group, _ = _started(case, verifier, Spread(), 0)
    with group:
        return judge, _steps(group, verify.case_steps(case.config, case.backend, precision))


def verify_data_parallel(case: Case, base: Round, verifier: verify.Verifier, budget: TimingBudget, cores: int,
                         spread: Spread | None, index: int = 0) -> TimedCase | CaseOutcome:
    """Start ``case``'s ranks (the run's ``index``-th data-parallel case), verify their steps (the
    per-shard float64 reference), and plan its blocks; the ranks stay up for them
    (``TimedCase.close`` ends them). CaseUnsupported where the step cannot be split
    (``unsupported``); RankFailure (a RuntimeError) when a rank dies or hangs."""
    spread = spread or Spread()
    config = case.config
    judge, group, hello = _started(case, verifier, spread, index)
    try:
        steps = verify.case_steps(config, case.backend, base.precision)
        start = time.perf_counter()
        result = _steps(group, steps)
        step = (time.perf_counter() - start) / steps
        base = _verified(judge, case, base, result, "before").with_(
            world_size=case.world_size, nodes=spread.nodes, communicated_bytes=int(hello[0]["bytes"]))
        timer = _timer(group, cores, step)
        # a first block as the warm-up (verification's steps were not timed ones), whose fastest
        # round shapes the rest, as a calibrated case's warm-up does
        warm = timer(1, 3, 1)
        step = min(warm.seconds)
        timed = plan(case, base, None, CaseOutcome(case.label, "ok"), step, 1 + len(warm.seconds), budget,
                     iterations=max(1, math.ceil(budget.min_time / step)))
        if timed.warmup_calls:  # the ranks warm up by count, all alike (each step is a collective), not by time
            timed.warmup_calls = max(1, min(timed.warmup_calls, math.ceil(budget.warmup_time / step)))
        timed.timer, timed.breakdown, timed.close = timer, _breakdown(group, step), group.close
        return timed
    except BaseException:
        group.close(force=True)
        raise


def serve_node(cases: list[Case], spread: Spread, node_rank: int) -> int:
    """``bench run --node-rank K`` (K > 0): start this machine's ranks of every data-parallel case as
    node 0 runs them, and wait until node 0 ends them; node 0 verifies, times and records. Node 0
    keeps every case of a config up while it times them interleaved, so the groups of one config
    start together here (each meets node 0 at its own port) and end when node 0's config ends.
    0 when every group ended cleanly, else 1 (node 0 says why)."""
    from .reference import make_inputs  # noqa: PLC0415  (node 0's reference starts from the same inputs)

    failed = 0
    spanning = [case for case in cases if spans_processes(case.backend)]
    by_config: dict[str, list[tuple[int, Case]]] = {}
    for index, case in enumerate(spanning):
        if not unsupported(case):  # node 0 starts no ranks for the others either
            by_config.setdefault(case.config.key, []).append((index, case))
    for group_cases in by_config.values():
        groups = []
        try:
            for index, case in group_cases:
                group = get_backend(case.backend).launch(_job(case, *make_inputs(case.config)), Placement(case.world_size, spread.nodes, node_rank,
                                                                        spread.for_case(index)))
                group.start()
                groups.append((case, group))
            for case, group in groups:
                code = group.wait()
                failed += code != 0
                print(f"node {node_rank}: {case.label}: {'served' if code == 0 else f'ranks ended with code {code}'}")
        finally:
            for _, group in groups:
                group.close(force=True)
    return 1 if failed else 0
