"""Batch normalization in training mode, as ``torch.nn.BatchNorm2d.train()``, on channels-last rows.

Statistics are per channel over N*H*W values. On channels-last storage the feature map is an
(N*H*W, C) matrix, so every statistic is a reduction over rows and every normalization is a
row-broadcast: contiguous passes, no transposes.
"""

from __future__ import annotations

import numpy as np

from .layout import channel_rows, rows_to_nchw


def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, running_mean: np.ndarray,
                      running_var: np.ndarray, momentum: float = 0.1, eps: float = 1e-5):
    """Normalize with the batch's statistics and return the updated running statistics.

    x: (N, C, H, W); gamma, beta, running_mean, running_var: (C,).
    Returns ``(out (N, C, H, W), cache, new_running_mean (C,), new_running_var (C,))``. Pure: the
    running statistics passed in are not modified. As torch, the output uses the biased batch
    variance while the running variance is updated with the unbiased one (times M/(M-1)).
    """
    if x.ndim != 4 or gamma.shape != (x.shape[1],):
        raise ValueError(f"batchnorm: x must be (N, C, H, W) with gamma (C,), got {x.shape} and {gamma.shape}")
    rows = channel_rows(x)
    count = rows.shape[0]
    if count < 2:
        raise ValueError(f"batchnorm in training mode needs more than one value per channel, got {count}")
    mean = rows.mean(axis=0)
    centered = rows - mean
    var = np.einsum("ij,ij->j", centered, centered) / count
    inv_std = 1.0 / np.sqrt(var + eps)
    # Fold gamma into the scale: one multiply and one add per element instead of three passes.
    out = centered * (gamma * inv_std)
    out += beta
    new_running_mean = (1 - momentum) * running_mean + momentum * mean
    new_running_var = (1 - momentum) * running_var + momentum * (var * (count / (count - 1)))
    cache = (centered, inv_std, gamma, x.shape)
    return rows_to_nchw(out, x.shape), cache, new_running_mean, new_running_var


def batchnorm_backward(dout: np.ndarray, cache):
    """dout: (N, C, H, W). Returns dx (N, C, H, W), dgamma (C,), dbeta (C,).

    With ``xhat = centered * inv_std`` and M values per channel,
    ``dx = gamma * inv_std * (dout - mean(dout) - xhat * mean(dout * xhat))``.
    """
    centered, inv_std, gamma, shape = cache
    dout_rows = channel_rows(dout)
    count = dout_rows.shape[0]
    dbeta = dout_rows.sum(axis=0)
    dout_dot_centered = np.einsum("ij,ij->j", dout_rows, centered)
    dgamma = dout_dot_centered * inv_std
    scale = gamma * inv_std
    dx = centered * (-scale * inv_std * inv_std * dout_dot_centered / count)
    dx += dout_rows * scale
    dx -= scale * dbeta / count
    return rows_to_nchw(dx, shape), dgamma, dbeta
