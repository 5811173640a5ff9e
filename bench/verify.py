"""Verification: every case is compared with PyTorch float64 autograd before it may be timed."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from implementations import architecture, get_backend, make_trainer
from implementations.registry import CONFIRMATION as _CONFIRMATION_KIND
from implementations.registry import ORACLE as _ORACLE_KIND
from implementations.registry import verifier

# torch float64 (the oracle), confirmed by an independent float64 implementation: whichever
# backends describe themselves so (``Backend.verifies``)
ORACLE = verifier(_ORACLE_KIND)
CONFIRMATION = verifier(_CONFIRMATION_KIND)

# Each model's bounds live in its description (``VERIFICATION`` in implementations/architectures/,
# with the measurements they were sized from): per precision, the largest accepted relative error
# ||x - ref|| / ||ref||, and tighter bounds for the kinds of tensor low precision barely moves. The
# precision is the dtype, except on the GPU rungs (see ``precision``): tf32 (float32 with TF32
# products) and bfloat16 (autocast; float32 master weights).
SEED = 0


def tensor_kind(key: str) -> str:
    """What a ``step_errors`` key is: loss, running statistic, update, momentum, or the gradient of a
    layer kind (fc, batch norm, convolution), read from torch's parameter names."""
    if key == "loss":
        return "loss"
    if key.endswith(("running_mean", "running_var")):
        return "running statistic"
    for suffix, kind in ((UPDATE, "update"), (MOMENTUM, "momentum")):
        if key.endswith(suffix):
            return kind
    module = key.rsplit(".", 1)[0].rsplit(".", 1)[-1]
    if module.startswith("fc"):
        return "fc gradient"
    if module.startswith("bn") or module == "1":  # downsample.1: the shortcut's batch norm
        return "batch-norm gradient"
    return "convolution gradient"


def spec_of(model: str):
    """How ``model`` is verified (its architecture's ``VERIFICATION``)."""
    return architecture(model).VERIFICATION


def precision(model: str, dtype: str, amp_dtype: str | None = None, tf32_matmul: bool | None = None,
              tf32_cudnn: bool | None = None) -> str:
    """What a case computes in: ``amp_dtype`` when autocast runs, ``tf32`` when float32 products
    the model uses may run in TF32 (matmuls for every model, cuDNN convolutions for resnet50),
    else ``dtype``."""
    if amp_dtype:
        return amp_dtype
    if dtype == "float32" and (tf32_matmul or (spec_of(model).tf32_convolutions and tf32_cudnn)):
        return "tf32"
    return dtype


def tolerance(model: str, dtype: str, precision: str | None = None, key: str | None = None) -> float:
    """The bound for ``model`` computed in ``precision`` (default: ``dtype`` itself); for tensor
    ``key`` (a ``step_errors`` key), its kind's where the model's ``kind_tolerances`` has one."""
    precision = precision or dtype
    spec = spec_of(model)
    kinds = spec.kind_tolerances.get(precision, {})
    kind = tensor_kind(key) if key is not None and kinds else None
    return kinds[kind] if kind in kinds else spec.tolerances[precision]


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


# -- the whole step: two steps from the reference weights ------------------------------------------
@dataclass
class StepResult:
    """What ``steps`` training steps from the reference weights produced, as float64-readable arrays.

    loss, grads: the first step's, before its update. running: batch-norm running statistics after
    the first step. after: per step, the trainable parameters and SGD's momentum buffers after it
    (two steps, so that the momentum term matters: from zero velocity, step one cannot show it).
    """

    loss: float
    grads: dict
    running: dict
    after: list[tuple[dict, dict]]

    @property
    def steps(self) -> int:
        return len(self.after)

    def first(self) -> StepResult:
        """The same result as if only the first step had run."""
        return StepResult(self.loss, self.grads, self.running, self.after[:1])


VERIFY_STEPS = 2


def verify_steps(model: str, precision: str) -> int:
    """How many steps a case of ``model`` computed in ``precision`` is verified over."""
    return 1 if precision in spec_of(model).one_step else VERIFY_STEPS


def case_steps(config, backend: str, precision: str) -> int:
    """Steps a case is verified over: one where the config verifies that backend from its timed
    step (``config.verify_timed_round``: a step of a minute or more), else ``verify_steps``."""
    return 1 if backend in config.verify_timed_round else verify_steps(config.model, precision)


def run_steps(trainer, batch, steps: int = VERIFY_STEPS, stepped: bool = False) -> StepResult:
    """Run ``steps`` training steps (``stepped``: the first one has run already, e.g. timed) and
    read what verification compares."""
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
    return StepResult(float(loss), grads, running, after)


def parameter_shapes(result: StepResult) -> str:
    """The trainable parameters as the backend held them after its steps, ``name RxC`` joined by
    ``; `` in the trainer's order (the results' ``parameter_shapes``)."""
    params = result.after[-1][0]
    return "; ".join(f"{name} {'x'.join(str(n) for n in np.shape(value))}" for name, value in params.items())


@dataclass
class Reference:
    """The float64 PyTorch result for one config's weights and batch: ``result`` of two steps."""

    params: dict
    x: np.ndarray
    y: np.ndarray
    result: StepResult

    @property
    def loss(self) -> float:
        return self.result.loss

    @property
    def grads(self) -> dict:
        return self.result.grads




def make_inputs(config, seed: int = SEED):
    """The initial weights and one batch of a config, the same for every backend."""
    arch = architecture(config.model)
    params = arch.VERIFICATION.initial_params(arch.init_params(config.spec, seed))
    kwargs = {"resolution": config.resolution} if config.resolution else {}
    x, y = arch.make_batch(config.spec, config.batch_size, seed + 1, **kwargs)
    return params, x, y


def _steps_of(backend: str, config, params, x, y, dtype: str, steps: int = VERIFY_STEPS) -> StepResult:
    trainer = make_trainer(backend, config.model, config.spec, params, dtype)
    return run_steps(trainer, trainer.prepare_batch(x, y), steps)


def reference_steps(config) -> int:
    """Steps the reference needs: as many as the config's most-verified precision (one for the
    float32-only ResNet-50 throughput configs, which halves their reference and oracle)."""
    dtypes = config.dtypes or ("float32", "float64")
    return max(verify_steps(config.model, dtype) for dtype in dtypes)


def compute_reference(config, seed: int = SEED) -> Reference:
    params, x, y = make_inputs(config, seed)
    return Reference(params, x, y, _steps_of(ORACLE, config, params, x, y, "float64", reference_steps(config)))


class VerificationError(Exception):
    pass


UPDATE = " update"  # key suffix: a parameter's change over the steps (its value minus the initial one)
MOMENTUM = " momentum"  # key suffix: a parameter's momentum buffer after the steps


def step_errors(result: StepResult, reference: Reference) -> dict[str, float]:
    """Relative error of everything a step computes, keyed by tensor: ``loss``, every gradient, every
    running statistic, and per parameter its update (``"<name> update"``: the change over
    ``result.steps`` steps; comparing the parameters themselves would hide an update error behind
    the weights' size) and its momentum buffer (``"<name> momentum"``)."""
    ref = reference.result
    errors = loss_and_gradient_errors(result.loss, result.grads, ref.loss, ref.grads)
    errors.update((name, relative_error(result.running[name], value)) for name, value in ref.running.items())
    params, momentum = result.after[-1]
    ref_params, ref_momentum = ref.after[result.steps - 1]
    for name, initial in reference.params.items():
        if name in ref_params:
            errors[name + UPDATE] = relative_error(np.asarray(params[name], np.float64) - initial,
                                                   ref_params[name] - initial)
            errors[name + MOMENTUM] = relative_error(momentum[name], ref_momentum[name])
    return errors


def rounding_allowance(reference: Reference, steps: int, dtype: str) -> dict[str, float]:
    """The relative error an update picks up from storing the parameters in ``dtype`` alone:
    4 roundings (the initial weights and each of up to 3 writes) of ``||w||`` over ``||update||``."""
    eps = float(np.finfo(np.float32 if dtype != "float64" else np.float64).eps) / 2
    ref_params = reference.result.after[steps - 1][0]
    out = {}
    for name, new in ref_params.items():
        change = np.linalg.norm(new - reference.params[name])
        out[name + UPDATE] = 4 * eps * np.linalg.norm(reference.params[name]) / change if change > 0 else 0.0
    return out


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
# 32 images; its reasons beside it in implementations/architectures/resnet.py). Beyond them numpy
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

    def __init__(self, config, seed: int = SEED):
        self.config = config
        start = time.perf_counter()
        self.reference = compute_reference(config, seed)
        built = time.perf_counter()
        self.oracle = confirm(config, self.reference)
        # wall seconds of the float64 reference and of its oracle (what a large batch costs)
        self.seconds = {"reference": built - start, "oracle": time.perf_counter() - built}
        self._floors: dict[str, dict[str, float]] = {}

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
                    result = _steps_of(source, self.config, ref.params, ref.x, ref.y, "float32",
                                       verify_steps(self.config.model, "float32"))
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
