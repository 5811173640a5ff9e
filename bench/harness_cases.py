"""The harness's own cases, timed beside the suite's: the machine's peaks (``bench.peaks``) and the
no-op, which measures what one call costs the timer and its loop."""

from __future__ import annotations

from .peaks import PeakCase, make_target, runs_on
from .run_rows import CaseOutcome, RunStamp, block_rows
from .schema import Round
from .profiles import TimingBudget
from .threads import thread_limit
from .timing import calibrate, time_block, warm_up


def harness_case(label: str, base: Round, target, threads: int, budget: TimingBudget, cores: int) -> CaseOutcome:
    """A harness case (peak, no-op): calibrated, ``budget.repeats`` blocks back to back."""
    with thread_limit(threads):
        calls, step = warm_up(target, budget.warmup_time, 1000)
        iterations = calibrate(target, budget.min_time, step)
        rounds = max(budget.min_rounds, round(budget.block_time / max(iterations * step, 1e-9)))
        rows = []
        for repeat in range(budget.repeats):
            block = time_block(target, iterations=iterations, rounds=rounds, warmup_time=budget.warmup_time,
                               warmup_max_calls=calls, cores=cores)
            rows += block_rows(base, block, repeat, repeat * rounds, "calibrated", threads)
    return CaseOutcome(label, "ok", "", rows)


def peak_case(stamp: RunStamp, budget: TimingBudget, cores: int, case: PeakCase,
              device: str | None = None) -> CaseOutcome:
    """One peak case; ``device`` places it (None: its backend's own; ``"cpu"`` runs a GPU backend's
    kernel on the CPU in tests). On a GPU its rows record the TF32 flags it ran under."""
    base = stamp.row(model="peak", config=case.config, backend=case.backend, dtype=case.dtype,
                     threads=case.threads, batch_size=case.n, flops=case.flops, macs=case.macs, bytes=case.bytes)
    if runs_on(case, device) == "cuda":
        base = base.with_(tf32_matmul=case.tf32 and case.kind == "gemm", tf32_cudnn=False)
    # what the GEMM computes in, matched with a case's own precision by the report's efficiency
    base = base.with_(precision="tf32" if base.tf32_matmul else case.dtype)
    target = make_target(case, device)
    return harness_case(case.label, base, target, case.threads, budget, cores)


def noop_case(stamp: RunStamp, budget: TimingBudget, cores: int) -> CaseOutcome:
    """The harness measuring nothing: what one call costs the timer and loop themselves."""
    base = stamp.row(model="noop", config="noop", backend="none", dtype="", threads=1, batch_size=0, flops=0)

    def noop():
        pass

    return harness_case("noop", base, noop, 1, budget, cores)
