"""Compiled-loop layers (numba), each a ``*_forward`` / ``*_backward`` pair over ``numpy.ndarray``.

The names and signatures match ``implementations.pure_python.layers`` one for one; every number is
computed by explicit scalar loops in a ``numba.njit`` kernel (no BLAS, no ``np.dot``, no array
expressions). Convolution, batch norm and pooling take and return (N, C, H, W) arrays stored
channels-last (see ``storage``).
"""

from .conv import conv2d_backward, conv2d_forward
from .dense import (
    add,
    linear_backward,
    linear_forward,
    relu_backward,
    relu_forward,
    sgd_momentum_update,
    sigmoid_backward,
    sigmoid_forward,
    softmax_cross_entropy,
)
from .norm import batchnorm_backward, batchnorm_forward
from .pool import global_avgpool_backward, global_avgpool_forward, maxpool2d_backward, maxpool2d_forward
