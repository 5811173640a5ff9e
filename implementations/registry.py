"""Backends as plug-ins: what the harness needs to know about a backend, and where backends come from.

A backend is one folder plus one registration: a :class:`Backend` record. The built-in ones are
registered by ``implementations/__init__.py``; other packages add theirs through the
``vecbench.backends`` entry-point group, whose entries name a ``Backend`` (or a function returning
one). The runner and the CLI consult only these records, never a backend's internals.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Callable

ENTRY_POINT_GROUP = "vecbench.backends"

# What a backend is to the ladder and the claims (``Backend.role``):
LOOP_BASELINE = "loop baseline"  # explicit loops in the interpreter: what every speedup is over
COMPILED_LOOPS = "compiled loops"  # the same explicit loops, compiled: the other loop baseline
VECTORIZED = "vectorized"  # hand-written matrix code (the articles' "matrix-based implementation")
FRAMEWORK = "framework"  # a library's own layers and autograd (torch)
ROLES = (LOOP_BASELINE, COMPILED_LOOPS, VECTORIZED, FRAMEWORK)
# What a backend is to verification (``Backend.verifies``): the float64 oracle every case is
# compared with, and the independent float64 implementation that confirms the oracle (and floors
# the bounds of the oracle's own family).
ORACLE, CONFIRMATION = "oracle", "confirmation"
LOOP_ROLES = (LOOP_BASELINE, COMPILED_LOOPS)


@dataclass(frozen=True)
class LadderRung:
    """A rung a backend stands on in the report's ladder.

    ``threads``: ``one``, ``all`` (the most threads measured on the machine, in one process),
    ``any`` (the most measured for the backend) or ``processes`` (a process of one thread per core:
    a step that spans processes). ``change``: what this rung changes from the one below. A ``side``
    rung hangs off the ladder: it is set against the nearest measured rung below it, and the rungs
    above are set against theirs as if it were not there. ``when_measured``: the rung appears only
    on machines that measured it (the GPU rungs above the first), else as "not measured".
    """

    dtype: str
    threads: str
    change: str
    side: bool = False
    when_measured: bool = False


@dataclass(frozen=True)
class PeakKernels:
    """What a backend offers to measure the machine's own peak with (``Backend.peak``): the harness
    times these beside the suite's cases, as the report's efficiency's denominators.

    ``target(kind, dtype, n, tf32, device)`` returns a zero-argument callable doing one n x n x n
    matrix product (``kind="gemm"``: 2 n^3 FLOPs, in ``dtype``, TF32 products allowed exactly when
    ``tf32``) or one copy of n elements (``kind="copy"``), on random operands that are never zero,
    synchronized with the device before it returns, so that a timer around it sees the work.
    ``device`` is where it runs (the backend's own, or ``"cpu"`` for a test of a GPU kernel).
    ``dtypes``: the products measured; ``tf32``: float32 products with TF32 allowed as well;
    ``copy_dtype``: a copy in that dtype as well (memory bandwidth; empty: none).
    """

    target: Callable[..., Callable[[], object]]
    dtypes: tuple[str, ...]
    tf32: bool = False
    copy_dtype: str = ""


def _always_available() -> str | None:
    return None


def _no_flags(dtype: str) -> dict:
    return {}


@dataclass(frozen=True)
class Backend:
    """What the harness knows of a backend.

    ``build(model, spec, params, dtype, sgd, device)`` returns a trainer (``implementations.trainer``'s
    interface: ``prepare_batch``, ``step``, ``loss_and_grads``, ``last_loss_and_grads``,
    ``state_dict``, ``momentum_buffers``); ``device`` is None for the backend's own. ``unavailable()``
    is None where the backend can run here, else one line saying why not (its cases are then
    recorded as skipped with that reason). ``amp_dtype``: the autocast dtype a mixed-precision
    backend computes in (None: the case's dtype). ``run_flags(dtype)``: the TF32/cuDNN flags a case
    runs under on a GPU, recorded per row (``tf32_matmul``, ``tf32_cudnn``, ``cudnn_benchmark``;
    those it leaves out are recorded null). ``single_threaded``: the step runs on one thread by
    construction (loops), so the backend is timed at 1 thread only. ``family``: the code a backend
    shares with others (``torch``: the torch rungs; ``handwritten``: loops, numba and numpy, one
    trainer and one loss); where a float32 bound is floored by an implementation's own rounding
    error, that implementation is of another family, so that no backend's bound comes from its own
    code (empty: a family of its own). ``launch``: set for a backend whose step spans processes
    (data parallelism): ``launch(job, placement)`` returns the unstarted group of ranks
    (``implementations.data_parallel.group.WorkerGroup``) that runs a case of the job
    (``data_parallel.job.Job``) where the placement says; its ``build`` then runs inside a rank.
    """

    name: str
    device: str  # "cpu" or "cuda"
    dtypes: tuple[str, ...]
    build: Callable[..., Any]
    unavailable: Callable[[], str | None] = _always_available
    amp_dtype: str | None = None
    run_flags: Callable[[str], dict] = _no_flags
    single_threaded: bool = False
    family: str = ""
    role: str = FRAMEWORK
    order: int = 1000
    colour: str = ""
    rungs: tuple[LadderRung, ...] = ()
    verifies: str = ""  # ORACLE: its float64 step is every case's reference; CONFIRMATION: it confirms the oracle
    peak: PeakKernels | None = None  # the machine's peak as this backend measures it (None: it measures none)
    launch: Callable[..., Any] | None = None  # a step across processes: starts its ranks (see above)

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"backend {self.name}: role {self.role!r} is not one of {', '.join(ROLES)}")
        if self.verifies not in ("", ORACLE, CONFIRMATION):
            raise ValueError(f"backend {self.name}: verifies {self.verifies!r} is not {ORACLE} or {CONFIRMATION}")
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"backend {self.name}: device {self.device!r} is not cpu or cuda")

    @property
    def code_family(self) -> str:
        return self.family or self.name


_REGISTRY: dict[str, Backend] = {}
_plugins_loaded = False


def register(backend: Backend) -> Backend:
    """Add ``backend``; a second backend with a registered name is refused (ValueError)."""
    if backend.name in _REGISTRY and _REGISTRY[backend.name] is not backend:
        raise ValueError(f"a backend named {backend.name!r} is already registered")
    _REGISTRY[backend.name] = backend
    return backend


def _load_plugins() -> None:
    """Register every ``vecbench.backends`` entry point once. A plug-in that cannot be loaded is left
    out with one line on stderr saying which and why: it must not stop the built-in backends."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            found = entry.load()
            backend = found() if callable(found) and not isinstance(found, Backend) else found
            if not isinstance(backend, Backend):
                raise TypeError(f"{entry.value} is not an implementations.registry.Backend")
            if backend.name != entry.name:
                raise ValueError(f"entry point {entry.name!r} names a backend called {backend.name!r}")
            register(backend)
        except Exception as exc:  # noqa: BLE001  (a third party's bug: say so, keep going)
            print(f"warning: backend plug-in {entry.name!r} left out: {type(exc).__name__}: {exc}", file=sys.stderr)


def backend_names() -> tuple[str, ...]:
    """Every registered backend's name: the built-in ones in ladder order, then plug-ins."""
    _load_plugins()
    return tuple(_REGISTRY)


def get_backend(name: str) -> Backend:
    """The backend called ``name``; ValueError naming the accepted ones otherwise."""
    _load_plugins()
    if name not in _REGISTRY:
        raise ValueError(f"unknown backend {name!r}; accepted: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def described(name: str) -> Backend | None:
    """The registered backend called ``name``, or None: results files may name a backend this
    installation lacks (a plug-in installed elsewhere); readers then fall back on the defaults."""
    _load_plugins()
    return _REGISTRY.get(name)


def role_of(name: str) -> str:
    """The role of ``name`` (FRAMEWORK for a backend not registered here)."""
    found = described(name)
    return found.role if found else FRAMEWORK


def with_role(role: str) -> tuple[str, ...]:
    """The registered backends of ``role``, in order."""
    _load_plugins()
    return tuple(sorted((b.name for b in _REGISTRY.values() if b.role == role), key=order_key))


def on_gpu(name: str) -> bool:
    """Whether ``name`` runs on a CUDA GPU (False for a backend not registered here)."""
    found = described(name)
    return found is not None and found.device == "cuda"


def spans_processes(name: str) -> bool:
    """Whether ``name``'s step runs across processes (``Backend.launch``; False if not registered here)."""
    found = described(name)
    return found is not None and found.launch is not None


def peak_sources(device: str) -> tuple[str, ...]:
    """The registered backends on ``device`` (``cpu`` or ``cuda``) that offer the machine's peak
    (``Backend.peak``), in order."""
    _load_plugins()
    return tuple(sorted((b.name for b in _REGISTRY.values() if b.peak is not None and b.device == device),
                        key=order_key))


def order_key(name: str) -> tuple[int, str]:
    """Sort key of every ordering of backends: registered ones by their ``order``, then the rest by name."""
    found = described(name)
    return (found.order, name) if found else (10**6, name)


def verifier(kind: str) -> str:
    """The backend that is verification's ``kind`` (ORACLE or CONFIRMATION): the first registered."""
    _load_plugins()
    found = next((b.name for b in _REGISTRY.values() if b.verifies == kind), None)
    if found is None:
        raise LookupError(f"no registered backend verifies as {kind}")
    return found
