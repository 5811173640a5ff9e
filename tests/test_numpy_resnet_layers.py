"""The numpy backend's ResNet-50 layers against PyTorch float64 and centred finite differences.

Forwards are compared with ``torch.nn.functional``; backwards with torch autograd (relative error
<= 1e-8) and with finite differences (<= 3e-6). Shapes are small and non-square (H != W) so that a
swapped axis cannot pass. The layers store their outputs channels-last; inputs are given both as
plain NCHW arrays and as channels-last views.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from implementations.numpy_vectorized.layers import (
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
)
from tests.gradient_check import numerical_gradient, rel_error

TORCH_TOLERANCE = 1e-8
FINITE_DIFFERENCE_TOLERANCE = 3e-6
FLOAT32_TOLERANCE = 1e-5

CONV_CASES = list(itertools.product((1, 2, 3, 7), (1, 2), (0, 1, 3)))  # (kernel, stride, padding)


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([20260312, *key])


def _leaf(values: np.ndarray) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64, requires_grad=True)


def _channels_last_view(x: np.ndarray) -> np.ndarray:
    """The same logical (N, C, H, W) values stored as the layers store their outputs.

    ``numerical_gradient`` perturbs a C-contiguous copy of its input, so channels-last inputs go
    into it as plain NCHW arrays and the function under test converts them with this.
    """
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


# --- convolution ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("kernel", "stride", "padding"), CONV_CASES)
def test_conv2d_matches_torch(kernel, stride, padding):
    rng = _rng(1, kernel, stride, padding)
    x = rng.standard_normal((2, 3, 9, 10))
    w = rng.standard_normal((4, 3, kernel, kernel))
    out, cache = conv2d_forward(x, w, stride, padding)
    dout = rng.standard_normal(out.shape)
    dx, dw = conv2d_backward(dout, cache)

    xt, wt = _leaf(x), _leaf(w)
    expected = F.conv2d(xt, wt, stride=stride, padding=padding)
    expected.backward(torch.from_numpy(dout))
    assert out.shape == tuple(expected.shape)
    assert rel_error(out, expected.detach().numpy()) <= TORCH_TOLERANCE
    assert rel_error(dx, xt.grad.numpy()) <= TORCH_TOLERANCE
    assert rel_error(dw, wt.grad.numpy()) <= TORCH_TOLERANCE


@pytest.mark.parametrize(("kernel", "stride", "padding"), [(1, 1, 0), (1, 2, 0), (3, 1, 1), (3, 2, 1), (2, 2, 0), (3, 2, 0)])
def test_conv2d_backward_matches_finite_differences(kernel, stride, padding):
    rng = _rng(2, kernel, stride, padding)
    x = rng.standard_normal((2, 3, 6, 7))
    w = rng.standard_normal((4, 3, kernel, kernel))
    out, cache = conv2d_forward(_channels_last_view(x), w, stride, padding)
    dout = rng.standard_normal(out.shape)
    dx, dw = conv2d_backward(dout, cache)
    assert rel_error(dx, numerical_gradient(lambda v: conv2d_forward(v, w, stride, padding)[0], x, dout)) \
        <= FINITE_DIFFERENCE_TOLERANCE
    assert rel_error(dw, numerical_gradient(lambda v: conv2d_forward(x, v, stride, padding)[0], w, dout)) \
        <= FINITE_DIFFERENCE_TOLERANCE


def test_conv2d_backward_skips_dx_when_not_needed():
    rng = _rng(3)
    x, w = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((4, 3, 7, 7))
    out, cache = conv2d_forward(x, w, 2, 3)
    dx, dw = conv2d_backward(np.ones(out.shape), cache, need_dx=False)
    assert dx is None and dw.shape == w.shape


def test_conv2d_keeps_float32():
    rng = _rng(4)
    x = rng.standard_normal((2, 5, 8, 9)).astype(np.float32)
    w = rng.standard_normal((6, 5, 3, 3)).astype(np.float32)
    out, cache = conv2d_forward(x, w, 2, 1)
    dx, dw = conv2d_backward(np.ones(out.shape, np.float32), cache)
    assert out.dtype == dx.dtype == dw.dtype == np.float32
    expected = F.conv2d(torch.from_numpy(x).double(), torch.from_numpy(w).double(), stride=2, padding=1)
    assert rel_error(out, expected.numpy()) <= FLOAT32_TOLERANCE


def test_conv2d_rejects_mismatched_channels_and_tiny_inputs():
    with pytest.raises(ValueError, match="3 channels, weight expects 4"):
        conv2d_forward(np.zeros((1, 3, 5, 5)), np.zeros((2, 4, 3, 3)), 1, 1)
    with pytest.raises(ValueError, match="smaller than the 7x7 kernel"):
        conv2d_forward(np.zeros((1, 3, 4, 4)), np.zeros((2, 3, 7, 7)), 1, 1)


# --- batch norm ----------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_batchnorm_matches_torch_training_mode(layout):
    rng = _rng(5)
    x = rng.standard_normal((3, 4, 5, 6)) * 2.0 + 0.7
    gamma, beta = rng.uniform(0.5, 1.5, 4), rng.standard_normal(4)
    running_mean, running_var = rng.standard_normal(4), rng.uniform(0.5, 1.5, 4)
    given = _channels_last_view(x) if layout == "channels_last" else x
    out, cache, new_mean, new_var = batchnorm_forward(given, gamma, beta, running_mean, running_var)
    dout = rng.standard_normal(out.shape)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)

    xt, gt, bt = _leaf(x), _leaf(gamma), _leaf(beta)
    torch_mean, torch_var = torch.tensor(running_mean), torch.tensor(running_var)
    expected = F.batch_norm(xt, torch_mean, torch_var, gt, bt, training=True, momentum=0.1, eps=1e-5)
    expected.backward(torch.from_numpy(dout))
    assert rel_error(out, expected.detach().numpy()) <= TORCH_TOLERANCE
    assert rel_error(new_mean, torch_mean.numpy()) <= TORCH_TOLERANCE
    assert rel_error(new_var, torch_var.numpy()) <= TORCH_TOLERANCE  # unbiased batch variance, as torch
    assert rel_error(dx, xt.grad.numpy()) <= TORCH_TOLERANCE
    assert rel_error(dgamma, gt.grad.numpy()) <= TORCH_TOLERANCE
    assert rel_error(dbeta, bt.grad.numpy()) <= TORCH_TOLERANCE
    # Pure: the running statistics passed in are unchanged.
    assert not np.shares_memory(new_mean, running_mean) and not np.array_equal(new_mean, running_mean)


def test_batchnorm_backward_matches_finite_differences():
    rng = _rng(6)
    x = rng.standard_normal((2, 3, 4, 5))
    gamma, beta = rng.uniform(0.5, 1.5, 3), rng.standard_normal(3)
    zeros, ones = np.zeros(3), np.ones(3)
    out, cache, _, _ = batchnorm_forward(x, gamma, beta, zeros, ones)
    dout = rng.standard_normal(out.shape)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    assert rel_error(dx, numerical_gradient(lambda v: batchnorm_forward(v, gamma, beta, zeros, ones)[0], x, dout)) \
        <= FINITE_DIFFERENCE_TOLERANCE
    assert rel_error(dgamma, numerical_gradient(lambda v: batchnorm_forward(x, v, beta, zeros, ones)[0], gamma, dout)) \
        <= FINITE_DIFFERENCE_TOLERANCE
    assert rel_error(dbeta, numerical_gradient(lambda v: batchnorm_forward(x, gamma, v, zeros, ones)[0], beta, dout)) \
        <= FINITE_DIFFERENCE_TOLERANCE


def test_batchnorm_keeps_float32_and_refuses_one_value_per_channel():
    x = _rng(7).standard_normal((2, 3, 4, 4)).astype(np.float32)
    params = [np.ones(3, np.float32), np.zeros(3, np.float32), np.zeros(3, np.float32), np.ones(3, np.float32)]
    out, cache, mean, var = batchnorm_forward(x, *params)
    dx, dgamma, dbeta = batchnorm_backward(np.ones_like(x), cache)
    assert {a.dtype for a in (out, mean, var, dx, dgamma, dbeta)} == {np.dtype(np.float32)}
    with pytest.raises(ValueError, match="more than one value per channel"):
        batchnorm_forward(x[:1, :, :1, :1], *params)


# --- pooling, relu, add --------------------------------------------------------------------------

@pytest.mark.parametrize(("kernel", "stride", "padding"), [(3, 2, 1), (2, 2, 0), (3, 1, 1), (3, 2, 0)])
def test_maxpool_matches_torch_and_finite_differences(kernel, stride, padding):
    rng = _rng(8, kernel, stride, padding)
    x = rng.standard_normal((2, 3, 7, 8))
    out, cache = maxpool2d_forward(x, kernel, stride, padding)
    dout = rng.standard_normal(out.shape)
    dx = maxpool2d_backward(dout, cache)
    xt = _leaf(x)
    expected = F.max_pool2d(xt, kernel, stride, padding)
    expected.backward(torch.from_numpy(dout))
    assert rel_error(out, expected.detach().numpy()) <= TORCH_TOLERANCE
    assert rel_error(dx, xt.grad.numpy()) <= TORCH_TOLERANCE
    numerical = numerical_gradient(lambda v: maxpool2d_forward(v, kernel, stride, padding)[0], x, dout)
    assert rel_error(dx, numerical) <= FINITE_DIFFERENCE_TOLERANCE


def test_maxpool_ties_send_the_gradient_to_the_first_maximum_as_torch():
    x = np.zeros((1, 2, 5, 6))
    x[0, 1, 2:4, 1:4] = 1.0  # plateaus: several equal maxima in most windows
    out, cache = maxpool2d_forward(x, 3, 2, 1)
    dout = _rng(9).standard_normal(out.shape)
    xt = _leaf(x)
    F.max_pool2d(xt, 3, 2, 1).backward(torch.from_numpy(dout))
    np.testing.assert_array_equal(maxpool2d_backward(dout, cache), xt.grad.numpy())


def test_global_avgpool_matches_finite_differences():
    rng = _rng(10)
    x = _channels_last_view(rng.standard_normal((2, 3, 4, 5)))
    out, cache = global_avgpool_forward(x)
    np.testing.assert_allclose(out, x.mean(axis=(2, 3)), rtol=1e-12)
    dout = rng.standard_normal(out.shape)
    dx = global_avgpool_backward(dout, cache)
    numerical = numerical_gradient(lambda v: global_avgpool_forward(_channels_last_view(v))[0],
                                   np.ascontiguousarray(x), dout)
    assert rel_error(dx, numerical) <= FINITE_DIFFERENCE_TOLERANCE



def test_relu_and_add_on_feature_maps():
    rng = _rng(11)
    x = _channels_last_view(rng.standard_normal((2, 3, 4, 5)))
    out, cache = relu_forward(x)
    dout = rng.standard_normal(out.shape)
    dx = relu_backward(dout, cache)
    np.testing.assert_array_equal(dx, np.where(np.asarray(x) > 0, dout, 0.0))
    numerical = numerical_gradient(lambda v: relu_forward(_channels_last_view(v))[0], np.ascontiguousarray(x), dout)
    assert rel_error(dx, numerical) <= FINITE_DIFFERENCE_TOLERANCE
    np.testing.assert_array_equal(add(x, dout), np.asarray(x) + dout)


# --- the threaded passes -------------------------------------------------------------------------

def test_threaded_passes_equal_torch_on_maps_large_enough_to_split():
    """Maps above parallel.MIN_PARALLEL_ELEMENTS are split over 2 threads: same numbers as torch."""
    from threadpoolctl import threadpool_limits

    from implementations.numpy_vectorized.layers import parallel

    rng = _rng(12)
    x = rng.standard_normal((2, 8, 70, 66))  # 73,920 numbers: above the threshold
    assert x.size >= parallel.MIN_PARALLEL_ELEMENTS
    w = rng.standard_normal((8, 8, 3, 3))
    gamma, beta = rng.uniform(0.5, 1.5, 8), rng.standard_normal(8)
    with threadpool_limits(2):
        assert len(parallel.row_blocks(70, x.size)) == 2
        conv, conv_cache = conv2d_forward(x, w, 1, 1)
        normed, bn_cache, mean, var = batchnorm_forward(conv, gamma, beta, np.zeros(8), np.ones(8))
        act, relu_cache = relu_forward(add(normed, conv))
        pooled, pool_cache = maxpool2d_forward(act, 3, 2, 1)
        dpooled = rng.standard_normal(pooled.shape)
        dact = relu_backward(maxpool2d_backward(dpooled, pool_cache), relu_cache)
        dnormed, dgamma, dbeta = batchnorm_backward(dact, bn_cache)
        dx, dw = conv2d_backward(add(dnormed, dact), conv_cache)

    xt, wt, gt, bt = _leaf(x), _leaf(w), _leaf(gamma), _leaf(beta)
    torch_mean, torch_var = torch.zeros(8, dtype=torch.float64), torch.ones(8, dtype=torch.float64)
    conv_t = F.conv2d(xt, wt, padding=1)
    normed_t = F.batch_norm(conv_t, torch_mean, torch_var, gt, bt, training=True)
    pooled_t = F.max_pool2d(torch.relu(normed_t + conv_t), 3, 2, 1)
    pooled_t.backward(torch.from_numpy(dpooled))
    assert rel_error(pooled, pooled_t.detach().numpy()) <= TORCH_TOLERANCE
    assert rel_error(mean, torch_mean.numpy()) <= TORCH_TOLERANCE
    assert rel_error(var, torch_var.numpy()) <= TORCH_TOLERANCE
    for ours, leaf in ((dx, xt), (dw, wt), (dgamma, gt), (dbeta, bt)):
        assert rel_error(ours, leaf.grad.numpy()) <= TORCH_TOLERANCE
