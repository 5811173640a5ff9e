"""Verification: every case is compared with PyTorch float64 autograd before it may be timed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from implementations import architecture, make_trainer

# (model, precision) -> largest accepted relative error ||x - ref|| / ||ref||. The precision is the
# dtype, except on the GPU rungs (see ``precision``): tf32 (float32 with TF32 products) and
# bfloat16 (autocast; float32 master weights).
#
# Why the low-precision bounds are loose: the gradients at initialization are ill-conditioned.
# Measured on the CPU (tests/test_gpu_rungs.py runs the same code): float32 gradients differ from
# float64 by up to 3e-7 (MLP) and 5e-5 (reduced ResNet, 32x32, batch 4) against float32's unit
# roundoff 6e-8, an amplification of ~5 and ~1000. Merely rounding the ResNet's input to bfloat16
# and computing in float64 moves bn1.weight's gradient by 33% (a 1e-3 input perturbation: 35%).
# bfloat16 autocast (unit roundoff 2^-8 = 3.9e-3) measured: MLP configs up to 0.065 (mlp-wide
# fc1.weight, 3 seeds of every MLP config), reduced ResNet 0.36-0.85 (batch-norm weights). The
# bounds are those with about 3x margin for the MLP, and below 1 for ResNet-50 so that a zero or
# missing gradient (error exactly 1) or a sign flip (2) still fails; ~1e-2 would fail every
# correct bfloat16 step. TF32 rounds only the operands of matrix products and convolutions, with
# unit roundoff 2^-11, an eighth of bfloat16's: the bfloat16 errors over 8, with margin.
TOLERANCES = {
    ("mlp", "float64"): 1e-8,
    ("mlp", "float32"): 1e-4,
    ("mlp", "tf32"): 3e-2,
    ("mlp", "bfloat16"): 0.2,
    ("resnet50", "float64"): 1e-8,
    ("resnet50", "float32"): 1e-3,
    ("resnet50", "tf32"): 0.3,
    ("resnet50", "bfloat16"): 0.95,
}
SEED = 0


def precision(model: str, dtype: str, amp_dtype: str | None = None, tf32_matmul: bool | None = None,
              tf32_cudnn: bool | None = None) -> str:
    """What a case computes in: ``amp_dtype`` when autocast runs, ``tf32`` when float32 products
    the model uses may run in TF32 (matmuls for every model, cuDNN convolutions for resnet50),
    else ``dtype``."""
    if amp_dtype:
        return amp_dtype
    if dtype == "float32" and (tf32_matmul or (model == "resnet50" and tf32_cudnn)):
        return "tf32"
    return dtype


def tolerance(model: str, dtype: str, precision: str | None = None) -> float:
    """The bound for ``model`` computed in ``precision`` (default: ``dtype`` itself)."""
    return TOLERANCES[(model, precision or dtype)]


def relative_error(value, reference) -> float:
    """``||value - reference|| / ||reference||`` in float64 (L2 over all elements).

    A reference of norm zero compares the absolute difference instead. NaN anywhere gives inf:
    a NaN never passes.
    """
    value = np.asarray(value, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if value.shape != reference.shape:
        raise ValueError(f"shape {value.shape} differs from the reference's {reference.shape}")
    if not (np.all(np.isfinite(value)) and np.all(np.isfinite(reference))):
        return float("inf")
    scale = np.linalg.norm(reference)
    diff = np.linalg.norm(value - reference)
    return float(diff / scale) if scale > 0 else float(diff)


def loss_and_gradient_errors(loss: float, grads: dict, ref_loss: float, ref_grads: dict) -> dict[str, float]:
    """Relative error of the loss (key ``"loss"``) and of every gradient, keyed by name."""
    if set(grads) != set(ref_grads):
        raise ValueError(f"gradient names differ from the reference: {sorted(set(grads) ^ set(ref_grads))}")
    errors = {"loss": relative_error(loss, ref_loss)}
    errors.update((name, relative_error(grads[name], ref)) for name, ref in ref_grads.items())
    return errors


def max_relative_error(loss: float, grads: dict, ref_loss: float, ref_grads: dict) -> tuple[float, str]:
    """The largest relative error over the loss and every gradient, and which tensor it was."""
    errors = loss_and_gradient_errors(loss, grads, ref_loss, ref_grads)
    where = max(errors, key=errors.get)
    return errors[where], where


@dataclass
class Reference:
    """The float64 PyTorch result for one config's weights and batch."""

    params: dict
    x: np.ndarray
    y: np.ndarray
    loss: float
    grads: dict
    state_after: dict  # parameters and buffers after the forward pass (BN running statistics)


def make_inputs(config, seed: int = SEED):
    """The initial weights and one batch of a config, the same for every backend."""
    arch = architecture(config.model)
    params = arch.init_params(config.spec, seed)
    kwargs = {"resolution": config.resolution} if config.resolution else {}
    x, y = arch.make_batch(config.spec, config.batch_size, seed + 1, **kwargs)
    return params, x, y


def compute_reference(config, seed: int = SEED) -> Reference:
    params, x, y = make_inputs(config, seed)
    trainer = make_trainer("torch-cpu", config.model, config.spec, params, "float64")
    loss, grads = trainer.loss_and_grads(trainer.prepare_batch(x, y))
    return Reference(params, x, y, loss, grads, trainer.state_dict())


class VerificationError(Exception):
    pass


# Where a precision's bound is floored by PyTorch's own error in that precision.
# float32 ResNet-50 gradients at initialization are chaotic: measured here, torch-cpu's own float32
# gradients differ from its float64 ones by up to 2.9% (resnet50-224, batch 1; 158 of 161 tensors
# above 1e-3) while its loss (1.5e-6) and running statistics (1.3e-5) stay exact to float32. No
# float32 implementation can meet 1e-3 on every gradient. Which gradient is off, and by how much,
# is luck: a relu whose input sits near zero flips between float32 and float64 and moves a whole
# batch-norm gradient (numpy float32 measured 7.6x torch's error on one tensor and 1x on the
# next; after a change to its summation order, 1.4% on a tensor torch had within 1e-4). So the
# float32 bound of every gradient is max(tolerance, FLOOR_FACTOR x torch float32's worst gradient
# error), taken over two summation orders (1 thread and all cores); the loss and each running
# statistic keep their own per-tensor floors, which stay near 1e-5. float64 (1e-8) is what checks
# the implementation; float32 checks that its float32 path computes the same function, where a
# precision bug (a cast, an overflow, an unwritten buffer) gives errors of order one.
FLOORED = {("resnet50", "float32")}
FLOOR_FACTOR = 10.0


def per_tensor_errors(loss: float, grads: dict, reference: Reference, state: dict | None = None) -> dict[str, float]:
    """Relative error of the loss, every gradient and (given ``state``) every running statistic."""
    errors = loss_and_gradient_errors(loss, grads, reference.loss, reference.grads)
    if state is not None:
        errors.update((name, relative_error(state[name], ref)) for name, ref in reference.state_after.items()
                      if name.endswith(("running_mean", "running_var")))
    return errors


class Verifier:
    """One config's float64 reference, and what a case's loss, gradients and state must meet."""

    def __init__(self, config, seed: int = SEED):
        self.config = config
        self.reference = compute_reference(config, seed)
        self._floor: dict[str, float] | None = None

    def floor(self) -> dict[str, float]:
        """torch-cpu float32's own per-tensor errors on the same weights and batch, the worse of
        1 thread and all cores (computed once)."""
        if self._floor is None:
            from .machine import available_cores  # noqa: PLC0415
            from .threads import thread_limit  # noqa: PLC0415

            ref = self.reference
            samples = []
            for threads in sorted({1, available_cores()}):
                with thread_limit(threads):
                    trainer = make_trainer("torch-cpu", self.config.model, self.config.spec, ref.params, "float32")
                    loss, grads = trainer.loss_and_grads(trainer.prepare_batch(ref.x, ref.y))
                    samples.append(per_tensor_errors(loss, grads, ref, trainer.state_dict()))
            self._floor = {name: max(sample[name] for sample in samples) for name in samples[0]}
        return self._floor

    def check(self, dtype: str, precision: str | None, loss: float, grads: dict,
              state: dict | None = None) -> tuple[float, float]:
        """``(largest error, largest bound)``; VerificationError naming the worst tensor otherwise."""
        model = self.config.model
        base = tolerance(model, dtype, precision)
        errors = per_tensor_errors(loss, grads, self.reference, state)
        floored = (model, precision or dtype) in FLOORED
        floor = self.floor() if floored else {}
        worst_gradient = max((floor[name] for name in self.reference.grads), default=0.0) if floor else 0.0
        bounds = {name: max(base, FLOOR_FACTOR * (worst_gradient if name in self.reference.grads
                                                  else floor.get(name, 0.0)))
                  for name in errors}
        failing = [(errors[name] / bounds[name], name) for name in errors if not errors[name] <= bounds[name]]
        if failing:
            _, name = max(failing)
            why = f" ({FLOOR_FACTOR:g}x torch float32's own error)" if bounds[name] > base else ""
            raise VerificationError(f"{name} differs from torch float64 autograd: relative error "
                                    f"{errors[name]:.3g} > {bounds[name]:.3g}{why}")
        return max(errors.values()), max(bounds.values())
