"""Batch normalization over (N, H, W) per channel, training mode, in pure Python."""

from __future__ import annotations

from array import array
from math import sqrt
from operator import mul

from ..tensor import FlatTensor


def _channel_values(data: array, n: int, channels: int, plane_size: int, channel: int) -> list[float]:
    """Every value of one channel across the batch (N*H*W floats), image after image."""
    values: list[float] = []
    for start in range(channel * plane_size, n * channels * plane_size, channels * plane_size):
        values += data[start:start + plane_size].tolist()
    return values


def _scatter_channel(target: array, values: list[float], n: int, channels: int, plane_size: int, channel: int):
    """Write one channel's N*H*W values back into an (N, C, H, W) buffer: the inverse of ``_channel_values``."""
    for image in range(n):
        start = (image * channels + channel) * plane_size
        target[start:start + plane_size] = array("d", values[image * plane_size:(image + 1) * plane_size])


def batchnorm_forward(x: FlatTensor, gamma: FlatTensor, beta: FlatTensor, running_mean: FlatTensor,
                      running_var: FlatTensor, momentum: float = 0.1, eps: float = 1e-5):
    """Training-mode batch normalization, as ``torch.nn.functional.batch_norm(training=True)``.

    x: (N, C, H, W); gamma, beta, running_mean, running_var: (C,). Each channel is normalized with
    its batch mean and biased variance over the m = N*H*W values. The running statistics are not
    modified: the new ones come back, ``(1 - momentum) * old + momentum * batch``, the variance
    term being the unbiased ``var * m / (m - 1)`` as torch does.

    Returns out (N, C, H, W), the cache, new_running_mean (C,), new_running_var (C,).
    """
    if len(x.shape) != 4:
        raise ValueError(f"batchnorm: x must be (N, C, H, W), got {x.shape}")
    n, channels, height, width = x.shape
    for name, param in (("gamma", gamma), ("beta", beta), ("running_mean", running_mean), ("running_var", running_var)):
        if tuple(param.shape) != (channels,):
            raise ValueError(f"batchnorm: {name} must have shape ({channels},), got {param.shape}")
    plane_size = height * width
    count = n * plane_size
    if count < 2:
        # The unbiased variance divides by m - 1; torch refuses this case too.
        raise ValueError(f"batchnorm: need more than one value per channel in training, got x of shape {x.shape}")
    out = array("d", bytes(8 * len(x.data)))
    x_hat = array("d", bytes(8 * len(x.data)))
    inv_stds = []
    batch_means = []
    batch_vars = []
    for channel, (scale, shift) in enumerate(zip(gamma.data, beta.data)):
        values = _channel_values(x.data, n, channels, plane_size, channel)
        mean = sum(values) / count
        centred = [v - mean for v in values]
        var = sum(map(mul, centred, centred)) / count  # two passes: no cancellation of E[x^2] - E[x]^2
        inv_std = 1.0 / sqrt(var + eps)
        normalized = [v * inv_std for v in centred]
        _scatter_channel(x_hat, normalized, n, channels, plane_size, channel)
        _scatter_channel(out, [scale * v + shift for v in normalized], n, channels, plane_size, channel)
        inv_stds.append(inv_std)
        batch_means.append(mean)
        batch_vars.append(var)
    keep = 1.0 - momentum
    unbiased = count / (count - 1)
    new_mean = array("d", [keep * old + momentum * m for old, m in zip(running_mean.data, batch_means)])
    new_var = array("d", [keep * old + momentum * v * unbiased for old, v in zip(running_var.data, batch_vars)])
    cache = (FlatTensor(x_hat, x.shape), gamma.data.tolist(), inv_stds)
    return FlatTensor(out, x.shape), cache, FlatTensor(new_mean, (channels,)), FlatTensor(new_var, (channels,))


def batchnorm_backward(dout: FlatTensor, cache):
    """Gradients of ``batchnorm_forward``.

    dout: (N, C, H, W). Returns dx (N, C, H, W), dgamma (C,), dbeta (C,). Per channel, with
    x_hat the normalized input and m = N*H*W:
    ``dx = gamma * inv_std * (dout - mean(dout) - x_hat * mean(dout * x_hat))``.
    """
    x_hat, gammas, inv_stds = cache
    if tuple(dout.shape) != tuple(x_hat.shape):
        raise ValueError(f"batchnorm_backward: dout has shape {dout.shape}, expected {x_hat.shape}")
    n, channels, height, width = x_hat.shape
    plane_size = height * width
    count = n * plane_size
    dx = array("d", bytes(8 * len(dout.data)))
    dgamma = array("d")
    dbeta = array("d")
    for channel, (scale, inv_std) in enumerate(zip(gammas, inv_stds)):
        grads = _channel_values(dout.data, n, channels, plane_size, channel)
        normalized = _channel_values(x_hat.data, n, channels, plane_size, channel)
        grad_sum = sum(grads)
        grad_dot_xhat = sum(map(mul, grads, normalized))
        dbeta.append(grad_sum)
        dgamma.append(grad_dot_xhat)
        gain = scale * inv_std
        along_xhat = gain * grad_dot_xhat / count
        offset = gain * grad_sum / count
        _scatter_channel(dx, [gain * g - along_xhat * xh - offset for g, xh in zip(grads, normalized)],
                         n, channels, plane_size, channel)
    return FlatTensor(dx, dout.shape), FlatTensor(dgamma, (channels,)), FlatTensor(dbeta, (channels,))
