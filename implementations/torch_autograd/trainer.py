"""A trainer over any ``nn.Module`` built from an architecture description, on any device."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..trainer import SGDConfig

DTYPES = ("float32", "float64")


def cuda_unavailable_reason() -> str | None:
    """None when a CUDA device can be used, else one line saying why not."""
    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
        return f"no CUDA GPU is available (torch {torch.__version__}, {build})"
    return None


class TorchTrainer:
    def __init__(self, module: torch.nn.Module, backend: str, params: dict[str, np.ndarray], dtype: str,
                 device: str, sgd: SGDConfig, decay_names: set[str]):
        if dtype not in DTYPES:
            raise ValueError(f"backend {backend} does not support dtype {dtype}; accepted: {', '.join(DTYPES)}")
        if device.startswith("cuda"):
            reason = cuda_unavailable_reason()
            if reason:
                raise RuntimeError(reason)
        self.backend = backend
        self.dtype = dtype
        self.device = torch.device(device)
        self._torch_dtype = getattr(torch, dtype)
        module = module.to(dtype=self._torch_dtype)
        state = {name: torch.as_tensor(np.asarray(value)) for name, value in params.items()}
        # Buffers such as num_batches_tracked keep their integer dtype; floats follow the trainer's.
        state = {name: t.to(self._torch_dtype) if t.is_floating_point() else t for name, t in state.items()}
        module.load_state_dict(state, strict=True)
        self.module = module.to(self.device).train()
        named = dict(self.module.named_parameters())
        decayed = [p for name, p in named.items() if name in decay_names]
        plain = [p for name, p in named.items() if name not in decay_names]
        groups = [{"params": plain, "weight_decay": 0.0}]
        if decayed:
            groups.append({"params": decayed, "weight_decay": sgd.weight_decay})
        self.optimizer = torch.optim.SGD(groups, lr=sgd.lr, momentum=sgd.momentum)
        self._sync = torch.cuda.synchronize if self.device.type == "cuda" else (lambda: None)
        self._last_loss = None

    def prepare_batch(self, x: np.ndarray, y: np.ndarray):
        xt = torch.as_tensor(np.asarray(x), dtype=self._torch_dtype).to(self.device)
        yt = torch.as_tensor(np.asarray(y), dtype=torch.int64).to(self.device)
        self._sync()
        return xt, yt

    def _loss(self, batch) -> torch.Tensor:
        x, y = batch
        return F.cross_entropy(self.module(x), y)

    def step(self, batch) -> torch.Tensor:
        """One step; synchronizes CUDA before returning so that a timer around it sees the work."""
        self.optimizer.zero_grad(set_to_none=True)
        loss = self._loss(batch)
        loss.backward()
        self._last_loss = loss.detach()
        self.optimizer.step()
        self._sync()
        return self._last_loss

    def _grads(self) -> dict[str, np.ndarray]:
        return {name: p.grad.detach().cpu().numpy().copy() for name, p in self.module.named_parameters()}

    def loss_and_grads(self, batch):
        self.optimizer.zero_grad(set_to_none=True)
        loss = self._loss(batch)
        loss.backward()
        return float(loss.detach()), self._grads()

    def last_loss_and_grads(self):
        if self._last_loss is None:
            raise RuntimeError("no step has run yet")
        return float(self._last_loss), self._grads()

    def state_dict(self):
        return {name: t.detach().cpu().numpy().copy() for name, t in self.module.state_dict().items()}
