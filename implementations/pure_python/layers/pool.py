"""Max pooling and global average pooling in pure Python."""

from __future__ import annotations

from array import array
from math import prod

from ..tensor import FlatTensor, flat_values, shape_of

_NEG_INF = float("-inf")


def maxpool2d_forward(x: FlatTensor, kernel: int = 3, stride: int = 2, padding: int = 1):
    """Max over kernel x kernel windows, as ``torch.nn.functional.max_pool2d`` (floor mode).

    x: (N, C, H, W). Padding acts as -inf, so it is never the max (torch's rule
    ``padding <= kernel // 2`` keeps a real value in every window). Returns out (N, C, Ho, Wo),
    Ho = (H + 2*padding - kernel) // stride + 1, and the cache: for every output, the flat index in
    x of the first maximum of its window in row-major order, where the gradient goes.
    """
    if len(x.shape) != 4:
        raise ValueError(f"maxpool2d: x must be (N, C, H, W), got {x.shape}")
    if kernel < 1 or stride < 1 or not 0 <= padding <= kernel // 2:
        raise ValueError(f"maxpool2d: need kernel, stride >= 1 and 0 <= padding <= kernel // 2, "
                         f"got kernel={kernel} stride={stride} padding={padding}")
    n, channels, height, width = x.shape
    out_h = (height + 2 * padding - kernel) // stride + 1
    out_w = (width + 2 * padding - kernel) // stride + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"maxpool2d: a {kernel}x{kernel} window does not fit a padded {height}x{width} input")
    padded_w = width + 2 * padding
    row_pad = [_NEG_INF] * padding
    blank_row = [_NEG_INF] * padded_w
    data = x.data
    out = array("d")
    argmax = array("q")  # flat indices into x; 8 bytes each, like the output
    for plane_start in range(0, len(data), height * width):
        rows = [blank_row] * padding
        for top in range(plane_start, plane_start + height * width, width):
            rows.append(row_pad + data[top:top + width].tolist() + row_pad)
        rows.extend([blank_row] * padding)
        for out_row in range(out_h):
            top = out_row * stride
            window_rows = rows[top:top + kernel]
            for left in range(0, out_w * stride, stride):
                window = []
                for row in window_rows:
                    window += row[left:left + kernel]
                best = max(window)
                r, s = divmod(window.index(best), kernel)  # index() finds the first maximum
                out.append(best)
                argmax.append(plane_start + (top + r - padding) * width + left + s - padding)
    return FlatTensor(out, (n, channels, out_h, out_w)), (argmax, x.shape)


def maxpool2d_backward(dout: FlatTensor, cache) -> FlatTensor:
    """Gradient of ``maxpool2d_forward``: each output's gradient added onto its window's argmax.

    dout: (N, C, Ho, Wo). Returns dx with the shape of the forward's x; windows overlap when
    stride < kernel, so one input may collect several gradients.
    """
    argmax, x_shape = cache
    if len(dout.data) != len(argmax):
        raise ValueError(f"maxpool2d_backward: dout has {len(dout.data)} values, the forward had {len(argmax)} outputs")
    dx = array("d", bytes(8 * prod(x_shape)))
    for index, grad in zip(argmax, dout.data):
        dx[index] += grad
    return FlatTensor(dx, x_shape)


def global_avgpool_forward(x: FlatTensor):
    """Mean over each channel's H*W values. x: (N, C, H, W). Returns out (N, C) as rows (what the
    classifier, a dense layer, reads) and the cache (x's shape)."""
    if len(x.shape) != 4:
        raise ValueError(f"global_avgpool: x must be (N, C, H, W), got {x.shape}")
    n, channels, height, width = x.shape
    plane_size = height * width
    data = x.data
    image_size = channels * plane_size
    out = [[sum(data[start:start + plane_size]) / plane_size for start in range(first, first + image_size, plane_size)]
           for first in range(0, len(data), image_size)]
    return out, x.shape


def global_avgpool_backward(dout, cache) -> FlatTensor:
    """Spread each (N, C) gradient evenly over its H*W inputs. dout: (N, C), rows (the classifier's
    input gradient) or a tensor. Returns dx (N, C, H, W)."""
    x_shape = cache
    n, channels, height, width = x_shape
    if shape_of(dout) != (n, channels):
        raise ValueError(f"global_avgpool_backward: dout has shape {shape_of(dout)}, expected {(n, channels)}")
    plane_size = height * width
    dx = array("d")
    for grad in flat_values(dout):
        dx.extend([grad / plane_size] * plane_size)
    return FlatTensor(dx, x_shape)
