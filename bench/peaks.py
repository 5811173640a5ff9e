"""The machine's own peak, measured in the same run: large matrix products through the libraries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PeakCase:
    """An n x n x n matrix product: 2 n^3 FLOPs (n^3 multiplies and n^3 adds)."""

    library: str  # "numpy" or "torch-cuda"
    dtype: str
    n: int
    threads: int

    @property
    def config(self) -> str:
        return f"gemm-{self.dtype}-{self.n}"

    @property
    def flops(self) -> int:
        return 2 * self.n**3

    @property
    def label(self) -> str:
        return f"peak {self.library} {self.config} {self.threads}t"


def make_target(case: PeakCase):
    """A zero-argument callable doing one product on random (never zero) operands."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((case.n, case.n)).astype(case.dtype)
    b = rng.standard_normal((case.n, case.n)).astype(case.dtype)
    if case.library == "numpy":
        out = np.empty_like(a)
        return lambda: np.matmul(a, b, out=out)
    import torch  # noqa: PLC0415

    ta, tb = torch.from_numpy(a).cuda(), torch.from_numpy(b).cuda()

    def product():
        torch.matmul(ta, tb)
        torch.cuda.synchronize()

    return product
