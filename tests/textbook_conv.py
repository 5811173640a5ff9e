"""The floor for the loops backend's convolutions: a ResNet-50 convolution as a textbook writes it.

Nested lists ``x[n][c][h][w]`` and ``w[k][c][r][s]``, nested index loops, one accumulator per output
number, zero padding by bounds checks. No vecbench code: what ``loops``' convolution must be at
least as fast as (issue 13), and an independent check of what it computes
(tests/test_textbook_floor.py; timed interleaved by studies/loops_floor.py).
"""

from __future__ import annotations


def _out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def conv2d_forward(x, w, stride: int, padding: int):
    """out[n][k][oh][ow] = sum over c, r, s of x[n][c][oh*stride+r-padding][ow*stride+s-padding] * w[k][c][r][s]."""
    images, channels, height, width = len(x), len(x[0]), len(x[0][0]), len(x[0][0][0])
    filters, kernel_h, kernel_w = len(w), len(w[0][0]), len(w[0][0][0])
    out_h, out_w = _out_size(height, kernel_h, stride, padding), _out_size(width, kernel_w, stride, padding)
    out = []
    for n in range(images):
        maps = []
        for k in range(filters):
            rows = []
            for oh in range(out_h):
                row = []
                for ow in range(out_w):
                    total = 0.0
                    for c in range(channels):
                        for r in range(kernel_h):
                            ih = oh * stride + r - padding
                            if ih < 0 or ih >= height:
                                continue
                            for s in range(kernel_w):
                                iw = ow * stride + s - padding
                                if 0 <= iw < width:
                                    total += x[n][c][ih][iw] * w[k][c][r][s]
                    row.append(total)
                rows.append(row)
            maps.append(rows)
        out.append(maps)
    return out


def conv2d_backward(dout, x, w, stride: int, padding: int):
    """Returns (dx, dw): dx[n][c][h][w] and dw[k][c][r][s], each a sum of dout times the other factor."""
    images, channels, height, width = len(x), len(x[0]), len(x[0][0]), len(x[0][0][0])
    filters, kernel_h, kernel_w = len(w), len(w[0][0]), len(w[0][0][0])
    out_h, out_w = len(dout[0][0]), len(dout[0][0][0])
    dw = [[[[0.0] * kernel_w for _ in range(kernel_h)] for _ in range(channels)] for _ in range(filters)]
    dx = [[[[0.0] * width for _ in range(height)] for _ in range(channels)] for _ in range(images)]
    for k in range(filters):
        for c in range(channels):
            for r in range(kernel_h):
                for s in range(kernel_w):
                    total = 0.0
                    for n in range(images):
                        for oh in range(out_h):
                            ih = oh * stride + r - padding
                            if ih < 0 or ih >= height:
                                continue
                            for ow in range(out_w):
                                iw = ow * stride + s - padding
                                if 0 <= iw < width:
                                    total += dout[n][k][oh][ow] * x[n][c][ih][iw]
                    dw[k][c][r][s] = total
    for n in range(images):
        for c in range(channels):
            for ih in range(height):
                for iw in range(width):
                    total = 0.0
                    for k in range(filters):
                        for r in range(kernel_h):
                            oh, rest = divmod(ih + padding - r, stride)
                            if rest or oh < 0 or oh >= out_h:
                                continue
                            for s in range(kernel_w):
                                ow, rest = divmod(iw + padding - s, stride)
                                if rest == 0 and 0 <= ow < out_w:
                                    total += dout[n][k][oh][ow] * w[k][c][r][s]
                    dx[n][c][ih][iw] = total
    return dx, dw
