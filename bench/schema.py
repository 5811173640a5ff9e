"""The results file's schema: one row per timed round, typed as :class:`Round`. A public interface.

``Round``'s fields are the columns: their names, pandas dtypes, meanings and the version that added
each are read from it (``COLUMNS``, the schema table in docs/schema.md, the writer's validation), so
the schema has one owner, and a misspelled or unknown field is an error wherever a row is made.

Bump ``SCHEMA_VERSION`` and update docs/schema.md whenever a column is added, removed or changes
meaning. Readers accept any file whose version is at most theirs and which has every column its
version requires; columns added by a later version are filled with nulls.

Version 2 added the GPU rungs' columns (``ADDED_IN_V2``): TF32 and cuDNN settings, the precision
verification used, warm-up steps, compile time, and bytes moved by the copy peak.

Version 3 added repeated, interleaved measurement (``ADDED_IN_V3``): the repeat a round belongs
to, the process's CPU time beside the wall time, what the rest of the machine did during the
round's block, and whether the round was contended. ``warmup_steps`` now counts the untimed calls
before every block, on every backend.

Adding the numba backend changed no column: ``backend`` takes one more name, and
``compile_seconds``, until then torch.compile's only, also records numba's compile time.

Version 4 added ``part`` (``ADDED_IN_V4``): what of the step a row times. ``step`` (the whole
training step) is what every row of older files timed; a ResNet case also gets one row per part of
one instrumented step (``stem forward`` .. ``stem backward``, ``update``; timing_mode
``instrumented``), the per-stage breakdown. Only ``step`` rows are rounds of a measurement.

Version 5 added ``capture_seconds`` (``ADDED_IN_V5``): what making the ``torch-cuda-graphs`` rung's
CUDA graph cost, kept out of ``seconds`` as ``compile_seconds`` is; ``backend`` takes that rung's
name. Rows of older files read it as NaN.

Version 6 added ``planted`` (``ADDED_IN_V6``): the name of a fault planted on purpose in the code
that ran (``studies/check_power.py`` plants one in a temporary copy, to show that CI's check catches
it), so that the slowed rounds of a power study can never be read as vecbench's speed. Empty in
every real run, and in rows of older files. It also added ``parameter_shapes``, the shape of every
trainable parameter as the backend held it (what the articles' shape claims are decided by), and
``blind_spots``: the tensors whose verification bound reached 1% (a 1% fault in them would have
passed), so that the report can say so.

Version 7 added ``sweep_width`` (``ADDED_IN_V7``): N of a width-sweep config (``mlp-width-N``), so
that readers take a case's place in the Scaling section from a recorded column instead of parsing
its config's name. Files before version 7 are given it when read (``results.read_file``), the one
place a config's name is read for it.

Version 8 added data parallelism (``ADDED_IN_V8``): ``world_size``, the processes one step ran
across (1 for every other backend, and in rows of older files: ``threads`` is then per process),
``nodes``, the machines they ran on, ``rank_seconds``, every rank's own seconds per step in the
round (``seconds`` is the slowest rank's), and ``communicated_bytes``, what one rank all-reduces
per step. The ``part`` of a data-parallel case's breakdown is ``step without all-reduce`` or
``all-reduce (exposed)``.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any

SCHEMA_VERSION = 8
WHOLE_STEP = "step"  # the ``part`` of a round that times the whole training step
STATUSES = ("ok", "failed", "skipped")


def _column(dtype: str, meaning: str, since: int = 1, default: Any = MISSING):
    return field(default=default, metadata={"dtype": dtype, "meaning": meaning, "since": since})


@dataclass(frozen=True, kw_only=True)
class Round:
    """One row of a results file: a timed round of a case, or a failed or skipped case (no round).

    Fields without a default must be given (what the case is, and the machine's description);
    ``with_(**fields)`` returns a copy with fields changed (TypeError for a name not in the schema).
    """

    schema_version: int = _column('int64',
        "version of this schema", default=SCHEMA_VERSION)
    run_id: str = _column('string',
        "one id per `bench run` invocation")
    timestamp: Any = _column('datetime64[us, UTC]',
        "when the case started (UTC)")
    profile: str = _column('string',
        "quick, default, full, or custom")
    model: str = _column('string',
        "mlp, resnet50, or the harness's own: peak (machine peak GEMM or copy), noop (harness "
        "overhead)")
    config: str = _column('string',
        "named configuration, e.g. mlp-mnist, resnet50-224, gemm-float32-2048, gemm-tf32-8192, "
        "copy-1024MiB")
    backend: str = _column('string',
        "loops, numba, numpy, torch-cpu, torch-cuda, torch-cuda-amp, torch-cuda-compile, "
        "torch-cuda-graphs, or a plug-in's name (noop: none)")
    dtype: str = _column('string',
        "float32 or float64 (the master weights' dtype); peaks also bfloat16")
    threads: int = _column('int64',
        "threads the case ran with (BLAS via threadpoolctl, torch.set_num_threads, "
        "numba.set_num_threads); per process where world_size > 1")
    batch_size: int = _column('int64',
        "samples per training step")
    resolution: int | None = _column('Int64',
        "image side in pixels for image models, null otherwise", default=None)
    round: int | None = _column('Int64',
        "index of the timed round within its case and run, 0-based; null for failed or skipped cases", default=None)
    iterations: int | None = _column('Int64',
        "calls per round; `seconds` is the round's time divided by this", default=None)
    seconds: float = _column('float64',
        "seconds per training step in this round (NaN unless status is ok)", default=math.nan)
    flops: int = _column('int64',
        "analytic FLOPs of one training step, one per multiply and one per add")
    macs: int = _column('int64',
        "multiply-adds in the step's matrix products and convolutions", default=0)
    timing_mode: str = _column('string',
        "calibrated (iterations per round picked so a round lasts min_time), pedantic (one call per "
        "round, for steps over 0.25 s) or instrumented (a part of one step, timed between the marks "
        "its backend reported)", default="")
    verification: str = _column('string',
        "before (checked before timing), timed-round (checked from the timed round), none", default="none")
    verified_max_rel_error: float = _column('float64',
        "largest ||x - ref|| / ||ref|| vs torch float64 over the loss, every gradient, running statistic, "
        "update and momentum buffer (docs/method.md)", default=math.nan)
    tolerance: float = _column('float64',
        "the bound verified_max_rel_error had to meet", default=math.nan)
    loss: float = _column('float64',
        "loss of the first step that was verified", default=math.nan)
    status: str = _column('string',
        "ok, failed (verification or run error: never timed) or skipped (e.g. no GPU)", default="ok")
    error: str = _column('string',
        "why a case failed or was skipped; empty when ok", default="")
    hostname: str = _column('string',
        "machine name")
    cpu: str = _column('string',
        "CPU brand string")
    cores: int = _column('int64',
        "logical CPU cores")
    gpu: str = _column('string',
        "GPU name, empty when none")
    python: str = _column('string',
        "Python version")
    numpy: str = _column('string',
        "NumPy version")
    torch: str = _column('string',
        "PyTorch version")
    blas: str = _column('string',
        "BLAS libraries NumPy and torch load (threadpoolctl)")
    platform: str = _column('string',
        "operating system and architecture")
    git_commit: str = _column('string',
        "commit of vecbench that ran, with -dirty if modified")
    # -- added in schema_version 2 (null in rows of older files, unless read_file fills it) --
    precision: str = _column('string',
        "what verification's tolerance was chosen for: float64, float32, tf32 (float32 with TF32 "
        "products on the GPU) or bfloat16 (autocast); empty where not verified", since=2, default="")
    tf32_matmul: bool | None = _column('boolean',
        "float32 matmuls may use TF32 (torch.backends.cuda.matmul.allow_tf32 or float32 matmul "
        "precision not highest); null off the GPU", since=2, default=None)
    tf32_cudnn: bool | None = _column('boolean',
        "cuDNN convolutions may use TF32 (torch.backends.cudnn.allow_tf32); null off the GPU", since=2, default=None)
    cudnn_benchmark: bool | None = _column('boolean',
        "cuDNN autotuned its algorithms (torch.backends.cudnn.benchmark); null off the GPU", since=2, default=None)
    warmup_steps: int | None = _column('Int64',
        "untimed calls just before this round's block (its warm-up); GPU rungs: plus 5 steps after "
        "verification (version 2: GPU rungs only, 0 otherwise)", since=2, default=0)
    compile_seconds: float = _column('float64',
        "seconds of compiling, kept out of `seconds`: the first call through torch.compile (compiling"
        " plus one step), or numba's kernels for the case's dtype when its trainer was built "
        "(compiling them, or loading them from numba's disk cache; near 0 once an earlier case of the"
        " run has); NaN unless compiled", since=2, default=math.nan)
    bytes: int | None = _column('Int64',
        "bytes read plus bytes written per call (the copy peak); 0 otherwise", since=2, default=0)
    # -- added in schema_version 3 (null in rows of older files, unless read_file fills it) --
    repeat: int | None = _column('Int64',
        "the block this round belongs to, 0-based: a case is timed in several blocks (repeats), "
        "interleaved with its config's other cases; null for failed or skipped cases", since=3, default=None)
    cpu_seconds: float = _column('float64',
        "CPU time of the process per call in this round, every thread; of every rank's process together "
        "where world_size > 1 (NaN unless ok)", since=3, default=math.nan)
    run_wait: float = _column('float64',
        "seconds the process's threads waited for a CPU while ready to run, per second of this "
        "round's block (scheduler run_delay; NaN: unknown)", since=3, default=math.nan)
    steal: float = _column('float64',
        "fraction of the machine's CPU time taken by the hypervisor during this round's block (NaN: "
        "unknown)", since=3, default=math.nan)
    contended: bool | None = _column('boolean',
        "the round did not have the machine to itself (bench/contention.py's rule); readers leave it "
        "out of every statistic", since=3, default=None)
    # -- added in schema_version 4 (null in rows of older files, unless read_file fills it) --
    part: str = _column('string',
        "what `seconds` times: step (the whole training step: every round of a measurement), or a "
        "part of one instrumented ResNet step: '<stage> forward', '<stage> backward' (stages stem, "
        "layer1..layer4, head) or update; of a data-parallel step (median of paired steps): 'step "
        "without all-reduce' or 'all-reduce (exposed)', the rest of a whole step", since=4, default=WHOLE_STEP)
    # -- added in schema_version 5 (null in rows of older files, unless read_file fills it) --
    capture_seconds: float = _column('float64',
        "seconds of making a CUDA graph of the whole step, kept out of `seconds`: the warm-up steps "
        "before capture (less the first compiled call, `compile_seconds`), saving and restoring the "
        "weights and momentum they changed, and the capture (torch-cuda-graphs; off the GPU the "
        "warm-up and restore alone); NaN otherwise", since=5, default=math.nan)
    # -- added in schema_version 6 (null in rows of older files, unless read_file fills it) --
    planted: str | None = _column('string',
        "the fault planted on purpose in the code that ran (a power study's slowed copy: the tree's "
        "PLANTED file, written by studies/check_power.py; or a slowdown a test injected into the "
        "runner, 'slowdown BACKEND:FACTOR'); these rows measure deliberately broken code. Empty in "
        "every real run", since=6, default=None)
    parameter_shapes: str | None = _column('string',
        "every trainable parameter as the backend held it after verification: 'name RxC' joined by ';"
        " ' (e.g. 'fc1.weight 3x4; fc1.bias 3'); empty where not verified", since=6, default=None)
    blind_spots: str | None = _column('string',
        "tensors whose verification bound reached 1% or more (a float32 floor, or a low precision's "
        "tolerance), so that a 1% fault in them would pass (bench/verify.py, Verifier.blind_spots), "
        "comma-separated; empty where none or not verified", since=6, default=None)

    # -- added in schema_version 7 (older files: filled from the config's name by read_file) --
    sweep_width: int | None = _column('Int64',
        "N of a width-sweep config (mlp-width-N: input = hidden = N, 10 classes), the x of the report's "
        "Scaling section; null for any other config", since=7, default=None)

    # -- added in schema_version 8 (older files: world_size and nodes 1, the rest null) --
    world_size: int | None = _column('Int64',
        "processes one training step ran across (data parallelism: each holds batch_size / world_size "
        "samples, gradients all-reduced); 1 for every other backend", since=8, default=1)
    nodes: int | None = _column('Int64',
        "machines those processes ran on (torchrun's nnodes)", since=8, default=1)
    rank_seconds: str | None = _column('string',
        "every rank's own seconds per step in this round, by rank, space-separated; `seconds` is the "
        "slowest rank's (each round starts on every rank together, at a barrier); empty where "
        "world_size is 1", since=8, default=None)
    communicated_bytes: int | None = _column('Int64',
        "bytes one rank all-reduces or receives by broadcast per step (gradients of every trainable "
        "parameter, and the buffers rank 0 broadcasts); 0 where world_size is 1", since=8, default=0)

    def with_(self, **changes) -> Round:
        return replace(self, **changes)

    def as_row(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# column -> (pandas dtype, meaning), in schema order
COLUMNS: dict[str, tuple[str, str]] = {f.name: (f.metadata["dtype"], f.metadata["meaning"]) for f in fields(Round)}
_ADDED = {version: tuple(f.name for f in fields(Round) if f.metadata["since"] == version)
          for version in range(2, SCHEMA_VERSION + 1)}
ADDED_IN_V2, ADDED_IN_V3, ADDED_IN_V4, ADDED_IN_V5, ADDED_IN_V6, ADDED_IN_V7, ADDED_IN_V8 = (
    _ADDED[v] for v in range(2, 9))
# the columns a file of each version must have: all but those a later version added
REQUIRED_BY_VERSION = {
    version: tuple(c for c in COLUMNS if not any(c in _ADDED[later] for later in _ADDED if later > version))
    for version in range(1, SCHEMA_VERSION + 1)
}
REQUIRED = REQUIRED_BY_VERSION[SCHEMA_VERSION]
