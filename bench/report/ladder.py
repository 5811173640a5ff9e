"""The speedup ladder: one config on one machine, climbed one change at a time.

The rungs are those the registered backends describe (``Backend.rungs``, in
``implementations/__init__.py``), each changing one thing from the one below: the loop baseline,
then in the backends' order compiled loops (with a side rung: the compiled loops at their fastest,
set against the rung below it), hand-written vectorized code in float64, float32 and on every
core, the framework on the CPU, then on the GPU and the GPU rungs above it where measured; a
backend that describes no rung gets one above them. So the factor from pure-Python loops to
vectorized code splits into what the interpreter costs (loops to compiled loops) and what
vectorization and BLAS add (compiled loops to vectorized). The loop baselines' rungs are what the
claims divide by; "the best rung" is the fastest of the others. Every rung uses the same batch
size and resolution: the batch the loop baseline ran with, or the smallest measured when it did
not run. "All cores" is the largest thread count measured on that machine.
"""

from __future__ import annotations

from dataclasses import dataclass

from implementations.registry import (FRAMEWORK, LOOP_BASELINE, LOOP_ROLES, LadderRung, backend_names, described,
                                      order_key, role_of)

from ..keys import device
from ..stats import RESAMPLES, SEED, ratio_interval
from . import flags
from .cases import Case, config_ranks


@dataclass(frozen=True)
class RungSpec:
    name: str
    change: str  # what this rung changes from the one below
    backend: str
    dtype: str
    threads: str  # "one", "all", "any" (the most threads measured for that backend) or "processes"
    role: str = FRAMEWORK  # the backend's (implementations.registry.ROLES)
    # a side rung hangs off the ladder: it is set against the nearest measured rung below it, and
    # the rungs above are set against theirs as if it were not there (numba on every core changes
    # two things at once from numba float64 on one, and numpy float64 on one thread changes one
    # thing from the latter)
    side: bool = False
    when_measured: bool = False  # shown only where measured (the GPU rungs above the first)

    @property
    def loop_baseline(self) -> bool:
        """Explicit loops (pure Python or compiled): what the claims divide by."""
        return self.role in LOOP_ROLES


def _rung_name(backend: str, rung: LadderRung) -> str:
    """``numpy float32, all cores``; a mixed-precision backend by what it computes in:
    ``torch-cuda-amp bfloat16 autocast`` (its float32 weights are the case's dtype)."""
    amp = described(backend).amp_dtype
    precision = f"{amp} autocast" if amp and rung.dtype == "float32" else rung.dtype
    if rung.threads == "any":
        return f"{backend} {precision}"
    if rung.threads == "processes":
        return f"{backend} {precision}, a process per core"
    return f"{backend} {precision}, {'1 thread' if rung.threads == 'one' else 'all cores'}"


def declared_rungs() -> tuple[RungSpec, ...]:
    """Every rung the registered backends describe (``Backend.rungs``), the loop baseline first,
    then in the backends' order: the ladder's spine."""
    specs = []
    for name in sorted(backend_names(), key=lambda n: (role_of(n) != LOOP_BASELINE, order_key(n))):
        backend = described(name)
        specs += [RungSpec(_rung_name(name, r), r.change, name, r.dtype, r.threads, backend.role, r.side,
                           r.when_measured) for r in backend.rungs]
    return tuple(specs)


@dataclass(frozen=True)
class Speedup:
    value: float  # time(slower rung) / time(this rung)
    low: float  # 95% hierarchical-bootstrap interval; NaN when a side has one round (no interval)
    high: float
    over: str  # name of the rung it is measured against

    @property
    def has_interval(self) -> bool:
        return self.low == self.low and self.high == self.high


@dataclass(frozen=True)
class Rung:
    spec: RungSpec
    case: Case | None  # None: no case at all in the results
    over_below: Speedup | None
    over_loops: Speedup | None

    @property
    def measured(self) -> bool:
        return self.case is not None and self.case.ok

    @property
    def flag(self) -> str:
        """How a table highlights the rung (``flags``): failed or suspect, noisy, not run, or not at all."""
        return flags.of_case(self.case)

    @property
    def state(self) -> str:
        """'ok', 'failed: <error>', 'skipped: <reason>' or 'not measured'."""
        if self.case is None:
            return "not measured"
        if self.case.ok:
            return "ok"
        return f"{self.case.status}: {self.case.error or 'no reason recorded'}"


@dataclass(frozen=True)
class Ladder:
    machine: str
    config: str
    batch_size: int
    resolution: int | None
    all_cores: int
    rungs: list[Rung]

    @property
    def loops(self) -> Rung:
        return self.rungs[0]

    def rung(self, name: str) -> Rung | None:
        return next((r for r in self.rungs if r.spec.name == name), None)

    def rung_of(self, role: str, dtype: str, threads: str) -> Rung | None:
        """The first rung of a backend of ``role`` at ``dtype`` and ``threads`` (one, all, any)."""
        return next((r for r in self.rungs if (r.spec.role, r.spec.dtype, r.spec.threads) == (role, dtype, threads)),
                    None)

    def best(self, vectorized_only: bool = True) -> Rung | None:
        """The fastest measured rung (excluding the loop baselines when vectorized_only)."""
        measured = [r for r in self.rungs if r.measured and not (vectorized_only and r.spec.loop_baseline)]
        return min(measured, key=lambda r: r.case.median, default=None)


def shown_rungs(group: list[Ladder]) -> tuple[list[str], dict[str, str]]:
    """The rungs a config's ladders show (every machine's, in ladder order), and those left out, each
    with why: a rung no machine ran (its case missing or skipped everywhere: "not measured",
    "skipped: no CUDA GPU"). A failed rung stays: a failure is a finding."""
    names = list(dict.fromkeys(r.spec.name for ladder in group for r in ladder.rungs))
    left_out = {}
    for name in names:
        rungs = [r for r in (ladder.rung(name) for ladder in group) if r is not None]
        if not any(r.case is not None and r.case.status in ("ok", "failed") for r in rungs):
            left_out[name] = "; ".join(dict.fromkeys(r.state for r in rungs))
    return [n for n in names if n not in left_out], left_out


def _pick(candidates: list[Case], spec: RungSpec, all_cores: int) -> Case | None:
    matching = [c for c in candidates if c.backend == spec.backend and c.dtype == spec.dtype]
    if spec.threads == "one":
        matching = [c for c in matching if c.threads == 1]
    elif spec.threads == "all":
        matching = [c for c in matching if c.threads == all_cores and c.world_size == 1]
    elif spec.threads == "processes":  # the cores as processes of one thread each
        matching = [c for c in matching if c.threads == 1 and c.world_size == all_cores]
    if not matching:
        return None
    # an ok case wins over a failed or skipped one; then the most threads
    return max(matching, key=lambda c: (c.ok, c.threads))


def _later_specs(candidates: list[Case], declared: tuple[RungSpec, ...]) -> list[RungSpec]:
    """One rung per measured backend that describes none (a plug-in, or a backend this
    installation lacks): float32 if measured, at most threads."""
    specs = []
    named = {spec.backend for spec in declared}
    for backend in sorted({c.backend for c in candidates} - named, key=order_key):
        dtypes = sorted({c.dtype for c in candidates if c.backend == backend})
        dtype = "float32" if "float32" in dtypes else dtypes[0]
        specs.append(RungSpec(f"{backend} {dtype}", "later rung", backend, dtype, "any", role_of(backend)))
    return specs


def speedup_between(slower: Case, faster: Case, over: str, resamples: int, seed: int) -> Speedup:
    """time(slower) / time(faster) with its 95% interval (none when either side has one round)."""
    interval = ratio_interval(slower.clean, slower.clean_repeats, faster.clean, faster.clean_repeats,
                              resamples=resamples, seed=seed)
    low, high = (interval.low, interval.high) if interval else (float("nan"), float("nan"))
    return Speedup(slower.time / faster.time, low, high, over)


def gpu_over_cpu(ladder: Ladder, resamples: int = RESAMPLES, seed: int = SEED) -> tuple[Speedup, Rung, Rung] | None:
    """The ladder's fastest GPU rung over its fastest CPU rung (both on the ladder's machine, timed
    in one run): (speedup, GPU rung, CPU rung), or None where either side was not measured."""
    measured = [r for r in ladder.rungs if r.measured]
    gpu = [r for r in measured if device(r.spec.backend) == "gpu"]
    cpu = [r for r in measured if device(r.spec.backend) == "cpu"]
    if not gpu or not cpu:
        return None
    fast_gpu = min(gpu, key=lambda r: r.case.median)
    fast_cpu = min(cpu, key=lambda r: r.case.median)
    return speedup_between(fast_cpu.case, fast_gpu.case, fast_cpu.spec.name, resamples, seed), fast_gpu, fast_cpu


def build_ladder(machine: str, config: str, cases: list[Case], all_cores: int,
                 resamples: int = RESAMPLES, seed: int = SEED) -> Ladder:
    """The ladder of one config on one machine from that machine's cases of that config."""
    loops = [c for c in cases if role_of(c.backend) == LOOP_BASELINE]
    batch = min(c.batch_size for c in (loops or cases))
    at_batch = [c for c in cases if c.batch_size == batch]
    resolution = at_batch[0].resolution
    rungs: list[Rung] = []
    below: Rung | None = None  # the nearest measured rung below
    declared = declared_rungs()
    measured_backends = {c.backend for c in at_batch}
    spine = [spec for spec in declared if not spec.when_measured or spec.backend in measured_backends]
    for spec in spine + _later_specs(at_batch, declared):
        case = _pick(at_batch, spec, all_cores)
        over_below = over_loops = None
        if case is not None and case.ok:
            if below is not None:
                over_below = speedup_between(below.case, case, below.spec.name, resamples, seed)
            if rungs and rungs[0].measured and rungs[0].spec.role == LOOP_BASELINE:
                over_loops = speedup_between(rungs[0].case, case, rungs[0].spec.name, resamples, seed)
        rung = Rung(spec, case, over_below, over_loops)
        rungs.append(rung)
        if rung.measured and not spec.side:
            below = rung
    return Ladder(machine, config, batch, resolution, all_cores, rungs)


def build_ladders(cases: list[Case], resamples: int = RESAMPLES, seed: int = SEED) -> list[Ladder]:
    """Every ladder: per machine, per config other than the mlp-width-N sweep (see scaling)."""
    ladders = []
    for machine in sorted({c.machine for c in cases}):
        mine = [c for c in cases if c.machine == machine]
        all_cores = max(c.threads for c in mine)
        ranks = config_ranks(mine)
        for config in sorted({c.config for c in mine if c.sweep_width is None}, key=ranks.__getitem__):
            ladders.append(build_ladder(machine, config, [c for c in mine if c.config == config],
                                        all_cores, resamples, seed))
    return ladders


@dataclass(frozen=True)
class ThroughputLine:
    machine: str
    config: str
    case_label: str
    backend: str
    points: list[tuple[int, float, Case]]  # (batch size, images per second, case)


def throughput(cases: list[Case]) -> list[ThroughputLine]:
    """Images/s against batch size for image configs measured at more than one batch size."""
    lines = []
    groups: dict[tuple, list[Case]] = {}
    for c in cases:
        if c.resolution and c.ok and role_of(c.backend) != LOOP_BASELINE:  # an image model (ResNet-50)
            groups.setdefault((c.machine, c.config, c.backend, c.dtype, c.threads), []).append(c)
    ranks = config_ranks(cases)
    for (machine, config, backend, _, _), group in sorted(
            groups.items(), key=lambda kv: (kv[0][0], ranks[kv[0][1]], order_key(kv[0][2]), kv[0][3:])):
        sizes = {c.batch_size for c in cases if c.machine == machine and c.config == config}
        if len(sizes) < 2:
            continue
        points = [(c.batch_size, c.batch_size / c.median, c) for c in sorted(group, key=lambda c: c.batch_size)]
        lines.append(ThroughputLine(machine, config, group[0].label, backend, points))
    return lines
