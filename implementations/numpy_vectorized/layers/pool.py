"""Max pooling and global average pooling on channels-last storage, as torch's CPU kernels."""

from __future__ import annotations

import numpy as np

from ...layer_shapes import check_global_avgpool, maxpool2d_output
from .layout import from_channels_last, to_channels_last
from .parallel import for_row_blocks


def _window_slice(offset: int, stride: int, out_size: int) -> slice:
    return slice(offset, offset + stride * (out_size - 1) + 1, stride)


def maxpool2d_forward(x: np.ndarray, kernel: int = 3, stride: int = 2, padding: int = 1):
    """Max over ``kernel`` x ``kernel`` windows, as ``torch.nn.functional.max_pool2d``.

    x: (N, C, H, W). Returns out (N, C, Ho, Wo) and a cache holding, per output, the index (in
    row-major window order) of the first maximum: ties send the gradient there, as torch's CPU
    kernel does. The loop runs over the kernel*kernel offsets, each a whole-array comparison.
    """
    out_h, out_w = maxpool2d_output(x.shape, kernel, stride, padding)
    n, c, h, w = x.shape
    if kernel * kernel > 128:
        raise ValueError(f"maxpool2d: kernel {kernel} too large; window indices are coded in 7 bits (kernel <= 11)")
    x_nhwc = to_channels_last(x)
    # -inf padding never wins, and every window holds at least one real pixel (padding <= kernel/2).
    padded = np.full((n, h + 2 * padding, w + 2 * padding, c), -np.inf, dtype=x.dtype)
    padded[:, padding:padding + h, padding:padding + w] = x_nhwc
    out = np.empty((n, out_h, out_w, c), dtype=x.dtype)
    argmax = np.empty(out.shape, dtype=np.uint8)

    def pool_rows(block: slice) -> None:
        rows = block.stop - block.start
        block_out, block_argmax = out[:, block], argmax[:, block]
        windows = [padded[:, _window_slice(i + stride * block.start, stride, rows), _window_slice(j, stride, out_w)]
                   for i in range(kernel) for j in range(kernel)]
        np.copyto(block_out, windows[0])
        for window in windows[1:]:
            np.maximum(block_out, window, out=block_out)
        # The first maximum in row-major window order is the smallest index whose value equals
        # the maximum. Code each offset as index (equal) or 128 + index (not equal) and take the
        # minimum: whole-array integer passes, where masked copies would branch per element.
        block_argmax.fill(255)
        for index, window in enumerate(windows):
            code = np.not_equal(window, block_out).view(np.uint8) << 7
            code |= index
            np.minimum(block_argmax, code, out=block_argmax)
        block_argmax &= 127

    for_row_blocks(pool_rows, out_h, out.size)
    return from_channels_last(out), (argmax, x.shape, kernel, stride, padding)


def maxpool2d_backward(dout: np.ndarray, cache) -> np.ndarray:
    """dout: (N, C, Ho, Wo). Returns dx (N, C, H, W): each output's gradient goes to its argmax."""
    argmax, (n, c, h, w), kernel, stride, padding = cache
    out_h, out_w = argmax.shape[1], argmax.shape[2]
    dout_nhwc = to_channels_last(dout)
    dpadded = np.zeros((n, h + 2 * padding, w + 2 * padding, c), dtype=dout.dtype)
    for index in range(kernel * kernel):
        i, j = divmod(index, kernel)
        # Windows overlap when stride < kernel, so offsets accumulate rather than assign.
        dpadded[:, _window_slice(i, stride, out_h), _window_slice(j, stride, out_w)] += dout_nhwc * (
            argmax == index)
    dx_nhwc = np.ascontiguousarray(dpadded[:, padding:padding + h, padding:padding + w])
    return from_channels_last(dx_nhwc)


def global_avgpool_forward(x: np.ndarray):
    """Mean over the spatial axes. x: (N, C, H, W). Returns out (N, C) and the cache (the shape)."""
    check_global_avgpool(x.shape)
    n, c, h, w = x.shape
    out = to_channels_last(x).reshape(n, h * w, c).mean(axis=1)
    return out, x.shape


def global_avgpool_backward(dout: np.ndarray, cache) -> np.ndarray:
    """dout: (N, C). Returns dx (N, C, H, W), channels-last: every pixel gets dout / (H*W)."""
    n, c, h, w = cache
    share = dout / (h * w)
    dx_nhwc = np.broadcast_to(share[:, None, None, :], (n, h, w, c)).copy()
    return from_channels_last(dx_nhwc)

