"""The verification gate against planted faults: ``bench verify`` must exit 1 and name the tensor.

Each fault is planted with monkeypatch into the code a backend runs (its ``layers`` package, or the
torch trainer), as a bug would be, never into the verifier. A fault in torch reaches the float64
reference itself (torch-cpu float64 is the reference): the oracle, numpy float64 computing the same
two steps, must then refuse the reference. Configs: ``mlp-mnist`` (fast), ``resnet50-32`` for what
only ResNet-50 has (batch norm, weight decay), ``resnet50-224`` once for float32 at full size. The
loops backend's ResNet faults are planted in a reduced ResNet (marked ``loops_resnet``: minutes,
not run by default): its ResNet-50 step takes 1.5 minutes here.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import implementations.numpy_vectorized.layers as numpy_layers
import implementations.pure_python.layers as loops_layers
from bench import cli, verify
from implementations.pure_python.tensor import from_numpy, to_numpy
from implementations.torch_autograd.trainer import TorchTrainer
from tests.conftest import ROOT, cuda_skip_reason

LAYERS = {"loops": loops_layers, "numpy": numpy_layers}


def _verify(capsys, model: str, backend: str) -> tuple[int, dict[str, str]]:
    """Exit code of ``bench verify --models MODEL --backends BACKEND`` and its verdict per dtype."""
    capsys.readouterr()
    code = cli.main(["verify", "--models", model, "--backends", backend])
    verdicts = {}
    for line in capsys.readouterr().out.splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[0] == model and fields[1] == backend:
            verdicts[fields[2]] = line.split("  ")[-1].strip() if "MISMATCH" not in line else \
                line[line.index("MISMATCH"):]
    return code, verdicts


def _scale(backend: str, value, factor: float):
    """``value * factor`` in the backend's own tensor type and dtype."""
    if backend == "loops":
        return from_numpy(to_numpy(value) * factor)
    return value * value.dtype.type(factor)


def _torch_grad_fault(monkeypatch, name: str, factor: float, dtype: torch.dtype | None = None):
    """Every torch step multiplies parameter ``name``'s gradient by ``factor`` (in ``dtype`` only)."""
    original = TorchTrainer._forward_backward

    def faulty(self, batch):
        loss = original(self, batch)
        if dtype is None or self._torch_dtype == dtype:
            dict(self.module.named_parameters())[name].grad.mul_(factor)
        return loss

    monkeypatch.setattr(TorchTrainer, "_forward_backward", faulty)


def _torch_optimizer_fault(monkeypatch, **group):
    """torch.optim.SGD built with ``group``'s settings overriding the trainer's (in every group)."""
    original = TorchTrainer.__init__

    def faulty(self, *args, **kwargs):
        original(self, *args, **kwargs)
        for g in self.optimizer.param_groups:
            g.update(group)

    monkeypatch.setattr(TorchTrainer, "__init__", faulty)


@pytest.fixture(scope="module")
def resnet_verifier():
    """resnet50-32's Verifier, built once: faults planted in numpy leave the torch reference alone."""
    from bench.configs import get_config

    return verify.Verifier(get_config("resnet50-32"))


@pytest.fixture
def cached_resnet(monkeypatch, resnet_verifier):
    """resnet50-32's float64 reference and its oracle, computed once without a fault (the float32
    faults below leave torch float64 and numpy float64 alone); the float32 floors, which run other
    float32 code, are measured afresh in each test with its fault in place, so that each test
    passes or fails on its own."""
    build = verify.Verifier

    def fresh(config):
        if config.name != "resnet50-32":
            return build(config)
        verifier = copy.copy(resnet_verifier)
        verifier._floors = {}
        return verifier

    monkeypatch.setattr(verify, "Verifier", fresh)


# -- a gradient 1% off ---------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["loops", "numpy"])
def test_one_gradient_one_percent_off_fails_every_dtype(monkeypatch, capsys, backend):
    layers = LAYERS[backend]
    original = layers.linear_backward

    def faulty(dout, cache, need_dx=True):
        dx, dw, db = original(dout, cache, need_dx)
        if len(dw) == 10:  # mlp-mnist's output layer: fc2.weight (10, 128), rows or an array
            dw = _scale(backend, dw, 1.01)
        return dx, dw, db

    monkeypatch.setattr(layers, "linear_backward", faulty)
    code, verdicts = _verify(capsys, "mlp-mnist", backend)
    assert code == 1
    assert verdicts and all("MISMATCH" in v and "fc2.weight" in v for v in verdicts.values()), verdicts


def test_a_torch_gradient_one_percent_off_is_refused_by_the_oracle(monkeypatch, capsys):
    _torch_grad_fault(monkeypatch, "fc2.weight", 1.01)
    code, verdicts = _verify(capsys, "mlp-mnist", "torch-cpu")
    assert code == 1
    assert set(verdicts) == {"float32", "float64"}
    for verdict in verdicts.values():
        assert "not confirmed" in verdict and "numpy float64 disagree on fc2.weight" in verdict, verdict


# -- a batch-norm gradient 1% off in float32 only -------------------------------------------------

def _last_batchnorm_gradient_fault(monkeypatch, backend: str, applies=lambda dgamma: True) -> None:
    """The first batch-norm backward after each forward (the network's last batch norm) returns its
    weight gradient 1% off, where ``applies(dgamma)`` (a dtype)."""
    layers = LAYERS[backend]
    forward, backward = layers.batchnorm_forward, layers.batchnorm_backward
    calls = {"since_forward": 0}

    def counting_forward(*args, **kwargs):
        calls["since_forward"] = 0
        return forward(*args, **kwargs)

    def faulty_backward(dout, cache):
        dx, dgamma, dbeta = backward(dout, cache)
        calls["since_forward"] += 1
        if calls["since_forward"] == 1 and applies(dgamma):
            dgamma = _scale(backend, dgamma, 1.01)
        return dx, dgamma, dbeta

    monkeypatch.setattr(layers, "batchnorm_forward", counting_forward)
    monkeypatch.setattr(layers, "batchnorm_backward", faulty_backward)


def test_one_batchnorm_gradient_one_percent_off_in_numpy_float32_fails_float32_only(monkeypatch, capsys,
                                                                                    cached_resnet):
    _last_batchnorm_gradient_fault(monkeypatch, "numpy", lambda dgamma: dgamma.dtype == np.float32)
    code, verdicts = _verify(capsys, "resnet50-32", "numpy")
    assert code == 1
    assert verdicts["float64"] == "ok"
    assert "MISMATCH: layer4.2.bn3.weight" in verdicts["float32"], verdicts


@pytest.mark.slow  # about 35 s: the float64 reference, its oracle and numpy at 224 px
def test_one_batchnorm_gradient_one_percent_off_in_numpy_float32_fails_float32_at_224_px(monkeypatch, capsys):
    """At 224 px, where float32's own errors are largest, a 1% fault in one batch-norm gradient
    still fails float32 (and float64, computed without the fault, passes)."""
    backward = numpy_layers.batchnorm_backward

    def faulty_backward(dout, cache):
        dx, dgamma, dbeta = backward(dout, cache)
        if dgamma.dtype == np.float32 and dgamma.shape == (1024,):  # layer3's last batch norms (bn3)
            dgamma = dgamma * np.float32(1.01)
        return dx, dgamma, dbeta

    monkeypatch.setattr(numpy_layers, "batchnorm_backward", faulty_backward)
    code, verdicts = _verify(capsys, "resnet50-224", "numpy")
    assert code == 1
    assert verdicts["float64"] == "ok"
    assert "MISMATCH: layer3." in verdicts["float32"] and ".bn3.weight" in verdicts["float32"], verdicts


def test_one_batchnorm_gradient_one_percent_off_in_torch_float32_fails_float32_only(monkeypatch, capsys,
                                                                                    cached_resnet):
    _torch_grad_fault(monkeypatch, "layer4.2.bn3.weight", 1.01, torch.float32)
    code, verdicts = _verify(capsys, "resnet50-32", "torch-cpu")
    assert code == 1
    assert verdicts["float64"] == "ok"
    assert "MISMATCH: layer4.2.bn3.weight" in verdicts["float32"], verdicts


@pytest.mark.parametrize("factor", [1.5, float("nan")])
def test_a_wrong_float32_loss_in_torch_fails_torch_float32_at_resnet(monkeypatch, capsys, cached_resnet, factor):
    """torch's cross-entropy 1.5x (or NaN) for float32 inputs only, float64 (the reference)
    untouched: torch-cpu float32 is judged by numpy float32's error, not its own, and fails."""
    original = torch.nn.functional.cross_entropy

    def faulty(logits, y, **kwargs):
        loss = original(logits, y, **kwargs)
        return loss * factor if logits.dtype == torch.float32 else loss

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", faulty)
    code, verdicts = _verify(capsys, "resnet50-32", "torch-cpu")
    assert code == 1
    assert verdicts["float64"] == "ok"
    assert verdicts["float32"].startswith("MISMATCH: loss holds NaN" if factor != factor else "MISMATCH: loss differs"), \
        verdicts


# -- the update: weight decay dropped, momentum ignored ------------------------------------------

def test_weight_decay_dropped_in_numpy_fails(monkeypatch, capsys, cached_resnet):
    original = numpy_layers.sgd_momentum_update

    def faulty(params, grads, velocity, lr, momentum, weight_decay, decay_names):
        return original(params, grads, velocity, lr, momentum, 0.0, decay_names)

    monkeypatch.setattr(numpy_layers, "sgd_momentum_update", faulty)
    code, verdicts = _verify(capsys, "resnet50-32", "numpy")
    assert code == 1
    # the update (or, through the second step's gradients, a momentum buffer) is what differs
    assert verdicts and all("MISMATCH" in v and ("update" in v or "momentum" in v) for v in verdicts.values()), \
        verdicts


def test_weight_decay_dropped_in_torch_is_refused_by_the_oracle(monkeypatch, capsys):
    _torch_optimizer_fault(monkeypatch, weight_decay=0.0)
    code, verdicts = _verify(capsys, "resnet50-32", "torch-cpu")
    assert code == 1
    assert verdicts and all("not confirmed" in v and ("momentum" in v or "update" in v) for v in verdicts.values()), \
        verdicts


@pytest.mark.parametrize("backend", ["loops", "numpy"])
def test_momentum_ignored_fails(monkeypatch, capsys, backend):
    layers = LAYERS[backend]
    original = layers.sgd_momentum_update

    def faulty(params, grads, velocity, lr, momentum, weight_decay, decay_names):
        return original(params, grads, velocity, lr, 0.0, weight_decay, decay_names)

    monkeypatch.setattr(layers, "sgd_momentum_update", faulty)
    code, verdicts = _verify(capsys, "mlp-mnist", backend)
    assert code == 1
    # a first step from zero velocity is the same with or without momentum: the second step shows it
    # (numpy's fault also reaches the oracle, numpy float64: the reference is refused, naming it)
    assert verdicts and all("MISMATCH" in v and ("momentum" in v or "update" in v)
                            and ("after 2 steps" in v or "two steps" in v) for v in verdicts.values()), verdicts


def test_momentum_ignored_in_torch_is_refused_by_the_oracle(monkeypatch, capsys):
    _torch_optimizer_fault(monkeypatch, momentum=0.0)
    code, verdicts = _verify(capsys, "mlp-mnist", "torch-cpu")
    assert code == 1
    # torch.optim.SGD without momentum keeps no buffer at all: the first step already shows it
    assert verdicts and all("not confirmed" in v and "momentum" in v for v in verdicts.values()), verdicts


# -- batch norm's running variance, biased -------------------------------------------------------

def test_biased_running_variance_in_numpy_fails(monkeypatch, capsys, cached_resnet):
    original = numpy_layers.batchnorm_forward

    def faulty(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
        out, cache, new_mean, new_var = original(x, gamma, beta, running_mean, running_var, momentum, eps)
        count = x.shape[0] * x.shape[2] * x.shape[3]
        unbiased = (new_var - (1 - momentum) * running_var) / momentum
        return out, cache, new_mean, (1 - momentum) * running_var + momentum * unbiased * ((count - 1) / count)

    monkeypatch.setattr(numpy_layers, "batchnorm_forward", faulty)
    code, verdicts = _verify(capsys, "resnet50-32", "numpy")
    assert code == 1
    assert verdicts and all("MISMATCH" in v and "running_var" in v for v in verdicts.values()), verdicts


# -- loops, where only ResNet-50 has the code: on a reduced ResNet ---------------------------------
# The loops ResNet-50 step takes 1-1.5 minutes at 32 px, so its whole-step faults are planted in a
# ResNet with one bottleneck per stage (torchvision's widths: what the torch reference needs), at
# 32 px and batch 4: about 50 s per verification, three faults, beyond CI's budget: these run with
# ``nox -s tests -- -m loops_resnet`` (docs/commands.md), and the same layers are tested against
# torch per layer in every run (tests/test_resnet_layers.py).

@pytest.fixture
def small_resnet(monkeypatch):
    """``bench verify --models resnet-small`` is ResNet(Bottleneck, [1, 1, 1, 1]) at 32 px, batch 4."""
    from bench import configs
    from implementations.architectures import resnet

    spec = resnet.ResNetSpec(blocks=(1, 1, 1, 1), num_classes=10)
    monkeypatch.setitem(configs._NAMED, "resnet-small",
                        lambda: configs.ModelConfig("resnet-small", "resnet50", spec, 4, 32))
    return "resnet-small"


@pytest.mark.loops_resnet
def test_one_batchnorm_gradient_one_percent_off_in_loops_resnet_fails(monkeypatch, capsys, small_resnet):
    _last_batchnorm_gradient_fault(monkeypatch, "loops")
    code, verdicts = _verify(capsys, small_resnet, "loops")
    assert code == 1
    assert "MISMATCH: layer4.0.bn3.weight" in verdicts["float64"], verdicts


@pytest.mark.loops_resnet
def test_weight_decay_dropped_in_loops_fails(monkeypatch, capsys, small_resnet):
    original = loops_layers.sgd_momentum_update

    def faulty(params, grads, velocity, lr, momentum, weight_decay, decay_names):
        return original(params, grads, velocity, lr, momentum, 0.0, decay_names)

    monkeypatch.setattr(loops_layers, "sgd_momentum_update", faulty)
    code, verdicts = _verify(capsys, small_resnet, "loops")
    assert code == 1
    assert "MISMATCH" in verdicts["float64"] and ("update" in verdicts["float64"] or "momentum" in verdicts["float64"])


@pytest.mark.loops_resnet
def test_biased_running_variance_in_loops_fails(monkeypatch, capsys, small_resnet):
    original = loops_layers.batchnorm_forward

    def faulty(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
        out, cache, new_mean, new_var = original(x, gamma, beta, running_mean, running_var, momentum, eps)
        count = x.shape[0] * x.shape[2] * x.shape[3]
        old, new = to_numpy(running_var), to_numpy(new_var)
        unbiased = (new - (1 - momentum) * old) / momentum
        return out, cache, new_mean, from_numpy((1 - momentum) * old + momentum * unbiased * ((count - 1) / count))

    monkeypatch.setattr(loops_layers, "batchnorm_forward", faulty)
    code, verdicts = _verify(capsys, small_resnet, "loops")
    assert code == 1
    assert "MISMATCH" in verdicts["float64"] and "running_var" in verdicts["float64"], verdicts


# -- a wrong loss in torch -----------------------------------------------------------------------

def test_a_wrong_torch_loss_is_refused_by_the_oracle(monkeypatch, capsys):
    original = torch.nn.functional.cross_entropy
    monkeypatch.setattr(torch.nn.functional, "cross_entropy",
                        lambda logits, y, **kw: original(logits, y, label_smoothing=0.01, **kw))
    code, verdicts = _verify(capsys, "mlp-mnist", "torch-cpu")
    assert code == 1
    assert verdicts and all("not confirmed" in v and ("disagree on loss" in v or "the loss itself" in v) for v in verdicts.values()), verdicts


def test_the_unplanted_backends_pass(capsys, cached_resnet):
    """The same commands without a fault: every case ok (the faults above are what fails them)."""
    for model, backend in (("mlp-mnist", "loops"), ("mlp-mnist", "numpy"), ("mlp-mnist", "torch-cpu"),
                           ("resnet50-32", "numpy"), ("resnet50-32", "torch-cpu")):
        code, verdicts = _verify(capsys, model, backend)
        assert code == 0 and verdicts and set(verdicts.values()) == {"ok"}, (model, backend, verdicts)


# -- a batch too large for numpy's oracle: numpy on a slice, finite differences on the whole -----

def _sliced_setup(monkeypatch):
    """resnet50-32 at batch 8 with the oracle's numpy step limited to 4 images; records the batch
    sizes numpy's steps and the finite differences ran on."""
    from bench.configs import get_config

    from dataclasses import replace

    from implementations.architectures import resnet

    monkeypatch.setattr(resnet, "VERIFICATION", replace(resnet.VERIFICATION, oracle_max_samples=4))
    seen = {"numpy": [], "fd": []}
    from bench import oracle  # noqa: PLC0415  (confirm runs there: the numpy step and the finite differences)

    steps_of, fd = oracle._steps_of, oracle.directional_derivative_error

    def spy_steps(backend, config, params, x, y, *args, **kwargs):
        if backend == "numpy":
            seen["numpy"].append(len(x))
        return steps_of(backend, config, params, x, y, *args, **kwargs)

    def spy_fd(config, reference, *args, **kwargs):
        seen["fd"].append(len(reference.x))
        return fd(config, reference, *args, **kwargs)

    monkeypatch.setattr(oracle, "_steps_of", spy_steps)
    monkeypatch.setattr(oracle, "directional_derivative_error", spy_fd)
    return get_config("resnet50-32@8"), seen


def test_a_large_batch_is_confirmed_by_numpy_on_a_slice_and_finite_differences_on_the_whole(monkeypatch):
    config, seen = _sliced_setup(monkeypatch)
    verifier = verify.Verifier(config)
    assert verifier.oracle.error is None, verifier.oracle.error
    assert seen == {"numpy": [4], "fd": [8]}
    assert "on the first 4 of 8 images" in verifier.oracle.describe()
    assert verifier.seconds["reference"] > 0 and verifier.seconds["oracle"] > 0


def test_a_torch_fault_only_at_the_full_batch_is_refused_by_the_finite_differences(monkeypatch):
    """torch float64 right on the slice numpy checks, wrong at the full batch (every gradient 1%
    off beyond 4 images): the whole-batch finite differences refuse the reference."""
    config, seen = _sliced_setup(monkeypatch)
    original = TorchTrainer._forward_backward

    def faulty(self, batch):
        loss = original(self, batch)
        if len(batch[0]) > 4:
            for p in self.module.parameters():
                p.grad.mul_(1.01)
        return loss

    monkeypatch.setattr(TorchTrainer, "_forward_backward", faulty)
    oracle = verify.Verifier(config).oracle
    assert seen["numpy"] == [4]
    assert oracle.error and "finite differences" in oracle.error and "disagree" not in oracle.error, oracle.error


# -- low precision: bounds per kind of tensor ----------------------------------------------------
GPU_STUDY = ROOT / "results" / "gpu-errors" / "nvidia-h100-80gb-hbm3.csv.gz"


def test_low_precision_bounds_per_kind_are_sized_from_the_gpu_study():
    """Each kind's bound is 2-10x the largest error the committed H100 study measured for that kind
    (sized from it, not from the worst gradient); the per-model bound covers every other kind with
    room, and stays below 1 so that a zeroed (1) or flipped (2) gradient fails."""
    import pandas as pd

    study = pd.read_csv(GPU_STUDY)
    study["kind"] = study["tensor"].map(verify.tensor_kind)
    specs = {model: verify.spec_of(model) for model in ("mlp", "resnet50")}
    for model, precision, kinds in [(m, p, k) for m, spec in specs.items() for p, k in spec.kind_tolerances.items()]:
        rows = study[(study["model"] == model) & (study["precision"] == precision)]
        for kind, bound in kinds.items():
            largest = rows.loc[rows["kind"] == kind, "error"].max()
            assert 2 * largest <= bound <= 10 * largest, (model, precision, kind, largest, bound)
    for (model, precision), rows in study.groupby(["model", "precision"]):
        bound = specs[model].tolerances[precision]
        rest = rows[~rows["kind"].isin([*specs[model].kind_tolerances.get(precision, {}), "update"])]
        assert 1.5 * rest["error"].max() <= bound < 1, (model, precision)


def test_tensor_kinds_follow_torchs_names():
    kinds = {key: verify.tensor_kind(key) for key in (
        "loss", "fc.weight", "fc2.bias", "bn1.weight", "layer1.0.bn3.bias", "layer1.0.downsample.1.weight",
        "layer1.0.downsample.0.weight", "conv1.weight", "layer2.1.conv2.weight", "bn1.running_var",
        "layer1.0.downsample.1.running_mean", "fc.weight update", "conv1.weight momentum")}
    assert kinds == {
        "loss": "loss", "fc.weight": "fc gradient", "fc2.bias": "fc gradient", "bn1.weight": "batch-norm gradient",
        "layer1.0.bn3.bias": "batch-norm gradient", "layer1.0.downsample.1.weight": "batch-norm gradient",
        "layer1.0.downsample.0.weight": "convolution gradient", "conv1.weight": "convolution gradient",
        "layer2.1.conv2.weight": "convolution gradient", "bn1.running_var": "running statistic",
        "layer1.0.downsample.1.running_mean": "running statistic", "fc.weight update": "update",
        "conv1.weight momentum": "momentum"}


def _planted(result: verify.StepResult, fault: str) -> verify.StepResult:
    """A copy of ``result`` with one of the faults a low-precision rung must not pass."""
    grads, running = dict(result.grads), dict(result.running)
    loss = result.loss
    if fault == "loss 10% off":
        loss = loss * 1.1
    elif fault == "a batch-norm statistic 5% off":
        running["layer3.0.bn2.running_var"] = running["layer3.0.bn2.running_var"] * 1.05
    elif fault == "a gradient zeroed":
        grads["layer2.0.conv2.weight"] = grads["layer2.0.conv2.weight"] * 0.0
    elif fault == "a gradient's sign flipped":
        grads["layer2.0.conv2.weight"] = -grads["layer2.0.conv2.weight"]
    return verify.StepResult(loss, grads, running, result.after[:1])


LOW_PRECISION_FAULTS = ("loss 10% off", "a batch-norm statistic 5% off", "a gradient zeroed",
                        "a gradient's sign flipped")


@pytest.mark.parametrize("precision", ["tf32", "bfloat16"])
def test_the_low_precision_bounds_fail_the_gpu_faults(resnet_verifier, precision):
    """The faults a GPU rung must not pass, planted in resnet50-32's reference step itself and
    judged by the tf32 and bfloat16 bounds (the same faults in a GPU rung: below, on a GPU)."""
    verifier = copy.copy(resnet_verifier)
    verifier._floors = {}
    exact = verify.StepResult(*(getattr(resnet_verifier.reference.result, f) for f in ("loss", "grads", "running")),
                              resnet_verifier.reference.result.after[:1])
    assert verifier.check("torch-cuda", "float32", precision, exact)[0] == 0.0
    for fault in LOW_PRECISION_FAULTS:
        with pytest.raises(verify.VerificationError):
            verifier.check("torch-cuda", "float32", precision, _planted(exact, fault))


@pytest.mark.cuda
@pytest.mark.skipif(cuda_skip_reason() is not None, reason=str(cuda_skip_reason()))
@pytest.mark.parametrize("backend", ["torch-cuda", "torch-cuda-amp", "torch-cuda-compile"])
@pytest.mark.parametrize("fault", LOW_PRECISION_FAULTS)
def test_a_gpu_rung_with_a_planted_fault_fails_verification(monkeypatch, backend, fault):
    """On the GPU: each fault planted in the rung's own step (its reported loss, running statistics
    or gradients, as a miscompiled or wrongly cast step would give them) fails its verification."""
    from bench.case_verification import precision_fields
    from bench.configs import get_config
    from bench.suite import Case
    from implementations import make_trainer

    config = get_config("resnet50-224@1")
    verifier = verify.Verifier(config)
    reference = verifier.reference
    trainer = make_trainer(backend, config.model, config.spec, reference.params, "float32")
    case = Case(config, backend, "float32", 1)
    precision = precision_fields(case.backend, case.config.model, case.dtype, on_gpu=True)["precision"]
    steps = verify.case_steps(config, backend, precision)
    result = verify.run_steps(trainer, trainer.prepare_batch(reference.x, reference.y), steps)
    verifier.check(backend, "float32", precision, result)  # unplanted, it passes
    with pytest.raises(verify.VerificationError):
        verifier.check(backend, "float32", precision, _planted(result.first(), fault))
