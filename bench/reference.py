"""What a case's training step is compared with, and how far apart it may be.

The bounds per model, precision and kind of tensor (each model's ``VERIFICATION``); the whole step
read as a ``StepResult`` (loss, gradients, running statistics, parameters and momentum after each
of two steps); the float64 ``Reference`` of a config; and the relative error of everything a step
computes. ``bench.oracle`` confirms the reference; ``bench.verify`` judges a case against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from implementations import architecture, make_trainer
from implementations.registry import CONFIRMATION as _CONFIRMATION_KIND
from implementations.registry import ORACLE as _ORACLE_KIND
from implementations.registry import verifier
from implementations.trainer import read_steps

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
    read what verification compares (``implementations.trainer.read_steps``)."""
    return StepResult(*read_steps(trainer, batch, steps, stepped))


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
    float32-only ResNet-50 throughput configs, which halves their reference and oracle; the model
    says which sizes are float32 only: ``ModelConfig.limits``)."""
    dtypes = config.limits.dtypes or ("float32", "float64")
    return max(verify_steps(config.model, dtype) for dtype in dtypes)


def compute_reference(config, seed: int = SEED) -> Reference:
    params, x, y = make_inputs(config, seed)
    return Reference(params, x, y, _steps_of(ORACLE, config, params, x, y, "float64", reference_steps(config)))


def sharded_reference(config, reference: Reference, shards: int, backend: str = ORACLE,
                      dtype: str = "float64") -> Reference:
    """The float64 steps a data-parallel case over ``shards`` processes must give: ``reference``'s
    weights and batch, the batch cut into ``shards`` equal contiguous shards (rank r holds the r-th).
    (``backend`` and ``dtype``: the same steps by another implementation in float32, whose error
    floors a float32 case's bounds: ``Verifier.floor``.)

    Each step: every shard's loss and gradients from the oracle at the step's weights, batch norm
    normalizing with that shard's own statistics (DDP keeps batch norm local; SyncBatchNorm refuses
    CPU tensors); the gradients averaged (DDP's all-reduce) and applied once by numpy's SGD (the
    hand-written update, ``torch.optim.SGD``'s rule); the running statistics and counters those of
    shard 0 (rank 0's, which DDP broadcasts to every rank at the start of each forward). The loss
    is the shards' mean. Where no layer mixes samples (the MLP) this is the whole batch's step.
    """
    from implementations.numpy_vectorized.layers.dense import sgd_momentum_update  # noqa: PLC0415

    n = len(reference.x)
    if n % shards:
        raise ValueError(f"a batch of {n} does not split evenly over {shards} processes")
    size = n // shards
    arch, spec = architecture(config.model), config.spec
    sgd = arch.default_sgd()
    trainable = list(arch.trainable_names(spec))
    # the weights in the step's dtype once: numpy's update works on them in place, step after step
    state = {name: np.array(value, dtype=dtype) if name in trainable else np.array(value)
             for name, value in reference.params.items()}
    velocity = {name: np.zeros_like(state[name], dtype=dtype) for name in trainable}
    first, after = None, []
    for _ in range(reference_steps(config)):
        losses, total, kept = [], {}, None
        for r in range(shards):
            trainer = make_trainer(backend, config.model, spec, state, dtype)
            part = slice(r * size, (r + 1) * size)
            loss, grads = trainer.loss_and_grads(trainer.prepare_batch(reference.x[part], reference.y[part]))
            losses.append(loss)
            for name, grad in grads.items():  # summed as the all-reduce does, in the step's dtype
                total[name] = total[name] + grad if name in total else np.array(grad)
            if r == 0:
                kept = trainer.state_dict()
        grads = {name: grad / shards for name, grad in total.items()}
        state.update((name, value) for name, value in kept.items() if name not in grads)  # rank 0's buffers
        sgd_momentum_update(state, grads, velocity, sgd.lr, sgd.momentum, sgd.weight_decay, arch.weight_decay_names(spec))
        if first is None:
            running = {name: value for name, value in kept.items() if name.endswith(("running_mean", "running_var"))}
            first = (float(np.mean(losses)), grads, running)
        after.append(({name: state[name].copy() for name in trainable}, {name: v.copy() for name, v in velocity.items()}))
    return Reference(reference.params, reference.x, reference.y, StepResult(*first, after))


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
