"""One colour and one place in every ordering per backend, for every figure and table."""

from __future__ import annotations

import zlib

KNOWN_BACKENDS = ("loops", "numba", "numpy", "torch-cpu", "torch-cuda")
# The GPU rungs above torch-cuda, in ladder order (the ladder adds them as later rungs when measured).
GPU_RUNGS = ("torch-cuda-amp", "torch-cuda-compile", "torch-cuda-graphs")
COLOURS = {
    "loops": "#7f7f7f",
    "numba": "#9467bd",
    "numpy": "#1f77b4",
    "torch-cpu": "#ff7f0e",
    "torch-cuda": "#2ca02c",
    "torch-cuda-amp": "#006d2c",
    "torch-cuda-compile": "#74c476",
    "torch-cuda-graphs": "#00441b",
}
# Backends added later take a colour from here chosen by
# a hash of their name, so one backend keeps its colour across figures and reports.
EXTRA = ("#d62728", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#393b79", "#637939")


def colour(backend: str) -> str:
    if backend in COLOURS:
        return COLOURS[backend]
    return EXTRA[zlib.crc32(backend.encode()) % len(EXTRA)]


def backend_order(backend: str) -> tuple[int, str]:
    """Sort key: known backends in ladder order, then unknown ones alphabetically."""
    if backend in KNOWN_BACKENDS:
        return (KNOWN_BACKENDS.index(backend), "")
    if backend in GPU_RUNGS:
        return (len(KNOWN_BACKENDS) + GPU_RUNGS.index(backend), "")
    return (len(KNOWN_BACKENDS) + len(GPU_RUNGS), backend)
