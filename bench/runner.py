"""The run: every case of a config verified, then timed in interleaved repeats, each on disk at once.

Measurement on a shared machine (docs/method.md): the cases of one config, the
two sides of every speedup ratio, are timed in ``repeats`` blocks each, interleaved in ABBA order
(A B C, C B A, A B C, ...) so that a drift of the machine's speed over the config's minutes falls
on every case alike. Every block starts with a warm-up, records CPU time beside wall time and the
rest of the machine's load, and is written to the results file when its pass over the config ends.
"""

from __future__ import annotations

import gc
import math
import resource
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from implementations import CaseUnsupported, architecture, get_backend, is_cuda_backend, make_trainer

from . import case_verification, stages, verify
from .case_verification import precision_fields
from .contention import is_contended
from .machine import available_cores, describe_machine
from .peaks import PeakCase, gpu_peak_cases, make_target
from .plan import (GPU_WARMUP_STEPS, WARMUP_MAX_STEP, calibrated_plan, estimated_seconds, harness_seconds, size_kwargs,
                   slow_plan)
from .progress import RunBar, layer_progress
from .results import ResultsWriter
from .schedule import interleaved
from .schema import Round
from .suite import SLOW_STEP, Case, TimingBudget
from .threads import thread_limit
from .timing import Block, calibrate, time_block, warm_up


@dataclass
class CaseOutcome:
    label: str
    status: str
    error: str = ""
    rows: list[Round] = field(default_factory=list)


@dataclass
class _Timed:
    """A verified case between its repeats: what to call, and how its rounds are shaped."""

    case: Case
    base: Round  # what every round of the case records beside its times
    target: object
    outcome: CaseOutcome
    step: float  # seconds of one call, estimated
    iterations: int
    rounds: int  # per repeat
    repeats: int
    warmup_calls: int  # at most, per block
    first_warmup: int = 0  # untimed steps before the first block (GPU warm-up, or the one warm-up step)
    done: int = 0  # repeats timed so far
    trainer: object = None  # for the instrumented step after the repeats (stage_parts)


def _stage_parts(config) -> list[str] | None:
    """The parts of one step of ``config``'s model (``stage_parts``), or None: no breakdown."""
    parts = getattr(architecture(config.model), "stage_parts", None)
    return parts(config.spec) if parts else None


def _now():
    return datetime.now(timezone.utc)


def _new_run_id() -> str:
    return f"{_now():%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def describe_reference(config, verifier: verify.Verifier) -> str:
    """One line: what ``config``'s float64 reference and oracle cost (wall seconds, the process's
    peak resident memory so far) and what the oracle found."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    oracle = verifier.oracle
    return (f"{config.key}: float64 reference {verifier.seconds['reference']:.1f} s, oracle "
            f"{verifier.seconds['oracle']:.1f} s, peak memory {peak / 2**30:.1f} GiB; "
            f"{oracle.error or oracle.describe()}")


def _slowed(target, factor: float):
    """``target`` that takes ``factor`` times as long: it spins for (factor - 1) x each call's time."""
    if factor == 1:
        return target
    clock = time.perf_counter

    def slowed():
        start = clock()
        result = target()
        until = start + (clock() - start) * factor
        while clock() < until:
            pass
        return result

    return slowed


class Runner:
    """Runs cases into one results file. ``profile`` names the profile for the record."""

    def __init__(self, writer: ResultsWriter, budget: TimingBudget, profile: str, progress: bool = True,
                 slowdowns: dict[str, float] | None = None):
        """``slowdowns``: backend -> factor, each step of that backend made that many times as long
        by spinning after it (a test's way to time a real slowdown; ``bench run`` never passes one).
        Its rows say so in ``planted``."""
        self.writer = writer
        self.budget = budget
        self.profile = profile
        self.run_id = _new_run_id()
        self.machine = describe_machine()
        self.cores = available_cores()
        self.progress = progress
        self.slowdowns = dict(slowdowns or {})
        if not all(factor >= 1 for factor in self.slowdowns.values()):
            raise ValueError(f"slowdowns {self.slowdowns}: every factor must be at least 1")
        self._verifiers: dict[str, verify.Verifier] = {}
        self.outcomes: list[CaseOutcome] = []
        self._bar = None

    # -- rows -------------------------------------------------------------------------------
    def _base_row(self, **fields) -> Round:
        """A round of this run on this machine: ``fields`` say what it is (the schema's defaults
        for the rest)."""
        machine = dict(self.machine)
        if self.slowdowns:  # the slowed rows say so, beside a planted tree's own mark
            hook = "slowdown " + ",".join(f"{backend}:{factor:g}" for backend, factor in self.slowdowns.items())
            machine["planted"] = "; ".join(filter(None, (machine.get("planted", ""), hook)))
        return Round(run_id=self.run_id, timestamp=_now(), profile=self.profile, **{**machine, **fields})

    def _block_rows(self, base: Round, block: Block, repeat: int, first_round: int, mode: str,
                    threads: int, extra_warmup: int = 0) -> list[Round]:
        stamp = _now()
        return [base.with_(timestamp=stamp, round=first_round + i, repeat=repeat, iterations=block.iterations,
                     seconds=s, cpu_seconds=c, timing_mode=mode, warmup_steps=block.warmup_calls + extra_warmup,
                     run_wait=block.load.run_wait, steal=block.load.steal,
                     contended=is_contended(block.load, threads, s, c))
                for i, (s, c) in enumerate(zip(block.seconds, block.cpu_seconds))]

    @staticmethod
    def _part_rows(base: Round, seconds: dict[str, float] | None) -> list[Round]:
        """One row per part of one instrumented step (``bench.stages``); none without a breakdown."""
        return [base.with_(timestamp=_now(), part=part, seconds=value, round=0, iterations=1,
                     timing_mode="instrumented", warmup_steps=0)
                for part, value in (seconds or {}).items()]

    def _record(self, outcome: CaseOutcome) -> None:
        self.writer.append(outcome.rows)
        self.outcomes.append(outcome)

    # -- cases ------------------------------------------------------------------------------
    def _verifier(self, config) -> verify.Verifier:
        if config.key not in self._verifiers:
            self._verifiers = {config.key: verify.Verifier(config)}  # one at a time: ResNet's is large
            if self.progress and self._bar is not None:
                self._bar.write(describe_reference(config, self._verifiers[config.key]))
        return self._verifiers[config.key]

    @staticmethod
    def _verified(verifier: verify.Verifier, case: Case, base: Round, result: verify.StepResult, how: str) -> Round:
        """``base`` with what verifying ``result`` (the case's steps; VerificationError where they miss)
        records in every row: ``how`` it was verified, error and bound, loss, blind spots, shapes."""
        verdict = case_verification.verify_case(verifier, case.backend, case.dtype, base.precision, result)
        return base.with_(verification=how, verified_max_rel_error=verdict.error, tolerance=verdict.bound,
                          loss=result.loss, blind_spots=", ".join(verdict.blind_spots),
                          parameter_shapes=verdict.parameter_shapes)

    def _case_base(self, case: Case) -> Round:
        config = case.config
        arch = architecture(config.model)
        size = size_kwargs(config)
        return self._base_row(
            model=config.model, config=config.name, backend=case.backend, dtype=case.dtype, threads=case.threads,
            batch_size=config.batch_size, resolution=config.resolution, sweep_width=config.sweep_width,
            flops=arch.step_flops(config.spec, config.batch_size, **size),
            macs=arch.step_macs(config.spec, config.batch_size, **size),
        )

    def prepare(self, case: Case) -> _Timed | CaseOutcome:
        """Verify ``case`` and get it ready to time; a CaseOutcome when it failed or is skipped.

        A step of minutes (``config.verify_timed_round``) is timed here, once, and verified from
        that very step: its one repeat is done.
        """
        base = self._case_base(case)
        reason = get_backend(case.backend).unavailable()
        if reason:
            base = base.with_(**precision_fields(case.backend, case.config.model, case.dtype, on_gpu=False))
            return CaseOutcome(case.label, "skipped", reason, [base.with_(status="skipped", error=reason)])
        base = base.with_(**precision_fields(case.backend, case.config.model, case.dtype,
                                             on_gpu=is_cuda_backend(case.backend)))
        try:
            with thread_limit(case.threads):
                return self._verify(case, base)
        except CaseUnsupported as exc:
            return CaseOutcome(case.label, "skipped", str(exc), [base.with_(status="skipped", error=str(exc))])
        except verify.VerificationError as exc:
            return CaseOutcome(case.label, "failed", str(exc), [base.with_(status="failed", error=str(exc),
                                                                      verification="before")])
        except (ValueError, RuntimeError, MemoryError) as exc:
            message = f"{type(exc).__name__}: {exc}"
            return CaseOutcome(case.label, "failed", message, [base.with_(status="failed", error=message)])

    def _verify(self, case: Case, base: Round) -> _Timed:
        config = case.config
        verifier = self._verifier(config)
        reference = verifier.reference
        trainer = make_trainer(case.backend, config.model, config.spec, reference.params, case.dtype)
        batch = trainer.prepare_batch(reference.x, reference.y)
        target = _slowed(lambda: trainer.step(batch), self.slowdowns.get(case.backend, 1.0))
        outcome = CaseOutcome(case.label, "ok")
        parts = _stage_parts(config)
        if case.backend in config.verify_timed_round:
            # A step of many minutes: time it once (no warm-up), then verify the very step that was
            # timed. Its stage breakdown comes from that step too (a clock read per stage).
            clock = stages.StageClock(parts or [])
            with layer_progress(case, self.progress), stages.reporting(trainer, clock):
                block = time_block(clock.wrap(target) if parts else target, iterations=1, rounds=1,
                                   warmup_time=0, warmup_max_calls=0, cores=self.cores)
            result = verify.run_steps(trainer, batch, steps=1, stepped=True)  # a second step: minutes more
            base = self._verified(verifier, case, base, result, "timed-round")
            outcome.rows = self._block_rows(base, block, 0, 0, "pedantic", case.threads)
            outcome.rows += self._part_rows(base, clock.seconds() if parts else None)
            return _Timed(case, base, target, outcome, block.seconds[0], 1, 1, 1, 0, done=1)
        first_warmup = 0
        start = time.perf_counter()
        result = case_verification.run_case(verifier, case.backend, base.precision, trainer, batch)
        step = (time.perf_counter() - start) / result.steps
        base = self._verified(verifier, case, base, result, "before")
        if is_cuda_backend(case.backend):
            # compilation and autotuning stay out of the estimate that shapes the rounds
            warm = trainer.warmup(batch, GPU_WARMUP_STEPS)
            step, first_warmup = min(warm[-2:]), len(warm)
        elif step <= WARMUP_MAX_STEP:
            calls, step = warm_up(target, self.budget.warmup_time, 3)  # steps with the update, as timed
            first_warmup = calls
        # compiling (torch.compile's first call, numba's kernels when the trainer was built) and
        # capturing a CUDA graph are recorded apart and never in `seconds`; read once every untimed
        # step has run
        base = base.with_(compile_seconds=getattr(trainer, "compile_seconds", math.nan),
                          capture_seconds=getattr(trainer, "capture_seconds", math.nan))
        timed = self._plan(case, base, target, outcome, step, first_warmup)
        timed.trainer = trainer if parts else None
        return timed

    def _plan(self, case: Case, base: Round, target, outcome: CaseOutcome, step: float, first_warmup: int) -> _Timed:
        budget = self.budget
        if step > SLOW_STEP:
            # Warmed once, by verification and the step above: a step of a quarter second or more
            # works on far more memory than any cache holds, so a warm-up per block buys nothing
            # and would double the case's cost.
            repeats, rounds = slow_plan(budget, step)
            return _Timed(case, base, target, outcome, step, 1, rounds, repeats, 0, first_warmup)
        with thread_limit(case.threads):
            iterations = calibrate(target, budget.min_time, step)
        rounds, repeats, warmup_calls = calibrated_plan(budget, step, iterations)
        return _Timed(case, base, target, outcome, step, iterations, rounds, repeats, warmup_calls, first_warmup)

    def _time_repeat(self, timed: _Timed) -> list[Round]:
        """One block of ``timed``'s rounds; returns its rows."""
        case = timed.case
        with thread_limit(case.threads):
            block = time_block(timed.target, iterations=timed.iterations, rounds=timed.rounds,
                               warmup_time=self.budget.warmup_time, warmup_max_calls=timed.warmup_calls,
                               cores=self.cores)
        mode = "pedantic" if timed.step > SLOW_STEP else "calibrated"
        rows = self._block_rows(timed.base, block, timed.done, timed.done * timed.rounds, mode, case.threads,
                                timed.first_warmup if timed.done == 0 else 0)
        timed.done += 1
        return rows

    def run_config(self, cases: list[Case], tick=lambda label, cost: None) -> list[CaseOutcome]:
        """Verify every case of one config, then time them in interleaved repeats (ABBA order).

        Rows reach the results file after every pass over the config; the outcomes are recorded
        when the config is done. ``tick(label, cost)`` reports progress.
        """
        ready: list[_Timed] = []
        finished: list[CaseOutcome] = []
        for case in cases:
            prepared = self.prepare(case)
            if isinstance(prepared, CaseOutcome):
                finished.append(prepared)
                self.writer.append(prepared.rows)
                if prepared.status == "failed" and self._bar is not None:
                    self._bar.write(f"failed: {case.label}: {prepared.error}")
                tick(case.label, estimated_seconds(case, self.budget))
            else:
                ready.append(prepared)
                if prepared.done:  # timed in its verification: its rows are final
                    self.writer.append(prepared.outcome.rows)
        for _, order in interleaved(ready, max((t.repeats for t in ready), default=0)):
            gc.collect()  # outside every block (time_block keeps GC off inside)
            new_rows = []
            for timed in order:
                if timed.done < timed.repeats and timed.outcome.status == "ok":
                    try:
                        rows = self._time_repeat(timed)
                    except (ValueError, RuntimeError, MemoryError) as exc:  # e.g. out of memory in a later repeat
                        message = f"{type(exc).__name__} in repeat {timed.done}: {exc}"
                        timed.outcome.status, timed.outcome.error = "failed", message
                        rows = [timed.base.with_(status="failed", error=message)]
                        if self._bar is not None:
                            self._bar.write(f"failed: {timed.case.label}: {message}")
                    timed.outcome.rows.extend(rows)
                    new_rows.extend(rows)
                    tick(timed.case.label, estimated_seconds(timed.case, self.budget) / max(1, timed.repeats))
            if new_rows:
                self.writer.append(new_rows)
        # The stage breakdown: instrumented steps after the timed ones, so that no hook is in a timed step.
        part_rows = []
        for timed in ready:
            if timed.trainer is not None and timed.outcome.status == "ok":
                with thread_limit(timed.case.threads):
                    seconds = stages.time_parts(timed.trainer, timed.target, _stage_parts(timed.case.config))
                part_rows += self._part_rows(timed.base, seconds)
            timed.trainer = None  # a ResNet trainer holds hundreds of MB
        self.writer.append(part_rows)
        for timed in ready:
            finished.append(timed.outcome)
        self.outcomes.extend(finished)
        return finished

    def run_peak(self, case: PeakCase, device: str = "cuda") -> CaseOutcome:
        """One peak case; ``device`` places a torch-cuda case (``"cpu"`` exercises it in tests)."""
        base = self._base_row(model="peak", config=case.config, backend=case.library, dtype=case.dtype,
                              threads=case.threads, batch_size=case.n, flops=case.flops, macs=case.macs,
                              bytes=case.bytes)
        if case.library == "torch-cuda" and device == "cuda":
            base = base.with_(tf32_matmul=case.tf32 and case.kind == "gemm", tf32_cudnn=False)
        # what the GEMM computes in, matched with a case's own precision by the report's efficiency
        base = base.with_(precision="tf32" if base.tf32_matmul else case.dtype)
        target = make_target(case) if case.library == "numpy" else make_target(case, device)
        return self._harness_case(case.label, base, target, case.threads)

    def run_noop(self) -> CaseOutcome:
        """The harness measuring nothing: what one call costs the timer and loop themselves."""
        base = self._base_row(model="noop", config="noop", backend="none", dtype="", threads=1, batch_size=0,
                              flops=0)

        def noop():
            pass

        return self._harness_case("noop", base, noop, 1)

    def _harness_case(self, label: str, base: Round, target, threads: int) -> CaseOutcome:
        """A harness case (peak, no-op): calibrated, ``budget.repeats`` blocks back to back."""
        with thread_limit(threads):
            calls, step = warm_up(target, self.budget.warmup_time, 1000)
            iterations = calibrate(target, self.budget.min_time, step)
            rounds = max(self.budget.min_rounds, round(self.budget.block_time / max(iterations * step, 1e-9)))
            rows = []
            for repeat in range(self.budget.repeats):
                block = time_block(target, iterations=iterations, rounds=rounds, warmup_time=self.budget.warmup_time,
                                   warmup_max_calls=calls, cores=self.cores)
                rows += self._block_rows(base, block, repeat, repeat * rounds, "calibrated", threads)
        return CaseOutcome(label, "ok", "", rows)

    # -- the whole run ----------------------------------------------------------------------
    def run(self, cases: list[Case], peak_sizes: tuple[int, ...] = (), with_noop: bool = True) -> list[CaseOutcome]:
        harness: list[tuple[str, object]] = []
        if with_noop:
            harness.append(("noop", self.run_noop))
        for n in peak_sizes:
            for dtype in ("float32", "float64"):
                for threads in sorted({1, self.cores}):
                    peak = PeakCase("numpy", dtype, n, threads)
                    harness.append((peak.label, lambda p=peak: self.run_peak(p)))
        if any(is_cuda_backend(c.backend) for c in cases) and self.machine["gpu"]:
            for peak in gpu_peak_cases(self.cores):
                harness.append((peak.label, lambda p=peak: self.run_peak(p)))
        groups: dict[str, list[Case]] = {}
        for case in cases:
            groups.setdefault(case.config.key, []).append(case)

        harness_cost = harness_seconds(self.budget)
        total = len(harness) * harness_cost + sum(estimated_seconds(c, self.budget) for c in cases)
        bar = self._bar = RunBar(total, self.progress)
        try:
            for label, job in harness:
                bar.label(label)
                self._record(job())
                bar.tick(label, harness_cost)
            for group in groups.values():
                self.run_config(group, bar.tick)
        finally:
            bar.close()
            self._bar = None
        return self.outcomes
