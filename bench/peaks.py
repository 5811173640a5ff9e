"""The machine's own peak, measured in the same run: large matrix products, and on a GPU also a
device-to-device copy (memory bandwidth), through whichever backends offer them in their
description (``implementations.registry.PeakKernels``): none is named here."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from implementations.registry import get_backend, peak_sources

GPU_GEMM_N = 8192  # 2 * 8192^3 = 1.1 TFLOP a product: milliseconds even in bfloat16 on an H100
GPU_COPY_BYTES = 1 << 30  # 1 GiB copied: far beyond any cache, ~0.7 ms at 3 TB/s


def _itemsize(dtype: str) -> int:
    """Bytes per element (NumPy has no bfloat16)."""
    return 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize


@dataclass(frozen=True)
class PeakCase:
    """An n x n x n matrix product (2 n^3 FLOPs: n^3 multiplies and n^3 adds), or a copy of n
    elements (``kind="copy"``: n * itemsize bytes read and as many written), timed by ``backend``
    (recorded as the row's backend)."""

    backend: str  # a backend whose description offers a peak (``Backend.peak``)
    dtype: str  # float32, float64 or bfloat16
    n: int
    threads: int
    tf32: bool = False  # float32 products with TF32 allowed
    kind: str = "gemm"  # "gemm" or "copy"

    @property
    def config(self) -> str:
        if self.kind == "copy":
            size = self.bytes // 2  # one way
            return f"copy-{size >> 20}MiB" if size % (1 << 20) == 0 else f"copy-{size}B"
        return f"gemm-{'tf32' if self.tf32 else self.dtype}-{self.n}"

    @property
    def flops(self) -> int:
        return 0 if self.kind == "copy" else 2 * self.n**3

    @property
    def macs(self) -> int:
        return 0 if self.kind == "copy" else self.n**3

    @property
    def bytes(self) -> int:
        """Bytes read plus bytes written per call (a copy); 0 for a product."""
        return 2 * self.n * _itemsize(self.dtype) if self.kind == "copy" else 0

    @property
    def label(self) -> str:
        return f"peak {self.backend} {self.config} {self.threads}t"


def host_peak_cases(sizes: tuple[int, ...], cores: int) -> list[PeakCase]:
    """The CPU's peaks: for each size n in ``sizes``, every product a CPU backend offers
    (``peak_sources("cpu")``), at one thread and at ``cores``."""
    return [PeakCase(backend, dtype, n, threads)
            for n in sizes for backend in peak_sources("cpu")
            for dtype in get_backend(backend).peak.dtypes for threads in sorted({1, cores})]


def gpu_peak_cases(threads: int, n: int = GPU_GEMM_N, copy_bytes: int = GPU_COPY_BYTES) -> list[PeakCase]:
    """The GPU's peaks, from every CUDA backend that offers them (``peak_sources("cuda")``): its
    products of n x n (float32 with TF32 off, then on, where it offers TF32), then its copy of
    ``copy_bytes``. ``threads``: the host's, recorded (they barely matter)."""
    cases = []
    for backend in peak_sources("cuda"):
        kernels = get_backend(backend).peak
        for dtype in kernels.dtypes:
            cases.append(PeakCase(backend, dtype, n, threads))
            if dtype == "float32" and kernels.tf32:
                cases.append(PeakCase(backend, dtype, n, threads, tf32=True))
        if kernels.copy_dtype:
            cases.append(PeakCase(backend, kernels.copy_dtype, copy_bytes // _itemsize(kernels.copy_dtype), threads,
                                  kind="copy"))
    return cases


def runs_on(case: PeakCase, device: str | None = None) -> str:
    """Where ``case`` runs: ``device``, or its backend's own device (``cpu`` or ``cuda``)."""
    return device or get_backend(case.backend).device


def make_target(case: PeakCase, device: str | None = None):
    """A zero-argument callable doing one product (or copy) on random (never zero) operands, built
    by the case's backend (``PeakKernels.target``). ``device``: None for the backend's own, ``"cpu"``
    to run a GPU backend's kernel on the CPU in tests; the callable synchronizes before returning,
    so that a timer around it sees the work."""
    return get_backend(case.backend).peak.target(case.kind, case.dtype, case.n, case.tf32, runs_on(case, device))
