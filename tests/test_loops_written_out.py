"""The loops backend's written-out linear layer (implementations/pure_python/layers/written_out.py):
that it computes what index loops compute, in their order, to equal values, at every shape it is
generated for, from plain lists and RowsTensors alike, and that dense.py's linear layer hands it
exactly the shapes up to 16 by 16."""

from __future__ import annotations

import traceback

import numpy as np
import pytest

from implementations.pure_python.layers import dense, written_out
from implementations.pure_python.tensor import from_numpy

SHAPES = [(1, 1), (3, 4), (2, 3), (5, 1), (1, 7), (16, 16)]  # (fan_out, fan_in)


def _reference(x, w, b, dout):
    """Forward and gradients by index loops over lists, each sum in index (or sample) order starting
    from the bias or from 0.0, as tests/textbook_mlp.py adds."""
    n, fan_out, fan_in = len(x), len(w), len(w[0])
    out = []
    for s in range(n):
        row = []
        for j in range(fan_out):
            total = b[j]
            for i in range(fan_in):
                total += x[s][i] * w[j][i]
            row.append(total)
        out.append(row)
    dw = [[0.0] * fan_in for _ in range(fan_out)]
    db = [0.0] * fan_out
    for j in range(fan_out):
        for i in range(fan_in):
            for s in range(n):
                dw[j][i] += dout[s][j] * x[s][i]
        for s in range(n):
            db[j] += dout[s][j]
    dx = [[0.0] * fan_in for _ in range(n)]
    for s in range(n):
        for i in range(fan_in):
            for j in range(fan_out):
                dx[s][i] += dout[s][j] * w[j][i]
    return out, dx, dw, db


def _case(fan_out, fan_in, batch):
    rng = np.random.default_rng(fan_out * 100 + fan_in * 10 + batch)
    return (rng.standard_normal((batch, fan_in)), rng.standard_normal((fan_out, fan_in)),
            rng.standard_normal(fan_out), rng.standard_normal((batch, fan_out)))


@pytest.mark.parametrize("kind", ["plain lists", "RowsTensor"])
@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("fan_out, fan_in", SHAPES)
def test_the_written_out_layer_computes_what_index_loops_do(fan_out, fan_in, batch, kind):
    """A batch and its gradient come as plain lists from the layers and as RowsTensors from the
    trainer's boundary (and tests); both unpack alike."""
    x, w, b, dout = _case(fan_out, fan_in, batch)
    out, dx, dw, db = _reference(x.tolist(), w.tolist(), b.tolist(), dout.tolist())
    x_in, dout_in = (x.tolist(), dout.tolist()) if kind == "plain lists" else (from_numpy(x), from_numpy(dout))
    got, cache = written_out.forward_kernel(fan_out, fan_in)(x_in, from_numpy(w), from_numpy(b))
    assert got == out
    np.testing.assert_allclose(got, x @ w.T + b, rtol=1e-13, atol=1e-13)  # and index loops are the product
    got_dx, got_dw, got_db = written_out.backward_kernel(fan_out, fan_in)(dout_in, cache, True)
    assert (got_dx, got_dw, got_db) == (dx, dw, [db])
    assert written_out.backward_kernel(fan_out, fan_in)(dout_in, cache, False) == (None, dw, [db])
    np.testing.assert_allclose(got_dw, dout.T @ x, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(got_dx, dout @ w, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("fan_out, fan_in", [(3, 4), (16, 16), (17, 4), (4, 17)])
def test_dense_hands_the_written_out_layer_exactly_the_shapes_up_to_16(fan_out, fan_in):
    """Up to 16 by 16 dense.py's layer calls the written-out one, which equals index loops; beyond,
    its dot products, which agree with them to rounding (the same order of additions, but from
    CPython 3.12 sum() adds with compensation)."""
    x, w, b, dout = _case(fan_out, fan_in, 5)
    counts = written_out.forward_kernel.cache_info(), written_out.backward_kernel.cache_info()
    got, cache = dense.linear_forward(x.tolist(), from_numpy(w), from_numpy(b))
    got_dx, got_dw, got_db = dense.linear_backward(dout.tolist(), cache, True)
    calls = [after.hits + after.misses - before.hits - before.misses
             for before, after in zip(counts, (written_out.forward_kernel.cache_info(),
                                               written_out.backward_kernel.cache_info()))]
    short = fan_out <= 16 and fan_in <= 16
    assert calls == ([1, 1] if short else [0, 0])
    out, dx, dw, db = _reference(x.tolist(), w.tolist(), b.tolist(), dout.tolist())
    if short:
        assert (got, got_dx, got_dw, got_db) == (out, dx, dw, [db])
    for got_values, expected in ((got, out), (got_dx, dx), (got_dw, dw), (got_db, [db])):
        np.testing.assert_allclose(got_values, expected, rtol=1e-13, atol=1e-13)


def test_a_wrong_input_width_is_refused_by_name_before_the_generated_code_runs():
    """The generated code would fail on it too, but with an unpacking error that names no layer."""
    w, b = from_numpy(np.ones((3, 4))), from_numpy(np.zeros(3))
    before = written_out.forward_kernel.cache_info()
    with pytest.raises(ValueError, match="linear: input has 5 features, weight expects 4"):
        dense.linear_forward([[1.0] * 5], w, b)
    after = written_out.forward_kernel.cache_info()
    assert (after.hits, after.misses) == (before.hits, before.misses)


def test_a_traceback_through_generated_code_shows_its_line():
    """A ragged batch row fails inside the generated loop; the traceback quotes that loop's line."""
    w, b = from_numpy(np.ones((3, 4))), from_numpy(np.zeros(3))
    with pytest.raises(ValueError) as caught:
        dense.linear_forward([[1.0] * 4, [1.0] * 3], w, b)
    text = "".join(traceback.format_exception(caught.value))
    assert "<vecbench linear_forward 3x4>" in text and "for [x0, x1, x2, x3] in x:" in text
