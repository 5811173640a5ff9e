"""The machine's own peak, measured in the same run: large matrix products through the libraries,
and on a GPU also a device-to-device copy (memory bandwidth)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GPU_GEMM_N = 8192  # 2 * 8192^3 = 1.1 TFLOP a product: milliseconds even in bfloat16 on an H100
GPU_COPY_BYTES = 1 << 30  # 1 GiB copied: far beyond any cache, ~0.7 ms at 3 TB/s


@dataclass(frozen=True)
class PeakCase:
    """An n x n x n matrix product (2 n^3 FLOPs: n^3 multiplies and n^3 adds), or a copy of n
    elements (``kind="copy"``: n * itemsize bytes read and as many written)."""

    library: str  # "numpy" or "torch-cuda"
    dtype: str  # float32, float64 or bfloat16
    n: int
    threads: int
    tf32: bool = False  # torch-cuda float32 products with TF32 allowed
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
        if self.kind != "copy":
            return 0
        itemsize = 2 if self.dtype == "bfloat16" else np.dtype(self.dtype).itemsize
        return 2 * self.n * itemsize

    @property
    def label(self) -> str:
        return f"peak {self.library} {self.config} {self.threads}t"


def gpu_peak_cases(threads: int, n: int = GPU_GEMM_N, copy_bytes: int = GPU_COPY_BYTES) -> list[PeakCase]:
    """float32 products with TF32 off and with it on, bfloat16 products, and a float32 copy."""
    return [
        PeakCase("torch-cuda", "float32", n, threads),
        PeakCase("torch-cuda", "float32", n, threads, tf32=True),
        PeakCase("torch-cuda", "bfloat16", n, threads),
        PeakCase("torch-cuda", "float32", copy_bytes // 4, threads, kind="copy"),
    ]


def make_target(case: PeakCase, device: str = "cuda"):
    """A zero-argument callable doing one product (or copy) on random (never zero) operands.

    ``device`` places a torch-cuda case (``"cpu"`` in tests); the callable synchronizes before
    returning, so that a timer around it sees the work.
    """
    if case.library == "numpy":
        rng = np.random.default_rng(0)
        a = rng.standard_normal((case.n, case.n)).astype(case.dtype)
        b = rng.standard_normal((case.n, case.n)).astype(case.dtype)
        out = np.empty_like(a)
        return lambda: np.matmul(a, b, out=out)
    import torch  # noqa: PLC0415

    dtype = getattr(torch, case.dtype)
    generator = torch.Generator(device=device).manual_seed(0)
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    if case.kind == "copy":
        src = torch.randn(case.n, device=device, dtype=dtype, generator=generator)
        dst = torch.empty_like(src)

        def copy():
            dst.copy_(src)
            sync()

        sync()
        return copy
    a = torch.randn(case.n, case.n, device=device, dtype=dtype, generator=generator)
    b = torch.randn(case.n, case.n, device=device, dtype=dtype, generator=generator)
    out = torch.empty_like(a)
    matmul = torch.backends.cuda.matmul

    def product():
        before = matmul.allow_tf32
        matmul.allow_tf32 = case.tf32  # TF32 exactly as the case says, whatever the process set
        try:
            torch.matmul(a, b, out=out)
        finally:
            matmul.allow_tf32 = before
        sync()

    sync()
    return product
