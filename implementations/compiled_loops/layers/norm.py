"""Batch normalization in training mode, as ``torch.nn.BatchNorm2d.train()``, as compiled loops.

The feature map is channels-last, an (M, C) matrix of M = N*H*W rows, so every statistic is a loop
over rows with the channels innermost (contiguous). Sums over the M rows accumulate in float64, one
accumulator per channel: a float32 running sum over 12,544 values or more loses digits that the
chaotic gradients of a deep network amplify (the numpy backend sums in blocks for the same reason).
"""

from __future__ import annotations

import math

import numpy as np

from ...layer_shapes import batchnorm_count
from ..jit import kernel
from .storage import channels_last, nchw

_ROWS = "{f}[:, ::1]"
_CHANNELS = "{f}[::1]"


@kernel(f"void({_ROWS}, {_CHANNELS}, {_CHANNELS}, float64, {_ROWS}, {_ROWS}, {_CHANNELS}, {_CHANNELS})")
def _forward(x, gamma, beta, eps, centered, out, mean, var):
    """x (M, C) -> out (M, C) normalized; centered = x - mean; mean, var (C,): the batch's (biased var)."""
    rows, channels = x.shape
    sums = np.zeros(channels, dtype=np.float64)
    for m in range(rows):
        for c in range(channels):
            sums[c] += x[m, c]
    for c in range(channels):
        mean[c] = sums[c] / rows
        sums[c] = 0.0
    for m in range(rows):
        for c in range(channels):
            centered[m, c] = x[m, c] - mean[c]
            sums[c] += centered[m, c] * centered[m, c]
    scale = np.empty(channels, dtype=x.dtype)
    for c in range(channels):
        var[c] = sums[c] / rows
        scale[c] = gamma[c] / math.sqrt(var[c] + eps)
    for m in range(rows):
        for c in range(channels):
            out[m, c] = centered[m, c] * scale[c] + beta[c]


@kernel(f"void({_ROWS}, {_ROWS}, {_CHANNELS}, {_CHANNELS}, float64, {_ROWS}, {_CHANNELS}, {_CHANNELS})")
def _backward(dout, centered, var, gamma, eps, dx, dgamma, dbeta):
    """dx = gamma * inv_std * (dout - mean(dout) - centered * inv_std^2 * mean(dout * centered))."""
    rows, channels = dout.shape
    sums = np.zeros(channels, dtype=np.float64)
    dots = np.zeros(channels, dtype=np.float64)
    for m in range(rows):
        for c in range(channels):
            sums[c] += dout[m, c]
            dots[c] += dout[m, c] * centered[m, c]
    scale = np.empty(channels, dtype=dout.dtype)
    factor = np.empty(channels, dtype=dout.dtype)
    shift = np.empty(channels, dtype=dout.dtype)
    for c in range(channels):
        inv_std = 1 / math.sqrt(var[c] + eps)
        dbeta[c] = sums[c]
        dgamma[c] = dots[c] * inv_std
        scale[c] = gamma[c] * inv_std
        factor[c] = -inv_std * inv_std * dots[c] / rows
        shift[c] = -sums[c] / rows
    for m in range(rows):
        for c in range(channels):
            dx[m, c] = scale[c] * (dout[m, c] + shift[c] + centered[m, c] * factor[c])


@kernel(f"void({_CHANNELS}, {_CHANNELS}, float64, float64, {_CHANNELS})")
def _running(old, batch, momentum, correction, out):
    """out = (1 - momentum) * old + momentum * batch * correction, per channel."""
    for c in range(old.size):
        out[c] = (1 - momentum) * old[c] + momentum * (batch[c] * correction)


def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, running_mean: np.ndarray,
                      running_var: np.ndarray, momentum: float = 0.1, eps: float = 1e-5):
    """Normalize with the batch's statistics and return the updated running statistics.

    x: (N, C, H, W); gamma, beta, running_mean, running_var: (C,).
    Returns ``(out (N, C, H, W), cache, new_running_mean (C,), new_running_var (C,))``. Pure: the
    running statistics passed in are not modified. As torch, the output uses the biased batch
    variance while the running variance is updated with the unbiased one (times M/(M-1)).
    """
    count = batchnorm_count(x.shape, gamma.shape)
    x_nhwc = channels_last(x)
    channels = x.shape[1]
    rows = x_nhwc.reshape(count, channels)
    centered, out = np.empty_like(rows), np.empty_like(rows)
    mean, var = np.empty(channels, dtype=x.dtype), np.empty(channels, dtype=x.dtype)
    _forward(rows, np.ascontiguousarray(gamma), np.ascontiguousarray(beta), eps, centered, out, mean, var)
    new_mean, new_var = np.empty_like(running_mean), np.empty_like(running_var)
    running_mean, running_var = np.ascontiguousarray(running_mean), np.ascontiguousarray(running_var)
    _running(running_mean, mean, momentum, 1.0, new_mean)
    _running(running_var, var, momentum, count / (count - 1), new_var)
    cache = (centered, var, gamma, eps, x_nhwc.shape)
    return nchw(out.reshape(x_nhwc.shape)), cache, new_mean, new_var


def batchnorm_backward(dout: np.ndarray, cache):
    """dout: (N, C, H, W). Returns dx (N, C, H, W), dgamma (C,), dbeta (C,)."""
    centered, var, gamma, eps, shape = cache
    dout_rows = channels_last(dout).reshape(centered.shape)
    dx = np.empty_like(centered)
    dgamma, dbeta = np.empty_like(var), np.empty_like(var)
    _backward(dout_rows, centered, var, np.ascontiguousarray(gamma), eps, dx, dgamma, dbeta)
    return nchw(dx.reshape(shape)), dgamma, dbeta
