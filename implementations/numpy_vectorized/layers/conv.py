"""2-D convolution (no bias) by im2col and one BLAS product, on channels-last storage.

Activations are stored channels-last (see :mod:`.layout`), so:

* a 1x1 convolution with stride 1 is ``(N*H*W, C) @ (C, K)`` with no copy at all; with stride 2
  it copies the strided pixels once;
* an RxS convolution gathers its patches with ``sliding_window_view`` into one contiguous
  (N*Ho*Wo, R*S*C) matrix, each patch a run of R*S blocks of C contiguous numbers, and multiplies
  once: one large GEMM keeps BLAS near its peak, where one product per kernel offset would add
  R*S extra passes over the output to accumulate.

The backward pass reuses the patch matrix for ``dW`` and scatters ``dcols`` back with one strided
add per kernel offset (R*S adds over the input, not a loop over pixels).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ...layer_shapes import conv2d_output
from .layout import channel_rows, from_channels_last, to_channels_last
from .parallel import for_row_blocks


def _pad_channels_last(x_nhwc: np.ndarray, padding: int) -> np.ndarray:
    """x_nhwc: (N, H, W, C). Returns (N, H+2p, W+2p, C) with a zero border (a fresh array)."""
    if padding == 0:
        return x_nhwc
    n, h, w, c = x_nhwc.shape
    padded = np.zeros((n, h + 2 * padding, w + 2 * padding, c), dtype=x_nhwc.dtype)
    padded[:, padding:padding + h, padding:padding + w] = x_nhwc
    return padded


def _valid_outputs(offset: int, stride: int, padding: int, size: int, out_size: int) -> tuple[int, int]:
    """Output indices ``[first, stop)`` whose input index ``o*stride + offset - padding`` is inside [0, size)."""
    first = max(0, -((offset - padding) // stride))  # ceil((padding - offset) / stride)
    stop = min(out_size, (size - 1 + padding - offset) // stride + 1)
    return first, stop


def conv2d_forward(x: np.ndarray, w: np.ndarray, stride: int, padding: int):
    """Cross-correlation of ``x`` with ``w`` as ``torch.nn.functional.conv2d`` (no bias).

    x: (N, C, H, W); w: (K, C, R, S); stride, padding: ints applied to both axes.
    Returns out (N, K, Ho, Wo) with ``Ho = floor((H + 2*padding - R) / stride) + 1``, stored
    channels-last, and a cache for :func:`conv2d_backward`.
    """
    out_h, out_w = conv2d_output(x.shape, w.shape, stride, padding)
    n, c, h, width = x.shape
    k, _, r, s = w.shape
    x_nhwc = to_channels_last(x)
    if r == 1 and s == 1 and padding == 0:
        picked = x_nhwc if stride == 1 else np.ascontiguousarray(x_nhwc[:, ::stride, ::stride])
        cols = picked.reshape(-1, c)
        w_mat = w.reshape(k, c)  # a view: torch's (K, C, 1, 1) is already (K, C)
    else:
        windows = sliding_window_view(_pad_channels_last(x_nhwc, padding), (r, s), axis=(1, 2))
        # windows: (N, Hp-R+1, Wp-S+1, C, R, S); keep every stride-th window, patches as (R, S, C)
        windows = windows[:, :stride * (out_h - 1) + 1:stride, :stride * (out_w - 1) + 1:stride]
        windows = windows.transpose(0, 1, 2, 4, 5, 3)  # (N, Ho, Wo, R, S, C)
        cols = np.empty(windows.shape, dtype=x.dtype)
        # The gather is a copy NumPy does on one core: split it over output rows across threads.
        for_row_blocks(lambda block: np.copyto(cols[:, block], windows[:, block]), out_h, cols.size)
        cols = cols.reshape(-1, r * s * c)
        # The weight follows the patches' (R, S, C) order; copying it is cheap next to the patches.
        w_mat = np.ascontiguousarray(w.transpose(0, 2, 3, 1)).reshape(k, r * s * c)
    out = cols @ w_mat.T  # (N*Ho*Wo, K): channels-last output
    cache = (cols, w_mat, x.shape, w.shape, stride, padding)
    return from_channels_last(out.reshape(n, out_h, out_w, k)), cache


def conv2d_backward(dout: np.ndarray, cache, need_dx: bool = True):
    """dout: (N, K, Ho, Wo). Returns dx (N, C, H, W) or None when ``need_dx`` is False, and dw (K, C, R, S).

    ``need_dx=False`` skips the input-gradient product, as for the first convolution, whose input
    (the image) needs no gradient.
    """
    cols, w_mat, x_shape, w_shape, stride, padding = cache
    n, c, h, width = x_shape
    k, _, r, s = w_shape
    out_h, out_w = dout.shape[2], dout.shape[3]
    dout_rows = channel_rows(dout)  # (N*Ho*Wo, K)
    dw_mat = dout_rows.T @ cols  # (K, R*S*C)
    if r == 1 and s == 1:
        dw = dw_mat.reshape(k, c, 1, 1)
    else:
        dw = np.ascontiguousarray(dw_mat.reshape(k, r, s, c).transpose(0, 3, 1, 2))
    if not need_dx:
        return None, dw
    dcols = dout_rows @ w_mat  # (N*Ho*Wo, R*S*C)
    if r == 1 and s == 1 and padding == 0:
        if stride == 1:
            return from_channels_last(dcols.reshape(n, h, width, c)), dw
        dx_nhwc = np.zeros((n, h, width, c), dtype=dcols.dtype)
        dx_nhwc[:, ::stride, ::stride] = dcols.reshape(n, out_h, out_w, c)
        return from_channels_last(dx_nhwc), dw
    dcols = dcols.reshape(n, out_h, out_w, r, s, c)
    dx_nhwc = np.zeros((n, h, width, c), dtype=dcols.dtype)
    # Threads take disjoint channel blocks, so their strided adds never overlap.
    for_row_blocks(lambda block: _col2im(dcols[..., block], dx_nhwc[..., block], stride, padding), c, dx_nhwc.size)
    return from_channels_last(dx_nhwc), dw


def _col2im(dcols: np.ndarray, dx_nhwc: np.ndarray, stride: int, padding: int) -> None:
    """Add dcols (N, Ho, Wo, R, S, C) onto dx_nhwc (N, H, W, C) in place, one add per kernel offset."""
    _, out_h, out_w, r, s, _ = dcols.shape
    h, width = dx_nhwc.shape[1], dx_nhwc.shape[2]
    # Each kernel offset adds its slice of dcols onto the input pixels it read; offsets whose
    # windows hang over the padding add only the part that lands inside the image.
    for i in range(r):
        oh0, oh1 = _valid_outputs(i, stride, padding, h, out_h)
        if oh1 <= oh0:
            continue
        ih0 = oh0 * stride + i - padding
        rows = slice(ih0, ih0 + stride * (oh1 - oh0 - 1) + 1, stride)
        for j in range(s):
            ow0, ow1 = _valid_outputs(j, stride, padding, width, out_w)
            if ow1 <= ow0:
                continue
            iw0 = ow0 * stride + j - padding
            columns = slice(iw0, iw0 + stride * (ow1 - ow0 - 1) + 1, stride)
            dx_nhwc[:, rows, columns] += dcols[:, oh0:oh1, ow0:ow1, i, j]
