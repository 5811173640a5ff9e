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
    code (empty: a family of its own).
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
