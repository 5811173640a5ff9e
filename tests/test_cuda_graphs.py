"""The torch-cuda-graphs rung: the whole step captured once and replayed.

On the CPU nothing is captured, but the warm-up before capture and the restore after it run as on
the GPU, so these tests hold the restore to the compiled rung step by step: a capture that left the
warm-up's training in the weights, buffers or momentum would start from another state. Tests marked
``cuda`` check the replay itself on the GPU machine (``python3 -m pytest -m cuda -q``).
"""

import math

import numpy as np
import pytest

from bench import verify
from bench.results import ResultsWriter, read_results
from bench.runner import Runner
from bench.configs import get_config
from bench.profiles import TimingBudget
from bench.suite import Case
from implementations import CaseUnsupported, make_trainer
from implementations.torch_autograd import captured
from tests.conftest import cuda_skip_reason
from tests.test_gpu_rungs import SMALL_RESNET, mlp_inputs, resnet_inputs

TINY_BUDGET = TimingBudget(repeats=2, block_time=0.01, min_time=0.001, min_rounds=3, slow_budget=0.2, warmup_time=0.001)


def _steps(backend, model, spec, params, x, y, device, steps=2):
    trainer = make_trainer(backend, model, spec, params, "float32", device=device)
    return trainer, verify.run_steps(trainer, trainer.prepare_batch(x, y), steps)


def _largest_difference(a: verify.StepResult, b: verify.StepResult) -> float:
    """The largest relative difference of two runs' loss, gradients, running statistics, and
    weights and momentum after every step."""
    errors = [verify.max_relative_error(a.loss, a.grads, b.loss, b.grads)[0]]
    errors += [verify.relative_error(b.running[k], a.running[k]) for k in a.running]
    for (weights_a, momentum_a), (weights_b, momentum_b) in zip(a.after, b.after, strict=True):
        errors += [verify.relative_error(weights_b[k], weights_a[k]) for k in weights_a]
        errors += [verify.relative_error(momentum_b[k], momentum_a[k]) for k in momentum_a]
    return max(errors)


@pytest.mark.parametrize("model", ["mlp", "resnet50"])
def test_warmup_before_capture_leaves_the_state_as_it_found_it(model):
    """Three steps of the graphed rung equal the compiled rung's (the same compiled forward; the
    fused update adds in the same order): the warm-up's three training steps are undone, momentum
    and batch-norm statistics included."""
    if model == "mlp":
        spec, params, x, y = mlp_inputs("mlp-mnist")
    else:
        spec, (params, x, y) = SMALL_RESNET, resnet_inputs()
    _, compiled = _steps("torch-cuda-compile", model, spec, params, x, y, "cpu", steps=3)
    trainer, graphed = _steps("torch-cuda-graphs", model, spec, params, x, y, "cpu", steps=3)
    assert _largest_difference(compiled, graphed) <= 1e-6
    assert trainer.optimizer.defaults["fused"] is True
    assert trainer.capture_seconds > 0 and math.isfinite(trainer.compile_seconds)
    assert trainer._graph is None  # nothing is captured off the GPU


def test_a_step_before_the_first_one_is_what_is_restored():
    """The restore puts back the state as the first step found it, not the initial weights: a
    trainer that has already stepped (and has momentum) and is then prepared again continues
    where it was, like the compiled rung."""
    spec, params, x, y = mlp_inputs("mlp-tiny")
    compiled = make_trainer("torch-cuda-compile", "mlp", spec, params, "float32", device="cpu")
    graphed = make_trainer("torch-cuda-graphs", "mlp", spec, params, "float32", device="cpu")
    for trainer in (compiled, graphed):
        batch = trainer.prepare_batch(x, y)
        trainer.step(batch)
        trainer.loss_and_grads(batch)  # gives the graphed rung new .grad tensors: it prepares anew
        trainer.step(batch)
    assert not graphed._ready or graphed.capture_seconds > 0
    for name, value in compiled.momentum_buffers().items():
        assert verify.relative_error(graphed.momentum_buffers()[name], value) <= 1e-6, name
    for name, value in compiled.state_dict().items():
        assert np.allclose(graphed.state_dict()[name], value, rtol=1e-6, atol=0), name


def test_a_step_that_cannot_be_captured_is_skipped_with_the_reason(tmp_path, monkeypatch):
    """Where capture raises on the GPU, the case is recorded as skipped, saying why (not failed)."""
    spec, params, x, y = mlp_inputs("mlp-tiny")

    def refuse(self, batch):
        raise CaseUnsupported("torch-cuda-graphs: this step cannot be captured in a CUDA graph: operation not "
                              "permitted when stream is capturing")

    monkeypatch.setattr(captured.CapturedTorchTrainer, "_prepare", refuse)
    runner = Runner(ResultsWriter(tmp_path / "r.parquet"), TINY_BUDGET, "custom", progress=False)
    case = Case(get_config("mlp-tiny"), "torch-cuda-graphs", "float32", 1)
    base = runner.stamp.case_row(case)
    outcome = _prepare_on_cpu(runner, case, base, monkeypatch)
    assert outcome.status == "skipped" and "cannot be captured in a CUDA graph" in outcome.error
    assert outcome.rows[0].status == "skipped"


def _prepare_on_cpu(runner, case, base, monkeypatch):
    """``runner.prepare(case)`` with the GPU rung built on the CPU (its code, without a GPU)."""
    import bench.case_preparation as preparation  # noqa: PLC0415

    real = preparation.make_trainer
    monkeypatch.setattr(preparation, "make_trainer", lambda *a, **k: real(*a, **k, device="cpu"))
    monkeypatch.setattr(preparation, "get_backend", lambda name: _Available(real_backend(name)))
    return runner.prepare(case)


def real_backend(name):
    from implementations import get_backend  # noqa: PLC0415

    return get_backend(name)


class _Available:
    """A backend record that says it can run here (the GPU rung's code runs on the CPU in tests)."""

    def __init__(self, backend):
        self._backend = backend

    def unavailable(self):
        return None

    def __getattr__(self, name):
        return getattr(self._backend, name)


# -- on the GPU ------------------------------------------------------------------------------------
@pytest.mark.cuda
@pytest.mark.skipif(cuda_skip_reason() is not None, reason=str(cuda_skip_reason()))
@pytest.mark.parametrize("model", ["mlp", "resnet50"])
def test_replays_train_like_the_compiled_step_batch_by_batch(model):
    """On the GPU the step is a replay, and each replay reads the batch it is given: over three
    steps on two alternating batches, losses, weights and momentum follow the compiled rung's."""
    if model == "mlp":
        spec, params, x, y = mlp_inputs("mlp-mnist")
        x2, y2 = mlp_inputs("mlp-mnist", seed=5)[2:]
    else:
        spec, (params, x, y) = SMALL_RESNET, resnet_inputs()
        x2, y2 = resnet_inputs(seed=5)[1:]
    runs = {}
    for backend in ("torch-cuda-compile", "torch-cuda-graphs"):
        trainer = make_trainer(backend, model, spec, params, "float32", device="cuda")
        batches = [trainer.prepare_batch(x, y), trainer.prepare_batch(x2, y2)]
        losses = [float(trainer.step(batches[i % 2])) for i in range(3)]
        runs[backend] = (trainer, losses, trainer.state_dict(), trainer.momentum_buffers())
    graphed, losses, state, momentum = runs["torch-cuda-graphs"]
    _, want_losses, want_state, want_momentum = runs["torch-cuda-compile"]
    assert graphed._graph is not None and graphed.capture_seconds > 0
    assert losses[0] != losses[1]  # the second batch was read
    assert np.allclose(losses, want_losses, rtol=1e-2), (losses, want_losses)
    for name, value in want_momentum.items():
        assert verify.relative_error(momentum[name], value) <= 5e-2, name
    for name in want_momentum:
        assert verify.relative_error(state[name], want_state[name]) <= 1e-2, name
