"""How the numpy backend converts arrays at its boundary (never inside the timed step)."""

from __future__ import annotations

import numpy as np

from . import DTYPES, NAME, layers


def to_native(values, dtype: str) -> np.ndarray:
    return np.array(values, dtype=dtype, order="C", copy=True)


def labels_to_native(labels) -> np.ndarray:
    return np.asarray(labels, dtype=np.int64)


def to_numpy(values: np.ndarray) -> np.ndarray:
    return np.array(values, copy=True)


def zeros_like(values: np.ndarray) -> np.ndarray:
    return np.zeros_like(values)
