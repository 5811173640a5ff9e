"""Dense layers as compiled loops: linear, activations, softmax cross-entropy, the SGD update.

Same names and signatures as ``implementations.pure_python.layers``; arrays are NumPy's, and NumPy
only allocates them: every number is computed by a loop in a numba kernel.
"""

from __future__ import annotations

import math

import numpy as np

from ..jit import kernel
from .matmul import accumulate_rows, accumulate_transposed, transposed
from .storage import elementwise, flat


@kernel("void({f}[:, ::1], {f}[::1])")
def _fill_rows(out, values):
    """Every number of row p of out (P, Q) = values[p]."""
    for p in range(out.shape[0]):
        for q in range(out.shape[1]):
            out[p, q] = values[p]


@kernel("void({f}[:, ::1], {f}[::1])")
def _column_sums(a, out):
    """out (Q,) = the sum of the rows of a (P, Q), row by row."""
    for q in range(a.shape[1]):
        out[q] = 0
    for p in range(a.shape[0]):
        for q in range(a.shape[1]):
            out[q] += a[p, q]


def linear_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray):
    """``out = x @ w.T + b``. x: (N, in); w: (out, in); b: (out,). Returns out (N, out), cache."""
    if w.shape[1] != x.shape[1]:
        raise ValueError(f"linear: input has {x.shape[1]} features, weight expects {w.shape[1]}")
    # out.T = w @ x.T: the weight is read once, row by row, each of its numbers scaling a row of
    # x.T (N numbers) into a row of out.T. Only the activations are transposed (N*in and N*out
    # numbers); transposing the weight instead costs as much as the product at widths of 1024
    # and more (strided writes over megabytes), and x @ w.T reads the whole weight per tile of rows.
    x = np.ascontiguousarray(x)
    out_t = np.empty((w.shape[0], x.shape[0]), dtype=x.dtype)
    _fill_rows(out_t, b)
    accumulate_rows(w, transposed(x), out_t)
    return transposed(out_t), (x, w)


def linear_backward(dout: np.ndarray, cache, need_dx: bool = True):
    """dout: (N, out). Returns dx (N, in) or None, dw (out, in), db (out,)."""
    x, w = cache
    dout = np.ascontiguousarray(dout)
    dout_t = transposed(dout)  # (out, N)
    dw = np.zeros(w.shape, dtype=w.dtype)
    accumulate_rows(dout_t, x, dw)  # dw = dout.T @ x, a row of dw per output unit
    db = np.empty(w.shape[0], dtype=w.dtype)
    _column_sums(dout, db)
    dx = None
    if need_dx:
        dx_t = np.zeros((x.shape[1], x.shape[0]), dtype=x.dtype)
        accumulate_transposed(w, dout_t, dx_t)  # dx.T = w.T @ dout.T, the weight read once
        dx = transposed(dx_t)
    return dx, dw, db


@kernel("void({f}[::1], {f}[::1], {f}[::1])")
def _add(a, b, out):
    for i in range(out.size):
        out[i] = a[i] + b[i]


def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise ``a + b`` of one shape and storage (never broadcasts)."""
    if a.shape != b.shape:
        raise ValueError(f"add: shapes differ, {a.shape} and {b.shape}")
    return elementwise(_add, a, a, b)


@kernel("void({f}[::1], {f}[::1])")
def _relu(x, out):
    for i in range(x.size):
        out[i] = 0 if x[i] <= 0 else x[i]  # a NaN stays NaN, as in torch and NumPy


@kernel("void({f}[::1], {f}[::1], {f}[::1])")
def _relu_backward(dout, output, dx):
    for i in range(dout.size):
        dx[i] = dout[i] if output[i] > 0 else 0


def relu_forward(x: np.ndarray):
    """Elementwise ``max(x, 0)``; any shape. The cache is the output."""
    out = elementwise(_relu, x, x)
    return out, out


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    return elementwise(_relu_backward, cache, dout, cache)


@kernel("void({f}[::1], {f}[::1])")
def _sigmoid(x, out):
    for i in range(x.size):
        # stable for large |x|: exp of a non-positive number only
        if x[i] >= 0:
            out[i] = 1 / (1 + math.exp(-x[i]))
        else:
            e = math.exp(x[i])
            out[i] = e / (1 + e)


@kernel("void({f}[::1], {f}[::1], {f}[::1])")
def _sigmoid_backward(dout, output, dx):
    for i in range(dout.size):
        dx[i] = dout[i] * output[i] * (1 - output[i])


def sigmoid_forward(x: np.ndarray):
    """Elementwise logistic function, computed stably for large |x|. The cache is the output."""
    out = elementwise(_sigmoid, x, x)
    return out, out


def sigmoid_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    return elementwise(_sigmoid_backward, cache, dout, cache)


@kernel("float64({f}[:, ::1], int64[::1], {f}[:, ::1])")
def _softmax_cross_entropy(logits, labels, grad):
    """Mean cross-entropy of softmax(logits (N, C)) against labels (N,); grad (N, C) = its gradient."""
    rows, classes = logits.shape
    total = 0.0  # the loss summed in float64
    for n in range(rows):
        largest = logits[n, 0]
        for c in range(1, classes):
            largest = max(largest, logits[n, c])
        norm = logits[n, 0] * 0  # zero of the logits' dtype
        for c in range(classes):
            grad[n, c] = math.exp(logits[n, c] - largest)
            norm += grad[n, c]
        total += math.log(norm) - (logits[n, labels[n]] - largest)
        for c in range(classes):
            grad[n, c] = grad[n, c] / norm / rows
        grad[n, labels[n]] -= 1 / rows
    return total / rows


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray):
    """Mean softmax cross-entropy. logits: (N, C); labels: (N,) ints. Returns (loss, dlogits (N, C))."""
    logits = np.ascontiguousarray(logits)
    grad = np.empty_like(logits)
    loss = _softmax_cross_entropy(logits, labels, grad)
    return float(loss), grad


@kernel("void({f}[::1], {f}[::1], {f}[::1], {f}, {f}, {f})")
def _sgd(p, g, v, lr, momentum, weight_decay):
    """As torch.optim.SGD: d = g + weight_decay * p; v = momentum * v + d; p -= lr * v."""
    for i in range(p.size):
        step = g[i] + weight_decay * p[i] if weight_decay != 0 else g[i]
        v[i] = momentum * v[i] + step
        p[i] -= lr * v[i]


def sgd_momentum_update(params, grads, velocity, lr: float, momentum: float, weight_decay: float, decay_names):
    """In-place SGD with momentum, as ``torch.optim.SGD`` (dampening 0, not Nesterov).

    ``g += weight_decay * p`` for names in ``decay_names``; ``v = momentum * v + g``; ``p -= lr * v``.
    The hyperparameters are rounded to the parameters' dtype, as a float32 optimizer holds them.
    """
    for name, grad in grads.items():
        p = params[name]
        number = p.dtype.type
        decay = weight_decay if name in decay_names else 0.0
        _sgd(flat(p), flat(grad, like=p), flat(velocity[name]), number(lr), number(momentum), number(decay))
