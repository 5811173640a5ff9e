"""The linear layer for short rows in pure Python: the loops over a row written out, per shape.

At mlp-tiny (4-3-2, batch 5) every row is 2-4 numbers long. Looping over such a row, or calling
``sum(map(mul, ...))`` on it, costs several times its arithmetic: the step is all loop set-up and
calls. A C compiler unrolls a loop whose trip count it knows; CPython does not, so for a layer
whose rows and columns are both at most ``MAX_WRITTEN_OUT`` numbers long the linear layer's forward
and backward are generated as Python source once per (fan_out, fan_in), with the loops over a row
and over a column written out: one local per weight, one expression per output, one accumulator
per weight gradient. The loop over the batch stays a loop, so one function serves any batch size.

Still pure Python with no C loop in the timed path: the generated code is bytecode over boxed
floats, one multiply and one add per multiply-add, as in dense.py. It adds in the textbook's order
(tests/textbook_mlp.py): a bias first, then the products in index order; a gradient over the batch
in sample order. tests/test_loops_written_out.py holds it to index loops in that order: equal
values (an input gradient's sum starts from its first product, not from 0.0, so where every
product is -0.0 it is -0.0 rather than 0.0). dense.py adds in the same order, and under CPython
3.11 it gives the same values; from 3.12 ``sum()`` adds with compensation, so its last bits may
differ.

Why 16: it covers mlp-tiny (4-3-2), where the layered step with a call per dot product tied the
textbook at best (docs/loops-floor.md), and stays below the width sweep's narrowest layer (32
wide), so that the sweep's loops line is one code path throughout. A shape's source has fan_out * fan_in lines of
accumulation, 256 at most. Today only mlp-tiny's layers are written out.
"""

from __future__ import annotations

import linecache
from functools import cache

MAX_WRITTEN_OUT = 16  # rows and columns up to this long; at most 256 weights, as many accumulators


def writes_out(fan_out: int, fan_in: int) -> bool:
    """Whether a layer with a (fan_out, fan_in) weight is written out here (else dense.py's dot products)."""
    return fan_out <= MAX_WRITTEN_OUT and fan_in <= MAX_WRITTEN_OUT


def _vector(prefix: str, length: int) -> str:
    """``[d0, d1, d2]``: a list of ``length`` numbered names, as a target or as a value."""
    return "[" + ", ".join(f"{prefix}{k}" for k in range(length)) + "]"


def _matrix(prefix: str, rows: int, cols: int) -> str:
    """``[[w0_0, w0_1], [w1_0, w1_1]]``: one numbered name per entry, row by row; as a target it
    unpacks a weight into one local per weight, as a value it builds the weight gradient's rows."""
    return "[" + ", ".join(_vector(f"{prefix}{j}_", cols) for j in range(rows)) + "]"


def forward_source(fan_out: int, fan_in: int) -> str:
    """Source of ``linear_forward(x, w, b)`` for a (fan_out, fan_in) weight."""
    outputs = ", ".join(" + ".join([f"b{j}", *(f"x{i} * w{j}_{i}" for i in range(fan_in))]) for j in range(fan_out))
    return (f"def linear_forward(x, w, b):\n"
            f"    {_matrix('w', fan_out, fan_in)} = w\n"
            f"    {_vector('b', fan_out)} = b[0]\n"
            f"    out = []\n"
            f"    for {_vector('x', fan_in)} in x:\n"
            f"        out.append([{outputs}])\n"
            f"    return out, (x, w)\n")


def backward_source(fan_out: int, fan_in: int) -> str:
    """Source of ``linear_backward(dout, cache, need_dx)`` for a (fan_out, fan_in) weight: one pass
    over the batch accumulates every weight and bias gradient in locals and, when asked, builds
    each sample's input gradient."""
    gradients = [f"g{j}_{i}" for j in range(fan_out) for i in range(fan_in)] + [f"db{j}" for j in range(fan_out)]
    loop = f"for {_vector('d', fan_out)}, {_vector('x', fan_in)} in zip(dout, x):"
    accumulate = [*(f"    g{j}_{i} += d{j} * x{i}" for j in range(fan_out) for i in range(fan_in)),
                  *(f"    db{j} += d{j}" for j in range(fan_out))]
    dx_row = ", ".join(" + ".join(f"d{j} * w{j}_{i}" for j in range(fan_out)) for i in range(fan_in))
    returned = f"{_matrix('g', fan_out, fan_in)}, [{_vector('db', fan_out)}]"
    body = [
        "x, w = cache",
        " = ".join(gradients) + " = 0.0",
        "if not need_dx:",
        *("    " + line for line in (loop, *accumulate, f"return None, {returned}")),
        f"{_matrix('w', fan_out, fan_in)} = w",
        "dx = []",
        loop,
        *accumulate,
        f"    dx.append([{dx_row}])",
        f"return dx, {returned}",
    ]
    return "def linear_backward(dout, cache, need_dx):\n" + "".join(f"    {line}\n" for line in body)


def _compiled(source: str, name: str, fan_out: int, fan_in: int):
    """The function ``name`` defined by ``source``, compiled under a file name that says its shape."""
    filename = f"<vecbench {name} {fan_out}x{fan_in}>"
    # A traceback through generated code shows its lines, as it would a file's.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    namespace: dict = {}
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]


@cache
def forward_kernel(fan_out: int, fan_in: int):
    """``linear_forward(x, w, b)`` for this shape, as dense.linear_forward: x (N, fan_in) as rows,
    w (fan_out, fan_in) and b (fan_out,) as one row; returns out (N, fan_out) as rows and the cache."""
    return _compiled(forward_source(fan_out, fan_in), "linear_forward", fan_out, fan_in)


@cache
def backward_kernel(fan_out: int, fan_in: int):
    """``linear_backward(dout, cache, need_dx)`` for this shape, as dense.linear_backward: dout
    (N, fan_out) as rows; returns dx (N, fan_in) as rows or None, dw (fan_out, fan_in) as rows and
    db (fan_out,) as one row."""
    return _compiled(backward_source(fan_out, fan_in), "linear_backward", fan_out, fan_in)
