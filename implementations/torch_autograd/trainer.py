"""A trainer over any ``nn.Module`` built from an architecture description, on any device.

The same class runs every torch rung: ``torch-cpu`` and ``torch-cuda`` (plain float32/float64),
``torch-cuda-amp`` (bfloat16 autocast, channels_last) and ``torch-cuda-compile`` (the same through
``torch.compile``), chosen by a ``TorchVariant``. Each also runs on the CPU, which is how the
tests check the GPU rungs' numbers on machines without a GPU.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F

from .. import hooks
from ..trainer import SGDConfig
from .variant import PLAIN, TorchVariant

DTYPES = ("float32", "float64")


def cuda_unavailable_reason() -> str | None:
    """None when a CUDA device can be used, else one line saying why not."""
    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
        return f"no CUDA GPU is available (torch {torch.__version__}, {build})"
    return None


def tf32_flags(device: str | torch.device, dtype: str) -> dict[str, bool | None]:
    """Whether float32 matmuls and cuDNN convolutions may use TF32 here (None off the GPU).

    TF32 keeps float32's range with a 10-bit mantissa. It only touches float32 work on a CUDA
    device: float64 cases record False. ``torch.backends.cuda.matmul.allow_tf32`` and
    ``torch.set_float32_matmul_precision("high")`` both allow it for matmuls.
    """
    if torch.device(device).type != "cuda":
        return {"tf32_matmul": None, "tf32_cudnn": None}
    if dtype != "float32":
        return {"tf32_matmul": False, "tf32_cudnn": False}
    matmul = bool(torch.backends.cuda.matmul.allow_tf32) or torch.get_float32_matmul_precision() != "highest"
    return {"tf32_matmul": matmul, "tf32_cudnn": bool(torch.backends.cudnn.allow_tf32)}


class TorchTrainer:
    """One model on one device in one dtype; ``variant`` picks precision, layout and compilation."""

    def __init__(self, module: torch.nn.Module, backend: str, params: dict[str, np.ndarray], dtype: str,
                 device: str, sgd: SGDConfig, decay_names: set[str], variant: TorchVariant = PLAIN):
        if dtype not in variant.dtypes:
            raise ValueError(f"backend {backend} does not support dtype {dtype}; accepted: {', '.join(variant.dtypes)}")
        if device.startswith("cuda"):
            reason = cuda_unavailable_reason()
            if reason:
                raise RuntimeError(reason)
        self.backend = backend
        self.dtype = dtype
        self.variant = variant
        self.device = torch.device(device)
        self._torch_dtype = getattr(torch, dtype)
        self._amp_dtype = getattr(torch, variant.amp_dtype) if variant.amp_dtype else None
        module = module.to(dtype=self._torch_dtype)
        state = {name: torch.as_tensor(np.asarray(value)) for name, value in params.items()}
        # Buffers such as num_batches_tracked keep their integer dtype; floats follow the trainer's.
        state = {name: t.to(self._torch_dtype) if t.is_floating_point() else t for name, t in state.items()}
        module.load_state_dict(state, strict=True)
        module = module.to(self.device).train()
        if variant.channels_last:
            module = module.to(memory_format=torch.channels_last)  # 4-d weights only; others unchanged
        self.module = module
        named = dict(self.module.named_parameters())
        decayed = [p for name, p in named.items() if name in decay_names]
        plain = [p for name, p in named.items() if name not in decay_names]
        groups = [{"params": plain, "weight_decay": 0.0}]
        if decayed:
            groups.append({"params": decayed, "weight_decay": sgd.weight_decay})
        self.optimizer = torch.optim.SGD(groups, lr=sgd.lr, momentum=sgd.momentum, **self._optimizer_options())
        self._sync = torch.cuda.synchronize if self.device.type == "cuda" else (lambda: None)
        self._last_loss = None
        self._forward_loss = self._make_forward_loss()
        # seconds of the first call through torch.compile (tracing, compiling and that one step);
        # NaN for eager variants and until the first call
        self.compile_seconds = math.nan
        self._reporting = False

    def _optimizer_options(self) -> dict:
        """Extra ``torch.optim.SGD`` options: none, so PyTorch picks its default implementation."""
        return {}

    def _make_forward_loss(self):
        module, device_type, amp_dtype = self.module, self.device.type, self._amp_dtype

        def forward_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            if amp_dtype is None:
                return F.cross_entropy(module(x), y)
            with torch.autocast(device_type=device_type, dtype=amp_dtype):
                logits = module(x)
            # the loss (log-softmax over the classes) in float32, as autocast itself would on CUDA
            return F.cross_entropy(logits.float(), y)

        if not self.variant.compile:
            return forward_loss
        # Every trainer compiles the same function's code with other weights and shapes; dynamo
        # counts those against one recompile limit and silently falls back to eager beyond it.
        # One trainer is compiled at a time, so start from empty caches. dynamic=False: shapes are
        # fixed, and automatic dynamic shapes would time other kernels than a fixed-shape run.
        torch.compiler.reset()
        return torch.compile(forward_loss, dynamic=False)

    def precision_flags(self) -> dict[str, bool | None]:
        """``tf32_matmul``, ``tf32_cudnn``, ``cudnn_benchmark`` as this trainer runs (None off the GPU)."""
        flags = tf32_flags(self.device, self.dtype)
        flags["cudnn_benchmark"] = self.variant.cudnn_benchmark if self.device.type == "cuda" else None
        return flags

    @contextmanager
    def _cudnn_settings(self):
        """cuDNN's autotuning as the variant asks, restored after: other trainers keep PyTorch's default."""
        if self.device.type != "cuda":
            yield
            return
        before = torch.backends.cudnn.benchmark
        torch.backends.cudnn.benchmark = self.variant.cudnn_benchmark
        try:
            yield
        finally:
            torch.backends.cudnn.benchmark = before

    def prepare_batch(self, x: np.ndarray, y: np.ndarray):
        xt = torch.as_tensor(np.asarray(x), dtype=self._torch_dtype).to(self.device)
        if self.variant.channels_last and xt.dim() == 4:
            xt = xt.contiguous(memory_format=torch.channels_last)
        yt = torch.as_tensor(np.asarray(y), dtype=torch.int64).to(self.device)
        self._sync()
        return xt, yt

    def _forward_backward(self, batch) -> torch.Tensor:
        x, y = batch
        first_compiled = self.variant.compile and math.isnan(self.compile_seconds)
        if first_compiled:
            self._sync()
            start = time.perf_counter()
        with self._cudnn_settings():
            loss = self._forward_loss(x, y)
            if self._reporting:
                self._mark("head forward")
            loss.backward()
            if self._reporting:
                self._mark("stem backward")
        if first_compiled:
            self._sync()
            self.compile_seconds = time.perf_counter() - start
        return loss

    def step(self, batch) -> torch.Tensor:
        """One step; synchronizes CUDA before returning so that a timer around it sees the work.

        No host-device copy and no ``.item()`` inside: the loss stays a device tensor.
        """
        self.optimizer.zero_grad(set_to_none=True)
        loss = self._forward_backward(batch)
        self._last_loss = loss.detach()
        self.optimizer.step()
        self._sync()
        return self._last_loss

    def _mark(self, part: str) -> None:
        self._sync()  # the device's queued work belongs to the part that queued it
        hooks.stage_done(part)

    @contextmanager
    def reporting_stages(self):
        """Report the stage boundaries of a torchvision ResNet step through ``hooks.stage_done``
        (the parts of ``architectures.resnet.stage_parts``) while inside; no effect on other modules.

        Forward hooks mark the end of the stem (after ``maxpool``) and of every ``layerN``; a
        gradient hook on each stage's output marks the end of the next stage's backward (the
        gradient reaching ``layer3``'s output means ``layer4``'s backward is done); the trainer marks
        the loss and the end of ``backward()``. On CUDA every mark synchronizes first. Hooks stay
        out of timed steps: they cost a Python call each, and they would break a compiled graph,
        so a compiled variant reports nothing (ValueError).
        """
        if self.variant.compile:
            raise ValueError(f"{self.backend}: a compiled step has no stage boundaries to report")
        module = self.module
        stages = [name for name in ("layer1", "layer2", "layer3", "layer4") if hasattr(module, name)]
        if not hasattr(module, "maxpool") or not stages:
            raise ValueError(f"{self.backend}: not a torchvision ResNet: no stages to report")
        # the part whose backward ends when the gradient reaches each boundary's output
        after = {"maxpool": stages[0], **{a: b for a, b in zip(stages, stages[1:])}, stages[-1]: "head"}
        forward_part = {"maxpool": "stem", **{s: s for s in stages}}

        def on_forward(name):
            def hook(_module, _inputs, output):
                self._mark(f"{forward_part[name]} forward")
                if output.requires_grad:
                    output.register_hook(lambda grad: self._mark(f"{after[name]} backward"))
            return hook

        handles = [getattr(module, name).register_forward_hook(on_forward(name)) for name in ("maxpool", *stages)]
        self._reporting = True
        try:
            yield
        finally:
            self._reporting = False
            for handle in handles:
                handle.remove()

    def warmup(self, batch, steps: int) -> list[float]:
        """``steps`` training steps before timing; the seconds of each (synchronized).

        What happens once per shape stays out of the timed rounds: cuDNN autotuning, compilation,
        the caching allocator growing to the step's working set, the optimizer's momentum buffers.
        """
        seconds = []
        for _ in range(steps):
            start = time.perf_counter()
            self.step(batch)
            seconds.append(time.perf_counter() - start)
        return seconds

    def _grads(self) -> dict[str, np.ndarray]:
        return {name: p.grad.detach().cpu().numpy().copy() for name, p in self.module.named_parameters()}

    def loss_and_grads(self, batch):
        self.optimizer.zero_grad(set_to_none=True)
        loss = self._forward_backward(batch)
        return float(loss.detach()), self._grads()

    def last_loss_and_grads(self):
        if self._last_loss is None:
            raise RuntimeError("no step has run yet")
        return float(self._last_loss), self._grads()

    def state_dict(self):
        return {name: t.detach().cpu().numpy().copy() for name, t in self.module.state_dict().items()}

    def momentum_buffers(self):
        """torch.optim.SGD's ``momentum_buffer`` per parameter; zeros where it has none (before the
        first step, or an optimizer without momentum)."""
        out = {}
        for name, p in self.module.named_parameters():
            buffer = self.optimizer.state.get(p, {}).get("momentum_buffer")
            out[name] = (buffer if buffer is not None else torch.zeros_like(p)).detach().cpu().numpy().copy()
        return out

    def loss(self, batch) -> float:
        """The loss alone, without gradients and without touching the running statistics."""
        with torch.no_grad():
            saved = {name: b.clone() for name, b in self.module.named_buffers()}
            value = float(self._forward_loss(*batch))
            for name, b in self.module.named_buffers():
                b.copy_(saved[name])
        return value
