"""2-D convolution in pure Python: forward, weight gradient and input gradient.

All three products are written as dot products ``sum(map(mul, a, b))`` of long lists of boxed
floats, the one idiom a careful Python programmer has for a multiply-add run (see ``dense.py``):

* forward: ``out[k, p] = w_k . patch_p``, dots of length C*R*S over the image's patches;
* weight gradient: ``dw[k, (c, r, s)] = dout_k . column_(c, r, s)``, dots of length Ho*Wo times
  the images of a group (one image at 224x224 in the big layers, several where images are small);
* input gradient: ``dcolumn_(c, r, s)[p] = w[:, c, r, s] . dout[:, p]``, dots of length K, then each
  column is added back onto the input rows it was read from (col2im), one row slice at a time.

An unpadded 1x1 convolution (most of ResNet-50's) is a plain matrix product over channels of the
input sampled every ``stride`` pixels: its patches are the columns of that (C, Ho*Wo) sample and
its columns are the sample's rows, so it needs no per-patch gather and no col2im.

Memory: activations stay flat ``array('d')`` (8 bytes a number); the cache keeps only the input and
the weight, and the backward rebuilds the columns. Boxed floats exist for one image (or one small
group) of one layer at a time: its padded input planes or transposed copies (at most 256*56*56
values in ResNet-50 at 224, about 26 MB with their list slots) and the patches or columns, lists of
references to those floats (at most 147*112*112 or 576*56*56 = 1.8M references, about 15 MB).
"""

from __future__ import annotations

from array import array
from operator import add, mul

from ..tensor import FlatTensor


# Boxed values (padded input planes, or im2col references) one group of images may hold at once
# in the weight gradient: 2M, about the im2col of one 224x224 image in ResNet-50's largest layers.
_COLUMN_BUDGET = 1 << 21


def _output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _padded_planes(data: array, start: int, channels: int, height: int, width: int, padding: int):
    """One image's channels as lists of zero-padded rows of boxed floats: (C, H+2p, W+2p).

    The padding rows of a plane are one shared list: the planes are only read.
    """
    row_pad = [0.0] * padding
    blank_row = [0.0] * (width + 2 * padding)
    planes = []
    for channel in range(channels):
        offset = start + channel * height * width
        rows = [blank_row] * padding
        for top in range(offset, offset + height * width, width):
            rows.append(row_pad + data[top:top + width].tolist() + row_pad)
        rows.extend([blank_row] * padding)
        planes.append(rows)
    return planes


def _channel_lists(data: array, start: int, channels: int, plane_size: int) -> list[list[float]]:
    """One image as C lists of its H*W values (the rows of a (C, H*W) matrix)."""
    return [data[offset:offset + plane_size].tolist()
            for offset in range(start, start + channels * plane_size, plane_size)]


def _transposed_lists(data: array, start: int, rows: int, cols: int) -> list[list[float]]:
    """The (rows, cols) row-major block of ``data`` at ``start`` as ``cols`` lists of ``rows`` floats.

    Each list is a strided slice of the array turned into fresh floats, so the floats of one list
    lie side by side in memory. ``zip(*row_lists)`` would give the same values, but each tuple would
    point into ``rows`` distant lists, and the dots over them run about 1.5x slower from cache misses.
    """
    stop = start + rows * cols
    return [data[column:stop:cols].tolist() for column in range(start, start + cols)]


def _patches(planes, kernel_h: int, kernel_w: int, stride: int, out_h: int, out_w: int) -> list[list[float]]:
    """im2col in row layout: Ho*Wo patches, each a list of C*R*S floats in the weight's (c, r, s) order."""
    patches = []
    for out_row in range(out_h):
        top = out_row * stride
        # The C*R input rows every patch of this output row reads from, in (c, r) order.
        source_rows = [plane[top + r] for plane in planes for r in range(kernel_h)]
        for left in range(0, out_w * stride, stride):
            right = left + kernel_w
            patch = []
            for row in source_rows:
                patch += row[left:right]
            patches.append(patch)
    return patches


def _columns(planes, kernel_h: int, kernel_w: int, stride: int, out_h: int, out_w: int) -> list[list[float]]:
    """im2col in column layout: C*R*S columns in (c, r, s) order, each the Ho*Wo input values one
    weight tap meets, in output row-major order."""
    span = stride * (out_w - 1) + 1  # the input width one output row's taps stretch over
    columns = []
    for plane in planes:
        for r in range(kernel_h):
            source_rows = plane[r:r + stride * (out_h - 1) + 1:stride]
            for s in range(kernel_w):
                column = []
                for row in source_rows:
                    column += row[s:s + span:stride]
                columns.append(column)
    return columns


def _check_shapes(x: FlatTensor, w: FlatTensor, stride: int, padding: int):
    if len(x.shape) != 4 or len(w.shape) != 4:
        raise ValueError(f"conv2d: x must be (N, C, H, W) and w (K, C, R, S); got {x.shape} and {w.shape}")
    n, channels, height, width = x.shape
    filters, w_channels, kernel_h, kernel_w = w.shape
    if w_channels != channels:
        raise ValueError(f"conv2d: input has {channels} channels, weight expects {w_channels}")
    if stride < 1 or padding < 0:
        raise ValueError(f"conv2d: stride must be >= 1 and padding >= 0, got {stride} and {padding}")
    out_h = _output_size(height, kernel_h, stride, padding)
    out_w = _output_size(width, kernel_w, stride, padding)
    if out_h < 1 or out_w < 1:
        raise ValueError(f"conv2d: a {kernel_h}x{kernel_w} kernel does not fit a padded {height}x{width} input")
    return n, channels, height, width, filters, kernel_h, kernel_w, out_h, out_w


def _is_pointwise(kernel_h: int, kernel_w: int, padding: int) -> bool:
    """A 1x1 kernel without padding: a matrix product over channels (of a strided sample)."""
    return kernel_h == 1 and kernel_w == 1 and padding == 0


def _sampled_channels(data: array, start: int, channels: int, height: int, width: int, stride: int,
                      out_h: int, out_w: int) -> array:
    """The pixels an unpadded 1x1 convolution reads, (C, Ho*Wo) flat: every ``stride``-th row and column."""
    if stride == 1:
        return data[start:start + channels * height * width]
    span = stride * (out_w - 1) + 1
    sample = array("d")
    for plane in range(start, start + channels * height * width, height * width):
        for top in range(plane, plane + out_h * stride * width, stride * width):
            sample += data[top:top + span:stride]
    return sample


def conv2d_forward(x: FlatTensor, w: FlatTensor, stride: int = 1, padding: int = 0):
    """Cross-correlation with zero padding and no bias, as ``torch.nn.functional.conv2d``.

    x: (N, C, H, W); w: (K, C, R, S). Returns out (N, K, Ho, Wo) with
    Ho = (H + 2*padding - R) // stride + 1 (likewise Wo), and the cache ``(x, w, stride, padding)``.
    """
    n, channels, height, width, filters, kernel_h, kernel_w, out_h, out_w = _check_shapes(x, w, stride, padding)
    pointwise = _is_pointwise(kernel_h, kernel_w, padding)
    w_rows = _filter_rows(w)
    image_size = channels * height * width
    out = array("d")
    for image in range(n):
        start = image * image_size
        if pointwise:
            # The patches of a 1x1 convolution are the columns of the (C, Ho*Wo) sampled input. Fresh
            # floats side by side: a patch gathered from C distant planes runs 2x slower (cache misses).
            sample = _sampled_channels(x.data, start, channels, height, width, stride, out_h, out_w)
            patches = _transposed_lists(sample, 0, channels, out_h * out_w)
        else:
            planes = _padded_planes(x.data, start, channels, height, width, padding)
            patches = _patches(planes, kernel_h, kernel_w, stride, out_h, out_w)
            del planes  # the patches keep the floats they need
        for w_k in w_rows:
            out.extend([sum(map(mul, w_k, patch)) for patch in patches])
    return FlatTensor(out, (n, filters, out_h, out_w)), (x, w, stride, padding)


def _filter_rows(w: FlatTensor) -> list[list[float]]:
    """The weight as K lists of C*R*S floats, in the (c, r, s) order of the patches."""
    filters = w.shape[0]
    size = len(w.data) // filters
    return [w.data[start:start + size].tolist() for start in range(0, len(w.data), size)]


def conv2d_backward(dout: FlatTensor, cache, need_dx: bool = True):
    """Gradients of ``conv2d_forward``.

    dout: (N, K, Ho, Wo). Returns dx (N, C, H, W), or None when ``need_dx`` is false (the network's
    first layer: its input is data), and dw (K, C, R, S).
    """
    x, w, stride, padding = cache
    n, channels, height, width, filters, kernel_h, kernel_w, out_h, out_w = _check_shapes(x, w, stride, padding)
    if tuple(dout.shape) != (n, filters, out_h, out_w):
        raise ValueError(f"conv2d_backward: dout has shape {dout.shape}, expected {(n, filters, out_h, out_w)}")
    pointwise = _is_pointwise(kernel_h, kernel_w, padding)
    taps = channels * kernel_h * kernel_w
    out_size = out_h * out_w
    image_size = channels * height * width
    # w[:, c, r, s] for every tap: the K weights that carry dout back onto one input position.
    w_taps = _transposed_lists(w.data, 0, filters, taps) if need_dx else None
    dw_rows = None
    dx_data = array("d") if need_dx else None
    # The weight gradient sums over every output pixel of the batch. Images are taken in groups so
    # that the dots span the whole group (late layers have few pixels per image: 7x7 at 224, 1x1 at
    # 32) while the group's boxed planes and columns stay within _COLUMN_BUDGET.
    padded_size = channels * (height + 2 * padding) * (width + 2 * padding)
    group = max(1, min(n, _COLUMN_BUDGET // max(taps * out_size, padded_size)))
    for first in range(0, n, group):
        images = range(first, min(n, first + group))
        dout_rows = [[] for _ in range(filters)]
        columns = None
        for image in images:
            for row, image_row in zip(dout_rows, _channel_lists(dout.data, image * filters * out_size, filters, out_size)):
                row += image_row
            if pointwise:
                sample = _sampled_channels(x.data, image * image_size, channels, height, width, stride, out_h, out_w)
                image_columns = _channel_lists(sample, 0, channels, out_size)
            else:
                planes = _padded_planes(x.data, image * image_size, channels, height, width, padding)
                image_columns = _columns(planes, kernel_h, kernel_w, stride, out_h, out_w)
                del planes  # the columns keep the floats they need
            if columns is None:
                columns = image_columns
            else:
                for column, more in zip(columns, image_columns):
                    column += more
        # A dot over the group's output pixels for every (filter, tap) pair.
        group_dw = [[sum(map(mul, d_k, column)) for column in columns] for d_k in dout_rows]
        del columns
        dw_rows = group_dw if dw_rows is None else [list(map(add, total, part)) for total, part in zip(dw_rows, group_dw)]

        if need_dx:
            for image in images:
                dout_pixels = _transposed_lists(dout.data, image * filters * out_size, filters, out_size)  # (Ho*Wo, K)
                if pointwise:
                    dx_data.extend(_pointwise_input_gradient(dout_pixels, w_taps, height, width, stride, out_h, out_w))
                else:
                    dx_data.extend(_input_gradient(dout_pixels, w_taps, channels, height, width,
                                                   kernel_h, kernel_w, stride, padding, out_h, out_w))
    dw = array("d")
    for row in dw_rows:
        dw.extend(row)
    dx = FlatTensor(dx_data, x.shape) if need_dx else None
    return dx, FlatTensor(dw, w.shape)


def _pointwise_input_gradient(dout_pixels, w_taps, height, width, stride, out_h, out_w) -> array:
    """One image's dx (C*H*W values, flat) for an unpadded 1x1 convolution: ``w^T dout`` per
    channel, placed back on the pixels the stride sampled (the others get no gradient).

    dout_pixels: Ho*Wo lists of K; w_taps: C lists of K.
    """
    dx = array("d")
    if stride == 1:
        for w_tap in w_taps:
            dx.extend([sum(map(mul, w_tap, d_p)) for d_p in dout_pixels])
        return dx
    span = stride * (out_w - 1) + 1
    for w_tap in w_taps:
        plane = array("d", bytes(8 * height * width))
        column = array("d", [sum(map(mul, w_tap, d_p)) for d_p in dout_pixels])
        for out_row in range(out_h):
            top = out_row * stride * width
            plane[top:top + span:stride] = column[out_row * out_w:(out_row + 1) * out_w]
        dx += plane
    return dx


def _input_gradient(dout_pixels, w_taps, channels, height, width, kernel_h, kernel_w, stride, padding,
                    out_h, out_w) -> array:
    """One image's dx (C*H*W values, flat): col2im of ``w^T dout``, one channel at a time.

    dout_pixels: Ho*Wo lists of K; w_taps: C*R*S lists of K in (c, r, s) order. Each tap's column
    of ``w^T dout`` (Ho*Wo values) is added onto the padded input rows the forward read it from;
    the padding is cut off at the end. Only one channel's columns are alive at a time.
    """
    padded_w = width + 2 * padding
    span = stride * (out_w - 1) + 1
    dx = array("d")
    tap = 0
    for _ in range(channels):
        plane = [[0.0] * padded_w for _ in range(height + 2 * padding)]
        for r in range(kernel_h):
            for s in range(kernel_w):
                w_tap = w_taps[tap]
                tap += 1
                column = [sum(map(mul, w_tap, d_p)) for d_p in dout_pixels]
                for out_row, start in enumerate(range(0, out_h * out_w, out_w)):
                    row = plane[r + out_row * stride]
                    row[s:s + span:stride] = list(map(add, row[s:s + span:stride], column[start:start + out_w]))
        for row in plane[padding:padding + height]:
            dx.extend(row[padding:padding + width])
    return dx
