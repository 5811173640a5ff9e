"""Getting one case ready to time: build its trainer, verify its step against the float64
reference, warm it up, and shape its rounds (``bench.plan``). A case that cannot run here, is not
supported, or fails verification ends here as a ``CaseOutcome`` with one row saying why.

A step of minutes (``config.verify_timed_round``) is timed here, once, and verified from that very
step: its one repeat is done before the others' start.
"""

from __future__ import annotations

import math
import resource
import time
from dataclasses import dataclass
from typing import Callable

from implementations import CaseUnsupported, architecture, get_backend, is_cuda_backend, make_trainer
from implementations.registry import spans_processes

from . import case_verification, stages, verify
from .case_verification import precision_fields
from .plan import GPU_WARMUP_STEPS, WARMUP_MAX_STEP, calibrated_plan, slow_plan
from .progress import layer_progress
from .run_rows import CaseOutcome, block_rows, part_rows
from .schema import Round
from .profiles import SLOW_STEP, TimingBudget
from .suite import Case
from .threads import thread_limit
from .timing import calibrate, time_block, warm_up


@dataclass
class TimedCase:
    """A verified case between its repeats: what to call, and how its rounds are shaped."""

    case: Case
    base: Round  # what every round of the case records beside its times
    target: Callable[[], object]  # one training step
    outcome: CaseOutcome
    step: float  # seconds of one call, estimated
    iterations: int  # calls per round
    rounds: int  # per repeat
    repeats: int
    warmup_calls: int  # at most, per block
    first_warmup: int = 0  # untimed steps before the first block (GPU warm-up, or the one warm-up step)
    done: int = 0  # repeats timed so far
    trainer: object = None  # for the instrumented step after the repeats (stage_parts)
    # A case whose step runs elsewhere (data parallel: in its ranks) times a block with
    # ``timer(iterations, rounds, warmup_calls) -> Block``, gives its breakdown with ``breakdown()``
    # (part -> seconds) and ends its processes with ``close()``; None for a step run here.
    timer: Callable[[int, int, int], object] | None = None
    breakdown: Callable[[], dict] | None = None
    close: Callable[[], None] | None = None

    def release(self) -> None:
        """Drop the trainer and end whatever runs the step elsewhere (safe to call twice)."""
        self.trainer = None
        close, self.close = self.close, None
        if close is not None:
            close()


class LatestVerifier:
    """``prepare``'s ``verifier_of``: each config's verifier (its float64 reference, which costs
    minutes), built on first use and kept until another config's is asked for: one at a time, as
    ResNet's is large. ``on_new(config, verifier)`` is told of each one built."""

    def __init__(self, on_new: Callable[[object, verify.Verifier], None] = lambda config, verifier: None):
        self.on_new = on_new
        self._kept: tuple[str, verify.Verifier] | None = None

    def __call__(self, config) -> verify.Verifier:
        if self._kept is None or self._kept[0] != config.key:
            self._kept = (config.key, verify.Verifier(config))
            self.on_new(config, self._kept[1])
        return self._kept[1]


def stage_parts(config) -> list[str] | None:
    """The parts of one step of ``config``'s model (``stage_parts``), or None: no breakdown."""
    parts = getattr(architecture(config.model), "stage_parts", None)
    return parts(config.spec) if parts else None


def describe_reference(config, verifier: verify.Verifier) -> str:
    """One line: what ``config``'s float64 reference and oracle cost (wall seconds, the process's
    peak resident memory so far) and what the oracle found."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    oracle = verifier.oracle
    return (f"{config.key}: float64 reference {verifier.seconds['reference']:.1f} s, oracle "
            f"{verifier.seconds['oracle']:.1f} s, peak memory {peak / 2**30:.1f} GiB; "
            f"{oracle.error or oracle.describe()}")


def slowed(target, factor: float):
    """``target`` that takes ``factor`` times as long: it spins for (factor - 1) x each call's time.
    A test's way to time a real slowdown (``Runner``'s ``slowdowns``); ``bench run`` never asks."""
    if factor == 1:
        return target
    clock = time.perf_counter

    def spun():
        start = clock()
        result = target()
        until = start + (clock() - start) * factor
        while clock() < until:
            pass
        return result

    return spun


def prepare(case: Case, base: Round, verifier_of: Callable[[object], verify.Verifier], budget: TimingBudget,
            cores: int, *, slowdown: float = 1.0, progress: bool = False, spread=None,
            index: int = 0) -> TimedCase | CaseOutcome:
    """Verify ``case`` and get it ready to time; a CaseOutcome when it failed or is skipped.

    ``base``: the case's row (``RunStamp.case_row``). ``verifier_of(config)``: the config's
    verifier (asked only for a case that can run here: a reference costs minutes). ``slowdown``:
    the factor a test stretches each step by. ``spread``: where a data-parallel case's ranks run
    (``bench.data_parallel_case.Spread``; None: this machine alone); ``index``: the case's place among
    the run's data-parallel cases (each meets at its own rendezvous port).
    """
    reason = get_backend(case.backend).unavailable()
    if reason:
        base = base.with_(**precision_fields(case.backend, case.config.model, case.dtype, on_gpu=False))
        return CaseOutcome(case.label, "skipped", reason, [base.with_(status="skipped", error=reason)])
    base = base.with_(**precision_fields(case.backend, case.config.model, case.dtype,
                                         on_gpu=is_cuda_backend(case.backend)))
    try:
        if spans_processes(case.backend):
            from .data_parallel_case import verify_data_parallel  # noqa: PLC0415  (it builds on this module)

            return verify_data_parallel(case, base, verifier_of(case.config), budget, cores, spread, index)
        with thread_limit(case.threads):
            return _verify(case, base, verifier_of(case.config), budget, cores, slowdown, progress)
    except CaseUnsupported as exc:
        return CaseOutcome(case.label, "skipped", str(exc), [base.with_(status="skipped", error=str(exc))])
    except verify.VerificationError as exc:
        return CaseOutcome(case.label, "failed", str(exc), [base.with_(status="failed", error=str(exc),
                                                                  verification="before")])
    except (ValueError, RuntimeError, MemoryError) as exc:
        message = f"{type(exc).__name__}: {exc}"
        return CaseOutcome(case.label, "failed", message, [base.with_(status="failed", error=message)])


def _verified(verifier: verify.Verifier, case: Case, base: Round, result: verify.StepResult, how: str) -> Round:
    """``base`` with what verifying ``result`` (the case's steps; VerificationError where they miss)
    records in every row: ``how`` it was verified, error and bound, loss, blind spots, shapes."""
    verdict = case_verification.verify_case(verifier, case.backend, case.dtype, base.precision, result)
    return base.with_(verification=how, verified_max_rel_error=verdict.error, tolerance=verdict.bound,
                      loss=result.loss, blind_spots=", ".join(verdict.blind_spots),
                      parameter_shapes=verdict.parameter_shapes)


def _verify(case: Case, base: Round, verifier: verify.Verifier, budget: TimingBudget, cores: int, slowdown: float,
            progress: bool) -> TimedCase:
    config = case.config
    reference = verifier.reference
    trainer = make_trainer(case.backend, config.model, config.spec, reference.params, case.dtype)
    batch = trainer.prepare_batch(reference.x, reference.y)
    target = slowed(lambda: trainer.step(batch), slowdown)
    outcome = CaseOutcome(case.label, "ok")
    parts = stage_parts(config)
    if case.backend in config.verify_timed_round:
        # A step of many minutes: time it once (no warm-up), then verify the very step that was
        # timed. Its stage breakdown comes from that step too (a clock read per stage).
        clock = stages.StageClock(parts or [])
        with layer_progress(case, progress), stages.reporting(trainer, clock):
            block = time_block(clock.wrap(target) if parts else target, iterations=1, rounds=1,
                               warmup_time=0, warmup_max_calls=0, cores=cores)
        result = verify.run_steps(trainer, batch, steps=1, stepped=True)  # a second step: minutes more
        base = _verified(verifier, case, base, result, "timed-round")
        outcome.rows = block_rows(base, block, 0, 0, "pedantic", case.threads)
        outcome.rows += part_rows(base, clock.seconds() if parts else None)
        return TimedCase(case, base, target, outcome, block.seconds[0], 1, 1, 1, 0, done=1)
    first_warmup = 0
    start = time.perf_counter()
    result = case_verification.run_case(verifier, case.backend, base.precision, trainer, batch)
    step = (time.perf_counter() - start) / result.steps
    base = _verified(verifier, case, base, result, "before")
    if is_cuda_backend(case.backend):
        # compilation and autotuning stay out of the estimate that shapes the rounds
        warm = trainer.warmup(batch, GPU_WARMUP_STEPS)
        step, first_warmup = min(warm[-2:]), len(warm)
    elif step <= WARMUP_MAX_STEP:
        calls, step = warm_up(target, budget.warmup_time, 3)  # steps with the update, as timed
        first_warmup = calls
    # compiling (torch.compile's first call, numba's kernels when the trainer was built) and
    # capturing a CUDA graph are recorded apart and never in `seconds`; read once every untimed
    # step has run
    base = base.with_(compile_seconds=getattr(trainer, "compile_seconds", math.nan),
                      capture_seconds=getattr(trainer, "capture_seconds", math.nan))
    timed = plan(case, base, target, outcome, step, first_warmup, budget)
    timed.trainer = trainer if parts else None
    return timed


def plan(case: Case, base: Round, target, outcome: CaseOutcome, step: float, first_warmup: int,
         budget: TimingBudget, iterations: int | None = None) -> TimedCase:
    """The case's rounds: one call each and the slow budget for a step over ``SLOW_STEP``, else
    calibrated to ``budget.min_time`` a round (``iterations`` calls, where the caller cannot call
    ``target`` here to calibrate them: a step run in other processes)."""
    if step > SLOW_STEP:
        # Warmed once, by verification and the step above: a step of a quarter second or more
        # works on far more memory than any cache holds, so a warm-up per block buys nothing
        # and would double the case's cost.
        repeats, rounds = slow_plan(budget, step)
        return TimedCase(case, base, target, outcome, step, 1, rounds, repeats, 0, first_warmup)
    if iterations is None:
        with thread_limit(case.threads):
            iterations = calibrate(target, budget.min_time, step)
    rounds, repeats, warmup_calls = calibrated_plan(budget, step, iterations)
    return TimedCase(case, base, target, outcome, step, iterations, rounds, repeats, warmup_calls, first_warmup)
