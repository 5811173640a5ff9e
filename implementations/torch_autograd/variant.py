"""How a torch backend runs its step: precision, memory format, compilation. No torch import here.

Each rung of the ladder above ``torch-cuda`` changes one of these from the rung below, so that the
report can say what each one bought.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TorchVariant:
    """Options of the one torch trainer.

    ``amp_dtype``: None (the step runs in the trainer's dtype) or ``"bfloat16"`` (forward under
    ``torch.autocast``; weights, gradients and the SGD update stay in float32, the master copy).
    ``channels_last``: 4-d weights and image inputs in NHWC memory layout (what tensor-core
    convolutions want; no effect on an MLP). ``compile``: the forward and loss through
    ``torch.compile`` (backward compiled with them by AOTAutograd; the SGD update stays eager).
    ``cudnn_benchmark``: let cuDNN time its convolution algorithms on the first call of each shape
    (``torch.backends.cudnn.benchmark``; PyTorch's default is off). ``cuda_graph``: the whole step
    (forward, loss, backward and the SGD update, fused: ``torch.optim.SGD(fused=True)``) captured
    once in a CUDA graph and replayed, so that the host launches one graph instead of hundreds of
    kernels (``torch_autograd.captured``); off the GPU the same step runs uncaptured.
    """

    amp_dtype: str | None = None
    channels_last: bool = False
    compile: bool = False
    cudnn_benchmark: bool = False
    cuda_graph: bool = False

    @property
    def dtypes(self) -> tuple[str, ...]:
        """The master dtypes this variant supports: mixed precision keeps float32 masters only."""
        return ("float32",) if self.amp_dtype else ("float32", "float64")


PLAIN = TorchVariant()
AMP = TorchVariant(amp_dtype="bfloat16", channels_last=True, cudnn_benchmark=True)
COMPILED = TorchVariant(amp_dtype="bfloat16", channels_last=True, compile=True, cudnn_benchmark=True)
GRAPHED = TorchVariant(amp_dtype="bfloat16", channels_last=True, compile=True, cudnn_benchmark=True, cuda_graph=True)

# backend -> (device, variant). torch-cuda is float32 as PyTorch runs it by default (TF32 for cuDNN
# convolutions, not for matmuls, unless the process changed the flags: each row records them).
TORCH_BACKENDS: dict[str, tuple[str, TorchVariant]] = {
    "torch-cpu": ("cpu", PLAIN),
    "torch-cuda": ("cuda", PLAIN),
    "torch-cuda-amp": ("cuda", AMP),
    "torch-cuda-compile": ("cuda", COMPILED),
    "torch-cuda-graphs": ("cuda", GRAPHED),
}
