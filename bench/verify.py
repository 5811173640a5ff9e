"""Verification: every case is compared with PyTorch float64 autograd before it may be timed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from implementations import architecture, make_trainer

# (model, dtype) -> largest accepted relative error ||x - ref|| / ||ref||
TOLERANCES = {
    ("mlp", "float64"): 1e-8,
    ("mlp", "float32"): 1e-4,
    ("resnet50", "float64"): 1e-8,
    ("resnet50", "float32"): 1e-3,
}
SEED = 0


def tolerance(model: str, dtype: str) -> float:
    return TOLERANCES[(model, dtype)]


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


def max_relative_error(loss: float, grads: dict, ref_loss: float, ref_grads: dict) -> tuple[float, str]:
    """The largest relative error over the loss and every gradient, and which tensor it was."""
    if set(grads) != set(ref_grads):
        raise ValueError(f"gradient names differ from the reference: {sorted(set(grads) ^ set(ref_grads))}")
    worst, where = relative_error(loss, ref_loss), "loss"
    for name, ref in ref_grads.items():
        err = relative_error(grads[name], ref)
        if err > worst:
            worst, where = err, name
    return worst, where


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


def check(case_model: str, dtype: str, loss: float, grads: dict, reference: Reference) -> float:
    """The max relative error; VerificationError when it is above the tolerance."""
    error, where = max_relative_error(loss, grads, reference.loss, reference.grads)
    bound = tolerance(case_model, dtype)
    if not error <= bound:
        raise VerificationError(f"{where} differs from torch float64 autograd: relative error {error:.3g} > {bound:g}")
    return error
