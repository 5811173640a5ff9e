"""ResNet-50 described once: torchvision's names and shapes, input checks, FLOPs, and every
backend's loss, gradients, running statistics and SGD step against PyTorch float64 autograd on
torchvision's own model.

The fast tests use a reduced network (one bottleneck per stage, 5 classes, 32x32 images, batch 2);
the slow test runs the full ResNet-50 at 32x32. Batch-norm weights, biases and running statistics
are randomized so that swapped or ignored parameters show. The loops backend runs the reduced
network's SGD step in every run (every layer kind of ResNet-50, in about 17 s) and the full
network only with ``-m loops_resnet``: its one step there takes about a minute of CI's fifteen.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from threadpoolctl import threadpool_limits
from torchvision.models.resnet import Bottleneck, ResNet

from implementations import loss_and_grads, make_trainer
from implementations.architectures import resnet
from tests.conftest import backend_param
from tests.gradient_check import rel_error

REDUCED = resnet.ResNetSpec(blocks=(1, 1, 1, 1), num_classes=5)
TOLERANCES = {"float64": 1e-8, "float32": 1e-3}
# At 32x32 the last stage is 1x1, so with 2 images its batch norms see 2 values per channel: the
# normalized values are +-1 whatever the input, their true input gradient is O(eps / var), and it
# is computed as a difference of O(1) terms. Rounding grows by ~1/eps per such layer: float32 is off
# by ~1e-2 (torch too), and float64 through the full network's 3 last-stage blocks by ~1e-6.
# float32 and the full network therefore run 4 images, which keeps the last stage well conditioned.
BATCH_SIZES = {"float64": 2, "float32": 4}
FULL_NETWORK_BATCH = 4
FAST_BACKENDS = ["numpy", "torch-cpu", backend_param("numba")]
STEP_BACKENDS = ["loops", *FAST_BACKENDS]  # loops is float64 only, as the step test is
SLOW_BACKENDS = [pytest.param("loops", marks=pytest.mark.loops_resnet),  # about a minute for its one step
                 "numpy", "torch-cpu", backend_param("numba")]


@pytest.fixture(autouse=True)
def one_thread():
    """One BLAS and one torch thread: these tiny products only lose to thread start-up and to the
    other engineers' jobs on the shared cores (a 2-row GEMM took 70x longer on 2 contended threads)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(previous)


def randomized_params(spec: resnet.ResNetSpec, seed: int) -> dict[str, np.ndarray]:
    """``init_params`` with every batch-norm tensor moved off its initial 1/0 values."""
    params = resnet.init_params(spec, seed)
    rng = np.random.default_rng(seed + 1)
    for name, value in params.items():
        if name.endswith("num_batches_tracked"):
            params[name] = np.array(3, dtype=np.int64)
        elif name.endswith((".running_var",)) or (value.ndim == 1 and name.endswith(".weight")):
            params[name] = rng.uniform(0.5, 1.5, value.shape)
        elif value.ndim == 1 and not name.startswith("fc."):
            params[name] = 0.2 * rng.standard_normal(value.shape)
    return params


def torchvision_model(spec: resnet.ResNetSpec, params: dict[str, np.ndarray]) -> torch.nn.Module:
    """torchvision's model in float64 loaded with ``params``: the reference, built without vecbench."""
    model = ResNet(Bottleneck, list(spec.blocks), num_classes=spec.num_classes).double().train()
    model.load_state_dict({name: torch.from_numpy(np.array(value)) for name, value in params.items()})
    return model


def reference(spec, params, x, y, sgd=None):
    """Loss, gradients, and the state after the forward (or after one SGD step when ``sgd`` is given)."""
    model = torchvision_model(spec, params)
    loss = F.cross_entropy(model(torch.from_numpy(x).double()), torch.from_numpy(y))
    loss.backward()
    grads = {name: p.grad.numpy().copy() for name, p in model.named_parameters()}
    if sgd is not None:
        decayed = resnet.weight_decay_names(spec)
        named = dict(model.named_parameters())
        groups = [{"params": [p for n, p in named.items() if n not in decayed], "weight_decay": 0.0},
                  {"params": [p for n, p in named.items() if n in decayed], "weight_decay": sgd.weight_decay}]
        torch.optim.SGD(groups, lr=sgd.lr, momentum=sgd.momentum).step()
    state = {name: t.detach().numpy().copy() for name, t in model.state_dict().items()}
    return float(loss.detach()), grads, state


def _assert_close(actual: dict, expected: dict, tolerance: float, what: str) -> None:
    assert sorted(actual) == sorted(expected), f"{what}: names differ"
    for name in expected:
        if expected[name].dtype == np.int64:
            assert actual[name].dtype == np.int64 and actual[name] == expected[name], f"{what} {name}"
        else:
            error = rel_error(actual[name], expected[name])
            assert error <= tolerance, f"{what} {name}: relative error {error:.2e} > {tolerance:.0e}"


def _batch(spec, batch_size=2, resolution=32, seed=1):
    return resnet.make_batch(spec, batch_size, seed, resolution)


# --- the description -----------------------------------------------------------------------------

def test_names_shapes_and_count_equal_torchvision_resnet50():
    expected = torchvision.models.resnet50(weights=None).state_dict()
    shapes = resnet.param_shapes(resnet.RESNET50)
    assert list(shapes) == list(expected)  # same names, same order
    assert {name: tuple(t.shape) for name, t in expected.items()} == shapes
    assert resnet.param_count(resnet.RESNET50) == 25_557_032
    params = resnet.init_params(resnet.RESNET50, 0)
    assert resnet.spec_from_params(params) == resnet.RESNET50
    assert params["bn1.num_batches_tracked"].dtype == np.int64 and params["bn1.num_batches_tracked"].shape == ()
    assert params["conv1.weight"].dtype == np.float64


def test_reduced_spec_round_trips_and_matches_torchvision():
    expected = ResNet(Bottleneck, [1, 1, 1, 1], num_classes=5).state_dict()
    params = resnet.init_params(REDUCED, 0)
    assert {name: tuple(t.shape) for name, t in expected.items()} == {n: v.shape for n, v in params.items()}
    assert resnet.spec_from_params(params) == REDUCED


def test_trainable_and_decayed_names():
    model = torchvision.models.resnet50(weights=None)
    assert resnet.trainable_names(resnet.RESNET50) == [name for name, _ in model.named_parameters()]
    decayed = resnet.weight_decay_names(resnet.RESNET50)
    assert "fc.weight" in decayed and "layer1.0.downsample.0.weight" in decayed
    assert not {"fc.bias", "bn1.weight", "bn1.bias", "layer4.2.bn3.weight"} & decayed
    assert len(decayed) == 53 + 1  # every convolution and the classifier
    sgd = resnet.default_sgd()
    assert (sgd.lr, sgd.momentum, sgd.weight_decay) == (0.1, 0.9, 1e-4)


def test_forward_macs_are_the_published_4_09_giga_at_224():
    assert resnet.forward_macs(resnet.RESNET50, 1, 224) == pytest.approx(4.09e9, rel=1e-3)
    assert resnet.forward_macs(resnet.RESNET50, 8, 224) == 8 * resnet.forward_macs(resnet.RESNET50, 1, 224)


def test_step_flops_split():
    split = resnet.step_flops_split(resnet.RESNET50, 1, 224)
    macs = resnet.forward_macs(resnet.RESNET50, 1, 224)
    stem_macs = 118_013_952  # 112*112*64 outputs x 3*7*7 products
    # Products dominate: forward is 2*MACs plus a few percent of elementwise work; backward
    # doubles the products but the stem's input gradient.
    assert 2 * macs < split["forward"] < 2.1 * macs
    assert 4 * macs - 2 * stem_macs < split["backward"] < 4.2 * macs
    params = resnet.param_count(resnet.RESNET50)
    decayed = sum(int(np.prod(resnet.param_shapes(resnet.RESNET50)[n])) for n in resnet.weight_decay_names(resnet.RESNET50))
    assert split["update"] == 4 * params + 2 * decayed
    assert resnet.step_flops(resnet.RESNET50, 1, 224) == sum(split.values())
    assert resnet.step_macs(resnet.RESNET50, 1, 224) == 3 * macs - stem_macs


# --- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("shape", "labels", "message"), [
    ((2, 3, 16, 32), [0, 1], r"at least 32x32 pixels.*got 16x32"),
    ((2, 4, 32, 32), [0, 1], r"must have 3 channels.*got 4"),
    ((2, 3, 32, 32), [0, 5], r"labels must lie in \[0, 5\)"),
    ((2, 3, 32, 32), [-1, 0], r"labels must lie in \[0, 5\)"),
    ((1, 3, 32, 32), [0], r"more than one value per channel"),
    ((2, 3, 32), [0, 1], r"shape \(N, 3, H, W\)"),
])
def test_bad_batches_are_refused_before_any_work(shape, labels, message):
    x, y = np.zeros(shape), np.array(labels)
    with pytest.raises(ValueError, match=message):
        resnet.validate_batch(REDUCED, x, y)
    trainer = make_trainer("numpy", "resnet50", REDUCED, resnet.init_params(REDUCED, 0))
    with pytest.raises(ValueError, match=message):
        trainer.prepare_batch(x, y)


def test_missing_or_misshapen_tensors_are_named():
    params = resnet.init_params(REDUCED, 0)
    missing = dict(params)
    del missing["layer3.0.bn2.running_var"]
    with pytest.raises(ValueError, match=r"layer3\.0\.bn2\.running_var is missing"):
        resnet.spec_from_params(missing)
    misshapen = dict(params, **{"layer2.0.conv2.weight": np.zeros((128, 128, 1, 1))})
    with pytest.raises(ValueError, match=r"layer2\.0\.conv2\.weight has shape \(128, 128, 1, 1\), expected \(128, 128, 3, 3\)"):
        resnet.spec_from_params(misshapen)
    extra = dict(params, **{"layer1.0.conv4.weight": np.zeros(3)})
    with pytest.raises(ValueError, match=r"unexpected ResNet parameters.*layer1\.0\.conv4\.weight"):
        resnet.spec_from_params(extra)
    no_fc = {name: value for name, value in params.items() if not name.startswith("fc.")}
    with pytest.raises(ValueError, match=r"fc\.weight is missing"):
        loss_and_grads("numpy", "resnet50", no_fc, *_batch(REDUCED))


# --- backends against torchvision float64 ----------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("backend", FAST_BACKENDS)
def test_loss_gradients_and_running_stats_match_torchvision(backend, dtype):
    params = randomized_params(REDUCED, 0)
    x, y = _batch(REDUCED, batch_size=BATCH_SIZES[dtype])
    expected_loss, expected_grads, expected_state = reference(REDUCED, params, x, y)
    tolerance = TOLERANCES[dtype]

    loss, grads = loss_and_grads(backend, "resnet50", params, x.astype(dtype), y)
    assert abs(loss - expected_loss) <= tolerance * abs(expected_loss)
    _assert_close(grads, expected_grads, tolerance, f"{backend} {dtype} gradient")

    trainer = make_trainer(backend, "resnet50", REDUCED, params, dtype)
    trainer.loss_and_grads(trainer.prepare_batch(x.astype(dtype), y))
    state = trainer.state_dict()
    _assert_close(state, expected_state, tolerance, f"{backend} {dtype} state after one forward")
    assert state["layer2.0.downsample.1.num_batches_tracked"] == 4  # 3 + 1


@pytest.mark.parametrize("backend", STEP_BACKENDS)
def test_one_training_step_matches_torch_sgd(backend):
    params = randomized_params(REDUCED, 2)
    x, y = _batch(REDUCED, seed=3)
    sgd = resnet.default_sgd()
    expected_loss, expected_grads, expected_state = reference(REDUCED, params, x, y, sgd)
    trainer = make_trainer(backend, "resnet50", REDUCED, params, "float64")
    loss = float(trainer.step(trainer.prepare_batch(x, y)))
    assert loss == pytest.approx(expected_loss, rel=1e-10)
    last_loss, last_grads = trainer.last_loss_and_grads()
    assert last_loss == pytest.approx(expected_loss, rel=1e-10)
    _assert_close(last_grads, expected_grads, 1e-8, f"{backend} step gradient")
    _assert_close(trainer.state_dict(), expected_state, 1e-8, f"{backend} parameters after one step")
    # the step moved the decayed weights: a test that an update happened at all
    assert rel_error(trainer.state_dict()["fc.weight"], params["fc.weight"]) > 1e-4


def test_two_steps_agree_between_numpy_and_torch():
    params = randomized_params(REDUCED, 4)
    x, y = _batch(REDUCED, seed=5)
    states = {}
    for backend in ["numpy", "torch-cpu"]:
        trainer = make_trainer(backend, "resnet50", REDUCED, params, "float64")
        batch = trainer.prepare_batch(x, y)
        trainer.step(batch)
        trainer.step(batch)  # the second step uses the momentum buffers
        states[backend] = trainer.state_dict()
    _assert_close(states["numpy"], states["torch-cpu"], 1e-8, "numpy vs torch after two steps")


@pytest.mark.slow
@pytest.mark.parametrize("backend", SLOW_BACKENDS)
def test_full_resnet50_at_32x32_matches_torchvision(backend):
    spec = resnet.RESNET50
    params = randomized_params(spec, 6)
    x, y = _batch(spec, batch_size=FULL_NETWORK_BATCH, seed=7)
    expected_loss, expected_grads, expected_state = reference(spec, params, x, y)
    trainer = make_trainer(backend, "resnet50", spec, params, "float64")
    loss, grads = trainer.loss_and_grads(trainer.prepare_batch(x, y))
    assert abs(loss - expected_loss) <= 1e-8 * abs(expected_loss)
    _assert_close(grads, expected_grads, 1e-8, f"{backend} gradient")
    _assert_close(trainer.state_dict(), expected_state, 1e-8, f"{backend} state after one forward")


def test_a_listener_hears_every_convolution_forward_and_backward():
    from implementations import hooks
    from implementations.numpy_vectorized import layers as numpy_layers

    finished: list[str] = []
    params = resnet.init_params(REDUCED, 0)
    x, y = _batch(REDUCED)
    with hooks.listening_to_layers(finished.append):
        resnet.forward_backward(numpy_layers, REDUCED, params, x, y)
    resnet.forward_backward(numpy_layers, REDUCED, params, x, y)  # nobody listens: nothing more heard
    convs = [conv.name for conv in resnet.conv_shapes(REDUCED, 32)]
    assert finished[:len(convs)] == [f"{name} forward" for name in convs]
    assert sorted(finished[len(convs):]) == sorted(f"{name} backward" for name in convs)
    assert finished[0] == "conv1 forward" and finished[-1] == "conv1 backward"
    assert params["bn1.num_batches_tracked"] == 2
