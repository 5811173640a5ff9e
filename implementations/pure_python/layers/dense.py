"""Dense layers in pure Python: linear, activations, softmax cross-entropy, the SGD update.

Every product of two vectors is ``sum(map(mul, a, b))`` over lists of floats: the idiom a careful
Python programmer reaches for, one boxed float multiply and one add per multiply-add, with no
interpreted per-element bytecode. ``math.sumprod`` is deliberately not used: it is a C dot product
over doubles, which would make this backend vectorized code in disguise. The exception is a linear
layer whose rows and columns are all short (``written_out.MAX_WRITTEN_OUT``, 16; mlp-tiny's):
there a call per dot product costs more than its arithmetic, and the layer is written out per
shape instead (written_out.py).

Lists of rows are built with loops and ``append`` (or ``map``), not nested comprehensions: in
CPython 3.11 every comprehension is a function call, one per row, which at rows of 2-4 numbers
costs more than the row's arithmetic; at 128 numbers a row the two idioms cost about the same. The
layers pass each other plain lists of rows (tensor.py), and the update's no-decay path asks little
of each short tensor. Measured as the harness times (GC off; studies/loops_floor.py,
docs/loops-floor.md), the layered step with dot products everywhere ran mlp-tiny at 0.97x of the
textbook's speed on a quiet machine and about 0.9x on a busy one; with the written-out linear layer
it is faster than the textbook there too.
"""

from __future__ import annotations

from array import array
from math import exp, log
from operator import add, mul

from ..tensor import FlatTensor, RowsTensor, rows_tensor
from .written_out import backward_kernel, forward_kernel, writes_out


# The weight gradient dW = d^T x has two loop orders. By columns: one dot product per weight over
# a column N (batch) long, fan_out * fan_in calls of sum(map(mul, ...)). By rows: dW[j] += d[s][j]
# * x[s], fan_out * N passes over rows fan_in long, each building a list. Calls cost more than
# multiply-adds, so short columns (small batches) favour rows and short rows favour columns. The
# costs below (ns, measured on the 2-core AMD machine with CPython 3.11: studies/loops_floor.py)
# pick the cheaper order per shape.
# Integers: the choice is made at every call, and int arithmetic makes no float objects.
_CALL_NS, _MAC_NS = 250, 15  # one sum(map(mul, a, b)) call; one multiply-add within it
_PASS_NS, _ELEMENT_NS = 600, 30  # one row pass (list(map(add, acc, map(g.__mul__, row)))); one element of it


def weight_gradient_by_rows(n: int, fan_in: int) -> bool:
    """Whether accumulating dW row by row is cheaper than a dot product per weight."""
    return n * (_PASS_NS + fan_in * _ELEMENT_NS) < fan_in * (_CALL_NS + n * _MAC_NS)


def linear_forward(x, w, b):
    """``out = x @ w.T + b``; written out per shape where ``writes_out(out, in)`` (written_out.py).

    x: (N, in) as rows (a plain list of row lists, as the layers pass activations; ResNet's pooled
    features too) or a RowsTensor; w: (out, in) and b: (out,), RowsTensors (parameters always are:
    from_numpy). Returns out (N, out) as rows, and the cache for the backward.
    """
    fan_out, fan_in = len(w), len(w[0])
    if len(x[0]) != fan_in:
        raise ValueError(f"linear: input has {len(x[0])} features, weight expects {fan_in}")
    if writes_out(fan_out, fan_in):
        return forward_kernel(fan_out, fan_in)(x, w, b)
    pairs = list(zip(w, b[0]))
    out = []
    for x_row in x:
        row = []
        for w_row, b_o in pairs:
            row.append(sum(map(mul, x_row, w_row), b_o))
        out.append(row)
    return out, (x, w)


def _products(rows, cols) -> list[list[float]]:
    """Every row's dot product with every column: ``out[r][c] = sum(rows[r][k] * cols[c][k])``,
    (len(rows), len(cols)) as rows; a matrix product with the second factor given by columns."""
    out = []
    for row in rows:
        products = []
        for col in cols:
            products.append(sum(map(mul, row, col)))
        out.append(products)
    return out


def linear_backward(dout, cache, need_dx: bool = True):
    """Gradients of ``linear_forward``; written out per shape as it is (written_out.py).

    dout: (N, out) as rows or a RowsTensor. Returns dx (N, in) as rows, or None when ``need_dx`` is
    false; dw (out, in) as rows and db (out,) as one row, as the bias is held.
    """
    x_rows, w_rows = cache
    fan_out, fan_in = len(w_rows), len(w_rows[0])
    if writes_out(fan_out, fan_in):
        return backward_kernel(fan_out, fan_in)(dout, cache, need_dx)
    d_cols = list(zip(*dout))  # (out, N): one column of dout per output unit
    if weight_gradient_by_rows(len(dout), fan_in):
        dw = []
        for d_col in d_cols:
            acc = [0.0] * fan_in
            for g, x_row in zip(d_col, x_rows):
                acc = list(map(add, acc, map(g.__mul__, x_row)))
            dw.append(acc)
    else:
        dw = _products(d_cols, list(zip(*x_rows)))  # dout's columns by x's columns (in, N)
    dx = _products(dout, list(zip(*w_rows))) if need_dx else None  # by w's columns (in, out)
    return dx, dw, [list(map(sum, d_cols))]


def relu_forward(x):
    """Elementwise ``max(x, 0)``; any shape, of ``x``'s kind. The cache is the output."""
    if type(x) is FlatTensor:
        out = FlatTensor(array("d", [v if v > 0.0 else 0.0 for v in x.data]), x.shape)
        return out, out
    out = []
    for row in x:
        out_row = []
        for v in row:
            out_row.append(v if v > 0.0 else 0.0)
        out.append(out_row)
    if type(x) is not list:  # a RowsTensor (from the boundary: a test's input): keep its kind and shape
        out = rows_tensor(out, x.shape)
    return out, out


def relu_backward(dout, cache):
    """Pass the gradient where the output was positive."""
    if type(dout) is FlatTensor:
        return FlatTensor(array("d", [g if v > 0.0 else 0.0 for g, v in zip(dout.data, cache.data)]), dout.shape)
    out = []
    for d_row, c_row in zip(dout, cache):  # rows both: the cache is the forward's output, of dout's kind
        row = d_row.copy()
        for i in range(len(row)):
            if not c_row[i] > 0.0:
                row[i] = 0.0
        out.append(row)
    return out if type(dout) is list else rows_tensor(out, dout.shape)


def _sigmoid(v: float) -> float:
    # Two branches so that exp never overflows for large |v|.
    if v >= 0.0:
        return 1.0 / (1.0 + exp(-v))
    e = exp(v)
    return e / (1.0 + e)


def sigmoid_forward(x):
    """Elementwise logistic function; any shape, of ``x``'s kind. The cache is the output."""
    if type(x) is FlatTensor:
        out = FlatTensor(array("d", map(_sigmoid, x.data)), x.shape)
        return out, out
    out = []
    for row in x:
        out.append(list(map(_sigmoid, row)))
    if type(x) is not list:  # a RowsTensor (from the boundary: a test's input): keep its kind and shape
        out = rows_tensor(out, x.shape)
    return out, out


def sigmoid_backward(dout, cache):
    """``dout * s * (1 - s)`` with ``s`` the forward output."""
    if type(dout) is FlatTensor:
        return FlatTensor(array("d", [g * s * (1.0 - s) for g, s in zip(dout.data, cache.data)]), dout.shape)
    out = []
    for d_row, c_row in zip(dout, cache):
        row = []
        for g, s in zip(d_row, c_row):
            row.append(g * s * (1.0 - s))
        out.append(row)
    return out if type(dout) is list else rows_tensor(out, dout.shape)


def softmax_cross_entropy(logits, labels: list[int]):
    """Mean softmax cross-entropy over the batch and its gradient.

    logits: (N, C) as rows or a RowsTensor; labels: N ints in [0, C). Returns (loss: float,
    dlogits: (N, C) as rows).
    """
    total = 0.0
    grad = []
    inv_n = 1.0 / len(logits)
    for row, label in zip(logits, labels):
        peak = max(row)  # shift by the max so that exp cannot overflow
        exps = []
        for v in row:
            exps.append(exp(v - peak))
        norm = sum(exps)
        total += log(norm) + peak - row[label]
        scale = inv_n / norm
        probs = []
        for e in exps:
            probs.append(e * scale)
        probs[label] -= inv_n
        grad.append(probs)
    return total * inv_n, grad


_UPDATE_CHUNK = 1 << 16  # numbers per slice of the SGD update: about 2 MB of boxed floats per list
_SHORT = 32  # rows shorter than this: an index loop beats building lists (each list costs a call)


def sgd_momentum_update(params, grads, velocity, lr: float, momentum: float, weight_decay: float, decay_names):
    """In-place SGD with momentum, as ``torch.optim.SGD`` (dampening 0, not Nesterov).

    For each name in ``grads``: ``g += weight_decay * p`` when the name is in ``decay_names``;
    ``v = momentum * v + g``; ``p -= lr * v``. ``velocity`` starts as zeros, which makes the first
    step ``v = g`` exactly as torch's first step does. ``params`` and ``velocity`` are updated in
    place; ``grads`` are left as they are.

    A RowsTensor (2-D weights; 1-D biases and batch-norm parameters as one row) is updated in its
    rows, in place. A flat one runs over slices of 64K numbers, so that its
    boxed-float lists stay a few MB even for ResNet-50's largest tensors (2.4M numbers; 25.5M in
    all) instead of a copy of each tensor. At mlp-tiny the whole update is four tensors of 2-12
    numbers and no weight decay, so what it costs there is what it does per tensor and per row:
    without decay, a gradient the dense layers returned (a plain list of rows) shorter than 32 is
    updated in this function's own loop (no call per tensor), with an ``enumerate`` loop per row,
    and nothing else is asked of it; every other gradient goes through ``_update_tensor``.
    """
    if decay_names:  # ResNet-50: its update lasts milliseconds, so one path for every tensor
        for name, grad in grads.items():
            _update_tensor(params[name], velocity[name], grad, lr, momentum,
                           weight_decay if name in decay_names else 0.0)
        return
    for name, grad in grads.items():
        if type(grad) is not list or len(grad[0]) >= _SHORT:  # flat, a RowsTensor, or rows of 32 numbers or more
            _update_tensor(params[name], velocity[name], grad, lr, momentum, 0.0)
            continue
        # short rows as the dense layers return them; the parameter and its velocity are rows too
        for p, v, g in zip(params[name], velocity[name], grad):
            for i, gi in enumerate(g):
                vi = momentum * v[i] + gi
                v[i] = vi
                p[i] -= lr * vi


def _update_tensor(param, velocity, grad, lr: float, momentum: float, decay: float) -> None:
    """One SGD-with-momentum step of one tensor of any kind, in place: a RowsTensor in its rows
    (each rebuilt by comprehensions), a FlatTensor over slices of its array."""
    if param.is_rows:
        _update_long(param, velocity, grad if type(grad) is list else grad.rows(), lr, momentum, decay)
    else:
        _update_flat(param.data, velocity.data, grad.data, lr, momentum, decay)


def _update_flat(p_all: array, v_all: array, g_all: array, lr: float, momentum: float, decay: float) -> None:
    """One SGD-with-momentum step of a flat tensor, in place, over slices of ``_UPDATE_CHUNK`` numbers."""
    for start in range(0, len(p_all), _UPDATE_CHUNK):
        stop = start + _UPDATE_CHUNK
        p = p_all[start:stop].tolist()
        v = v_all[start:stop].tolist()
        _update_long((p,), (v,), (g_all[start:stop].tolist(),), lr, momentum, decay)
        v_all[start:stop] = array("d", v)
        p_all[start:stop] = array("d", p)


def _update_long(p_rows, v_rows, g_rows, lr: float, momentum: float, decay: float) -> None:
    """One SGD-with-momentum step of rows (lists), in place: each row rebuilt by comprehensions and
    assigned back into the same list. Any length; the cheaper way from 32 numbers a row."""
    for p, v, g in zip(p_rows, v_rows, g_rows):
        if decay:
            v[:] = [momentum * vi + (gi + decay * pi) for vi, gi, pi in zip(v, g, p)]
        else:
            v[:] = [momentum * vi + gi for vi, gi in zip(v, g)]
        p[:] = [pi - lr * vi for pi, vi in zip(p, v)]
