"""Every MLP backend against an independent PyTorch float64 autograd oracle, plus the seed numbers."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from implementations import loss_and_grads, make_trainer
from implementations.architectures import mlp
from implementations.pure_python import layers as loops_layers
from implementations.pure_python.tensor import from_numpy, to_numpy
from tests.conftest import backend_param, numba_skip_reason

ALL_BACKENDS = ["loops", "numba", "numpy", "torch-cpu", "torch-cuda"]


def oracle(params, x, y, activation="relu"):
    """Loss and gradients by torch autograd in float64, written without the project's torch module."""
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    h = torch.tensor(x, dtype=torch.float64)
    layers = sorted({k.split(".")[0] for k in params}, key=lambda name: int(name[2:]))
    act = torch.relu if activation == "relu" else torch.sigmoid
    for i, name in enumerate(layers):
        h = F.linear(h, tensors[f"{name}.weight"], tensors[f"{name}.bias"])
        if i < len(layers) - 1:
            h = act(h)
    loss = F.cross_entropy(h, torch.tensor(y))
    loss.backward()
    return loss.item(), {k: t.grad.numpy() for k, t in tensors.items()}


def rel(a, b):
    return np.linalg.norm(np.asarray(a, np.float64) - b) / np.linalg.norm(b)


def random_case(seed):
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(1, 4))
    sizes = tuple(int(s) for s in rng.integers(1, 40, size=depth + 1)) + (int(rng.integers(2, 12)),)
    spec = mlp.MLPSpec(sizes)
    params = mlp.init_params(spec, seed)
    for key in params:  # non-zero biases so that their gradients' effect is tested too
        if key.endswith("bias"):
            params[key] = rng.normal(0, 0.1, size=params[key].shape)
    x, y = mlp.make_batch(spec, int(rng.integers(1, 17)), seed + 100)
    return params, x, y


@pytest.mark.parametrize("backend", [backend_param(b) for b in ALL_BACKENDS])
@pytest.mark.parametrize("seed", range(6))
def test_float64_matches_torch_autograd(backend, seed):
    params, x, y = random_case(seed)
    ref_loss, ref_grads = oracle(params, x, y)
    loss, grads = loss_and_grads(backend, "mlp", params, x, y)
    assert set(grads) == set(params)
    assert abs(loss - ref_loss) <= 1e-8 * abs(ref_loss)
    for key, ref in ref_grads.items():
        assert grads[key].shape == ref.shape
        assert rel(grads[key], ref) <= 1e-8, key


@pytest.mark.parametrize("backend", [backend_param(b) for b in ["numba", "numpy", "torch-cpu", "torch-cuda"]])
@pytest.mark.parametrize("seed", range(4))
def test_float32_matches_torch_autograd(backend, seed):
    params, x, y = random_case(seed)
    ref_loss, ref_grads = oracle(params, x, y)
    loss, grads = loss_and_grads(backend, "mlp", params, x.astype(np.float32), y)
    assert all(g.dtype == np.float32 for g in grads.values())
    assert abs(loss - ref_loss) <= 1e-4 * abs(ref_loss)
    for key, ref in ref_grads.items():
        assert rel(grads[key], ref) <= 1e-4, key


def test_loops_is_float64_whatever_the_input():
    params, x, y = random_case(1)
    _, grads = loss_and_grads("loops", "mlp", params, x.astype(np.float32), y)
    assert all(g.dtype == np.float64 for g in grads.values())


@pytest.mark.parametrize("backend", ["loops", "numpy", "torch-cpu"])
def test_sigmoid_activation_matches_torch(backend):
    spec = mlp.MLPSpec((6, 5, 4, 3), activation="sigmoid")
    params = mlp.init_params(spec, 3)
    x, y = mlp.make_batch(spec, 7, 4)
    x = x * 4  # reach the saturated ends of the sigmoid
    ref_loss, ref_grads = oracle(params, x, y, activation="sigmoid")
    trainer = make_trainer(backend, "mlp", spec, params, "float64")
    loss, grads = trainer.loss_and_grads(trainer.prepare_batch(x, y))
    assert abs(loss - ref_loss) <= 1e-10
    for key, ref in ref_grads.items():
        assert rel(grads[key], ref) <= 1e-8, key


def test_loops_gradients_match_centred_finite_differences():
    spec = mlp.MLPSpec((5, 4, 3))
    params = mlp.init_params(spec, 7)
    params["fc1.bias"] = np.full(4, 0.3)  # keep relu inputs away from the kink at 0
    x, y = mlp.make_batch(spec, 6, 8)
    _, grads = loss_and_grads("loops", "mlp", params, x, y)
    h = 1e-6
    for key, value in params.items():
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[key][index] += h
            minus[key][index] -= h
            numeric[index] = (loss_and_grads("loops", "mlp", plus, x, y)[0]
                              - loss_and_grads("loops", "mlp", minus, x, y)[0]) / (2 * h)
        assert rel(grads[key], numeric) <= 1e-6, key


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_training_steps_update_parameters_identically(activation):
    """Two SGD steps with momentum: the second checks the momentum state is kept between steps."""
    spec = mlp.MLPSpec((12, 9, 5), activation)
    params = mlp.init_params(spec, 11)
    x, y = mlp.make_batch(spec, 8, 12)
    states = {}
    for backend in ["loops", "numba", "numpy", "torch-cpu"]:
        if backend == "numba" and numba_skip_reason():
            continue
        trainer = make_trainer(backend, "mlp", spec, params, "float64")
        batch = trainer.prepare_batch(x, y)
        trainer.step(batch)
        trainer.step(batch)
        states[backend] = trainer.state_dict()
    # torch.optim.SGD by hand: v = 0.9 v + g; p -= 0.01 v
    expected = {k: v.copy() for k, v in params.items()}
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    for _ in range(2):
        _, grads = oracle(expected, x, y, activation)
        for key in expected:
            velocity[key] = 0.9 * velocity[key] + grads[key]
            expected[key] = expected[key] - 0.01 * velocity[key]
    for backend, state in states.items():
        for key in params:
            assert rel(state[key], expected[key]) <= 1e-12, (backend, key)
    assert rel(states["loops"]["fc1.weight"], params["fc1.weight"]) > 1e-4  # the steps did move the weights


def test_first_seed_article_4_3_2_network():
    """'an input layer (4 neurons), hidden layer (3 neurons), and output layer (2 neurons)'."""
    spec = mlp.MLPSpec((4, 3, 2))
    params = mlp.init_params(spec, 0)
    # The article writes W1 as 4x3 (in x out); torch's state_dict stores its transpose (out x in).
    assert params["fc1.weight"].T.shape == (4, 3)
    assert params["fc2.weight"].T.shape == (3, 2)
    x, y = mlp.make_batch(spec, 5, 1)  # the article's batch of 5 inputs
    out, _ = loops_layers.linear_forward(from_numpy(x), from_numpy(params["fc1.weight"]), from_numpy(params["fc1.bias"]))
    assert to_numpy(out).shape == (5, 3)


def test_second_seed_article_784_128_layer():
    """'a 128 x 784 matrix containing 100,352 learnable parameters'; batch (32x784)·(784x128) = 32x128."""
    spec = mlp.MLPSpec((784, 128, 10))
    shapes = spec.param_shapes()
    assert shapes["fc1.weight"] == (128, 784)
    assert 128 * 784 == 100_352 == int(np.prod(shapes["fc1.weight"]))
    params = mlp.init_params(spec, 0)
    x, y = mlp.make_batch(spec, 32, 1)
    out, cache = loops_layers.linear_forward(from_numpy(x), from_numpy(params["fc1.weight"]), from_numpy(params["fc1.bias"]))
    assert to_numpy(out).shape == (32, 128)
    # dW = input^T . d_output and d_input = d_output . W, in torch's (out, in) layout
    dout = np.random.default_rng(2).standard_normal((32, 128))
    dx, dw, db = loops_layers.linear_backward(from_numpy(dout), cache)
    assert np.allclose(to_numpy(dw), dout.T @ x, rtol=1e-12, atol=1e-12)
    assert np.allclose(to_numpy(dx), dout @ params["fc1.weight"], rtol=1e-12, atol=1e-12)
    assert len(db) == 1  # one row, as the bias is held
    assert np.allclose(to_numpy(db)[0], dout.sum(axis=0), rtol=1e-12, atol=1e-12)
    # between the layers, exact lists: what CPython specializes indexing and append for
    assert type(out) is list and type(dx) is list and type(dw) is list and type(db) is list


@pytest.mark.parametrize("activation, expected_std", [("relu", lambda i, o: np.sqrt(2 / i)),
                                                      ("sigmoid", lambda i, o: np.sqrt(2 / (i + o)))])
def test_he_and_xavier_initialisation(activation, expected_std):
    spec = mlp.MLPSpec((600, 400, 10), activation)
    params = mlp.init_params(spec, 5)
    std = params["fc1.weight"].std()
    assert abs(std / expected_std(600, 400) - 1) < 0.02
    assert not params["fc1.bias"].any()
    again = mlp.init_params(spec, 5)
    assert all(np.array_equal(params[k], again[k]) for k in params)  # the seed fixes every weight


def test_step_flops_by_hand_for_the_4_3_2_network():
    n = 5
    forward = (2 * n * 4 * 3 + n * 3) + (2 * n * 3 * 2 + n * 2)
    backward = (2 * n * 4 * 3 + n * 3) + (2 * n * 3 * 2 + n * 2) + 2 * n * 3 * 2
    activation = 2 * n * 3
    loss = 5 * n * 2
    update = 4 * (4 * 3 + 3 + 3 * 2 + 2)
    assert mlp.step_flops(mlp.MLPSpec((4, 3, 2)), n) == forward + backward + activation + loss + update


def test_bad_parameters_name_the_tensor():
    spec = mlp.MLPSpec((4, 3, 2))
    params = mlp.init_params(spec, 0)
    x, y = mlp.make_batch(spec, 5, 1)
    missing = {k: v for k, v in params.items() if k != "fc2.bias"}
    with pytest.raises(ValueError, match="fc2.bias is missing"):
        loss_and_grads("numpy", "mlp", missing, x, y)
    misshapen = dict(params, **{"fc2.bias": np.zeros(3)})
    with pytest.raises(ValueError, match=r"fc2.bias has shape \(3,\), expected \(2,\)"):
        loss_and_grads("loops", "mlp", misshapen, x, y)


def test_bad_inputs_raise_with_the_accepted_values():
    spec = mlp.MLPSpec((4, 3, 2))
    params = mlp.init_params(spec, 0)
    x, y = mlp.make_batch(spec, 5, 1)
    with pytest.raises(ValueError, match="unknown backend 'fortran'; accepted: loops, numba, numpy, torch-cpu, torch-ddp, torch-cuda"):
        loss_and_grads("fortran", "mlp", params, x, y)
    with pytest.raises(ValueError, match="unknown model 'vgg'; accepted: mlp"):
        loss_and_grads("numpy", "vgg", params, x, y)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        loss_and_grads("numpy", "mlp", params, x, np.array([0, 1, 2, 0, 1]))
    with pytest.raises(ValueError, match=r"x must have shape \(N, 4\)"):
        loss_and_grads("loops", "mlp", params, x[:, :3], y)
    with pytest.raises(ValueError, match="positive integer"):
        mlp.MLPSpec((4, 0, 2))
    with pytest.raises(ValueError, match="backend loops does not support dtype float32"):
        make_trainer("loops", "mlp", spec, params, "float32")


def test_torch_cuda_without_gpu_says_why():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: nothing to refuse")
    spec = mlp.MLPSpec((4, 3, 2))
    with pytest.raises(RuntimeError, match="no CUDA GPU is available"):
        make_trainer("torch-cuda", "mlp", spec, mlp.init_params(spec, 0), "float32")
