"""The run: every case verified, then timed, then written to disk before the next one starts."""

from __future__ import annotations

import math
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

from tqdm import tqdm

from implementations import architecture, is_cuda_backend, make_trainer

from . import verify
from .machine import available_cores, describe_machine
from .peaks import PeakCase, gpu_peak_cases, make_target
from .results import SCHEMA_VERSION, ResultsWriter
from .suite import SLOW_STEP, Case, TimingBudget
from .threads import thread_limit
from .timing import Timing, time_calibrated, time_rounds


@dataclass
class CaseOutcome:
    label: str
    status: str
    error: str = ""
    rows: list[dict] = field(default_factory=list)


# Untimed steps of a GPU rung between verification and timing: cuDNN autotuning, torch.compile's
# remaining (re)compilation, the caching allocator's growth and the momentum buffers all happen in
# the first steps and stay out of the numbers.
GPU_WARMUP_STEPS = 5


def _now():
    return datetime.now(timezone.utc)


def _new_run_id() -> str:
    return f"{_now():%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def _estimated_seconds(case: Case, budget: TimingBudget) -> float:
    """A rough cost of a case, so that the progress bar's ETA is about right."""
    arch = architecture(case.config.model)
    macs = arch.step_macs(case.config.spec, case.config.batch_size, **_size_kwargs(case.config))
    if case.backend == "loops":
        step = macs * 40e-9
    else:
        step = macs / (5e9 if case.dtype == "float64" else 10e9) + 1e-4
    if step > SLOW_STEP:
        return step * (1 + max(1, min(budget.min_rounds, int(budget.slow_budget / step))))
    return 2 * budget.max_time + step


def _size_kwargs(config) -> dict:
    return {"resolution": config.resolution} if config.resolution else {}


def _precision_fields(case: Case, on_gpu: bool) -> dict:
    """``precision``, the TF32/cuDNN flags the case runs under, and the tolerance they imply."""
    from implementations.torch_autograd.variant import TORCH_BACKENDS  # noqa: PLC0415  (no torch import)

    _, variant = TORCH_BACKENDS.get(case.backend, ("cpu", None))
    flags = {"tf32_matmul": None, "tf32_cudnn": None, "cudnn_benchmark": None}
    if on_gpu:
        from implementations.torch_autograd.trainer import tf32_flags  # noqa: PLC0415

        flags = dict(tf32_flags("cuda", case.dtype), cudnn_benchmark=variant.cudnn_benchmark)
    model = case.config.model
    precision = verify.precision(model, case.dtype, variant.amp_dtype if variant else None,
                                 flags["tf32_matmul"], flags["tf32_cudnn"])
    return dict(flags, precision=precision, tolerance=verify.tolerance(model, case.dtype, precision))


class Runner:
    """Runs cases into one results file. ``profile`` names the profile for the record."""

    def __init__(self, writer: ResultsWriter, budget: TimingBudget, profile: str, progress: bool = True):
        self.writer = writer
        self.budget = budget
        self.profile = profile
        self.run_id = _new_run_id()
        self.machine = describe_machine()
        self.progress = progress
        self._verifiers: dict[str, verify.Verifier] = {}
        self.outcomes: list[CaseOutcome] = []

    # -- rows -------------------------------------------------------------------------------
    def _base_row(self, **fields) -> dict:
        row = {
            "schema_version": SCHEMA_VERSION, "run_id": self.run_id, "timestamp": _now(), "profile": self.profile,
            "resolution": None, "round": None, "iterations": None, "seconds": math.nan, "macs": 0,
            "timing_mode": "", "verification": "none", "verified_max_rel_error": math.nan,
            "tolerance": math.nan, "loss": math.nan, "status": "ok", "error": "",
            "precision": "", "tf32_matmul": None, "tf32_cudnn": None, "cudnn_benchmark": None, "warmup_steps": 0,
            "compile_seconds": math.nan, "bytes": 0,
        }
        row.update(self.machine)
        row.update(fields)
        return row

    def _round_rows(self, base: dict, timing: Timing) -> list[dict]:
        return [dict(base, round=i, iterations=timing.iterations, seconds=s, timing_mode=timing.mode)
                for i, s in enumerate(timing.seconds)]

    def _record(self, outcome: CaseOutcome) -> None:
        self.writer.append(outcome.rows)
        self.outcomes.append(outcome)

    # -- cases ------------------------------------------------------------------------------
    def _verifier(self, config) -> verify.Verifier:
        if config.key not in self._verifiers:
            self._verifiers = {config.key: verify.Verifier(config)}  # one at a time: ResNet's is large
        return self._verifiers[config.key]

    def run_case(self, case: Case) -> CaseOutcome:
        config = case.config
        arch = architecture(config.model)
        size = _size_kwargs(config)
        base = self._base_row(
            model=config.model, config=config.name, backend=case.backend, dtype=case.dtype, threads=case.threads,
            batch_size=config.batch_size, resolution=config.resolution,
            flops=arch.step_flops(config.spec, config.batch_size, **size),
            macs=arch.step_macs(config.spec, config.batch_size, **size),
        )
        if is_cuda_backend(case.backend):
            from implementations.torch_autograd.trainer import cuda_unavailable_reason  # noqa: PLC0415

            reason = cuda_unavailable_reason()
            if reason:
                base.update(_precision_fields(case, on_gpu=False))
                return CaseOutcome(case.label, "skipped", reason, [dict(base, status="skipped", error=reason)])
        base.update(_precision_fields(case, on_gpu=is_cuda_backend(case.backend)))
        try:
            with thread_limit(case.threads):
                return self._verify_and_time(case, base)
        except verify.VerificationError as exc:
            return CaseOutcome(case.label, "failed", str(exc), [dict(base, status="failed", error=str(exc),
                                                                      verification="before")])
        except (ValueError, RuntimeError, MemoryError) as exc:
            message = f"{type(exc).__name__}: {exc}"
            return CaseOutcome(case.label, "failed", message, [dict(base, status="failed", error=message)])

    def _verify_and_time(self, case: Case, base: dict) -> CaseOutcome:
        config = case.config
        verifier = self._verifier(config)
        reference = verifier.reference
        trainer = make_trainer(case.backend, config.model, config.spec, reference.params, case.dtype)
        batch = trainer.prepare_batch(reference.x, reference.y)
        if case.backend in config.verify_timed_round:
            # A step of many minutes: time it once, then verify the very step that was timed.
            with self._layer_progress(case):
                timing = time_rounds(case.label, lambda: trainer.step(batch), rounds=1)
            loss, grads = trainer.last_loss_and_grads()
            error, bound = verifier.check(case.dtype, base["precision"], loss, grads, trainer.state_dict())
            base = dict(base, verification="timed-round", verified_max_rel_error=error, tolerance=bound, loss=loss)
        else:
            start = time.perf_counter()
            loss, grads = trainer.loss_and_grads(batch)
            step_estimate = time.perf_counter() - start
            error, bound = verifier.check(case.dtype, base["precision"], loss, grads, trainer.state_dict())
            base = dict(base, verification="before", verified_max_rel_error=error, tolerance=bound, loss=loss)
            if is_cuda_backend(case.backend):
                # the estimate that picks the timing mode must not include compilation or autotuning
                warm = trainer.warmup(batch, GPU_WARMUP_STEPS)
                step_estimate = min(warm[-2:])
                base = dict(base, warmup_steps=len(warm), compile_seconds=trainer.compile_seconds)
            timing = self._time(case.label, lambda: trainer.step(batch), step_estimate)
        return CaseOutcome(case.label, "ok", "", self._round_rows(base, timing))

    @contextmanager
    def _layer_progress(self, case: Case):
        """A second bar that advances per layer during a minutes-long pure-Python step.

        The loops layers report every finished convolution (forward and backward) through
        ``implementations.pure_python.progress``; the callback costs nothing measurable against
        a convolution that takes seconds.
        """
        arch = architecture(case.config.model)
        if not self.progress or case.backend != "loops" or not hasattr(arch, "conv_shapes"):
            yield
            return
        from implementations.pure_python import progress  # noqa: PLC0415

        events = 2 * len(arch.conv_shapes(case.config.spec, case.config.resolution))
        bar = tqdm(total=events, desc="  layers", unit="layer", leave=False, file=sys.stderr, dynamic_ncols=True)

        def layer_done(name: str) -> None:
            bar.set_postfix_str(name, refresh=False)
            bar.update(1)

        previous = progress.set_layer_callback(layer_done)
        try:
            yield
        finally:
            progress.set_layer_callback(previous)
            bar.close()

    def _time(self, label: str, target, step_estimate: float) -> Timing:
        budget = self.budget
        if step_estimate > SLOW_STEP:
            rounds = max(1, min(budget.min_rounds, int(budget.slow_budget / step_estimate)))
            return time_rounds(label, target, rounds=rounds)
        return time_calibrated(label, target, min_rounds=budget.min_rounds, min_time=budget.min_time,
                               max_time=budget.max_time)

    def run_peak(self, case: PeakCase, device: str = "cuda") -> CaseOutcome:
        """One peak case; ``device`` places a torch-cuda case (``"cpu"`` exercises it in tests)."""
        base = self._base_row(model="peak", config=case.config, backend=case.library, dtype=case.dtype,
                              threads=case.threads, batch_size=case.n, flops=case.flops, macs=case.macs,
                              bytes=case.bytes)
        if case.library == "torch-cuda" and device == "cuda":
            base.update(tf32_matmul=case.tf32 and case.kind == "gemm", tf32_cudnn=False)
        with thread_limit(case.threads):
            target = make_target(case) if case.library == "numpy" else make_target(case, device)
            timing = time_calibrated(case.label, target, min_rounds=self.budget.min_rounds,
                                     min_time=self.budget.min_time, max_time=self.budget.max_time)
        return CaseOutcome(case.label, "ok", "", self._round_rows(base, timing))

    def run_noop(self) -> CaseOutcome:
        """The harness measuring nothing: what one call costs the timer and loop themselves."""
        base = self._base_row(model="noop", config="noop", backend="none", dtype="", threads=1, batch_size=0,
                              flops=0)

        def noop():
            pass

        timing = time_calibrated("noop", noop, min_rounds=self.budget.min_rounds, min_time=self.budget.min_time,
                                 max_time=self.budget.max_time)
        return CaseOutcome("noop", "ok", "", self._round_rows(base, timing))

    # -- the whole run ----------------------------------------------------------------------
    def run(self, cases: list[Case], peak_sizes: tuple[int, ...] = (), with_noop: bool = True) -> list[CaseOutcome]:
        jobs: list[tuple[str, float, object]] = []
        if with_noop:
            jobs.append(("noop", 2 * self.budget.max_time, self.run_noop))
        cores = available_cores()
        for n in peak_sizes:
            for dtype in ("float32", "float64"):
                for threads in sorted({1, cores}):
                    peak = PeakCase("numpy", dtype, n, threads)
                    jobs.append((peak.label, 2 * self.budget.max_time + 1.0, lambda p=peak: self.run_peak(p)))
        if any(is_cuda_backend(c.backend) for c in cases) and self.machine["gpu"]:
            for peak in gpu_peak_cases(cores):
                jobs.append((peak.label, 2 * self.budget.max_time + 1.0, lambda p=peak: self.run_peak(p)))
        for case in cases:
            jobs.append((case.label, _estimated_seconds(case, self.budget), lambda c=case: self.run_case(c)))

        total = sum(cost for _, cost, _ in jobs)
        bar = tqdm(total=round(total, 1), unit="s", disable=not self.progress, file=sys.stderr, dynamic_ncols=True,
                   bar_format="{desc} |{bar}| {percentage:3.0f}% [{elapsed}<{remaining}]")
        try:
            for index, (label, cost, job) in enumerate(jobs, 1):
                bar.set_description_str(f"case {index}/{len(jobs)}: {label}")
                outcome = job()
                self._record(outcome)
                if outcome.status == "failed":  # skips are summed up at the end, one line per reason
                    bar.write(f"failed: {label}: {outcome.error}")
                bar.update(round(cost, 1))
        finally:
            bar.close()
        return self.outcomes
