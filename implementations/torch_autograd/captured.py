"""The ``torch-cuda-graphs`` rung: the whole training step captured once in a CUDA graph, replayed.

A small step is launch-bound: the GPU finishes each of its hundreds of kernels before the host has
launched the next (docs/gpu.md, "Measured on an H100": every MLP step 1.0-1.9 ms whatever its width).
A CUDA graph records the kernels of forward, loss, backward and the update once; every later step
is one ``replay()``, one launch. What it takes, following PyTorch's "whole network capture"
recipe (``torch.cuda.graphs`` docs):

- static memory: the graph reads its inputs from fixed buffers (each step copies its batch there)
  and writes the loss, the gradients and the updated weights where the capture put them;
- a fused update (``torch.optim.SGD(fused=True)``): a few multi-tensor kernels, not one per tensor;
- warm-up steps on a side stream before capture (compilation, cuDNN autotuning, the allocator, the
  momentum buffers' creation). They train, so the weights, buffers and momentum are saved before
  and put back after: the first replay is the first step from the caller's state. With dampening
  0 (``SGDConfig``) a zero momentum buffer updated is exactly the first step's ``buf = grad``.

Off the GPU nothing is captured and each step runs eagerly, after the same warm-up and restore,
which is how the tests check the restore on machines without a GPU.
"""

from __future__ import annotations

import math
import time

import torch

from ..trainer import CaseUnsupported
from .trainer import TorchTrainer

# Steps before capture: the first compiles (torch.compile) and autotunes; PyTorch's recipe uses 3.
CAPTURE_WARMUP_STEPS = 3


class CapturedTorchTrainer(TorchTrainer):
    """A :class:`TorchTrainer` whose step is one CUDA graph replay once captured.

    ``capture_seconds``: seconds of making the graph, kept out of every timed step: the warm-up
    steps before capture (less the first compiled call, which is ``compile_seconds``), saving and
    restoring the state, and the capture; NaN until the first step. Off the GPU it times the same
    warm-up and restore, with nothing captured.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.capture_seconds = math.nan
        self._ready = False  # warmed up and restored (and, on the GPU, captured)
        self._graph = None
        self._static_batch = None  # the (x, y) buffers the graph reads
        self._static_loss = None

    def _optimizer_options(self) -> dict:
        return {"fused": True}

    # -- the state the warm-up changes ----------------------------------------------------------
    def _snapshot(self) -> dict:
        momentum = {p: self.optimizer.state.get(p, {}).get("momentum_buffer") for p in self.module.parameters()}
        return {
            "tensors": [(t, t.detach().clone()) for t in (*self.module.parameters(), *self.module.buffers())],
            "momentum": {p: (None if m is None else m.clone()) for p, m in momentum.items()},
        }

    @torch.no_grad()
    def _restore(self, saved: dict) -> None:
        for tensor, value in saved["tensors"]:
            tensor.copy_(value)
        for p, value in saved["momentum"].items():
            buffer = self.optimizer.state.get(p, {}).get("momentum_buffer")
            if buffer is None:
                continue
            if value is None:
                buffer.zero_()  # dampening 0: updating a zero buffer is the first step's buf = grad
            else:
                buffer.copy_(value)

    def _eager_step(self, batch) -> torch.Tensor:
        self.optimizer.zero_grad(set_to_none=True)
        loss = self._forward_backward(batch)
        self.optimizer.step()
        return loss

    # -- capture --------------------------------------------------------------------------------
    def _prepare(self, batch) -> None:
        """Warm up, put the state back, and on the GPU capture one whole step into a graph."""
        self._sync()
        start = time.perf_counter()
        saved = self._snapshot()
        on_gpu = self.device.type == "cuda"
        x, y = batch
        self._static_batch = (x.clone(), y.clone())  # clone keeps channels_last
        try:
            if on_gpu:
                side = torch.cuda.Stream(self.device)
                side.wait_stream(torch.cuda.current_stream(self.device))
                with torch.cuda.stream(side):
                    for _ in range(CAPTURE_WARMUP_STEPS):
                        self._eager_step(self._static_batch)
                torch.cuda.current_stream(self.device).wait_stream(side)
            else:
                for _ in range(CAPTURE_WARMUP_STEPS):
                    self._eager_step(self._static_batch)
            self._sync()
            self._restore(saved)
            del saved
            if on_gpu:
                self.optimizer.zero_grad(set_to_none=True)  # the capture allocates the static gradients
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    self._static_loss = self._forward_backward(self._static_batch).detach()
                    self.optimizer.step()
                self._graph = graph
        except RuntimeError as exc:
            self._graph = None
            if on_gpu:
                raise CaseUnsupported(f"{self.backend}: this step cannot be captured in a CUDA graph: "
                                      f"{str(exc).splitlines()[0]}") from exc
            raise
        self._sync()
        compiling = self.compile_seconds if math.isfinite(self.compile_seconds) else 0.0
        self.capture_seconds = time.perf_counter() - start - compiling
        self._ready = True

    def step(self, batch) -> torch.Tensor:
        """One step: the batch copied into the graph's input buffers, then one replay. The first
        call warms up and captures (``capture_seconds``). The returned loss is the graph's own
        buffer: the next step overwrites it. Synchronizes before returning."""
        if not self._ready:
            self._prepare(batch)
        if self._graph is None:  # off the GPU
            return super().step(batch)
        static_x, static_y = self._static_batch
        static_x.copy_(batch[0])
        static_y.copy_(batch[1])
        self._graph.replay()
        self._last_loss = self._static_loss
        self._sync()
        return self._last_loss

    def loss_and_grads(self, batch):
        """Loss and gradients of one eager forward/backward, no update. It gives the parameters new
        ``.grad`` tensors, which the graph does not write: the next step captures anew."""
        result = super().loss_and_grads(batch)
        self._ready, self._graph, self._static_loss = False, None, None
        return result
