"""Max pooling and global average pooling as compiled loops over channels-last feature maps."""

from __future__ import annotations

import numpy as np

from ...layer_shapes import check_global_avgpool, maxpool2d_output
from ..jit import kernel
from .storage import channels_last, nchw

_MAPS = "{f}[:, :, :, ::1]"


@kernel(f"void({_MAPS}, int64, int64, int64, {_MAPS}, uint8[:, :, :, ::1])")
def _max_forward(x, kernel_size, stride, padding, out, argmax):
    """x: (N, H, W, C); out, argmax: (N, Ho, Wo, C). argmax holds the row-major window index of the
    first maximum: ties send the gradient there, as torch's CPU kernel does, and a NaN wins, as there
    (``val > maxval || isnan(val)``)."""
    images, height, width, channels = x.shape
    out_h, out_w = out.shape[1], out.shape[2]
    for n in range(images):
        for oh in range(out_h):
            for ow in range(out_w):
                first = True
                for r in range(kernel_size):
                    ih = oh * stride + r - padding
                    if ih < 0 or ih >= height:
                        continue
                    for s in range(kernel_size):
                        iw = ow * stride + s - padding
                        if iw < 0 or iw >= width:
                            continue
                        index = r * kernel_size + s
                        for c in range(channels):
                            value = x[n, ih, iw, c]
                            if first or value > out[n, oh, ow, c] or value != value:
                                out[n, oh, ow, c] = value
                                argmax[n, oh, ow, c] = index
                        first = False


@kernel(f"void({_MAPS}, uint8[:, :, :, ::1], int64, int64, int64, {_MAPS})")
def _max_backward(dout, argmax, kernel_size, stride, padding, dx):
    """dx (N, H, W, C), zeroed, += each output's gradient at its window's first maximum."""
    images, out_h, out_w, channels = dout.shape
    for n in range(images):
        for oh in range(out_h):
            for ow in range(out_w):
                for c in range(channels):
                    r, s = divmod(argmax[n, oh, ow, c], kernel_size)
                    dx[n, oh * stride + r - padding, ow * stride + s - padding, c] += dout[n, oh, ow, c]


def maxpool2d_forward(x: np.ndarray, kernel: int = 3, stride: int = 2, padding: int = 1):
    """Max over ``kernel`` x ``kernel`` windows, as ``torch.nn.functional.max_pool2d``.

    x: (N, C, H, W). Returns out (N, C, Ho, Wo), stored channels-last, and a cache.
    """
    out_h, out_w = maxpool2d_output(x.shape, kernel, stride, padding)
    n, c, h, w = x.shape
    if kernel * kernel > 256:
        raise ValueError(f"maxpool2d: kernel {kernel} too large; window indices are stored in 8 bits (kernel <= 16)")
    out = np.empty((n, out_h, out_w, c), dtype=x.dtype)
    argmax = np.empty(out.shape, dtype=np.uint8)
    _max_forward(channels_last(x), kernel, stride, padding, out, argmax)
    return nchw(out), (argmax, (n, h, w, c), kernel, stride, padding)


def maxpool2d_backward(dout: np.ndarray, cache) -> np.ndarray:
    """dout: (N, C, Ho, Wo). Returns dx (N, C, H, W): each output's gradient goes to its argmax."""
    argmax, shape, kernel, stride, padding = cache
    dx = np.zeros(shape, dtype=dout.dtype)
    _max_backward(channels_last(dout), argmax, kernel, stride, padding, dx)
    return nchw(dx)


@kernel(f"void({_MAPS}, {{f}}[:, ::1])")
def _average_forward(x, out):
    """out (N, C) = the mean of x (N, H, W, C) over H and W, summed in float64."""
    images, height, width, channels = x.shape
    sums = np.empty(channels, dtype=np.float64)
    for n in range(images):
        for c in range(channels):
            sums[c] = 0.0
        for h in range(height):
            for w in range(width):
                for c in range(channels):
                    sums[c] += x[n, h, w, c]
        for c in range(channels):
            out[n, c] = sums[c] / (height * width)


@kernel(f"void({{f}}[:, ::1], {_MAPS})")
def _average_backward(dout, dx):
    """dx (N, H, W, C): every pixel gets dout (N, C) / (H*W)."""
    images, height, width, channels = dx.shape
    for n in range(images):
        for h in range(height):
            for w in range(width):
                for c in range(channels):
                    dx[n, h, w, c] = dout[n, c] / (height * width)


def global_avgpool_forward(x: np.ndarray):
    """Mean over the spatial axes. x: (N, C, H, W). Returns out (N, C) and the cache (the shape)."""
    check_global_avgpool(x.shape)
    n, c, h, w = x.shape
    out = np.empty((n, c), dtype=x.dtype)
    _average_forward(channels_last(x), out)
    return out, (n, h, w, c)


def global_avgpool_backward(dout: np.ndarray, cache) -> np.ndarray:
    """dout: (N, C). Returns dx (N, C, H, W), stored channels-last."""
    dx = np.empty(cache, dtype=dout.dtype)
    _average_backward(np.ascontiguousarray(dout), dx)
    return nchw(dx)
