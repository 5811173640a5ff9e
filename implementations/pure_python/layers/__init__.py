"""Pure-Python layers, each a ``*_forward`` / ``*_backward`` pair over FlatTensor, RowsTensor and the
plain lists of rows the dense layers pass each other (tensor.py).

The names and signatures match ``implementations.numpy_vectorized.layers`` one for one.
"""

from .conv import conv2d_backward, conv2d_forward
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
from .elementwise import add
from .norm import batchnorm_backward, batchnorm_forward
from .pool import global_avgpool_backward, global_avgpool_forward, maxpool2d_backward, maxpool2d_forward
