"""Verification: every case is compared with PyTorch float64 autograd before it may be timed.

This module judges a case (``Verifier``: a config's confirmed reference, the floors of float32
bounds, and the verdict on a case's steps); what a step is compared with lives in
``bench.reference`` and how the reference is confirmed in ``bench.oracle``. The names callers use
from those two are imported here, so that ``bench.verify`` stays the one interface to verification.
"""

from __future__ import annotations

import copy
import time

import numpy as np

from implementations import get_backend

from .oracle import FD_TOLERANCE, ORACLE_TOLERANCE, Oracle, confirm, directional_derivative_error  # noqa: F401
from .reference import (CONFIRMATION, MOMENTUM, ORACLE, SEED, UPDATE, Reference, StepResult,  # noqa: F401
                        VerificationError, _steps_of, case_steps, compute_reference, loss_and_gradient_errors,
                        max_relative_error, parameter_shapes, precision, relative_error, rounding_allowance,
                        run_steps, sharded_reference, spec_of, step_errors, tensor_kind, tolerance,
                        verify_steps)

# Where a precision's bound is floored by an implementation's own error in that precision, per tensor.
# float32 ResNet-50 gradients are ill-conditioned even at the damped verification point (see
# the model's initial_params): a ReLU input within float32's rounding of zero flips, and where such a unit has
# leverage a whole batch-norm gradient moves. Which tensors, and by how much, depends on the weights
# and batch (measured, torch float32 against float64 at residual scale 0.1: seed 0 gives at most
# 1e-5 at 224 px and 1.4e-4 at 32 px; five of eight other seeds give 2e-3 to 1.4e-2 at 224 px). So
# each tensor's bound is max(tolerance, FLOOR_FACTOR x a float32 implementation's error on that
# tensor, at 1 thread and all cores): at seed 0 that is 1e-3 to 1.4e-3 everywhere, and a 1% error in
# any one tensor fails. The implementation is never the one judged, nor one sharing its code
# (``floor_source``): torch float32 judged by a floor of its own error passed gradients 1.5x too
# large, or NaN. ``bench verify`` and ``bench run`` name every tensor whose bound reaches 1% ("blind
# spots"), so a machine where this stops holding says so.
FLOOR_FACTOR = 10.0
# The float32 implementations a floor is measured with, in order of preference: two of different
# code (torch's autograd; the hand-written layers and trainer).
FLOOR_SOURCES = (ORACLE, CONFIRMATION)


def floor_source(backend: str) -> str:
    """The implementation whose float32 error floors ``backend``'s bounds: the first of
    FLOOR_SOURCES that shares no code with it (numpy judges torch's rungs, torch-cpu the rest)."""
    family = get_backend(backend).code_family
    return next(source for source in FLOOR_SOURCES if get_backend(source).code_family != family)


def broken_tensor(result: StepResult, reference_grads: dict) -> str | None:
    """What makes a step's result unusable whatever its bound, in one line: a tensor holding NaN or
    infinity, or a gradient that is all zeros where the reference's is not. None where there is
    nothing of the kind."""
    tensors = {"loss": result.loss, **result.grads, **result.running}
    for step, (params, momentum) in enumerate(result.after, 1):
        tensors.update((f"{name} after step {step}", value) for name, value in params.items())
        tensors.update((f"{name}{MOMENTUM} after step {step}", value) for name, value in momentum.items())
    for name, value in tensors.items():
        value = np.asarray(value, dtype=np.float64)
        if np.isnan(value).any():
            return f"{name} holds NaN"
        if np.isinf(value).any():
            return f"{name} holds infinity"
    for name, value in result.grads.items():
        if not np.any(np.asarray(value, dtype=np.float64)) and np.any(reference_grads.get(name, 0.0)):
            return f"{name} is all zeros"
    return None


class Verifier:
    """One config's float64 reference, confirmed by the oracle, and what a case's steps must meet."""

    shards = 1  # >1: judging a data-parallel case over that many processes (``sharded``)

    def __init__(self, config, seed: int = SEED):
        self.config = config
        start = time.perf_counter()
        self.reference = compute_reference(config, seed)
        built = time.perf_counter()
        self.oracle = confirm(config, self.reference)
        # wall seconds of the float64 reference and of its oracle (what a large batch costs)
        self.seconds = {"reference": built - start, "oracle": time.perf_counter() - built}
        self._floors: dict[str, dict[str, float]] = {}
        self._sharded: dict[int, Verifier] = {}
        self._whole = self.reference  # the whole batch's, kept by a sharded twin for its floors

    def sharded(self, shards: int) -> Verifier:
        """This verifier for a data-parallel case over ``shards`` processes: the same tolerances,
        judging against the float64 steps per shard (``bench.reference.sharded_reference``) instead
        of the whole batch's, float32 floors measured on those sharded steps too. Built once per
        number of shards."""
        if shards == 1:
            return self
        if shards not in self._sharded:
            twin = copy.copy(self)
            twin.reference = sharded_reference(self.config, self.reference, shards)
            twin.shards, twin._sharded, twin._floors = shards, {}, {}
            self._sharded[shards] = twin
        return self._sharded[shards]

    def floor(self, source: str) -> dict[str, float]:
        """``source``'s own float32 per-tensor errors on the same weights and batch, the worse of 1
        thread and all cores (computed once per source). VerificationError where one is not finite:
        a broken implementation sets no bound."""
        if source not in self._floors:
            from .machine import available_cores  # noqa: PLC0415
            from .threads import thread_limit  # noqa: PLC0415

            ref = self.reference
            samples = []
            for threads in sorted({1, available_cores()}):
                with thread_limit(threads):
                    steps = verify_steps(self.config.model, "float32")
                    if self.shards == 1:
                        result = _steps_of(source, self.config, ref.params, ref.x, ref.y, "float32", steps)
                    else:  # the same sharded step as the case judged, by the floor's implementation
                        whole = Reference(ref.params, ref.x, ref.y, self._whole.result)
                        result = sharded_reference(self.config, whole, self.shards, source, "float32").result
                    result = result if result.steps <= steps else result.first()
                    samples.append(step_errors(result, ref))
            floor = {name: max(sample[name] for sample in samples) for name in samples[0]}
            broken = sorted(name for name, error in floor.items() if not np.isfinite(error))
            if broken:
                raise VerificationError(f"{source} float32, whose error sets the float32 bounds here, is not finite "
                                        f"on {len(broken)} tensor(s) ({broken[0]}, ...): no bound can be set")
            self._floors[source] = floor
        return self._floors[source]

    def _floor_for(self, backend: str, dtype: str, precision: str | None) -> tuple[str, dict[str, float]]:
        if (precision or dtype) not in spec_of(self.config.model).floored:
            return "", {}
        source = floor_source(backend)
        return source, self.floor(source)

    def bounds(self, backend: str, dtype: str, precision: str | None, steps: int) -> dict[str, float]:
        """The largest accepted relative error per tensor key of ``step_errors``: the precision's
        tolerance, raised where float32 rounding of the weights alone exceeds it (updates) and,
        for float32 ResNet-50, to FLOOR_FACTOR x the float32 error on that very tensor of an
        implementation that shares no code with ``backend`` (``floor_source``)."""
        rounding = rounding_allowance(self.reference, steps, dtype)
        floor = self._floor_for(backend, dtype, precision)[1]
        return {key: max(tolerance(self.config.model, dtype, precision, key), rounding.get(key, 0.0),
                         FLOOR_FACTOR * floor.get(key, 0.0)) for key in self._keys()}

    def _keys(self) -> list[str]:
        """Every key a step is judged on, in the order a step computes them: the loss, each gradient,
        each running statistic, each parameter's update, each momentum buffer."""
        grads = self.reference.grads
        return ["loss", *grads, *self.reference.result.running, *(name + UPDATE for name in grads),
                *(name + MOMENTUM for name in grads)]

    def blind_spots(self, backend: str, dtype: str, precision: str | None = None) -> list[str]:
        """Tensors whose bound for ``backend`` is 1% or more, from its precision's tolerance (the low
        precisions': most of their tensors) or a floor: a 1% fault there would pass. (An update's
        rounding allowance is left out: storing a weight in float32 loses an update far below the
        weight's size, in every implementation; its gradient and momentum still count.)"""
        model = self.config.model
        floor = self._floor_for(backend, dtype, precision)[1]
        return sorted(key for key in self._keys()
                      if max(tolerance(model, dtype, precision, key), FLOOR_FACTOR * floor.get(key, 0.0)) >= 0.01)

    def check(self, backend: str, dtype: str, precision: str | None, result: StepResult) -> tuple[float, float]:
        """``(largest error, largest bound)`` of ``result`` (``backend``'s steps from the reference
        weights); VerificationError naming the worst tensor otherwise, or the oracle's failure."""
        if self.oracle.error:
            raise VerificationError(self.oracle.error)
        if result.steps > verify_steps(self.config.model, precision or dtype):
            result = result.first()
        broken = broken_tensor(result, self.reference.grads)
        if broken:
            raise VerificationError(f"{broken}, unlike torch float64's")
        errors = step_errors(result, self.reference)
        bounds = self.bounds(backend, dtype, precision, result.steps)
        # the first failing key in the order a step computes them (loss, gradients, running
        # statistics, updates, momentum): a gradient 1% off moves its update and momentum too
        failing = [key for key in bounds if key in errors and not errors[key] <= bounds[key]]
        if failing:
            key = failing[0]
            source, floor = self._floor_for(backend, dtype, precision)
            raised = bool(floor) and bounds[key] == FLOOR_FACTOR * floor.get(key, 0.0)
            why = f" ({FLOOR_FACTOR:g}x {source} float32's error)" if raised else ""
            what = (f"after {result.steps} step{'s' if result.steps > 1 else ''}"
                    if key.endswith((UPDATE, MOMENTUM)) else "")
            raise VerificationError(f"{key}{' ' + what if what else ''} differs from torch float64 (confirmed by "
                                    f"numpy float64 and finite differences): relative error {errors[key]:.3g} > "
                                    f"{bounds[key]:.3g}{why}"
                                    f"{f' (and {len(failing) - 1} more tensors)' if len(failing) > 1 else ''}")
        return max(errors.values()), max(bounds.values())
