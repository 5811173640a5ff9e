"""The loops backend's ResNet-50 layers against PyTorch float64 and against finite differences.

Every forward is compared with ``torch.nn.functional``; every backward with torch autograd (relative
error <= 1e-8) and with centred finite differences (<= 3e-6). Shapes are small and non-square
(H != W) so that a swapped axis cannot pass.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from implementations.pure_python import progress
from implementations.pure_python.layers import (
    add,
    batchnorm_backward,
    batchnorm_forward,
    conv2d_backward,
    conv2d_forward,
    global_avgpool_backward,
    global_avgpool_forward,
    maxpool2d_backward,
    maxpool2d_forward,
    relu_backward,
    relu_forward,
    sgd_momentum_update,
)
from implementations.pure_python.tensor import FlatTensor, from_numpy, to_numpy
from tests.gradient_check import flat_function, numerical_gradient, rel_error

TORCH_TOLERANCE = 1e-8
FINITE_DIFFERENCE_TOLERANCE = 3e-6

CONV_CASES = list(itertools.product((1, 3, 7), (1, 2), (0, 1, 3)))  # (kernel, stride, padding)


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([20260311, *key])


def _loops(fn):
    """A function of NumPy arrays that runs a loops layer on FlatTensors."""
    return flat_function(fn, to_native=from_numpy, to_numpy=to_numpy)


def _torch_leaf(values: np.ndarray) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64, requires_grad=True)


# --- convolution ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("kernel", "stride", "padding"), CONV_CASES)
def test_conv2d_matches_torch(kernel, stride, padding):
    rng = _rng(1, kernel, stride, padding)
    x = rng.standard_normal((2, 3, 9, 10))
    w = rng.standard_normal((4, 3, kernel, kernel))
    out, cache = conv2d_forward(from_numpy(x), from_numpy(w), stride, padding)

    x_t, w_t = _torch_leaf(x), _torch_leaf(w)
    out_t = F.conv2d(x_t, w_t, stride=stride, padding=padding)
    assert out.shape == tuple(out_t.shape)
    assert rel_error(to_numpy(out), out_t.detach().numpy()) <= TORCH_TOLERANCE

    dout = rng.standard_normal(out.shape)
    out_t.backward(torch.from_numpy(dout))
    dx, dw = conv2d_backward(from_numpy(dout), cache)
    assert rel_error(to_numpy(dx), x_t.grad.numpy()) <= TORCH_TOLERANCE
    assert rel_error(to_numpy(dw), w_t.grad.numpy()) <= TORCH_TOLERANCE

    no_dx, dw_only = conv2d_backward(from_numpy(dout), cache, need_dx=False)
    assert no_dx is None
    assert rel_error(to_numpy(dw_only), w_t.grad.numpy()) <= TORCH_TOLERANCE


def test_conv2d_non_square_kernel_matches_torch():
    rng = _rng(2)
    x = rng.standard_normal((2, 3, 7, 9))
    w = rng.standard_normal((5, 3, 3, 2))
    out, cache = conv2d_forward(from_numpy(x), from_numpy(w), 2, 1)
    x_t, w_t = _torch_leaf(x), _torch_leaf(w)
    out_t = F.conv2d(x_t, w_t, stride=2, padding=1)
    assert rel_error(to_numpy(out), out_t.detach().numpy()) <= TORCH_TOLERANCE
    dout = rng.standard_normal(out.shape)
    out_t.backward(torch.from_numpy(dout))
    dx, dw = conv2d_backward(from_numpy(dout), cache)
    assert rel_error(to_numpy(dx), x_t.grad.numpy()) <= TORCH_TOLERANCE
    assert rel_error(to_numpy(dw), w_t.grad.numpy()) <= TORCH_TOLERANCE


# Each kernel size with both strides, the paddings taken in turn, plus the unpadded strided 1x1
# (its own sampled path): every value of each parameter without the full product (torch covers
# that above; finite differences cost two forwards per entry).
@pytest.mark.parametrize(("kernel", "stride", "padding"), [(1, 1, 0), (1, 2, 0), (1, 2, 3), (3, 1, 1), (3, 2, 0), (7, 1, 3), (7, 2, 1)])
def test_conv2d_backward_matches_finite_differences(kernel, stride, padding):
    rng = _rng(3, kernel, stride, padding)
    x = rng.standard_normal((2, 2, 7, 8))
    w = rng.standard_normal((2, 2, kernel, kernel))
    out, cache = conv2d_forward(from_numpy(x), from_numpy(w), stride, padding)
    dout = rng.standard_normal(out.shape)
    dx, dw = conv2d_backward(from_numpy(dout), cache)

    w_flat = from_numpy(w)
    x_flat = from_numpy(x)
    dx_numeric = numerical_gradient(_loops(lambda xv: conv2d_forward(xv, w_flat, stride, padding)[0]), x, dout)
    dw_numeric = numerical_gradient(_loops(lambda wv: conv2d_forward(x_flat, wv, stride, padding)[0]), w, dout)
    assert rel_error(to_numpy(dx), dx_numeric) <= FINITE_DIFFERENCE_TOLERANCE
    assert rel_error(to_numpy(dw), dw_numeric) <= FINITE_DIFFERENCE_TOLERANCE


def test_conv2d_rejects_mismatched_channels():
    with pytest.raises(ValueError, match="channels"):
        conv2d_forward(FlatTensor.zeros((1, 3, 5, 5)), FlatTensor.zeros((2, 4, 3, 3)), 1, 1)


# --- batch normalization -------------------------------------------------------------------------

@pytest.mark.parametrize(("shape", "momentum"), [((2, 3, 4, 5), 0.1), ((1, 4, 3, 2), 0.3)])
def test_batchnorm_matches_torch_and_updates_running_stats(shape, momentum):
    rng = _rng(4, *shape)
    channels = shape[1]
    x = 3.0 * rng.standard_normal(shape) + 1.5  # an offset mean checks the centring
    gamma = rng.standard_normal(channels)
    beta = rng.standard_normal(channels)
    running_mean = rng.standard_normal(channels)
    running_var = rng.uniform(0.5, 2.0, channels)
    running_mean_before = running_mean.copy()
    running_var_before = running_var.copy()
    mean_flat, var_flat = from_numpy(running_mean), from_numpy(running_var)

    out, cache, new_mean, new_var = batchnorm_forward(
        from_numpy(x), from_numpy(gamma), from_numpy(beta), mean_flat, var_flat, momentum=momentum, eps=1e-5
    )

    x_t, gamma_t, beta_t = _torch_leaf(x), _torch_leaf(gamma), _torch_leaf(beta)
    mean_t, var_t = torch.tensor(running_mean), torch.tensor(running_var)  # torch updates these in place
    out_t = F.batch_norm(x_t, mean_t, var_t, gamma_t, beta_t, training=True, momentum=momentum, eps=1e-5)
    assert rel_error(to_numpy(out), out_t.detach().numpy()) <= TORCH_TOLERANCE
    assert rel_error(to_numpy(new_mean), mean_t.numpy()) <= TORCH_TOLERANCE
    assert rel_error(to_numpy(new_var), var_t.numpy()) <= TORCH_TOLERANCE
    # Pure: the running statistics passed in are left as they were.
    np.testing.assert_array_equal(to_numpy(mean_flat), running_mean_before)
    np.testing.assert_array_equal(to_numpy(var_flat), running_var_before)

    dout = rng.standard_normal(shape)
    out_t.backward(torch.from_numpy(dout))
    dx, dgamma, dbeta = batchnorm_backward(from_numpy(dout), cache)
    assert rel_error(to_numpy(dx), x_t.grad.numpy()) <= TORCH_TOLERANCE
    assert rel_error(to_numpy(dgamma), gamma_t.grad.numpy()) <= TORCH_TOLERANCE
    assert rel_error(to_numpy(dbeta), beta_t.grad.numpy()) <= TORCH_TOLERANCE


def test_batchnorm_running_var_uses_the_unbiased_variance():
    # One channel holding 0 and 2: biased variance 1, unbiased 2. With momentum 1 the new running
    # statistics are the batch's own.
    x = FlatTensor.zeros((1, 1, 1, 2))
    x.data[1] = 2.0
    ones, zeros = from_numpy(np.ones(1)), from_numpy(np.zeros(1))
    out, _, new_mean, new_var = batchnorm_forward(x, ones, zeros, zeros, ones, momentum=1.0, eps=0.0)
    assert list(new_mean.data) == [1.0]
    assert list(new_var.data) == [2.0]
    assert list(out.data) == [-1.0, 1.0]  # normalized with the biased variance


def test_batchnorm_backward_matches_finite_differences():
    rng = _rng(5)
    shape = (2, 3, 3, 4)
    x = rng.standard_normal(shape)
    gamma = rng.standard_normal(3)
    beta = rng.standard_normal(3)
    stats = (from_numpy(np.zeros(3)), from_numpy(np.ones(3)))
    out, cache, _, _ = batchnorm_forward(from_numpy(x), from_numpy(gamma), from_numpy(beta), *stats)
    dout = rng.standard_normal(shape)
    dx, dgamma, dbeta = batchnorm_backward(from_numpy(dout), cache)

    def forward(xv, gv, bv):
        return batchnorm_forward(xv, gv, bv, *stats)[0]

    g_flat, b_flat, x_flat = from_numpy(gamma), from_numpy(beta), from_numpy(x)
    dx_numeric = numerical_gradient(_loops(lambda xv: forward(xv, g_flat, b_flat)), x, dout)
    dgamma_numeric = numerical_gradient(_loops(lambda gv: forward(x_flat, gv, b_flat)), gamma, dout)
    dbeta_numeric = numerical_gradient(_loops(lambda bv: forward(x_flat, g_flat, bv)), beta, dout)
    assert rel_error(to_numpy(dx), dx_numeric) <= FINITE_DIFFERENCE_TOLERANCE
    assert rel_error(to_numpy(dgamma), dgamma_numeric) <= FINITE_DIFFERENCE_TOLERANCE
    assert rel_error(to_numpy(dbeta), dbeta_numeric) <= FINITE_DIFFERENCE_TOLERANCE


def test_batchnorm_refuses_a_single_value_per_channel():
    one = from_numpy(np.ones(2))
    with pytest.raises(ValueError, match="more than one value"):
        batchnorm_forward(FlatTensor.zeros((1, 2, 1, 1)), one, one, one, one)


# --- pooling -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kernel", "stride", "padding"), [(3, 2, 1), (3, 2, 0), (2, 2, 1), (3, 1, 1), (2, 1, 0)])
def test_maxpool2d_matches_torch(kernel, stride, padding):
    rng = _rng(6, kernel, stride, padding)
    # All negative: a zero padding would win every border window, -inf padding never does.
    x = -np.abs(rng.standard_normal((2, 3, 9, 10))) - 0.1
    out, cache = maxpool2d_forward(from_numpy(x), kernel, stride, padding)
    x_t = _torch_leaf(x)
    out_t = F.max_pool2d(x_t, kernel, stride, padding)
    assert out.shape == tuple(out_t.shape)
    assert rel_error(to_numpy(out), out_t.detach().numpy()) <= TORCH_TOLERANCE

    dout = rng.standard_normal(out.shape)
    out_t.backward(torch.from_numpy(dout))
    dx = maxpool2d_backward(from_numpy(dout), cache)
    assert rel_error(to_numpy(dx), x_t.grad.numpy()) <= TORCH_TOLERANCE

    # Finite differences on a smaller input: two forwards per entry.
    x_small = x[:1, :2, :6, :7]
    out_small, cache_small = maxpool2d_forward(from_numpy(x_small), kernel, stride, padding)
    dout_small = rng.standard_normal(out_small.shape)
    dx_small = maxpool2d_backward(from_numpy(dout_small), cache_small)
    dx_numeric = numerical_gradient(
        _loops(lambda xv: maxpool2d_forward(xv, kernel, stride, padding)[0]), x_small, dout_small
    )
    assert rel_error(to_numpy(dx_small), dx_numeric) <= FINITE_DIFFERENCE_TOLERANCE


def test_maxpool2d_sends_ties_to_the_first_maximum():
    # A constant 4x4 input, 3x3 windows, stride 2, padding 1: the four windows start at rows and
    # columns -1 and 1, so their first real elements in row-major order are (0,0), (0,1), (1,0), (1,1).
    out, cache = maxpool2d_forward(FlatTensor.zeros((1, 1, 4, 4)), 3, 2, 1)
    assert list(out.data) == [0.0] * 4
    dout = from_numpy(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    dx = to_numpy(maxpool2d_backward(dout, cache))
    expected = np.zeros((1, 1, 4, 4))
    expected[0, 0, :2, :2] = [[1.0, 2.0], [3.0, 4.0]]
    np.testing.assert_array_equal(dx, expected)


def test_maxpool2d_rejects_padding_wider_than_half_the_window():
    with pytest.raises(ValueError, match="padding"):
        maxpool2d_forward(FlatTensor.zeros((1, 1, 5, 5)), 3, 2, 2)


def test_global_avgpool_matches_torch_and_finite_differences():
    rng = _rng(7)
    x = rng.standard_normal((2, 3, 4, 5))
    out, cache = global_avgpool_forward(from_numpy(x))
    x_t = _torch_leaf(x)
    out_t = x_t.mean(dim=(2, 3))
    assert out.shape == (2, 3)
    assert rel_error(to_numpy(out), out_t.detach().numpy()) <= TORCH_TOLERANCE

    dout = rng.standard_normal((2, 3))
    out_t.backward(torch.from_numpy(dout))
    dx = global_avgpool_backward(from_numpy(dout), cache)
    assert rel_error(to_numpy(dx), x_t.grad.numpy()) <= TORCH_TOLERANCE
    dx_numeric = numerical_gradient(_loops(lambda xv: global_avgpool_forward(xv)[0]), x, dout)
    assert rel_error(to_numpy(dx), dx_numeric) <= FINITE_DIFFERENCE_TOLERANCE


# --- elementwise ---------------------------------------------------------------------------------

def test_add_and_relu_on_four_dimensional_tensors():
    rng = _rng(8)
    a = rng.standard_normal((2, 3, 4, 5))
    b = rng.standard_normal((2, 3, 4, 5))
    total = add(from_numpy(a), from_numpy(b))
    assert total.shape == a.shape
    np.testing.assert_array_equal(to_numpy(total), a + b)

    out, cache = relu_forward(from_numpy(a))
    np.testing.assert_array_equal(to_numpy(out), np.maximum(a, 0.0))
    dx = relu_backward(from_numpy(b), cache)
    np.testing.assert_array_equal(to_numpy(dx), np.where(a > 0.0, b, 0.0))


def test_add_rejects_different_shapes():
    with pytest.raises(ValueError, match="shapes differ"):
        add(FlatTensor.zeros((1, 2, 3, 3)), FlatTensor.zeros((1, 3, 3, 2)))


# --- optimizer -----------------------------------------------------------------------------------

def test_sgd_momentum_update_matches_torch_over_several_steps():
    rng = _rng(9)
    shapes = {"conv.weight": (4, 3, 3, 3), "bn.weight": (4,), "fc.weight": (2, 40001)}  # fc spans two update slices
    params = {name: rng.standard_normal(shape) for name, shape in shapes.items()}
    decay_names = {"conv.weight", "fc.weight"}
    lr, momentum, weight_decay = 0.05, 0.9, 1e-2

    flat_params = {name: from_numpy(value) for name, value in params.items()}
    velocity = {name: FlatTensor.zeros(value.shape) for name, value in params.items()}
    torch_params = {name: torch.tensor(value, requires_grad=True) for name, value in params.items()}
    optimizer = torch.optim.SGD(
        [{"params": [torch_params[n] for n in shapes if n in decay_names], "weight_decay": weight_decay},
         {"params": [torch_params[n] for n in shapes if n not in decay_names], "weight_decay": 0.0}],
        lr=lr, momentum=momentum,
    )
    for _ in range(3):
        grads = {name: rng.standard_normal(shape) for name, shape in shapes.items()}
        flat_grads = {name: from_numpy(g) for name, g in grads.items()}
        sgd_momentum_update(flat_params, flat_grads, velocity, lr, momentum, weight_decay, decay_names)
        for name, g in grads.items():
            torch_params[name].grad = torch.from_numpy(g)
            np.testing.assert_array_equal(to_numpy(flat_grads[name]), g)  # the gradients are not touched
        optimizer.step()
    for name in shapes:
        assert rel_error(to_numpy(flat_params[name]), torch_params[name].detach().numpy()) <= 1e-14


# --- progress hook -------------------------------------------------------------------------------

def test_layer_done_calls_the_callback_until_it_is_removed():
    seen = []
    previous = progress.set_layer_callback(seen.append)
    try:
        progress.layer_done("conv1 forward")
        progress.layer_done("conv1 backward")
    finally:
        assert progress.set_layer_callback(previous) == seen.append
    progress.layer_done("not seen")
    assert seen == ["conv1 forward", "conv1 backward"]


@pytest.mark.parametrize("column_budget", [1, 1200])  # groups of 1 image; of 2 then 1 (540 columns an image)
def test_conv2d_weight_gradient_is_the_same_in_image_groups(monkeypatch, column_budget):
    from implementations.pure_python.layers import conv  # noqa: PLC0415

    monkeypatch.setattr(conv, "_COLUMN_BUDGET", column_budget)
    rng = _rng(10, column_budget)
    x = rng.standard_normal((3, 2, 5, 6))
    w = rng.standard_normal((3, 2, 3, 3))
    out, cache = conv2d_forward(from_numpy(x), from_numpy(w), 1, 1)
    x_t, w_t = _torch_leaf(x), _torch_leaf(w)
    out_t = F.conv2d(x_t, w_t, stride=1, padding=1)
    dout = rng.standard_normal(out.shape)
    out_t.backward(torch.from_numpy(dout))
    dx, dw = conv2d_backward(from_numpy(dout), cache)
    assert rel_error(to_numpy(dx), x_t.grad.numpy()) <= TORCH_TOLERANCE
    assert rel_error(to_numpy(dw), w_t.grad.numpy()) <= TORCH_TOLERANCE
