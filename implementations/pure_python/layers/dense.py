"""Dense layers in pure Python: linear, activations, softmax cross-entropy, the SGD update.

Every product of two vectors is ``sum(map(mul, a, b))`` over lists of floats: the idiom a careful
Python programmer reaches for, one boxed float multiply and one add per multiply-add, with no
interpreted per-element bytecode. ``math.sumprod`` is deliberately not used: it is a C dot product
over doubles, which would make this backend vectorized code in disguise.
"""

from __future__ import annotations

from array import array
from math import exp, log
from operator import mul

from ..tensor import FlatTensor


def linear_forward(x: FlatTensor, w: FlatTensor, b: FlatTensor):
    """``out = x @ w.T + b``.

    x: (N, in); w: (out, in); b: (out,). Returns out (N, out) and the cache for the backward.
    """
    n, fan_in = x.shape
    fan_out = w.shape[0]
    if w.shape[1] != fan_in:
        raise ValueError(f"linear: input has {fan_in} features, weight expects {w.shape[1]}")
    x_rows = x.rows()
    w_rows = w.rows()
    bias = b.data.tolist()
    out = array("d")
    for x_row in x_rows:
        out.extend([sum(map(mul, x_row, w_row), b_o) for w_row, b_o in zip(w_rows, bias)])
    return FlatTensor(out, (n, fan_out)), (x_rows, w_rows)


def linear_backward(dout: FlatTensor, cache, need_dx: bool = True):
    """Gradients of ``linear_forward``.

    dout: (N, out). Returns dx (N, in) or None when ``need_dx`` is false, dw (out, in), db (out,).
    """
    x_rows, w_rows = cache
    n, fan_out = dout.shape
    fan_in = len(w_rows[0])
    d_rows = dout.rows()
    d_cols = list(zip(*d_rows))  # (out, N): one column of dout per output unit
    x_cols = list(zip(*x_rows))  # (in, N)
    dw = array("d")
    for d_col in d_cols:
        dw.extend([sum(map(mul, d_col, x_col)) for x_col in x_cols])
    db = array("d", [sum(d_col) for d_col in d_cols])
    dx = None
    if need_dx:
        w_cols = list(zip(*w_rows))  # (in, out)
        dx_data = array("d")
        for d_row in d_rows:
            dx_data.extend([sum(map(mul, d_row, w_col)) for w_col in w_cols])
        dx = FlatTensor(dx_data, (n, fan_in))
    return dx, FlatTensor(dw, (fan_out, fan_in)), FlatTensor(db, (fan_out,))


def relu_forward(x: FlatTensor):
    """Elementwise ``max(x, 0)``; any shape. The cache is the output."""
    out = FlatTensor(array("d", [v if v > 0.0 else 0.0 for v in x.data]), x.shape)
    return out, out


def relu_backward(dout: FlatTensor, cache: FlatTensor) -> FlatTensor:
    """Pass the gradient where the output was positive."""
    return FlatTensor(array("d", [g if v > 0.0 else 0.0 for g, v in zip(dout.data, cache.data)]), dout.shape)


def _sigmoid(v: float) -> float:
    # Two branches so that exp never overflows for large |v|.
    if v >= 0.0:
        return 1.0 / (1.0 + exp(-v))
    e = exp(v)
    return e / (1.0 + e)


def sigmoid_forward(x: FlatTensor):
    """Elementwise logistic function; any shape. The cache is the output."""
    out = FlatTensor(array("d", map(_sigmoid, x.data)), x.shape)
    return out, out


def sigmoid_backward(dout: FlatTensor, cache: FlatTensor) -> FlatTensor:
    """``dout * s * (1 - s)`` with ``s`` the forward output."""
    return FlatTensor(array("d", [g * s * (1.0 - s) for g, s in zip(dout.data, cache.data)]), dout.shape)


def softmax_cross_entropy(logits: FlatTensor, labels: list[int]):
    """Mean softmax cross-entropy over the batch and its gradient.

    logits: (N, C); labels: N ints in [0, C). Returns (loss: float, dlogits: (N, C)).
    """
    n, classes = logits.shape
    total = 0.0
    grad = array("d")
    inv_n = 1.0 / n
    for row, label in zip(logits.rows(), labels):
        peak = max(row)  # shift by the max so that exp cannot overflow
        exps = [exp(v - peak) for v in row]
        norm = sum(exps)
        total += log(norm) + peak - row[label]
        scale = inv_n / norm
        probs = [e * scale for e in exps]
        probs[label] -= inv_n
        grad.extend(probs)
    return total * inv_n, FlatTensor(grad, (n, classes))


_UPDATE_CHUNK = 1 << 16  # numbers per slice of the SGD update: about 2 MB of boxed floats per list


def sgd_momentum_update(params, grads, velocity, lr: float, momentum: float, weight_decay: float, decay_names):
    """In-place SGD with momentum, as ``torch.optim.SGD`` (dampening 0, not Nesterov).

    For each name in ``grads``: ``g += weight_decay * p`` when the name is in ``decay_names``;
    ``v = momentum * v + g``; ``p -= lr * v``. ``velocity`` starts as zeros, which makes the first
    step ``v = g`` exactly as torch's first step does. ``params`` and ``velocity`` are updated in
    place; ``grads`` are left as they are.

    The update runs over slices of 64K numbers, so that its boxed-float lists stay a few MB even
    for ResNet-50's largest tensors (2.4M numbers; 25.5M in all) instead of a copy of each tensor.
    """
    for name, grad in grads.items():
        p_all = params[name].data
        v_all = velocity[name].data
        g_all = grad.data
        decay = weight_decay if name in decay_names else 0.0
        for start in range(0, len(p_all), _UPDATE_CHUNK):
            stop = start + _UPDATE_CHUNK
            p = p_all[start:stop].tolist()
            g = g_all[start:stop].tolist()
            v = v_all[start:stop].tolist()
            if decay:
                v = [momentum * vi + (gi + decay * pi) for vi, gi, pi in zip(v, g, p)]
            else:
                v = [momentum * vi + gi for vi, gi in zip(v, g)]
            v_all[start:stop] = array("d", v)
            p_all[start:stop] = array("d", [pi - lr * vi for pi, vi in zip(p, v)])
