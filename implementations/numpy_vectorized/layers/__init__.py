"""Vectorized NumPy layers, each a ``*_forward`` / ``*_backward`` pair over ``numpy.ndarray``.

The names and signatures match ``implementations.pure_python.layers`` one for one.
"""

from .dense import (
    linear_backward,
    linear_forward,
    relu_backward,
    relu_forward,
    sgd_momentum_update,
    sigmoid_backward,
    sigmoid_forward,
    softmax_cross_entropy,
)
