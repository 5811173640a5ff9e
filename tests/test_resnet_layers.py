"""The hand-written backends' ResNet-50 layers against PyTorch float64 and against finite differences.

Each shared test runs on every hand-written backend: "loops" (``implementations.pure_python.layers``
over ``FlatTensor``, ``RowsTensor`` and plain lists of rows), "numpy"
(``implementations.numpy_vectorized.layers`` over ``numpy.ndarray``) and "numba"
(``implementations.compiled_loops.layers``, compiled loops over ``numpy.ndarray``; skipped, saying
why, where numba is not installed).
Every forward is compared with ``torch.nn.functional`` in float64; every backward with torch
autograd (relative error <= 1e-8) and with centred finite differences (<= 3e-6, see
``tests/gradient_check.py``). Shapes are small and non-square (H != W) so that a swapped axis cannot
pass. The numpy and numba layers store their outputs channels-last; where the tests feed a layer a
feature map "as the layers store it" (``Backend.stored``), they get such a channels-last view and
the loops backend a plain FlatTensor. Also checked: that every ``layers`` package exports the same
layer functions, and the running statistics, tie-breaking, shape refusals and the SGD update.

The tests that only make sense on one backend (numpy: float32, ``need_dx=False``, the threaded passes,
the storage layout; loops: the conv weight gradient in image groups) come last,
grouped by backend.
"""

from __future__ import annotations

import inspect
import itertools
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from implementations.architectures import mlp as mlp_architecture
from implementations.numpy_vectorized import layers as numpy_layers
from implementations.pure_python import layers as loops_layers
from implementations.pure_python.tensor import FlatTensor, from_numpy, to_numpy
from tests.conftest import backend_param, numba_skip_reason
from tests.gradient_check import flat_function, numerical_gradient, rel_error

TORCH_TOLERANCE = 1e-8
FINITE_DIFFERENCE_TOLERANCE = 3e-6
FLOAT32_TOLERANCE = 1e-5

CONV_CASES = list(itertools.product((1, 2, 3, 7), (1, 2), (0, 1, 3)))  # (kernel, stride, padding)


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([20260313, *key])


def _torch_leaf(values: np.ndarray) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64, requires_grad=True)


def _channels_last_view(x: np.ndarray) -> np.ndarray:
    """The same logical (N, C, H, W) values stored as the numpy layers store their outputs.

    ``numerical_gradient`` perturbs a C-contiguous copy of its input, so channels-last inputs go
    into it as plain NCHW arrays and the function under test converts them with this.
    """
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


# --- the two backends ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Backend:
    """A backend's ``layers`` module and its conversions from and to float64 NumPy arrays."""

    name: str
    layers: ModuleType
    to_native: Callable  # NumPy array -> a fresh native array of the same values, logical (N, C, H, W) order
    to_numpy: Callable  # native array -> NumPy array
    stored: Callable  # NumPy (N, C, H, W) -> native feature map laid out as the layers store their outputs
    same_storage: Callable  # (native, native) -> whether the two share memory

    def zeros(self, shape: tuple[int, ...]):
        return self.to_native(np.zeros(shape))

    def numpy_function(self, layer_output: Callable, *, stored_input: bool = False) -> Callable:
        """``layer_output(native) -> native`` as a function of NumPy arrays, for ``numerical_gradient``."""
        return flat_function(layer_output, to_native=self.stored if stored_input else self.to_native,
                             to_numpy=self.to_numpy)


BACKENDS = {
    "loops": Backend("loops", loops_layers, to_native=from_numpy, to_numpy=to_numpy, stored=from_numpy,
                     same_storage=lambda a, b: a is b or (not {id(r) for r in a}.isdisjoint(map(id, b)) if a.is_rows and b.is_rows
                                                          else not (a.is_rows or b.is_rows) and a.data is b.data)),
    # (an array('d') is never a view, and ``data`` of a RowsTensor and ``rows()`` of a FlatTensor are
    # new copies: two FlatTensors share storage through one array, two RowsTensors through a row list)
    # np.array copies, as from_numpy does, so that a layer writing into its inputs is caught on both.
    "numpy": Backend("numpy", numpy_layers, to_native=np.array, to_numpy=np.asarray, stored=_channels_last_view,
                     same_storage=np.shares_memory),
}
if not numba_skip_reason():
    from implementations.compiled_loops import layers as numba_layers  # noqa: E402  (imports numba)

    # The numba layers store feature maps channels-last too; their kernels compile on first use.
    BACKENDS["numba"] = Backend("numba", numba_layers, to_native=np.array, to_numpy=np.asarray,
                                stored=_channels_last_view, same_storage=np.shares_memory)


@pytest.fixture(params=["loops", "numpy", backend_param("numba")])
def backend(request) -> Backend:
    return BACKENDS[request.param]


# --- the layers' public interface ----------------------------------------------------------------

# What an architecture composition (implementations/architectures/**/*.py) calls as ``layers.<name>``,
# plus the optimizer step the trainer calls: the contract every backend's ``layers`` package meets.
LAYER_CONTRACT = {
    "conv2d_forward", "conv2d_backward",
    "batchnorm_forward", "batchnorm_backward",
    "relu_forward", "relu_backward",
    "sigmoid_forward", "sigmoid_backward",
    "maxpool2d_forward", "maxpool2d_backward",
    "global_avgpool_forward", "global_avgpool_backward",
    "linear_forward", "linear_backward",
    "add",
    "softmax_cross_entropy",
    "sgd_momentum_update",
}

def _public_functions(module: ModuleType) -> set[str]:
    return {name for name, value in vars(module).items() if not name.startswith("_") and inspect.isfunction(value)}


def test_both_layers_packages_export_the_same_layer_functions():
    contracts = {name: _public_functions(b.layers) for name, b in BACKENDS.items()}
    for name, contract in contracts.items():
        assert contract == LAYER_CONTRACT, (
            f"{name}: missing {sorted(LAYER_CONTRACT - contract)}, extra {sorted(contract - LAYER_CONTRACT)}")

    # The contract is what the callers use: every ``layers.<name>`` in the architectures and the
    # trainer, and the activations the MLP looks up by name.
    implementations = Path(mlp_architecture.__file__).resolve().parent.parent
    sources = [*sorted((implementations / "architectures").rglob("*.py")), implementations / "trainer.py"]
    used = {name for path in sources for name in re.findall(r"\blayers\.(\w+)", path.read_text())}
    used |= {f"{act}_{pass_}" for act in mlp_architecture.ACTIVATIONS for pass_ in ("forward", "backward")}
    assert used == LAYER_CONTRACT


# --- convolution ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("kernel", "stride", "padding"), CONV_CASES)
def test_conv2d_matches_torch(backend, kernel, stride, padding):
    rng = _rng(1, kernel, stride, padding)
    x, w = rng.standard_normal((2, 3, 9, 10)), rng.standard_normal((4, 3, kernel, kernel))
    L, native, numpy_ = backend.layers, backend.to_native, backend.to_numpy
    cache, dout, w_t = _conv_matches_torch(backend, x, w, stride, padding, rng)

    no_dx, dw_only = L.conv2d_backward(native(dout), cache, need_dx=False)
    assert no_dx is None
    assert rel_error(numpy_(dw_only), w_t.grad.numpy()) <= TORCH_TOLERANCE


def test_conv2d_non_square_kernel_matches_torch(backend):
    rng = _rng(2)
    _conv_matches_torch(backend, rng.standard_normal((2, 3, 7, 9)), rng.standard_normal((5, 3, 3, 2)), 2, 1, rng)


def _conv_matches_torch(backend, x, w, stride, padding, rng):
    """Forward and backward of the backend's conv2d against torch float64; (cache, dout, w leaf)."""
    L, native, numpy_ = backend.layers, backend.to_native, backend.to_numpy
    out, cache = L.conv2d_forward(native(x), native(w), stride, padding)
    x_t, w_t = _torch_leaf(x), _torch_leaf(w)
    out_t = F.conv2d(x_t, w_t, stride=stride, padding=padding)
    assert out.shape == tuple(out_t.shape)
    assert rel_error(numpy_(out), out_t.detach().numpy()) <= TORCH_TOLERANCE
    dout = rng.standard_normal(out.shape)
    out_t.backward(torch.from_numpy(dout))
    dx, dw = L.conv2d_backward(native(dout), cache)
    assert rel_error(numpy_(dx), x_t.grad.numpy()) <= TORCH_TOLERANCE
    assert rel_error(numpy_(dw), w_t.grad.numpy()) <= TORCH_TOLERANCE
    return cache, dout, w_t


# Each kernel size with both strides and the paddings taken in turn, plus the unpadded strided 1x1
# (its own sampled path in loops): every value of each parameter without the full product (torch
# covers that above; finite differences cost two forwards per entry). The input is given as the
# layers store their feature maps (channels-last for numpy); C != K so a swapped weight axis fails.
@pytest.mark.parametrize(("kernel", "stride", "padding"),
                         [(1, 1, 0), (1, 2, 0), (1, 2, 3), (2, 2, 0), (3, 1, 1), (3, 2, 0), (3, 2, 1), (7, 1, 3), (7, 2, 1)])
def test_conv2d_backward_matches_finite_differences(backend, kernel, stride, padding):
    L, native, numpy_ = backend.layers, backend.to_native, backend.to_numpy
    rng = _rng(3, kernel, stride, padding)
    x = rng.standard_normal((2, 2, 6, 7))
    w = rng.standard_normal((3, 2, kernel, kernel))
    out, cache = L.conv2d_forward(backend.stored(x), native(w), stride, padding)
    dout = rng.standard_normal(out.shape)
    dx, dw = L.conv2d_backward(native(dout), cache)

    w_native, x_native = native(w), native(x)
    dx_numeric = numerical_gradient(
        backend.numpy_function(lambda xv: L.conv2d_forward(xv, w_native, stride, padding)[0]), x, dout)
    dw_numeric = numerical_gradient(
        backend.numpy_function(lambda wv: L.conv2d_forward(x_native, wv, stride, padding)[0]), w, dout)
    assert rel_error(numpy_(dx), dx_numeric) <= FINITE_DIFFERENCE_TOLERANCE
    assert rel_error(numpy_(dw), dw_numeric) <= FINITE_DIFFERENCE_TOLERANCE


# The backends word the second refusal differently; each names the kernel that does not fit.
KERNEL_DOES_NOT_FIT = {"loops": "a 7x7 kernel does not fit", "numpy": "smaller than the 7x7 kernel",
                       "numba": "smaller than the 7x7 kernel"}


def test_conv2d_rejects_mismatched_channels_and_tiny_inputs(backend):
    L = backend.layers
    with pytest.raises(ValueError, match="3 channels, weight expects 4"):
        L.conv2d_forward(backend.zeros((1, 3, 5, 5)), backend.zeros((2, 4, 3, 3)), 1, 1)
    with pytest.raises(ValueError, match=KERNEL_DOES_NOT_FIT[backend.name]):
        L.conv2d_forward(backend.zeros((1, 3, 4, 4)), backend.zeros((2, 3, 7, 7)), 1, 1)


# --- batch normalization -------------------------------------------------------------------------

@pytest.mark.parametrize(("backend", "input_layout"), [("loops", "nchw"), ("numpy", "nchw"), ("numpy", "channels_last")],
                         indirect=["backend"])
@pytest.mark.parametrize(("shape", "momentum"), [((2, 3, 4, 5), 0.1), ((1, 4, 3, 2), 0.3), ((3, 4, 5, 6), None)])
def test_batchnorm_matches_torch_and_updates_running_stats(backend, input_layout, shape, momentum):
    """momentum None: called without momentum and eps, so the defaults (0.1, 1e-5) are checked."""
    L, native, numpy_ = backend.layers, backend.to_native, backend.to_numpy
    rng = _rng(4, *shape)
    channels = shape[1]
    x = 3.0 * rng.standard_normal(shape) + 1.5  # an offset mean checks the centring
    gamma = rng.standard_normal(channels)
    beta = rng.standard_normal(channels)
    running_mean = rng.standard_normal(channels)
    running_var = rng.uniform(0.5, 2.0, channels)
    mean_native, var_native = native(running_mean), native(running_var)
    given = backend.stored(x) if input_layout == "channels_last" else native(x)

    options = {} if momentum is None else {"momentum": momentum, "eps": 1e-5}
    out, cache, new_mean, new_var = L.batchnorm_forward(given, native(gamma), native(beta), mean_native, var_native,
                                                        **options)

    x_t, gamma_t, beta_t = _torch_leaf(x), _torch_leaf(gamma), _torch_leaf(beta)
    mean_t, var_t = torch.tensor(running_mean), torch.tensor(running_var)  # torch updates these in place
    out_t = F.batch_norm(x_t, mean_t, var_t, gamma_t, beta_t, training=True, momentum=momentum or 0.1, eps=1e-5)
    assert rel_error(numpy_(out), out_t.detach().numpy()) <= TORCH_TOLERANCE
    assert rel_error(numpy_(new_mean), mean_t.numpy()) <= TORCH_TOLERANCE
    assert rel_error(numpy_(new_var), var_t.numpy()) <= TORCH_TOLERANCE  # unbiased batch variance, as torch
    # Pure: the running statistics passed in are left as they were, and the new ones are new arrays.
    np.testing.assert_array_equal(numpy_(mean_native), running_mean)
    np.testing.assert_array_equal(numpy_(var_native), running_var)
    assert not backend.same_storage(new_mean, mean_native) and not backend.same_storage(new_var, var_native)
    assert not np.array_equal(numpy_(new_mean), running_mean)

    dout = rng.standard_normal(shape)
    out_t.backward(torch.from_numpy(dout))
    dx, dgamma, dbeta = L.batchnorm_backward(native(dout), cache)
    assert rel_error(numpy_(dx), x_t.grad.numpy()) <= TORCH_TOLERANCE
    assert rel_error(numpy_(dgamma), gamma_t.grad.numpy()) <= TORCH_TOLERANCE
    assert rel_error(numpy_(dbeta), beta_t.grad.numpy()) <= TORCH_TOLERANCE


def test_batchnorm_running_var_uses_the_unbiased_variance(backend):
    # One channel holding 0 and 2: biased variance 1, unbiased 2. With momentum 1 the new running
    # statistics are the batch's own.
    x = backend.to_native(np.array([0.0, 2.0]).reshape(1, 1, 1, 2))
    ones, zeros = backend.to_native(np.ones(1)), backend.to_native(np.zeros(1))
    out, _, new_mean, new_var = backend.layers.batchnorm_forward(x, ones, zeros, zeros, ones, momentum=1.0, eps=0.0)
    assert backend.to_numpy(new_mean).tolist() == [1.0]
    assert backend.to_numpy(new_var).tolist() == [2.0]
    assert backend.to_numpy(out).ravel().tolist() == [-1.0, 1.0]  # normalized with the biased variance


def test_batchnorm_backward_matches_finite_differences(backend):
    L, native, numpy_ = backend.layers, backend.to_native, backend.to_numpy
    rng = _rng(5)
    shape = (2, 3, 4, 5)
    x = rng.standard_normal(shape)
    gamma = rng.standard_normal(3)
    beta = rng.standard_normal(3)
    stats = (native(np.zeros(3)), native(np.ones(3)))
    out, cache, _, _ = L.batchnorm_forward(native(x), native(gamma), native(beta), *stats)
    dout = rng.standard_normal(shape)
    dx, dgamma, dbeta = L.batchnorm_backward(native(dout), cache)

    def forward(xv, gv, bv):
        return L.batchnorm_forward(xv, gv, bv, *stats)[0]

    g_native, b_native, x_native = native(gamma), native(beta), native(x)
    dx_numeric = numerical_gradient(backend.numpy_function(lambda xv: forward(xv, g_native, b_native)), x, dout)
    dgamma_numeric = numerical_gradient(backend.numpy_function(lambda gv: forward(x_native, gv, b_native)), gamma, dout)
    dbeta_numeric = numerical_gradient(backend.numpy_function(lambda bv: forward(x_native, g_native, bv)), beta, dout)
    assert rel_error(numpy_(dx), dx_numeric) <= FINITE_DIFFERENCE_TOLERANCE
    assert rel_error(numpy_(dgamma), dgamma_numeric) <= FINITE_DIFFERENCE_TOLERANCE
    assert rel_error(numpy_(dbeta), dbeta_numeric) <= FINITE_DIFFERENCE_TOLERANCE


def test_batchnorm_refuses_a_single_value_per_channel(backend):
    one = backend.to_native(np.ones(2))
    with pytest.raises(ValueError, match="more than one value per channel"):
        backend.layers.batchnorm_forward(backend.zeros((1, 2, 1, 1)), one, one, one, one)


# --- pooling -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kernel", "stride", "padding"), [(2, 1, 0), (2, 2, 0), (2, 2, 1), (3, 1, 1), (3, 2, 0), (3, 2, 1)])
def test_maxpool2d_matches_torch_and_finite_differences(backend, kernel, stride, padding):
    L, native, numpy_ = backend.layers, backend.to_native, backend.to_numpy
    rng = _rng(6, kernel, stride, padding)
    # All negative: a zero padding would win every border window, -inf padding never does.
    x = -np.abs(rng.standard_normal((2, 3, 9, 10))) - 0.1
    out, cache = L.maxpool2d_forward(native(x), kernel, stride, padding)
    x_t = _torch_leaf(x)
    out_t = F.max_pool2d(x_t, kernel, stride, padding)
    assert out.shape == tuple(out_t.shape)
    assert rel_error(numpy_(out), out_t.detach().numpy()) <= TORCH_TOLERANCE

    dout = rng.standard_normal(out.shape)
    out_t.backward(torch.from_numpy(dout))
    dx = L.maxpool2d_backward(native(dout), cache)
    assert rel_error(numpy_(dx), x_t.grad.numpy()) <= TORCH_TOLERANCE

    # Finite differences on a smaller input: two forwards per entry.
    x_small = x[:1, :2, :6, :7]
    out_small, cache_small = L.maxpool2d_forward(native(x_small), kernel, stride, padding)
    dout_small = rng.standard_normal(out_small.shape)
    dx_small = L.maxpool2d_backward(native(dout_small), cache_small)
    dx_numeric = numerical_gradient(
        backend.numpy_function(lambda xv: L.maxpool2d_forward(xv, kernel, stride, padding)[0]), x_small, dout_small)
    assert rel_error(numpy_(dx_small), dx_numeric) <= FINITE_DIFFERENCE_TOLERANCE


def test_maxpool2d_sends_ties_to_the_first_maximum_as_torch(backend):
    L, native, numpy_ = backend.layers, backend.to_native, backend.to_numpy
    # A constant 4x4 input, 3x3 windows, stride 2, padding 1: the four windows start at rows and
    # columns -1 and 1, so their first real elements in row-major order are (0,0), (0,1), (1,0), (1,1).
    out, cache = L.maxpool2d_forward(backend.zeros((1, 1, 4, 4)), 3, 2, 1)
    assert numpy_(out).ravel().tolist() == [0.0] * 4
    dx = numpy_(L.maxpool2d_backward(native(np.array([[[[1.0, 2.0], [3.0, 4.0]]]])), cache))
    expected = np.zeros((1, 1, 4, 4))
    expected[0, 0, :2, :2] = [[1.0, 2.0], [3.0, 4.0]]
    np.testing.assert_array_equal(dx, expected)

    # Plateaus: several equal maxima in most windows; the gradient lands where torch puts it.
    x = np.zeros((1, 2, 5, 6))
    x[0, 1, 2:4, 1:4] = 1.0
    out, cache = L.maxpool2d_forward(native(x), 3, 2, 1)
    dout = _rng(9).standard_normal(out.shape)
    x_t = _torch_leaf(x)
    F.max_pool2d(x_t, 3, 2, 1).backward(torch.from_numpy(dout))
    np.testing.assert_array_equal(numpy_(L.maxpool2d_backward(native(dout), cache)), x_t.grad.numpy())


def test_maxpool2d_rejects_padding_wider_than_half_the_window(backend):
    with pytest.raises(ValueError, match="padding"):
        backend.layers.maxpool2d_forward(backend.zeros((1, 1, 5, 5)), 3, 2, 2)


def test_global_avgpool_matches_torch_and_finite_differences(backend):
    L, native, numpy_ = backend.layers, backend.to_native, backend.to_numpy
    rng = _rng(7)
    x = rng.standard_normal((2, 3, 4, 5))
    out, cache = L.global_avgpool_forward(backend.stored(x))
    x_t = _torch_leaf(x)
    out_t = x_t.mean(dim=(2, 3))
    assert numpy_(out).shape == (2, 3)
    assert rel_error(numpy_(out), out_t.detach().numpy()) <= TORCH_TOLERANCE
    np.testing.assert_allclose(numpy_(out), x.mean(axis=(2, 3)), rtol=1e-12)

    dout = rng.standard_normal((2, 3))
    out_t.backward(torch.from_numpy(dout))
    dx = L.global_avgpool_backward(native(dout), cache)
    assert rel_error(numpy_(dx), x_t.grad.numpy()) <= TORCH_TOLERANCE
    dx_numeric = numerical_gradient(
        backend.numpy_function(lambda xv: L.global_avgpool_forward(xv)[0], stored_input=True), x, dout)
    assert rel_error(numpy_(dx), dx_numeric) <= FINITE_DIFFERENCE_TOLERANCE


# --- elementwise ---------------------------------------------------------------------------------

def test_add_and_relu_on_feature_maps(backend):
    """On feature maps as the layers store them; add also with a second operand in plain NCHW."""
    L, native, numpy_ = backend.layers, backend.to_native, backend.to_numpy
    rng = _rng(8)
    a = rng.standard_normal((2, 3, 4, 5))
    b = rng.standard_normal((2, 3, 4, 5))
    total = L.add(backend.stored(a), native(b))
    assert total.shape == a.shape
    np.testing.assert_array_equal(numpy_(total), a + b)
    np.testing.assert_array_equal(numpy_(L.add(backend.stored(a), backend.stored(b))), a + b)

    out, cache = L.relu_forward(backend.stored(a))
    np.testing.assert_array_equal(numpy_(out), np.maximum(a, 0.0))
    dx = L.relu_backward(native(b), cache)
    np.testing.assert_array_equal(numpy_(dx), np.where(a > 0.0, b, 0.0))
    dx_numeric = numerical_gradient(backend.numpy_function(lambda v: L.relu_forward(v)[0], stored_input=True), a, b)
    assert rel_error(numpy_(dx), dx_numeric) <= FINITE_DIFFERENCE_TOLERANCE


@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 2, 2)])
def test_activations_keep_any_shape(backend, shape):
    """relu and sigmoid, forward and backward, on a tensor of any rank as the backend holds it (loops:
    1-D and 2-D as rows, the rest flat): the values and the shape come back."""
    L, native, numpy_ = backend.layers, backend.to_native, backend.to_numpy
    rng = _rng(12)
    a, g = rng.standard_normal(shape), rng.standard_normal(shape)
    out, cache = L.relu_forward(native(a))
    assert tuple(out.shape) == shape
    np.testing.assert_array_equal(numpy_(out), np.maximum(a, 0.0))
    np.testing.assert_array_equal(numpy_(L.relu_backward(native(g), cache)), np.where(a > 0.0, g, 0.0))
    s = 1.0 / (1.0 + np.exp(-a))
    out, cache = L.sigmoid_forward(native(a))
    assert tuple(out.shape) == shape
    np.testing.assert_allclose(numpy_(out), s, rtol=1e-14)
    np.testing.assert_allclose(numpy_(L.sigmoid_backward(native(g), cache)), g * s * (1.0 - s), rtol=1e-13)


def test_add_rejects_different_shapes(backend):
    with pytest.raises(ValueError, match="shapes differ"):
        backend.layers.add(backend.zeros((1, 2, 3, 3)), backend.zeros((1, 3, 3, 2)))


# --- optimizer -----------------------------------------------------------------------------------

@pytest.mark.parametrize("decay", [True, False], ids=["some-decayed", "no-decay"])
def test_sgd_momentum_update_matches_torch_over_several_steps(backend, decay):
    native, numpy_ = backend.to_native, backend.to_numpy
    rng = _rng(9)
    # Every way loops holds and updates a tensor, with and without decay: flat in one 64K slice, flat
    # over two slices, flat and short, as rows long and short, 1-D as a row; gradients as plain lists
    # too, decayed or not; with no name decayed the short plain-list rows take the update's own loop
    # (the MLPs'), every other tensor the per-tensor path.
    shapes = {"conv.weight": (4, 3, 3, 3), "wide.weight": (2, 1, 1, 40001), "tiny.weight": (1, 2, 2, 2),
              "conv2.weight": (2, 2, 3, 3), "tiny2.weight": (1, 1, 2, 2), "bn.weight": (4,), "big.bias": (40,),
              "fc.weight": (2, 40001), "small.weight": (3, 4), "small.bias": (3,), "rows.weight": (2, 3),
              "rows.bias": (2,), "head.weight": (3, 40), "head.bias": (3,)}
    params = {name: rng.standard_normal(shape) for name, shape in shapes.items()}
    decayed = {"conv.weight", "wide.weight", "tiny.weight", "fc.weight", "small.weight", "small.bias", "rows.weight",
               "head.weight"}
    decay_names = decayed if decay else set()
    lr, momentum, weight_decay = 0.05, 0.9, 1e-2

    native_params = {name: native(value) for name, value in params.items()}
    velocity = {name: backend.zeros(value.shape) for name, value in params.items()}
    torch_params = {name: torch.tensor(value, requires_grad=True) for name, value in params.items()}
    optimizer = torch.optim.SGD(
        [{"params": [torch_params[n] for n in shapes if n in decay_names], "weight_decay": weight_decay},
         {"params": [torch_params[n] for n in shapes if n not in decay_names], "weight_decay": 0.0}],
        lr=lr, momentum=momentum,
    )
    for _ in range(3):
        grads = {name: rng.standard_normal(shape) for name, shape in shapes.items()}
        native_grads = {name: native(g) for name, g in grads.items()}
        if backend.name == "loops":  # batch norm's gradients are flat, its parameters RowsTensors
            native_grads["bn.weight"] = FlatTensor(array("d", grads["bn.weight"].tolist()), shapes["bn.weight"])
            # the dense layers' gradients: plain lists of rows, a bias's as one row (ResNet's classifier:
            # decayed, rows of 2048)
            for layer in ("rows", "head"):
                native_grads[f"{layer}.weight"] = grads[f"{layer}.weight"].tolist()
                native_grads[f"{layer}.bias"] = [grads[f"{layer}.bias"].tolist()]
        backend.layers.sgd_momentum_update(native_params, native_grads, velocity, lr, momentum, weight_decay, decay_names)
        for name, g in grads.items():
            torch_params[name].grad = torch.from_numpy(g)
            np.testing.assert_array_equal(numpy_(native_grads[name]).reshape(g.shape), g)  # not touched
        optimizer.step()
    for name in shapes:
        assert rel_error(numpy_(native_params[name]), torch_params[name].detach().numpy()) <= 1e-14


# --- numpy only: float32, need_dx, the storage layout, the threaded passes -----------------------

def test_numpy_conv2d_backward_skips_dx_when_not_needed():
    rng = _rng(10)
    x, w = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((4, 3, 7, 7))
    out, cache = numpy_layers.conv2d_forward(x, w, 2, 3)
    dx, dw = numpy_layers.conv2d_backward(np.ones(out.shape), cache, need_dx=False)
    assert dx is None and dw.shape == w.shape


def test_numpy_conv2d_keeps_float32():
    rng = _rng(11)
    x = rng.standard_normal((2, 5, 8, 9)).astype(np.float32)
    w = rng.standard_normal((6, 5, 3, 3)).astype(np.float32)
    out, cache = numpy_layers.conv2d_forward(x, w, 2, 1)
    dx, dw = numpy_layers.conv2d_backward(np.ones(out.shape, np.float32), cache)
    assert out.dtype == dx.dtype == dw.dtype == np.float32
    expected = F.conv2d(torch.from_numpy(x).double(), torch.from_numpy(w).double(), stride=2, padding=1)
    assert rel_error(out, expected.numpy()) <= FLOAT32_TOLERANCE


def test_numpy_batchnorm_keeps_float32_and_refuses_one_value_per_channel():
    x = _rng(12).standard_normal((2, 3, 4, 4)).astype(np.float32)
    params = [np.ones(3, np.float32), np.zeros(3, np.float32), np.zeros(3, np.float32), np.ones(3, np.float32)]
    out, cache, mean, var = numpy_layers.batchnorm_forward(x, *params)
    dx, dgamma, dbeta = numpy_layers.batchnorm_backward(np.ones_like(x), cache)
    assert {a.dtype for a in (out, mean, var, dx, dgamma, dbeta)} == {np.dtype(np.float32)}
    with pytest.raises(ValueError, match="more than one value per channel"):
        numpy_layers.batchnorm_forward(x[:1, :, :1, :1], *params)


def test_numpy_feature_maps_are_stored_channels_last():
    """What ``Backend.stored`` assumes: conv, batch norm, relu and maxpool outputs are channels-last views."""
    rng = _rng(13)
    x = rng.standard_normal((2, 3, 6, 7))  # plain NCHW in
    h, _ = numpy_layers.conv2d_forward(x, rng.standard_normal((4, 3, 3, 3)), 1, 1)
    normed, _, _, _ = numpy_layers.batchnorm_forward(h, np.ones(4), np.zeros(4), np.zeros(4), np.ones(4))
    act, _ = numpy_layers.relu_forward(normed)
    pooled, _ = numpy_layers.maxpool2d_forward(act, 3, 2, 1)
    for out in (h, normed, act, pooled):
        assert out.transpose(0, 2, 3, 1).flags.c_contiguous


def test_numpy_threaded_passes_equal_torch_on_maps_large_enough_to_split():
    """Maps above parallel.MIN_PARALLEL_ELEMENTS are split over 2 threads: same numbers as torch."""
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    from implementations.numpy_vectorized.layers import parallel  # noqa: PLC0415

    L = numpy_layers
    rng = _rng(14)
    x = rng.standard_normal((2, 8, 70, 66))  # 73,920 numbers: above the threshold
    assert x.size >= parallel.MIN_PARALLEL_ELEMENTS
    w = rng.standard_normal((8, 8, 3, 3))
    gamma, beta = rng.uniform(0.5, 1.5, 8), rng.standard_normal(8)
    with threadpool_limits(2):
        assert len(parallel.row_blocks(70, x.size)) == 2
        conv, conv_cache = L.conv2d_forward(x, w, 1, 1)
        normed, bn_cache, mean, var = L.batchnorm_forward(conv, gamma, beta, np.zeros(8), np.ones(8))
        act, relu_cache = L.relu_forward(L.add(normed, conv))
        pooled, pool_cache = L.maxpool2d_forward(act, 3, 2, 1)
        dpooled = rng.standard_normal(pooled.shape)
        dact = L.relu_backward(L.maxpool2d_backward(dpooled, pool_cache), relu_cache)
        dnormed, dgamma, dbeta = L.batchnorm_backward(dact, bn_cache)
        dx, dw = L.conv2d_backward(L.add(dnormed, dact), conv_cache)

    xt, wt, gt, bt = _torch_leaf(x), _torch_leaf(w), _torch_leaf(gamma), _torch_leaf(beta)
    torch_mean, torch_var = torch.zeros(8, dtype=torch.float64), torch.ones(8, dtype=torch.float64)
    conv_t = F.conv2d(xt, wt, padding=1)
    normed_t = F.batch_norm(conv_t, torch_mean, torch_var, gt, bt, training=True)
    pooled_t = F.max_pool2d(torch.relu(normed_t + conv_t), 3, 2, 1)
    pooled_t.backward(torch.from_numpy(dpooled))
    assert rel_error(pooled, pooled_t.detach().numpy()) <= TORCH_TOLERANCE
    assert rel_error(mean, torch_mean.numpy()) <= TORCH_TOLERANCE
    assert rel_error(var, torch_var.numpy()) <= TORCH_TOLERANCE
    for ours, leaf in ((dx, xt), (dw, wt), (dgamma, gt), (dbeta, bt)):
        assert rel_error(ours, leaf.grad.numpy()) <= TORCH_TOLERANCE


# --- loops only: the weight gradient in image groups ----------------------------------------------

@pytest.mark.parametrize("column_budget", [1, 1200])  # groups of 1 image; of 2 then 1 (540 columns an image)
def test_loops_conv2d_weight_gradient_is_the_same_in_image_groups(monkeypatch, column_budget):
    from implementations.pure_python.layers import conv  # noqa: PLC0415

    monkeypatch.setattr(conv, "_COLUMN_BUDGET", column_budget)
    rng = _rng(15, column_budget)
    x = rng.standard_normal((3, 2, 5, 6))
    w = rng.standard_normal((3, 2, 3, 3))
    out, cache = loops_layers.conv2d_forward(from_numpy(x), from_numpy(w), 1, 1)
    x_t, w_t = _torch_leaf(x), _torch_leaf(w)
    out_t = F.conv2d(x_t, w_t, stride=1, padding=1)
    dout = rng.standard_normal(out.shape)
    out_t.backward(torch.from_numpy(dout))
    dx, dw = loops_layers.conv2d_backward(from_numpy(dout), cache)
    assert rel_error(to_numpy(dx), x_t.grad.numpy()) <= TORCH_TOLERANCE
    assert rel_error(to_numpy(dw), w_t.grad.numpy()) <= TORCH_TOLERANCE
