"""How the numba layers store arrays, and the 1-D and channels-last views their kernels loop over.

Feature maps are channels-last, as in the numpy backend and torch's ``channels_last``: logically
(N, C, H, W), in memory a C-contiguous (N, H, W, C) buffer, so that the kernels' innermost loops
run along contiguous channels. The kernels take only C-contiguous arrays (``::1`` in their
signatures), whose strides LLVM then knows; these helpers hand them such views, copying only an
array stored otherwise (the input image, once per step).
"""

from __future__ import annotations

import numpy as np


def channels_last(x: np.ndarray) -> np.ndarray:
    """x: (N, C, H, W). Its C-contiguous (N, H, W, C) storage: a view when it is stored so, else a copy."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


def nchw(x_nhwc: np.ndarray) -> np.ndarray:
    """x_nhwc: (N, H, W, C), C-contiguous. The logical (N, C, H, W) view of the same memory."""
    return x_nhwc.transpose(0, 3, 1, 2)


def like(x: np.ndarray) -> np.ndarray:
    """An uninitialized array of x's shape and dtype, stored channels-last where x is, else
    C-contiguous: the two orders :func:`flat` views without a copy, so a kernel writing into
    ``flat(like(x))`` writes into the array returned (``np.empty_like`` would keep any other
    order, a Fortran one say, and ``flat`` would hand the kernel a copy)."""
    if _is_channels_last(x):
        n, c, h, w = x.shape
        return nchw(np.empty((n, h, w, c), dtype=x.dtype))
    return np.empty(x.shape, dtype=x.dtype)


def elementwise(kernel, layout: np.ndarray, *inputs: np.ndarray) -> np.ndarray:
    """A new array shaped and stored as ``layout``, written by ``kernel(*flat inputs, flat out)``:
    every input handed over in ``layout``'s memory order, so the i-th numbers of all of them are
    one logical element."""
    out = like(layout)
    kernel(*(flat(a, like=layout) for a in inputs), flat(out))
    return out


def _is_channels_last(x: np.ndarray) -> bool:
    return x.ndim == 4 and not x.flags.c_contiguous and x.transpose(0, 2, 3, 1).flags.c_contiguous


def flat(x: np.ndarray, like: np.ndarray | None = None) -> np.ndarray:
    """x's numbers as a C-contiguous 1-D array in memory order (a view where x is C-contiguous or
    channels-last). With ``like``: in ``like``'s memory order, so that two arrays' i-th numbers are
    the same logical element (a copy where x is stored otherwise)."""
    layout_of = like if like is not None else x
    if _is_channels_last(layout_of):
        return channels_last(x).reshape(-1)
    return np.ascontiguousarray(x).reshape(-1)
