"""What every backend offers the harness: a trainer bound to one model, its weights and a dtype.

``prepare_batch`` converts inputs to the backend's own form once, outside any timed region;
``step`` is the timed unit (forward, loss, backward, SGD update); ``loss_and_grads`` computes
without updating, for verification.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class SGDConfig:
    """SGD with momentum as ``torch.optim.SGD``: dampening 0, not Nesterov.

    ``weight_decay`` applies to the parameters the architecture names (conv and fc weights).
    """

    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0


class CaseUnsupported(Exception):
    """A backend cannot run this case at all (e.g. a model its CUDA graph capture refuses): the case
    is recorded as skipped, with this message as the reason, not as failed."""


class Trainer(Protocol):
    backend: str
    dtype: str

    def prepare_batch(self, x: np.ndarray, y: np.ndarray) -> Any: ...

    def step(self, batch: Any) -> Any:
        """One training step; returns the loss (a float, or a 0-d tensor ``float()`` accepts)."""

    def loss_and_grads(self, batch: Any) -> tuple[float, dict[str, np.ndarray]]: ...

    def last_loss_and_grads(self) -> tuple[float, dict[str, np.ndarray]]:
        """Loss and gradients of the most recent ``step``, before its update was applied."""

    def state_dict(self) -> dict[str, np.ndarray]:
        """Current parameters and buffers as NumPy arrays, named as torch's ``state_dict``."""

    def momentum_buffers(self) -> dict[str, np.ndarray]:
        """SGD's momentum buffer of every trainable parameter (zeros before the first step)."""


@runtime_checkable
class LayersKit(Protocol):
    """What a hand-written backend's kit (its ``backend`` module) provides ``HandwrittenTrainer``.

    ``layers``: the module of layer forward/backward pairs the architecture composes, and
    ``sgd_momentum_update``. Conversions happen at the boundary only, never inside a step:
    ``to_native(values, dtype)`` (a NumPy array to the backend's form, copied), ``labels_to_native``,
    ``to_numpy`` (back, copied) and ``zeros_like``.
    """

    NAME: str
    DTYPES: tuple[str, ...]
    layers: ModuleType

    def to_native(self, values, dtype: str) -> Any: ...

    def labels_to_native(self, labels) -> Any: ...

    def to_numpy(self, values) -> np.ndarray: ...

    def zeros_like(self, values) -> Any: ...


@runtime_checkable
class CompilingKit(LayersKit, Protocol):
    """A kit whose kernels are compiled before the first step (numba): ``compile(dtype)`` returns
    the seconds it took (the results' ``compile_seconds``)."""

    def compile(self, dtype: str) -> float: ...


@runtime_checkable
class GradientConvertingKit(LayersKit, Protocol):
    """A kit that holds a gradient otherwise than its parameter (loops): ``gradient_to_numpy(grad,
    param)`` converts it."""

    def gradient_to_numpy(self, grad, param) -> np.ndarray: ...


class HandwrittenTrainer:
    """A trainer for the hand-written backends (loops, numpy).

    ``kit`` is a backend module (``pure_python.backend``, ``compiled_loops.backend`` or
    ``numpy_vectorized.backend``) with its ``layers`` and array conversions; ``architecture`` composes
    those layers into the model. A kit with a ``compile(dtype)`` hook (numba) compiles here, before
    any step: ``compile_seconds`` is what that took (NaN for a kit that compiles nothing). A kit
    with ``gradient_to_numpy(grad, param)`` (loops) converts gradients with it.
    """

    def __init__(self, kit: LayersKit, architecture, spec, params: dict[str, np.ndarray], dtype: str, sgd: SGDConfig):
        if not isinstance(kit, LayersKit):
            missing = [name for name in ("NAME", "DTYPES", "layers", "to_native", "labels_to_native", "to_numpy",
                                         "zeros_like") if not hasattr(kit, name)]
            raise TypeError(f"{getattr(kit, '__name__', kit)} is not a layers kit: it lacks {', '.join(missing)}")
        if dtype not in kit.DTYPES:
            raise ValueError(f"backend {kit.NAME} does not support dtype {dtype}; accepted: {', '.join(kit.DTYPES)}")
        self.backend = kit.NAME
        self.dtype = dtype
        self._kit = kit
        self._architecture = architecture
        self._spec = spec
        self._layers = kit.layers
        self._sgd_terms = (sgd.lr, sgd.momentum, sgd.weight_decay, architecture.weight_decay_names(spec))
        # Integer counters (batch norm's num_batches_tracked) stay Python ints: the architecture
        # adds 1 to them without array arithmetic, and state_dict hands them back as int64.
        self._counters = set(getattr(architecture, "counter_names", lambda _spec: ())(spec))
        self._params = {name: int(np.asarray(value)) if name in self._counters else kit.to_native(value, dtype)
                        for name, value in params.items()}
        self._velocity = {name: kit.zeros_like(self._params[name]) for name in architecture.trainable_names(spec)}
        self._last = None
        self.compile_seconds = kit.compile(dtype) if isinstance(kit, CompilingKit) else math.nan

    def prepare_batch(self, x: np.ndarray, y: np.ndarray):
        self._architecture.validate_batch(self._spec, x, y)
        return self._kit.to_native(x, self.dtype), self._kit.labels_to_native(y)

    def _forward_backward(self, batch):
        x, y = batch
        return self._architecture.forward_backward(self._layers, self._spec, self._params, x, y)

    def step(self, batch) -> float:
        # The forward-backward is called here, not through _forward_backward: at mlp-tiny a whole
        # step lasts tens of microseconds, and every call and attribute lookup is a share of it. The
        # update's terms go one by one, not *-unpacked: that takes CPython 3.11's generic call path.
        x, y = batch
        layers = self._layers
        loss, grads = self._architecture.forward_backward(layers, self._spec, self._params, x, y)
        self._last = (loss, grads)
        lr, momentum, weight_decay, decay_names = self._sgd_terms
        layers.sgd_momentum_update(self._params, grads, self._velocity, lr, momentum, weight_decay, decay_names)
        return loss

    def loss_and_grads(self, batch):
        loss, grads = self._forward_backward(batch)
        return float(loss), self._grads_to_numpy(grads)

    def last_loss_and_grads(self):
        if self._last is None:
            raise RuntimeError("no step has run yet")
        loss, grads = self._last
        return float(loss), self._grads_to_numpy(grads)

    def _grads_to_numpy(self, grads) -> dict[str, np.ndarray]:
        """Each gradient as a NumPy array: through the kit's ``gradient_to_numpy(grad, param)`` where
        it has one (a backend that holds a gradient otherwise than its parameter: loops), else its
        ``to_numpy``."""
        if not isinstance(self._kit, GradientConvertingKit):
            return {name: self._kit.to_numpy(g) for name, g in grads.items()}
        return {name: self._kit.gradient_to_numpy(g, self._params[name]) for name, g in grads.items()}

    def state_dict(self):
        return {name: np.array(value, dtype=np.int64) if name in self._counters else self._kit.to_numpy(value)
                for name, value in self._params.items()}

    def momentum_buffers(self):
        return {name: self._kit.to_numpy(v) for name, v in self._velocity.items()}


def read_steps(trainer: Trainer, batch, steps: int, stepped: bool = False) -> tuple:
    """Run ``steps`` training steps (``stepped``: the first has run already) and read what
    verification compares: ``(loss, grads, running, after)``, the fields of ``bench.reference``'s
    ``StepResult`` (the first step's loss and gradients before its update, batch norm's running
    statistics after it, and per step the trainable parameters and momentum buffers after it)."""
    if not stepped:
        trainer.step(batch)
    loss, grads = trainer.last_loss_and_grads()
    state = trainer.state_dict()
    running = {name: value for name, value in state.items() if name.endswith(("running_mean", "running_var"))}
    after = [({name: state[name] for name in grads}, trainer.momentum_buffers())]
    for _ in range(steps - 1):
        trainer.step(batch)
        state = trainer.state_dict()
        after.append(({name: state[name] for name in grads}, trainer.momentum_buffers()))
    return float(loss), grads, running, after
