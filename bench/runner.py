"""The run: every case of a config verified, then timed in interleaved repeats, each on disk at once.

Measurement on a shared machine (docs/method.md): the cases of one config, the
two sides of every speedup ratio, are timed in ``repeats`` blocks each, interleaved in ABBA order
(A B C, C B A, A B C, ...) so that a drift of the machine's speed over the config's minutes falls
on every case alike. Every block starts with a warm-up, records CPU time beside wall time and the
rest of the machine's load, and is written to the results file when its pass over the config ends.

This module only composes: a case is made ready in ``bench.case_preparation``, its repeats are
timed in ``bench.repeats``, the harness's peaks and no-op in ``bench.harness_cases``, and every
row is built by ``bench.run_rows``.
"""

from __future__ import annotations

from implementations import is_cuda_backend
from implementations.registry import spans_processes

from . import verify
from .case_preparation import LatestVerifier, TimedCase, describe_reference, prepare
from .harness_cases import noop_case, peak_case
from .machine import available_cores
from .peaks import PeakCase, gpu_peak_cases, host_peak_cases
from .plan import estimated_seconds, harness_seconds
from .progress import RunBar
from .repeats import time_breakdowns, time_interleaved
from .results import ResultsWriter
from .run_rows import CaseOutcome, RunStamp
from .profiles import TimingBudget
from .suite import Case


class Runner:
    """Runs cases into one results file. ``profile`` names the profile for the record."""

    def __init__(self, writer: ResultsWriter, budget: TimingBudget, profile: str, progress: bool = True,
                 slowdowns: dict[str, float] | None = None, spread=None):
        """``slowdowns``: backend -> factor, each step of that backend made that many times as long
        by spinning after it (a test's way to time a real slowdown; ``bench run`` never passes one).
        Its rows say so in ``planted``. ``spread``: where data-parallel cases' ranks run
        (``bench.data_parallel_case.Spread``; None: this machine alone)."""
        self.spread = spread
        self._spanning = 0  # data-parallel cases prepared so far
        self.writer = writer
        self.budget = budget
        self.progress = progress
        self.slowdowns = dict(slowdowns or {})
        if not all(factor >= 1 for factor in self.slowdowns.values()):
            raise ValueError(f"slowdowns {self.slowdowns}: every factor must be at least 1")
        self.stamp = RunStamp.here(profile, self.slowdowns)
        self.cores = available_cores()
        self._verifier = LatestVerifier(on_new=self._describe_reference)
        self.outcomes: list[CaseOutcome] = []
        self._bar = None

    @property
    def run_id(self) -> str:
        return self.stamp.run_id

    def _say(self, line: str) -> None:
        """A line above the progress bar, while a run shows one."""
        if self._bar is not None:
            self._bar.write(line)

    def _record(self, outcome: CaseOutcome) -> None:
        self.writer.append(outcome.rows)
        self.outcomes.append(outcome)

    # -- cases ------------------------------------------------------------------------------
    def _describe_reference(self, config, verifier: verify.Verifier) -> None:
        if self.progress:
            self._say(describe_reference(config, verifier))

    def prepare(self, case: Case) -> TimedCase | CaseOutcome:
        """Verify ``case`` and get it ready to time (``bench.case_preparation.prepare``)."""
        base = self.stamp.case_row(case)
        index = self._spanning
        if spans_processes(case.backend):
            self._spanning += 1  # every node counts them alike (bench.data_parallel_case.serve_node)
            if self.spread is not None and self.spread.planted:  # a test's fault in a rank: its rows say so
                base = base.with_(planted="; ".join(filter(None, (base.planted, f"rank fault: {self.spread.planted}"))))
        return prepare(case, base, self._verifier, self.budget, self.cores, slowdown=self.slowdowns.get(case.backend, 1.0),
                       progress=self.progress, spread=self.spread, index=index)

    def run_config(self, cases: list[Case], tick=lambda label, cost: None) -> list[CaseOutcome]:
        """Verify every case of one config, then time them in interleaved repeats (ABBA order).

        Rows reach the results file after every pass over the config; the outcomes are recorded
        when the config is done. ``tick(label, cost)`` reports progress.
        """
        ready: list[TimedCase] = []
        try:
            return self._run_config(cases, tick, ready)
        finally:
            for timed in ready:  # every data-parallel case's ranks end, however the config ended
                timed.release()

    def _run_config(self, cases: list[Case], tick, ready: list[TimedCase]) -> list[CaseOutcome]:
        finished: list[CaseOutcome] = []
        for case in cases:
            prepared = self.prepare(case)
            if isinstance(prepared, CaseOutcome):
                finished.append(prepared)
                self.writer.append(prepared.rows)
                if prepared.status == "failed":
                    self._say(f"failed: {case.label}: {prepared.error}")
                tick(case.label, estimated_seconds(case, self.budget))
            else:
                ready.append(prepared)
                if prepared.done:  # timed in its verification: its rows are final
                    self.writer.append(prepared.outcome.rows)
        time_interleaved(ready, self.budget, self.cores, self.writer.append, tick, self._say)
        self.writer.append(time_breakdowns(ready))
        for timed in ready:
            finished.append(timed.outcome)
        self.outcomes.extend(finished)
        return finished

    # -- the harness's own cases ------------------------------------------------------------
    def run_peak(self, case: PeakCase, device: str | None = None) -> CaseOutcome:
        """One peak case (``bench.harness_cases.peak_case``; ``device="cpu"`` runs a GPU backend's
        kernel on the CPU in tests)."""
        return peak_case(self.stamp, self.budget, self.cores, case, device)

    def run_noop(self) -> CaseOutcome:
        """The harness measuring nothing: what one call costs the timer and loop themselves."""
        return noop_case(self.stamp, self.budget, self.cores)

    # -- the whole run ----------------------------------------------------------------------
    def run(self, cases: list[Case], peak_sizes: tuple[int, ...] = (), with_noop: bool = True) -> list[CaseOutcome]:
        harness: list[tuple[str, object]] = []
        if with_noop:
            harness.append(("noop", self.run_noop))
        peaks = host_peak_cases(peak_sizes, self.cores)
        if any(is_cuda_backend(c.backend) for c in cases) and self.stamp.machine["gpu"]:
            peaks += gpu_peak_cases(self.cores)  # the GPU's own, beside a GPU rung only
        harness += [(peak.label, lambda p=peak: self.run_peak(p)) for peak in peaks]
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
