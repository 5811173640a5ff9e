"""Channels-last storage behind an NCHW interface.

Every convolution layer takes and returns arrays of logical shape (N, C, H, W), as the loops
backend and PyTorch do. Their memory, though, is channels-last: the array is a transposed view of
a C-contiguous (N, H, W, C) buffer, like torch's ``channels_last`` memory format. In that layout a
feature map *is* an (N*H*W, C) matrix, so a 1x1 convolution is one BLAS product without a copy,
im2col copies runs of C contiguous numbers, and batch norm reduces over rows. NumPy's elementwise
operations keep the layout of their inputs, so relu, add and batch norm hand it on unchanged.
"""

from __future__ import annotations

import numpy as np


def to_channels_last(x: np.ndarray) -> np.ndarray:
    """x: (N, C, H, W), any strides. Returns a C-contiguous (N, H, W, C) array.

    No copy when ``x`` is already a channels-last view (the output of these layers); one copy
    otherwise (a plain NCHW input image, a gradient built elsewhere).
    """
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


def from_channels_last(x_nhwc: np.ndarray) -> np.ndarray:
    """x_nhwc: (N, H, W, C). Returns the (N, C, H, W) view of the same memory (no copy)."""
    return x_nhwc.transpose(0, 3, 1, 2)


def channel_rows(x: np.ndarray) -> np.ndarray:
    """x: (N, C, H, W). Returns the (N*H*W, C) matrix of its channels-last storage."""
    return to_channels_last(x).reshape(-1, x.shape[1])


def rows_to_nchw(rows: np.ndarray, shape: tuple[int, int, int, int]) -> np.ndarray:
    """rows: (N*H*W, C) as from :func:`channel_rows`; shape: (N, C, H, W). Returns the NCHW view."""
    n, c, h, w = shape
    return from_channels_last(rows.reshape(n, h, w, c))
