"""The oracle: the float64 reference confirmed by code that is not the code timed.

torch float64 is what every case is compared with, and torch-cpu is itself a timed backend; the
reference is trusted only when an independent float64 implementation and finite differences agree
with it (``confirm``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from implementations import make_trainer

from .reference import CONFIRMATION, ORACLE, SEED, Reference, _steps_of, spec_of, step_errors

# -- the oracle: the float64 reference confirmed by code that is not the code timed --------------
# torch float64 is what every case is compared with, and torch-cpu is itself a timed backend; it is
# trusted only when the hand-written numpy float64 code (no shared line with torch) computes the
# same whole step to ORACLE_TOLERANCE, and when finite differences of torch's float64 loss along a
# random direction agree with torch's gradient to FD_TOLERANCE. Measured here: numpy and torch agree
# to <= 1e-13 on every config; the finite differences to <= 1e-8 (docs/method.md).
ORACLE_TOLERANCE = 1e-10  # on the first step
ORACLE_TWO_STEPS = 1e-8  # after the second: it starts from weights that differ by float64's rounding
FD_TOLERANCE = 1e-5
# The perturbation, relative to each tensor's root-mean-square value. Small, because ReLU kinks lie
# everywhere: at resnet50-32 a step of 1e-6 crosses enough of them to leave an error of 7e-4, 1e-7
# one of 7e-6, 1e-8 one of 7e-9 (float64 rounding of the loss difference is ~1e-9 there).
FD_STEP = 1e-8
# numpy's float64 step runs on at most the model's oracle_max_samples samples of a batch (ResNet-50:
# 32 images; its reasons beside it in implementations/architectures/resnet/verification.py). Beyond them numpy
# confirms torch float64 on the batch's first samples, with the same weights (a torch float64 step of
# its own on that slice); the full batch's statistics (every batch norm's mean and variance over all
# the images) are checked apart, by the finite differences, which run on the whole batch.
# Finite differences on a whole batch beyond that slice miss by more: every image adds ReLU inputs
# near zero for the perturbation to cross. Measured on the H100 machine's 16 cores (bench run's log,
# results/reference/nvidia-h100-80gb-hbm3.log): 8e-8 at resnet50-224@1, 1.0e-6 at @32, 2.2e-5 at
# @256. A 1% fault in the gradients still misses by about 1e-2.
FD_TOLERANCE_WHOLE_BATCH = 1e-4


def directional_derivative_error(config, reference: Reference, seed: int = SEED) -> float:
    """|finite difference - gradient . v| / |gradient . v| for the float64 loss along a random ``v``.

    ``v`` perturbs every trainable tensor by ``FD_STEP`` (and a tenth of it) of its own root-mean-square value (so that
    batch-norm scales and convolution weights move alike); centred differences.
    """
    rng = np.random.default_rng(seed + 7)
    direction = {}
    for name, g in reference.grads.items():
        w = reference.params[name]
        rms = float(np.sqrt(np.mean(np.square(w)))) or 1.0
        direction[name] = rng.standard_normal(np.shape(w)) * rms * FD_STEP
    expected = sum(float(np.sum(reference.grads[name] * v)) for name, v in direction.items())

    def loss_at(sign: float) -> float:
        moved = {name: value + sign * direction[name] if name in direction else value
                 for name, value in reference.params.items()}
        trainer = make_trainer(ORACLE, config.model, config.spec, moved, "float64")
        return trainer.loss(trainer.prepare_batch(reference.x, reference.y))

    def error(scale: float) -> float:
        estimate = (loss_at(scale) - loss_at(-scale)) / (2 * scale)
        return abs(estimate - expected) / abs(expected) if expected else float(abs(estimate))

    # Where the first step size misses, a tenth of it, the smaller error kept: a kink crossed shows
    # at one of them, a gradient that is not the loss's derivative at both.
    first = error(1.0)
    return first if first <= FD_TOLERANCE else min(first, error(0.1))


@dataclass
class Oracle:
    """How far the independent checks are from the float64 reference; ``error`` names what failed.
    ``numpy_images``: how many of the batch's images numpy's step ran on (all, or the model's oracle_max_samples)."""

    numpy_error: float
    numpy_worst: str
    fd_error: float
    error: str | None
    numpy_images: int = 0
    batch_size: int = 0

    def describe(self) -> str:
        sliced = (f" on the first {self.numpy_images} of {self.batch_size} images"
                  if self.numpy_images < self.batch_size else "")
        return (f"torch float64 = numpy float64{sliced} within {self.numpy_error:.1e} (worst: {self.numpy_worst}); "
                f"finite differences{' on the whole batch' if sliced else ''} within {self.fd_error:.1e}")


def oracle_slice(config, reference: Reference) -> Reference:
    """The reference numpy is compared with: ``reference`` itself, or for a ResNet batch over
    the model's oracle_max_samples a torch float64 reference of its own on the batch's first samples."""
    limit = spec_of(config.model).oracle_max_samples
    if limit is None or len(reference.x) <= limit:
        return reference
    x, y = reference.x[:limit], reference.y[:limit]
    result = _steps_of(ORACLE, config, reference.params, x, y, "float64", reference.result.steps)
    return Reference(reference.params, x, y, result)


def confirm(config, reference: Reference) -> Oracle:
    """Compare torch float64 with numpy float64 (the whole two-step result, on at most
    oracle_max_samples ResNet images) and with finite differences (on the whole batch)."""
    full = reference
    reference = oracle_slice(config, full)
    independent = _steps_of(CONFIRMATION, config, reference.params, reference.x, reference.y, "float64",
                            reference.result.steps)
    problems = []
    worst_ratio, worst, worst_error = -1.0, "", 0.0
    for result, bound, when in ((independent.first(), ORACLE_TOLERANCE, "the first step"),
                                (independent, ORACLE_TWO_STEPS, "two steps")):
        errors = step_errors(result, reference)
        name = max(errors, key=errors.get)
        if errors[name] / bound > worst_ratio:
            worst_ratio, worst, worst_error = errors[name] / bound, f"{name}, {when}", errors[name]
        if not errors[name] <= bound:
            loss = f" (the loss itself by {errors['loss']:.3g})" if name != "loss" and errors["loss"] > bound else ""
            problems.append(f"torch float64 and numpy float64 disagree on {name} after {when}: relative "
                            f"{errors[name]:.3g} > {bound:g}{loss}")
        if result.steps == independent.steps or problems:
            break
    fd = directional_derivative_error(config, full)
    fd_bound = FD_TOLERANCE if full is reference else FD_TOLERANCE_WHOLE_BATCH
    if not fd <= fd_bound:
        problems.append(f"finite differences of torch's float64 loss along a random direction differ from its "
                        f"gradient by {fd:.3g} (> {fd_bound:g})")
    error = None
    if problems:
        error = f"the float64 reference of {config.name} is not confirmed: " + "; ".join(problems)
    return Oracle(worst_error, worst, fd, error, len(reference.x), len(full.x))
