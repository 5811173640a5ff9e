"""The suite: named model configurations, the cases they expand into, and the three profiles."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from implementations import (BACKENDS, CUDA_BACKENDS, architecture, backend_dtypes, backend_names, get_backend,
                             is_cuda_backend)
from implementations.registry import COMPILED_LOOPS, LOOP_BASELINE, role_of
from implementations.architectures import mlp, resnet

from .errors import UsageError
from .machine import available_cores
from .keys import CaseKey

# The built-in backends the profiles single out, by what they are (``Backend.role``), never by name.
LOOPS = tuple(b for b in BACKENDS if role_of(b) == LOOP_BASELINE)
COMPILED = tuple(b for b in BACKENDS if role_of(b) == COMPILED_LOOPS)
# the CPU rungs above the loop baseline (compiled loops, vectorized, the framework on the CPU)
CPU_ABOVE_LOOPS = tuple(b for b in BACKENDS if not is_cuda_backend(b) and b not in LOOPS)

PROFILES = ("quick", "ci", "default", "full", "gpu")
WIDTH_SWEEP = tuple(2**k for k in range(5, 12))  # 32 .. 2048
# The default profile's sweep: 64..256 (where fixed per-call costs flatten the vectorized lines),
# then steps of a quarter octave (2**(1/4)) from 362 to 2048, the widths where the vectorized
# backends are compute-bound at batch 32 (FLOP rate near its best). Half-octave steps there gave
# exponent intervals up to +-0.43 for torch-cpu float64 (six points, four degrees of freedom, and a
# cache step between 1448 and 2048); quarter-octave steps gave +-0.17 at most (docs/findings.md).
# loops (seconds per step from 512 up) runs the half-octave widths up to 512 only.
DEFAULT_SWEEP = (64, 128, 256, *(round(256 * 2 ** (k / 4)) for k in range(2, 13)))  # 362, 431, ..., 2048
LOOPS_SWEEP = (64, 128, 256, 362, 512)
# The GPU machine's CPU rungs (the gpu profile): the configs where its GPU is set against its own
# CPU. Pure-Python loops skip mlp-wide (a minute a step) and ResNet-50 at 224 px (11 minutes a
# step): its ResNet-50 is 32 px, where the GPU rungs are not run (GPU_MACHINE_GPU_CONFIGS), so the
# two meet at 224 px batch 1 through the vectorized CPU rungs.
GPU_MACHINE_CPU_CONFIGS = ("mlp-tiny", "mlp-mnist", "mlp-wide", "resnet50-32", "resnet50-224@1")
GPU_MACHINE_LOOPS_CONFIGS = ("mlp-tiny", "mlp-mnist", "resnet50-32")
# The GPU rungs' configs: not resnet50-32. Their tolerances were sized on ResNet-50 at 224 px, and
# the 32-px net at batch 4 is worse conditioned: on the H200 (results/reference/nvidia-h200.log)
# correct TF32 and bfloat16 steps missed float64 there by 0.30 (bound 0.25) and 0.77-0.81 (0.75).
GPU_MACHINE_GPU_CONFIGS = ("mlp-tiny", "mlp-mnist", "mlp-wide", *(f"mlp-width-{n}" for n in WIDTH_SWEEP),
                           "resnet50-224@1", "resnet50-224@32", "resnet50-224@256")


@dataclass(frozen=True)
class ModelConfig:
    """A named model configuration: which model, built from which spec, at which batch size."""

    name: str
    model: str
    spec: Any
    batch_size: int
    resolution: int | None = None
    # backends this config is not run on (loops where one step takes too long); every other
    # backend asked for, a plug-in's included, runs
    without: tuple[str, ...] = ()
    # backends whose step takes a minute or more: timed once and verified from that very step (one step)
    verify_timed_round: tuple[str, ...] = ()
    # backends this config runs at one thread only, where they would also run at all cores
    one_thread: tuple[str, ...] = ()
    # dtypes to run (None: every dtype the backend supports)
    dtypes: tuple[str, ...] | None = None
    # N of the width sweep's mlp-width-N (recorded per row as sweep_width); None outside the sweep
    sweep_width: int | None = None

    @property
    def key(self) -> str:
        """Name and batch size: what tells two configurations apart."""
        return f"{self.name}@{self.batch_size}"


def _mlp(name: str, sizes: tuple[int, ...], batch: int, verify_timed_round: tuple[str, ...] = ()) -> ModelConfig:
    return ModelConfig(name, "mlp", mlp.MLPSpec(sizes), batch, verify_timed_round=verify_timed_round)


def _resnet50(name: str, resolution: int, batch: int) -> ModelConfig:
    # A pure-Python ResNet-50 step takes seconds at 32x32 and many minutes at 224x224: time it
    # once and verify that very step, rather than run it twice.
    return ModelConfig(name, "resnet50", resnet.RESNET50, batch, resolution, verify_timed_round=LOOPS)


def _at_batch(config: ModelConfig, batch: int) -> ModelConfig:
    """``config`` at another batch size. ResNet-50 at 224 beyond batch 1 is a throughput
    measurement of the vectorized backends in float32: a loops step would take hours, and float64
    activations of a batch of 32 would not fit in this machine's memory beside NumPy's buffers."""
    config = replace(config, batch_size=batch)
    if config.resolution == 224 and batch > 1:
        config = replace(config, without=(*config.without, *LOOPS), dtypes=("float32",))
    return config


_NAMED = {
    "mlp-tiny": lambda: _mlp("mlp-tiny", (4, 3, 2), 5),  # the 4-3-2 example of the first seed article
    "mlp-mnist": lambda: _mlp("mlp-mnist", (784, 128, 10), 32),  # the second article's 784->128 layer
    # A pure-Python mlp-wide step takes most of a minute: verifying it over two separate steps
    # would triple its cost, so its timed step is the one verified (the loops update and momentum
    # are verified over two steps on every other MLP config; the code is the same).
    "mlp-wide": lambda: _mlp("mlp-wide", (1024, 1024, 1024, 10), 128, verify_timed_round=LOOPS),
    # Batch 4, not 2: at 32 px layer4 is 1x1, so with 2 images its batch norms normalize 2 values
    # per channel, and the step is numerically degenerate (docs/deviations.md).
    "resnet50-32": lambda: _resnet50("resnet50-32", 32, 4),
    "resnet50-224": lambda: _resnet50("resnet50-224", 224, 1),
}
_WIDTH = re.compile(r"^mlp-width-(-?\d+)$")


def config_names() -> list[str]:
    return [*_NAMED, *(f"mlp-width-{n}" for n in WIDTH_SWEEP)]


def get_config(name: str) -> ModelConfig:
    """The configuration called ``name``; UsageError naming the accepted names otherwise.

    ``NAME@B`` is NAME at batch size B (``resnet50-224@8``): the recorded config stays NAME, and
    ``batch_size`` tells the cases apart.
    """
    if "@" in name:
        base, _, batch = name.partition("@")
        if not batch.isdigit() or int(batch) < 1:
            raise UsageError(f"{name}: the batch size after @ must be a positive integer")
        return _at_batch(get_config(base), int(batch))
    if name in _NAMED:
        return _NAMED[name]()
    match = _WIDTH.match(name)
    if match:
        width = int(match.group(1))
        if width < 1:
            raise UsageError(f"{name}: a width must be a positive integer (the sweep uses {WIDTH_SWEEP[0]}..{WIDTH_SWEEP[-1]})")
        return replace(_mlp(name, (width, width, 10), 32), sweep_width=width)
    from implementations import MODELS  # noqa: PLC0415

    raise UsageError(f"unknown model or config {name!r}; models: {', '.join(MODELS)}; configs: "
                     f"{', '.join(config_names())} (mlp-width-N for any N >= 1, NAME@B for batch size B)")


@dataclass(frozen=True)
class TimingBudget:
    """How each case is timed: ``repeats`` blocks, interleaved with the config's other cases.

    A block is a warm-up of about ``warmup_time`` seconds (at least one call), then at least
    ``min_rounds`` rounds filling about ``block_time`` seconds; a round is as many calls as make it
    last ``min_time``. A step slower than ``SLOW_STEP`` is one call per round, and all its repeats
    together get about ``slow_budget`` seconds (at least one round).
    """

    repeats: int
    block_time: float  # seconds of timed rounds per block
    min_time: float  # seconds per round at least
    min_rounds: int  # rounds per block at least
    slow_budget: float  # seconds of timed steps in all, for a step slower than SLOW_STEP
    warmup_time: float  # seconds of untimed calls before every block


SLOW_STEP = 0.25  # seconds: above this a step is timed one call per round, without calibration


@dataclass(frozen=True)
class Profile:
    name: str
    configs: tuple[str, ...]
    budget: TimingBudget
    peak_sizes: tuple[int, ...] = field(default=(1024,))
    # the backends run when --backends is not given (empty: all)
    backends: tuple[str, ...] = ()
    # configs this profile runs without the loops backend (a step of seconds, repeated, costs minutes)
    without_loops: tuple[str, ...] = ()
    # (config, backend) pairs this profile runs at one thread only
    one_thread: tuple[tuple[str, str], ...] = ()
    # (backend, configs) pairs: this profile runs that backend on those configs only
    only_on: tuple[tuple[str, tuple[str, ...]], ...] = ()


_PROFILES = {
    # CI's profile (the regression check): every backend but numba on the MLPs, ResNet-50 at 32 px
    # on the vectorized backends (a loops step there takes 47 s; the default profile times it).
    # numba on two configs at one thread: mlp-width-256 (its dense kernels) and resnet50-32
    # (convolution, batch norm, pooling). One thread: the A/A study gates no 2-thread MLP case of any
    # backend on the 2 shared cores, and numba's threaded twins give the one-thread numbers bit for
    # bit (tests). The study gates numba and resnet50-32's float32 case (docs/noise-study.md). About 20 s of CI's
    # fifteen minutes.
    "quick": Profile("quick", ("mlp-tiny", "mlp-mnist", "mlp-width-64", "mlp-width-256", "resnet50-32"),
                     TimingBudget(repeats=6, block_time=0.05, min_time=0.002, min_rounds=3, slow_budget=4.0,
                                  warmup_time=0.01), (512,), without_loops=("resnet50-32",),
                     one_thread=tuple((c, b) for c in ("mlp-width-256", "resnet50-32") for b in COMPILED),
                     only_on=tuple((b, ("mlp-width-256", "resnet50-32")) for b in COMPILED)),
    # CI's regression check (bench check --against): the quick profile's cases, each run half as long.
    # The check's verdicts rest on the spread between runs, which cancels the day's drift only when
    # both sides alternate often, so more, shorter runs (pairs) buy more than longer ones.
    "ci": Profile("ci", ("mlp-tiny", "mlp-mnist", "mlp-width-64", "mlp-width-256", "resnet50-32"),
                  TimingBudget(repeats=3, block_time=0.05, min_time=0.002, min_rounds=3, slow_budget=2.0,
                               warmup_time=0.01), (512,), without_loops=("resnet50-32",),
                  one_thread=tuple((c, b) for c in ("mlp-width-256", "resnet50-32") for b in COMPILED),
                  only_on=tuple((b, ("mlp-width-256", "resnet50-32")) for b in COMPILED)),
    # The default profile must finish within 25 minutes on a 2-core machine whose pure-Python
    # ResNet-50 step at 224 takes 11-12 of them. So ResNet-50 at 224 batch 8 and 32 (throughput of
    # the vectorized backends) are in the full profile only: with their float64 oracles (torch and
    # numpy) batch 8 cost 2.3 minutes and batch 32 about 4 minutes and 15 GB; and a step over a
    # quarter second gets about 10 s of timed calls (one per round, one round per repeat at 224).
    "default": Profile("default", ("mlp-tiny", "mlp-mnist", "mlp-wide",
                                   *(f"mlp-width-{n}" for n in DEFAULT_SWEEP),
                                   "resnet50-32", "resnet50-224"),
                       TimingBudget(repeats=5, block_time=0.25, min_time=0.01, min_rounds=3, slow_budget=10.0,
                                    warmup_time=0.05), (2048,),
                       without_loops=tuple(f"mlp-width-{n}" for n in DEFAULT_SWEEP if n not in LOOPS_SWEEP),
                       # numba on all cores (about 3 minutes more in all) on the ladder's configs, not
                       # over the sweep, whose exponents are judged at one thread: within 25 minutes
                       one_thread=tuple((f"mlp-width-{n}", b) for n in DEFAULT_SWEEP for b in COMPILED)),
    "full": Profile("full", ("mlp-tiny", "mlp-mnist", "mlp-wide", *(f"mlp-width-{n}" for n in WIDTH_SWEEP),
                             "resnet50-32", "resnet50-224", "resnet50-224@8", "resnet50-224@32"),
                    TimingBudget(repeats=8, block_time=0.5, min_time=0.02, min_rounds=5, slow_budget=120.0,
                                 warmup_time=0.1), (2048, 4096)),
    # The GPU machine's reference: its whole ladder in one file. Every GPU rung on the MLPs and on
    # ResNet-50 at 224 px from one image to a training-sized batch; the host's CPU rungs on the
    # configs where they can be set against the GPU at the same config (GPU_MACHINE_CPU_CONFIGS);
    # the CPU's GEMMs at 2048 beside the GPU's own peaks (bench.peaks.gpu_peak_cases, run whenever
    # a GPU rung runs on a GPU). Device time is lent by the quarter hour, so the profile is run a
    # few configs at a time (--models), each run appended to the same file. A CPU step over a
    # quarter second (loops, numpy at one thread) gets 5 s of timed calls, not minutes.
    "gpu": Profile("gpu", ("mlp-tiny", "mlp-mnist", "mlp-wide", *(f"mlp-width-{n}" for n in WIDTH_SWEEP),
                           "resnet50-32", "resnet50-224@1", "resnet50-224@32", "resnet50-224@256"),
                   TimingBudget(repeats=5, block_time=0.3, min_time=0.01, min_rounds=5, slow_budget=5.0,
                                warmup_time=0.05), (2048,),
                   only_on=(*((backend, GPU_MACHINE_LOOPS_CONFIGS) for backend in LOOPS),
                            *((backend, GPU_MACHINE_CPU_CONFIGS) for backend in CPU_ABOVE_LOOPS),
                            *((backend, GPU_MACHINE_GPU_CONFIGS) for backend in CUDA_BACKENDS))),
}


def get_profile(name: str) -> Profile:
    if name not in _PROFILES:
        raise UsageError(f"unknown profile {name!r}; accepted: {', '.join(PROFILES)}")
    return _PROFILES[name]


@dataclass(frozen=True)
class Case:
    """One timed unit: a config on a backend at a dtype and thread count."""

    config: ModelConfig
    backend: str
    dtype: str
    threads: int

    @property
    def key(self) -> CaseKey:
        """What the case is, as its rows record it (``bench.keys.CaseKey``)."""
        c = self.config
        return CaseKey(c.model, c.name, self.backend, self.dtype, self.threads, c.batch_size, c.resolution or 0)

    @property
    def label(self) -> str:
        """``mlp-mnist@32 numpy float32 2t``: the one label of a case, everywhere (``CaseKey.label``)."""
        return self.key.label


def thread_counts(backend: str, cores: int) -> list[int]:
    """Pure-Python loops run on one thread; numba and the vectorized backends at one thread and at all cores.

    The GPU rungs run at all cores only: their host threads launch kernels and barely matter.
    """
    if get_backend(backend).single_threaded:
        return [1]
    if is_cuda_backend(backend):
        return [cores]
    return sorted({1, cores})


def select_configs(profile: Profile, models: list[str] | None) -> list[ModelConfig]:
    """``models`` may name models (all of the profile's configs of that model) or configs.

    A config the profile runs without loops (``Profile.without_loops``), without a backend it runs
    on other configs only (``Profile.only_on``), or with a backend at one thread only
    (``Profile.one_thread``), keeps that restriction.
    """
    if not models:
        return [_in_profile(profile, name) for name in profile.configs]
    from implementations import MODELS  # noqa: PLC0415

    chosen: list[str] = []
    for item in models:
        if item in MODELS:
            names = [n for n in profile.configs if get_config(n).model == item]
        else:
            get_config(item)  # raises for an unknown name
            names = [item]
        chosen.extend(n for n in names if n not in chosen)
    if not chosen:
        raise UsageError(f"--models {' '.join(models)} selects no config of profile {profile.name}")
    return [_in_profile(profile, name) for name in chosen]


def _in_profile(profile: Profile, name: str) -> ModelConfig:
    config = get_config(name)
    if name in profile.without_loops:
        config = replace(config, without=(*config.without, *LOOPS))
    elsewhere = tuple(backend for backend, names in profile.only_on if name not in names)
    if elsewhere:
        config = replace(config, without=(*config.without, *elsewhere))
    one_thread = tuple(backend for config_name, backend in profile.one_thread if config_name == name)
    if one_thread:
        config = replace(config, one_thread=(*config.one_thread, *one_thread))
    return config


def check_backends(backends: list[str] | None) -> list[str]:
    for backend in backends or []:
        if backend not in backend_names():
            raise UsageError(f"unknown backend {backend!r}; accepted: {', '.join(backend_names())}")
    return list(backends) if backends else list(BACKENDS)


def expand_cases(configs: list[ModelConfig], backends: list[str], cores: int | None = None) -> list[Case]:
    cores = cores or available_cores()
    cases = []
    for config in configs:
        for backend in backends:
            if backend in config.without:
                continue
            for dtype in backend_dtypes(backend):
                if config.dtypes is not None and dtype not in config.dtypes:
                    continue
                for threads in [1] if backend in config.one_thread else thread_counts(backend, cores):
                    cases.append(Case(config, backend, dtype, threads))
    return cases


# -- what a case needs in memory ------------------------------------------------------------------
def estimated_bytes(case: Case) -> int:
    """A generous estimate of the host memory ``case`` needs, in bytes: its model's own estimate
    (``host_bytes`` in its architecture module) for the case's batch, dtype, backend role and device."""
    config = case.config
    size = {"resolution": config.resolution} if config.resolution else {}
    return architecture(config.model).host_bytes(
        config.spec, config.batch_size, 8 if case.dtype == "float64" else 4,
        loops=role_of(case.backend) == LOOP_BASELINE, on_gpu=is_cuda_backend(case.backend), **size)


def available_bytes() -> int | None:
    """Memory the machine can give a new process now (/proc/meminfo MemAvailable); None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def check_memory(cases: list[Case], available: int | None = None) -> None:
    """UsageError naming the first case that cannot fit, before anything is run."""
    available = available_bytes() if available is None else available
    if available is None:
        return
    for case in cases:
        need = estimated_bytes(case)
        if need > 0.8 * available:
            raise UsageError(f"{case.label} needs about {_gib(need)} of memory; "
                             f"this machine has {_gib(available)} available: choose a smaller width or batch size")


def _gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB" if n < 2**50 else f"{n / 2**30:.3g} GiB"
