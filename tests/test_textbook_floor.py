"""The textbook step (tests/textbook_mlp.py) and ``loops`` compute the same training step: the floor
that ``loops`` is timed against is a fair one, and ``loops`` agrees with code that shares nothing
with it (no FlatTensor, no layers, no architecture composition)."""

from __future__ import annotations

import numpy as np
import pytest

from implementations import make_trainer
from implementations.architectures import mlp
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
