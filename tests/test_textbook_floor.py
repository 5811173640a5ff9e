"""The textbook step (tests/textbook_mlp.py) and ``loops`` compute the same training step, and the
textbook convolution (tests/textbook_conv.py) the same convolution: the floors that ``loops`` is
timed against are fair ones, and ``loops`` agrees with code that shares nothing with it (no
tensor type, no layers, no architecture composition)."""

from __future__ import annotations

import numpy as np
import pytest

from implementations import make_trainer
from implementations.architectures import mlp
from implementations.pure_python import layers as loops_layers
from implementations.pure_python.tensor import from_numpy, to_numpy
from tests import textbook_conv
from tests.textbook_mlp import TextbookMLP


@pytest.mark.parametrize(("sizes", "batch"), [((4, 3, 2), 5), ((20, 7, 3), 4), ((6, 5, 4, 3), 2)])
def test_loops_and_the_textbook_step_agree_over_two_steps(sizes, batch):
    spec = mlp.MLPSpec(sizes)
    params = mlp.init_params(spec, 3)
    x, y = mlp.make_batch(spec, batch, 4)
    loops = make_trainer("loops", "mlp", spec, params, "float64")
    names = spec.layer_names
    textbook = TextbookMLP([params[f"{n}.weight"].tolist() for n in names], [params[f"{n}.bias"].tolist() for n in names])
    batch_native = loops.prepare_batch(x, y)
    for _ in range(2):
        expected = textbook.step(x.tolist(), y.tolist())
        assert float(loops.step(batch_native)) == pytest.approx(expected, rel=1e-12)
    state = loops.state_dict()
    for n, w, b in zip(names, textbook.weights, textbook.biases):
        np.testing.assert_allclose(state[f"{n}.weight"], np.array(w), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(state[f"{n}.bias"], np.array(b), rtol=1e-12, atol=1e-15)
    velocity = loops.momentum_buffers()
    for n, v in zip(names, textbook.w_velocity):
        np.testing.assert_allclose(velocity[f"{n}.weight"], np.array(v), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("kernel", "stride", "padding"), [(3, 1, 1), (1, 1, 0), (3, 2, 1), (1, 2, 0)])
def test_loops_and_the_textbook_convolution_agree(kernel, stride, padding):
    """The ResNet-50 kinds of convolution (3x3 and 1x1, stride 1 and 2) on a small non-square map."""
    rng = np.random.default_rng([kernel, stride, padding])
    x = rng.standard_normal((2, 3, 5, 6))
    w = rng.standard_normal((4, 3, kernel, kernel))
    out, cache = loops_layers.conv2d_forward(from_numpy(x), from_numpy(w), stride, padding)
    expected = np.array(textbook_conv.conv2d_forward(x.tolist(), w.tolist(), stride, padding))
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-12, atol=1e-12)
    dout = rng.standard_normal(expected.shape)
    dx, dw = loops_layers.conv2d_backward(from_numpy(dout), cache)
    expected_dx, expected_dw = textbook_conv.conv2d_backward(dout.tolist(), x.tolist(), w.tolist(), stride, padding)
    np.testing.assert_allclose(to_numpy(dx), np.array(expected_dx), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(to_numpy(dw), np.array(expected_dw), rtol=1e-12, atol=1e-12)
