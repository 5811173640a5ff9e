"""The numba backend: explicit loops, compiled apart from the timed step, skipped where numba is absent.

Its layers are checked against torch and finite differences with the other hand-written backends'
(tests/test_resnet_layers.py), its MLP and ResNet steps with theirs (test_mlp_backends.py,
test_resnet_architecture.py). Here: what is particular to a compiled backend.
"""

from __future__ import annotations

import ast
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import implementations.compiled_loops as compiled_loops
from bench.results import read_results
from bench.configs import get_config
from bench.profiles import get_profile
from bench.suite import Case, expand_cases, select_configs, thread_counts
from tests.conftest import ROOT, numba_skip_reason
from tests.test_harness import run_cases

needs_numba = pytest.mark.skipif(bool(numba_skip_reason()), reason=numba_skip_reason() or "")
LAYERS = Path(compiled_loops.__file__).parent / "layers"

# What would hand the arithmetic to compiled C or BLAS instead of the loops: NumPy's arithmetic
# functions and array methods, and the matrix-product operator.
VECTORIZED = {"dot", "matmul", "einsum", "tensordot", "inner", "outer", "sum", "mean", "exp", "log", "sqrt",
              "maximum", "minimum", "multiply", "add", "subtract", "divide", "where", "max", "min", "prod",
              "cumsum", "var", "std", "square", "abs", "clip", "convolve", "correlate"}


# Names the Python wrappers (outside the kernels) may do arithmetic on: Python ints, never arrays.
SCALARS = {"count", "kernel"}


def _is_kernel(function: ast.FunctionDef) -> bool:
    return any(isinstance(d, ast.Call) and getattr(d.func, "id", "") == "kernel" for d in function.decorator_list)


def _scalar(node: ast.AST) -> bool:
    return all(isinstance(n, (ast.Constant, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop, ast.Load)) or
               (isinstance(n, ast.Name) and n.id in SCALARS) for n in ast.walk(node))


def _annotations(tree: ast.AST) -> set[int]:
    """The nodes of every type annotation (``np.ndarray | None`` is a BinOp of types, not arithmetic)."""
    roots = [n.annotation for n in ast.walk(tree) if isinstance(n, (ast.arg, ast.AnnAssign)) and n.annotation]
    roots += [n.returns for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.returns]
    return {id(n) for root in roots for n in ast.walk(root)}


def _numpy_calls(tree: ast.AST) -> list[str]:
    """Every ``np.<name>(...)`` and ``<array>.<name>(...)`` call whose name is NumPy arithmetic
    (``math.<name>`` works on one number and is allowed), every ``@``, and, outside the numba
    kernels (where an operator is a scalar loop's), every arithmetic operator on anything but
    ``SCALARS`` and constants: in a wrapper, ``a * b`` on arrays is NumPy doing the arithmetic."""
    found = []
    in_kernels = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and _is_kernel(f)
                  for n in ast.walk(f)} | _annotations(tree)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in VECTORIZED
                and not (isinstance(node.func.value, ast.Name) and node.func.value.id == "math")):
            found.append(f"line {node.lineno}: .{node.func.attr}(")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            found.append(f"line {node.lineno}: @")
        elif isinstance(node, (ast.BinOp, ast.AugAssign, ast.UnaryOp)) and id(node) not in in_kernels \
                and not isinstance(getattr(node, "op", None), ast.Not) and not _scalar(node):
            found.append(f"line {node.lineno}: {type(node.op).__name__}")
    return found


def test_no_layer_hands_its_arithmetic_to_numpy_or_blas():
    sources = sorted(LAYERS.glob("*.py"))
    assert len(sources) >= 6  # conv, dense, matmul, norm, pool, storage
    offenders = {path.name: calls for path in sources if (calls := _numpy_calls(ast.parse(path.read_text())))}
    assert offenders == {}


def test_the_source_scan_sees_a_vectorized_layer():
    planted = ast.parse("def linear(x, w):\n    return np.maximum(x @ w.T, math.exp(0)).sum(axis=1)\n")
    assert len(_numpy_calls(planted)) == 3  # np.maximum, @ and .sum; not math.exp
    wrapper = ast.parse("def sgd(p, v, g):\n    v *= 0.9\n    p -= 0.01 * v\n    return -g, count / (count - 1)\n")
    assert len(_numpy_calls(wrapper)) == 4  # v *= , p -=, 0.01 * v, -g; not the count arithmetic
    kernel_body = ast.parse("@kernel('void()')\ndef k(p, v):\n    for i in range(p.size):\n        p[i] -= v[i]\n")
    assert _numpy_calls(kernel_body) == []  # inside a numba kernel an operator is a scalar loop's


def test_numba_runs_on_one_thread_and_on_all_cores_and_loops_on_one():
    assert thread_counts("numba", 8) == [1, 8]
    assert thread_counts("loops", 8) == [1]


def test_the_default_profile_runs_numba_on_all_cores_on_the_ladder_s_configs_not_over_the_sweep():
    profile = get_profile("default")
    cases = expand_cases(select_configs(profile, None), ["numba", "numpy"], cores=2)
    threads = {(c.config.name, c.backend): sorted(x.threads for x in cases
                                                  if (x.config.name, x.backend) == (c.config.name, c.backend)
                                                  and x.dtype == "float64") for c in cases}
    assert threads[("resnet50-224", "numba")] == threads[("mlp-tiny", "numba")] == [1, 2]
    assert threads[("mlp-width-512", "numba")] == [1]
    assert threads[("mlp-width-512", "numpy")] == [1, 2]  # only numba is held to one thread there


@needs_numba
def test_the_harness_sets_numba_s_threads_per_case_and_puts_them_back():
    import numba  # noqa: PLC0415

    from bench.threads import thread_limit  # noqa: PLC0415

    before = numba.get_num_threads()
    with thread_limit(1):
        assert numba.get_num_threads() == 1
        with thread_limit(numba.config.NUMBA_NUM_THREADS + 5):  # more than numba started: all it has
            assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before


def _kernel_calls(rng, stride, padding):
    """(kernel, arguments) of every parallel kernel on odd shapes: channels and rows that no number
    of parts divides, fewer rows than some parts, a stride that skips input pixels."""
    from implementations.compiled_loops.layers import conv, matmul  # noqa: PLC0415
    from implementations.layer_shapes import conv_output_size  # noqa: PLC0415

    x = rng.standard_normal((2, 9, 7, 5))  # (N, H, W, C), channels-last as the kernels take it
    w = rng.standard_normal((6, 5, 3, 3))
    out_h, out_w = conv_output_size(9, 3, stride, padding), conv_output_size(7, 3, stride, padding)
    dout = rng.standard_normal((2, out_h, out_w, 6))
    return [(conv._forward, (x, w, stride, padding, np.zeros_like(dout))),
            (conv._input_gradient, (dout, w, stride, padding, np.zeros_like(x))),
            (conv._weight_gradient, (x, dout, stride, padding, np.empty_like(w))),
            (matmul.accumulate_rows, (rng.standard_normal((3, 11)), rng.standard_normal((11, 5)), np.ones((3, 5)))),
            (matmul.accumulate_transposed, (rng.standard_normal((4, 7)), rng.standard_normal((4, 3)), np.ones((7, 3))))]


@needs_numba
@pytest.mark.parametrize(("stride", "padding"), [(1, 1), (2, 0)])
def test_the_parallel_kernels_give_the_one_thread_numbers_bit_for_bit(stride, padding):
    """Each part writes its own numbers and sums each in the one-thread order: equal, not close, for
    any number of parts (2, and 3 and 5: more parts than cores, more than some loops have rows),
    run on every thread numba has."""
    import numba  # noqa: PLC0415

    from bench.threads import thread_limit  # noqa: PLC0415

    with thread_limit(numba.config.NUMBA_NUM_THREADS):
        for kernel_, args in _kernel_calls(np.random.default_rng([stride, padding]), stride, padding):
            output = args[-1]
            serial = output.copy()
            kernel_.serial(*args[:-1], serial, 1)
            for parts in (2, 3, 5):
                parallel = output.copy()
                kernel_.parallel(*args[:-1], parallel, parts)
                np.testing.assert_array_equal(parallel, serial, err_msg=f"{kernel_.__name__}, {parts} parts")


@needs_numba
def test_a_parallel_kernel_is_cached_apart_from_its_one_thread_twin(tmp_path):
    """numba's disk cache does not tell the parallel flag apart: under one name the parallel twin
    loaded the one-thread machine code (and ran on one core). Each has its own cache entry."""
    script = ("import numpy as np\n"
              "from implementations.compiled_loops.layers.matmul import accumulate_rows as k\n"
              "a = np.ones((4, 4))\n"
              "k.serial(a, a, a.copy(), 1); k.parallel(a, a, a.copy(), 2)\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True, timeout=300)
    index = sorted(p.name.split("-")[0] for p in tmp_path.rglob("*accumulate_rows*.nbi"))
    assert index == ["matmul.accumulate_rows", "matmul.accumulate_rows_parallel"]


@needs_numba
def test_a_numba_case_runs_every_step_at_its_own_thread_count(tmp_path, monkeypatch):
    """Two cases, 1 and 2 threads, interleaved by the runner: every step of each (verification,
    warm-up, timed rounds) runs with numba at the case's threads, and both are verified and timed."""
    import numba  # noqa: PLC0415

    from implementations.trainer import HandwrittenTrainer  # noqa: PLC0415

    seen: dict[int, set[int]] = {}
    real = HandwrittenTrainer.step

    def step(self, batch):
        if self.backend == "numba":  # not the numpy float64 oracle the verifier steps
            seen.setdefault(id(self), set()).add(numba.get_num_threads())
        return real(self, batch)

    monkeypatch.setattr(HandwrittenTrainer, "step", step)
    path = tmp_path / "r.parquet"
    config = get_config("mlp-tiny")
    run_cases(path, [Case(config, "numba", "float64", 1), Case(config, "numba", "float64", 2)], with_noop=False)
    rows = read_results([path])
    assert set(rows["status"]) == {"ok"} and set(rows["threads"]) == {1, 2}
    assert (rows["verified_max_rel_error"] <= rows["tolerance"]).all()
    assert sorted(seen.values(), key=min) == [{1}, {2}]


def test_without_numba_the_cases_are_skipped_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` now raises ImportError
    reason = compiled_loops.unavailable()
    assert reason.startswith("numba is not installed") and "[numba]" in reason
    path = tmp_path / "r.parquet"
    run_cases(path, [Case(get_config("mlp-tiny"), "numba", "float64", 1)], with_noop=False)
    row = read_results([path]).iloc[0]
    assert row["status"] == "skipped" and row["error"] == reason


@needs_numba
def test_compiling_is_recorded_apart_and_never_in_a_timed_step(tmp_path, monkeypatch):
    """A compile hook that takes 0.3 s: every row records it, and no round's time contains it."""
    import implementations.compiled_loops.backend as kit  # noqa: PLC0415

    real = kit.compile
    calls = []

    def slow_compile(dtype):
        calls.append(dtype)
        real(dtype)
        start = time.perf_counter()
        while time.perf_counter() - start < 0.3:
            pass
        return time.perf_counter() - start

    monkeypatch.setattr(kit, "compile", slow_compile)
    path = tmp_path / "r.parquet"
    run_cases(path, [Case(get_config("mlp-tiny"), "numba", "float32", 1)], with_noop=False)
    rows = read_results([path])
    assert calls == ["float32"]
    assert (rows["status"] == "ok").all()
    assert (rows["compile_seconds"] >= 0.3).all()
    assert (rows["seconds"] < 0.3).all()  # a 4-3-2 step is microseconds: 0.3 s in a round would show
    assert not math.isnan(rows["compile_seconds"].iloc[0])



@needs_numba
def test_elementwise_layers_take_arrays_stored_in_any_order():
    """A Fortran-order matrix and a permuted 4-D view: the output is the values, not a copy's leftovers."""
    from implementations.compiled_loops import layers  # noqa: PLC0415

    rng = np.random.default_rng(5)
    matrix = np.asfortranarray(rng.standard_normal((4, 6)))
    np.testing.assert_array_equal(layers.relu_forward(matrix)[0], np.maximum(matrix, 0))
    permuted = rng.standard_normal((2, 5, 4, 3)).transpose(0, 3, 2, 1)  # neither NCHW nor channels-last
    other = rng.standard_normal(permuted.shape)
    np.testing.assert_array_equal(layers.add(permuted, other), permuted + other)
    np.testing.assert_allclose(layers.sigmoid_forward(matrix)[0], 1 / (1 + np.exp(-matrix)), rtol=1e-15)


@needs_numba
def test_a_nan_propagates_through_relu_and_max_pool_as_in_torch():
    import torch  # noqa: PLC0415
    import torch.nn.functional as F  # noqa: PLC0415

    from implementations.compiled_loops import layers  # noqa: PLC0415

    x = np.random.default_rng(6).standard_normal((1, 2, 6, 6))
    x[0, 1, 2, 3] = np.nan
    assert np.isnan(layers.relu_forward(x)[0][0, 1, 2, 3])
    out, _ = layers.maxpool2d_forward(x, 3, 2, 1)
    expected = F.max_pool2d(torch.from_numpy(x), 3, 2, 1).numpy()
    np.testing.assert_array_equal(np.isnan(out), np.isnan(expected))
    np.testing.assert_array_equal(out[~np.isnan(out)], expected[~np.isnan(expected)])
