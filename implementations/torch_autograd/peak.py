"""The GPU's peak as the torch backends measure it (``registry.PeakKernels``): one matrix product
with TF32 exactly as asked, or one device-to-device copy (memory bandwidth). torch is imported
only when a peak is built."""

from __future__ import annotations


def peak_target(kind: str, dtype: str, n: int, tf32: bool = False, device: str = "cuda"):
    """A zero-argument callable doing one n x n x n product (``kind="gemm"``) or one copy of n
    elements (``"copy"``) in ``dtype`` on ``device`` (``"cpu"`` in tests), on standard-normal
    operands (seed 0); it synchronizes before returning, so that a timer around it sees the work."""
    import torch  # noqa: PLC0415

    torch_dtype = getattr(torch, dtype)
    generator = torch.Generator(device=device).manual_seed(0)
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    if kind == "copy":
        src = torch.randn(n, device=device, dtype=torch_dtype, generator=generator)
        dst = torch.empty_like(src)

        def copy():
            dst.copy_(src)
            sync()

        sync()
        return copy
    a = torch.randn(n, n, device=device, dtype=torch_dtype, generator=generator)
    b = torch.randn(n, n, device=device, dtype=torch_dtype, generator=generator)
    out = torch.empty_like(a)
    matmul = torch.backends.cuda.matmul

    def product():
        before = matmul.allow_tf32
        matmul.allow_tf32 = tf32  # TF32 exactly as the case says, whatever the process set
        try:
            torch.matmul(a, b, out=out)
        finally:
            matmul.allow_tf32 = before
        sync()

    sync()
    return product
