"""2-D convolution (no bias) as compiled loops over channels-last feature maps.

Every product is written out: for each output pixel, each kernel offset (r, s) and each input
channel c, ``out[n, oh, ow, :] += x[n, ih, iw, c] * w[r, s, c, :]``, the innermost loop along the
contiguous output channels (an axpy that LLVM vectorizes; see ``matmul``). Output pixels of a row go
in tiles of about ``TILE_VALUES`` numbers, so that each weight row read serves the whole tile. The
backward passes are the same loops with the roles exchanged: ``dx`` accumulates rows of the weight
stored (R, S, K, C), ``dw`` rows of ``dout``. Weights are copied once per call into the order the
loops read them (R*S*C*K numbers, next to N*Ho*Wo*R*S*C*K multiply-adds).

On all cores (``jit.kernel(parallel=True)``) each thread writes numbers no other thread writes: the
forward a share of the output tiles, the weight gradient a band of input channels, the input
gradient a band of input rows; each number is summed in the one-thread order.
"""

from __future__ import annotations

import numba
import numpy as np

from ...layer_shapes import conv2d_output
from ..jit import kernel
# Numbers of a tile's output rows (32 KiB in float64, a first-level data cache): each weight row read
# serves every pixel of the tile. Its own constant here: numba's disk cache notices a change to the
# file that defines a kernel, not to a constant imported from another one.
TILE_VALUES = 4096
from .storage import channels_last, nchw

_FEATURES = "{f}[:, :, :, ::1]"  # a channels-last (N, H, W, C) feature map, or a (K, C, R, S) weight
_CONV = f"void({_FEATURES}, {_FEATURES}, int64, int64, {_FEATURES}, int64)"  # ..., parts (jit.kernel)


# Weights are copied into the order the loops read them in square blocks of (filter, channel)
# pairs: copied one number after another, every write of a (K, C, R, S) weight into (R, S, C, K)
# order lands K numbers from the last, and with K a power of two (every ResNet-50 layer) in the
# same few cache sets. Measured on layer4's 3x3 weight (512x512x3x3): 24 ms one by one, 6.5 ms in
# blocks of 16x16, against 45-55 ms for the forward pass that reads it.
REORDER_BLOCK = 16


@kernel("void({f}[:, :, :, ::1], {f}[:, :, :, ::1], boolean)")
def _reorder(w, rows, filters_first):
    """w (K, C, R, S) -> rows (R, S, C, K), or (R, S, K, C) where ``filters_first``."""
    filters, channels, kernel_h, kernel_w = w.shape
    for k0 in range(0, filters, REORDER_BLOCK):
        for c0 in range(0, channels, REORDER_BLOCK):
            for r in range(kernel_h):
                for s in range(kernel_w):
                    for c in range(c0, min(c0 + REORDER_BLOCK, channels)):
                        for k in range(k0, min(k0 + REORDER_BLOCK, filters)):
                            if filters_first:
                                rows[r, s, k, c] = w[k, c, r, s]
                            else:
                                rows[r, s, c, k] = w[k, c, r, s]


@kernel("void({f}[:, :, :, ::1], {f}[:, :, :, ::1])")
def _restore(rows, w):
    """rows (R, S, C, K) -> w (K, C, R, S): the inverse of ``_reorder(w, rows, False)``."""
    filters, channels, kernel_h, kernel_w = w.shape
    for k0 in range(0, filters, REORDER_BLOCK):
        for c0 in range(0, channels, REORDER_BLOCK):
            for k in range(k0, min(k0 + REORDER_BLOCK, filters)):
                for c in range(c0, min(c0 + REORDER_BLOCK, channels)):
                    for r in range(kernel_h):
                        for s in range(kernel_w):
                            w[k, c, r, s] = rows[r, s, c, k]


@kernel("void(int64, int64, int64, int64, int64, int64, int64[:, ::1])")
def _tile_pixels(first, stop, out_h, out_w, stride, padding, pixels):
    """pixels[i] = (n, oh*stride - padding, ow*stride - padding) of the flat output pixel first + i."""
    for i in range(stop - first):
        n, rest = divmod(first + i, out_h * out_w)
        oh, ow = divmod(rest, out_w)
        pixels[i, 0] = n
        pixels[i, 1] = oh * stride - padding
        pixels[i, 2] = ow * stride - padding


@kernel(_CONV, parallel=True)
def _forward(x, w, stride, padding, out, parts):
    """x: (N, H, W, C); w: (K, C, R, S); out: (N, Ho, Wo, K), zeroed: out += conv(x, w).

    The tiles of output pixels are shared out among the ``parts`` (at least one tile each): each
    output row is written by one thread."""
    images, height, width, channels = x.shape
    filters, _, kernel_h, kernel_w = w.shape
    out_h, out_w = out.shape[1], out.shape[2]
    rows = np.empty((kernel_h, kernel_w, channels, filters), dtype=w.dtype)  # w as (R, S, C, K)
    _reorder(w, rows, False)
    total = images * out_h * out_w
    tile = max(1, min(TILE_VALUES // filters, -(-total // parts)))
    out_rows = out.reshape(total, filters)  # output pixels as rows of K channels
    for index in numba.prange(-(-total // tile)):
        first = index * tile
        stop = min(first + tile, total)
        pixels = np.empty((tile, 3), dtype=np.int64)
        _tile_pixels(first, stop, out_h, out_w, stride, padding, pixels)
        for r in range(kernel_h):
            for s in range(kernel_w):
                for c in range(channels):
                    for i in range(stop - first):
                        ih, iw = pixels[i, 1] + r, pixels[i, 2] + s
                        if ih < 0 or ih >= height or iw < 0 or iw >= width:
                            continue
                        value = x[pixels[i, 0], ih, iw, c]
                        for k in range(filters):
                            out_rows[first + i, k] += value * rows[r, s, c, k]


@kernel(_CONV, parallel=True)
def _input_gradient(dout, w, stride, padding, dx, parts):
    """dout: (N, Ho, Wo, K); w: (K, C, R, S); dx: (N, H, W, C), zeroed: dx += the input gradient.

    Neighbouring output pixels add into the same input pixels, so each of the ``parts`` owns a band
    of input rows (of every image) instead of a share of the tiles: it walks the tiles that reach
    its rows, whole, and adds only into its rows, so that every number is summed in the one-thread
    order. (A band of channels instead, the innermost loop's, halved that loop: 1.3x on 2 threads.)"""
    images, out_h, out_w, filters = dout.shape
    _, channels, kernel_h, kernel_w = w.shape
    height, width = dx.shape[1], dx.shape[2]
    rows = np.empty((kernel_h, kernel_w, filters, channels), dtype=w.dtype)  # w as (R, S, K, C)
    _reorder(w, rows, True)
    tile = max(1, TILE_VALUES // channels)
    total = images * out_h * out_w
    dout_rows = dout.reshape(total, filters)
    band = max(1, -(-height // parts))
    for part in numba.prange(-(-height // band)):
        top, bottom = part * band, min(part * band + band, height)
        # the output rows whose windows reach input rows [top, bottom)
        first_row = max(0, -(-(top + padding - kernel_h + 1) // stride))
        last_row = min(out_h, (bottom - 1 + padding) // stride + 1)
        pixels = np.empty((tile, 3), dtype=np.int64)
        done = -1  # the last tile walked: one tile may hold the end of an image and the start of the next
        for image in range(images):
            low = image * out_h * out_w + first_row * out_w
            high = image * out_h * out_w + last_row * out_w
            for index in range(max(low // tile, done + 1), -(-high // tile)):
                done = index
                first = index * tile
                stop = min(first + tile, total)
                _tile_pixels(first, stop, out_h, out_w, stride, padding, pixels)
                for r in range(kernel_h):
                    for s in range(kernel_w):
                        for k in range(filters):
                            for i in range(stop - first):
                                ih, iw = pixels[i, 1] + r, pixels[i, 2] + s
                                if ih < top or ih >= bottom or iw < 0 or iw >= width:
                                    continue
                                value = dout_rows[first + i, k]
                                n = pixels[i, 0]
                                for c in range(channels):
                                    dx[n, ih, iw, c] += value * rows[r, s, k, c]


@kernel(_CONV, parallel=True)
def _weight_gradient(x, dout, stride, padding, dw, parts):
    """x: (N, H, W, C); dout: (N, Ho, Wo, K); dw: (K, C, R, S): dw = the weight gradient.

    Every output pixel adds into every weight, so each of the ``parts`` owns a band of input
    channels (the weight's rows it writes) and walks all the tiles."""
    images, height, width, channels = x.shape
    out_h, out_w, filters = dout.shape[1], dout.shape[2], dout.shape[3]
    kernel_h, kernel_w = dw.shape[2], dw.shape[3]
    rows = np.zeros((kernel_h, kernel_w, channels, filters), dtype=dw.dtype)  # dw as (R, S, C, K)
    tile = max(1, TILE_VALUES // filters)
    total = images * out_h * out_w
    dout_rows = dout.reshape(total, filters)
    band = max(1, -(-channels // parts))
    for part in numba.prange(-(-channels // band)):
        low, high = part * band, min(part * band + band, channels)
        pixels = np.empty((tile, 3), dtype=np.int64)
        for first in range(0, total, tile):
            stop = min(first + tile, total)
            _tile_pixels(first, stop, out_h, out_w, stride, padding, pixels)
            for r in range(kernel_h):
                for s in range(kernel_w):
                    for c in range(low, high):
                        for i in range(stop - first):
                            ih, iw = pixels[i, 1] + r, pixels[i, 2] + s
                            if ih < 0 or ih >= height or iw < 0 or iw >= width:
                                continue
                            value = x[pixels[i, 0], ih, iw, c]
                            for k in range(filters):
                                rows[r, s, c, k] += value * dout_rows[first + i, k]
    _restore(rows, dw)


def conv2d_forward(x: np.ndarray, w: np.ndarray, stride: int, padding: int):
    """Cross-correlation of ``x`` with ``w`` as ``torch.nn.functional.conv2d`` (no bias).

    x: (N, C, H, W); w: (K, C, R, S); stride, padding: ints applied to both axes.
    Returns out (N, K, Ho, Wo), stored channels-last, and a cache for :func:`conv2d_backward`.
    """
    out_h, out_w = conv2d_output(x.shape, w.shape, stride, padding)
    n, k = x.shape[0], w.shape[0]
    x_nhwc = channels_last(x)
    w = np.ascontiguousarray(w)
    out = np.zeros((n, out_h, out_w, k), dtype=x.dtype)
    _forward(x_nhwc, w, stride, padding, out)
    return nchw(out), (x_nhwc, w, stride, padding)


def conv2d_backward(dout: np.ndarray, cache, need_dx: bool = True):
    """dout: (N, K, Ho, Wo). Returns dx (N, C, H, W) or None when ``need_dx`` is False, and dw (K, C, R, S)."""
    x_nhwc, w, stride, padding = cache
    dout_nhwc = channels_last(dout)
    dw = np.empty(w.shape, dtype=w.dtype)
    _weight_gradient(x_nhwc, dout_nhwc, stride, padding, dw)
    if not need_dx:
        return None, dw
    dx = np.zeros(x_nhwc.shape, dtype=x_nhwc.dtype)
    _input_gradient(dout_nhwc, w, stride, padding, dx)
    return nchw(dx), dw
