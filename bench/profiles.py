"""The profiles: which configs a run measures, on which backends, and how long each case is timed.

``quick`` and ``ci`` are CI's (the regression check), ``default`` the reference of a 2-core machine
within 25 minutes, ``full`` everything, ``gpu`` the GPU machine's whole ladder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from implementations import BACKENDS, CUDA_BACKENDS, is_cuda_backend
from implementations.registry import COMPILED_LOOPS, ORACLE, role_of, spans_processes, verifier

from .configs import LOOPS, WIDTH_SWEEP
from .errors import UsageError

# The built-in backends the profiles single out, by what they are (``Backend.role``), never by name.
COMPILED = tuple(b for b in BACKENDS if role_of(b) == COMPILED_LOOPS)
# the CPU rungs above the loop baseline (compiled loops, vectorized, the framework on the CPU)
CPU_ABOVE_LOOPS = tuple(b for b in BACKENDS if not is_cuda_backend(b) and b not in LOOPS)

# the rungs whose step spans processes (data parallelism), and the single-process step they split
DATA_PARALLEL = tuple(b for b in BACKENDS if spans_processes(b))
SINGLE_PROCESS_TWIN = verifier(ORACLE)  # torch-cpu: the same torch step, in one process
# Where the data-parallel rung is measured: the question it answers on a 2-core machine (one
# process on 2 threads, or 2 processes on 1 each) at two MLPs and ResNet-50 at both sizes. ResNet
# at batch 8: its usual batches of 4 (32 px) and 1 (224 px) split into shards whose batch norms
# are degenerate or empty.
DATA_PARALLEL_CONFIGS = ("mlp-mnist", "mlp-wide", "resnet50-32@8", "resnet50-224@8")
# Weak scaling: the same per-process batch as the first three at one process, over two processes
# (data parallel only: set against the single-process step at the smaller batch). Not ResNet at
# 224 px: its batch of 16 would cost the study minutes more than it has.
WEAK_SCALING_CONFIGS = ("mlp-mnist@64", "mlp-wide@256", "resnet50-32@16")
NOWHERE = tuple((b, ()) for b in DATA_PARALLEL)
CPU_DATA_PARALLEL = tuple(b for b in DATA_PARALLEL if not is_cuda_backend(b))

PROFILES = ("quick", "ci", "default", "full", "gpu", "data-parallel")
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
    # configs this profile runs without the loop baseline (every backend of that role: a step of
    # seconds, repeated, costs minutes)
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
                     only_on=(*((b, ("mlp-width-256", "resnet50-32")) for b in COMPILED), *NOWHERE)),
    # CI's regression check (bench check --against): the quick profile's cases, each run half as long.
    # The check's verdicts rest on the spread between runs, which cancels the day's drift only when
    # both sides alternate often, so more, shorter runs (pairs) buy more than longer ones.
    "ci": Profile("ci", ("mlp-tiny", "mlp-mnist", "mlp-width-64", "mlp-width-256", "resnet50-32"),
                  TimingBudget(repeats=3, block_time=0.05, min_time=0.002, min_rounds=3, slow_budget=2.0,
                               warmup_time=0.01), (512,), without_loops=("resnet50-32",),
                  one_thread=tuple((c, b) for c in ("mlp-width-256", "resnet50-32") for b in COMPILED),
                  only_on=(*((b, ("mlp-width-256", "resnet50-32")) for b in COMPILED), *NOWHERE)),
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
                       one_thread=tuple((f"mlp-width-{n}", b) for n in DEFAULT_SWEEP for b in COMPILED),
                       only_on=(*((b, ("mlp-mnist", "mlp-wide")) for b in CPU_DATA_PARALLEL),
                                *((b, ()) for b in DATA_PARALLEL if b not in CPU_DATA_PARALLEL))),
    "full": Profile("full", ("mlp-tiny", "mlp-mnist", "mlp-wide", *(f"mlp-width-{n}" for n in WIDTH_SWEEP),
                             "resnet50-32", "resnet50-224", "resnet50-224@8", "resnet50-224@32"),
                    TimingBudget(repeats=8, block_time=0.5, min_time=0.02, min_rounds=5, slow_budget=120.0,
                                 warmup_time=0.1), (2048, 4096),
                    only_on=(*((b, ("mlp-mnist", "mlp-wide", "resnet50-224@8")) for b in CPU_DATA_PARALLEL),
                             *((b, ()) for b in DATA_PARALLEL if b not in CPU_DATA_PARALLEL))),
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
                            *((backend, GPU_MACHINE_GPU_CONFIGS) for backend in CUDA_BACKENDS),
                            # DDP's own cost over torch-cuda (one process): two MLPs and a training batch
                            *((b, ("mlp-mnist", "mlp-wide", "resnet50-224@32")) for b in DATA_PARALLEL
                              if b not in CPU_DATA_PARALLEL),
                            *((b, ()) for b in CPU_DATA_PARALLEL))),
    # The data-parallel study (docs/data-parallel.md): the one-process step and the same step
    # split across processes, interleaved at each config (run with --world-size 1 2).
    "data-parallel": Profile("data-parallel", (*DATA_PARALLEL_CONFIGS, *WEAK_SCALING_CONFIGS),
                             TimingBudget(repeats=5, block_time=0.25, min_time=0.01, min_rounds=3, slow_budget=10.0,
                                          warmup_time=0.05), (), backends=(SINGLE_PROCESS_TWIN, *CPU_DATA_PARALLEL),
                             only_on=((SINGLE_PROCESS_TWIN, DATA_PARALLEL_CONFIGS),)),
}


def get_profile(name: str) -> Profile:
    if name not in _PROFILES:
        raise UsageError(f"unknown profile {name!r}; accepted: {', '.join(PROFILES)}")
    return _PROFILES[name]
