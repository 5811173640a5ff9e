"""The CPU's peak as the numpy backend measures it: one BLAS matrix product (``registry.PeakKernels``)."""

from __future__ import annotations

import numpy as np


def peak_target(kind: str, dtype: str, n: int, tf32: bool = False, device: str = "cpu"):
    """A zero-argument callable doing one n x n x n product in ``dtype`` through ``np.matmul`` (BLAS)
    on standard-normal operands (seed 0), into a preallocated output."""
    if kind != "gemm" or tf32 or device != "cpu":
        raise ValueError(f"the numpy backend measures products on the CPU only, not {kind} (tf32={tf32}) on {device}")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    out = np.empty_like(a)
    return lambda: np.matmul(a, b, out=out)
