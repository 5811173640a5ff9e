"""The numba backend: explicit loops, compiled apart from the timed step, skipped where numba is absent.

Its layers are checked against torch and finite differences with the other hand-written backends'
(tests/test_resnet_layers.py), its MLP and ResNet steps with theirs (test_mlp_backends.py,
test_resnet_architecture.py). Here: what is particular to a compiled backend.
"""

from __future__ import annotations

import ast
import math
import sys
import time
from pathlib import Path

import pytest

import implementations.compiled_loops as compiled_loops
from bench.results import read_results
from bench.suite import Case, get_config, thread_counts
from tests.conftest import numba_skip_reason
from tests.test_harness import run_cases

needs_numba = pytest.mark.skipif(bool(numba_skip_reason()), reason=numba_skip_reason() or "")
LAYERS = Path(compiled_loops.__file__).parent / "layers"

# What would hand the arithmetic to compiled C or BLAS instead of the loops: NumPy's arithmetic
# functions and array methods, and the matrix-product operator.
VECTORIZED = {"dot", "matmul", "einsum", "tensordot", "inner", "outer", "sum", "mean", "exp", "log", "sqrt",
              "maximum", "minimum", "multiply", "add", "subtract", "divide", "where", "max", "min", "prod",
              "cumsum", "var", "std", "square", "abs", "clip", "convolve", "correlate"}


def _numpy_calls(tree: ast.AST) -> list[str]:
    """Every ``np.<name>(...)`` and ``<array>.<name>(...)`` call whose name is NumPy arithmetic
    (``math.<name>`` works on one number and is allowed)."""
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in VECTORIZED
                and not (isinstance(node.func.value, ast.Name) and node.func.value.id == "math")):
            found.append(f"line {node.lineno}: .{node.func.attr}(")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            found.append(f"line {node.lineno}: @")
    return found


def test_no_layer_hands_its_arithmetic_to_numpy_or_blas():
    sources = sorted(LAYERS.glob("*.py"))
    assert len(sources) >= 6  # conv, dense, matmul, norm, pool, storage
    offenders = {path.name: calls for path in sources if (calls := _numpy_calls(ast.parse(path.read_text())))}
    assert offenders == {}


def test_the_source_scan_sees_a_vectorized_layer():
    planted = ast.parse("def linear(x, w):\n    return np.maximum(x @ w.T, math.exp(0)).sum(axis=1)\n")
    assert len(_numpy_calls(planted)) == 3  # np.maximum, @ and .sum; not math.exp


def test_numba_runs_on_one_thread_only():
    assert thread_counts("numba", 8) == [1]


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

