"""Dense layers in NumPy: linear, activations, softmax cross-entropy, the SGD update.

Same names and signatures as ``implementations.pure_python.layers`` so one architecture
description composes either, and one parametrized test checks both.
"""

from __future__ import annotations

import numpy as np

from .parallel import elementwise


def linear_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray):
    """``out = x @ w.T + b``. x: (N, in); w: (out, in); b: (out,). Returns out (N, out), cache."""
    if w.shape[1] != x.shape[1]:
        raise ValueError(f"linear: input has {x.shape[1]} features, weight expects {w.shape[1]}")
    out = x @ w.T
    out += b
    return out, (x, w)


def linear_backward(dout: np.ndarray, cache, need_dx: bool = True):
    """dout: (N, out). Returns dx (N, in) or None, dw (out, in), db (out,)."""
    x, w = cache
    dw = dout.T @ x
    db = dout.sum(axis=0)
    dx = dout @ w if need_dx else None
    return dx, dw, db


def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise ``a + b`` of one shape (the residual connection, and where two branches' gradients
    meet); never broadcasts: two branches of different shapes are a bug, not a sum."""
    if a.shape != b.shape:
        raise ValueError(f"add: shapes differ, {a.shape} and {b.shape}")
    out = np.empty_like(a)
    if not elementwise(lambda o, u, v: np.add(u, v, out=o), out, a, b):
        out = a + b
    return out


def relu_forward(x: np.ndarray):
    """Elementwise ``max(x, 0)``; any shape. The cache is the output."""
    out = np.empty_like(x)
    if not elementwise(lambda o, v: np.maximum(v, 0, out=o), out, x):
        out = np.maximum(x, 0)
    return out, out


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    # A multiply by the 0/1 mask: np.where with a data-dependent mask branches per element and
    # runs several times slower on random signs.
    dx = np.empty_like(dout)
    if not elementwise(lambda o, d, c: np.multiply(d, c > 0, out=o), dx, dout, cache):
        dx = dout * (cache > 0)
    return dx


def sigmoid_forward(x: np.ndarray):
    """Elementwise logistic function, computed stably for large |x|. The cache is the output."""
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
    return out, out


def sigmoid_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    return dout * cache * (1 - cache)


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray):
    """Mean softmax cross-entropy. logits: (N, C); labels: (N,) ints. Returns (loss, dlogits (N, C))."""
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    norm = exps.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = float(np.mean(np.log(norm[:, 0]) - shifted[rows, labels]))
    grad = exps / norm
    grad[rows, labels] -= 1
    grad /= n
    return loss, grad


def sgd_momentum_update(params, grads, velocity, lr: float, momentum: float, weight_decay: float, decay_names):
    """In-place SGD with momentum, as ``torch.optim.SGD`` (dampening 0, not Nesterov).

    ``g += weight_decay * p`` for names in ``decay_names``; ``v = momentum * v + g``; ``p -= lr * v``.
    """
    for name, grad in grads.items():
        p = params[name]
        v = velocity[name]
        if weight_decay and name in decay_names:
            grad = grad + weight_decay * p
        v *= momentum
        v += grad
        p -= lr * v
