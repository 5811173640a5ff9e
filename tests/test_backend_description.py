"""A backend describes itself (``implementations.registry.Backend``: role, device, order, colour,
rungs, peak), and the harness and the report read that description, never its name: a plug-in
named unlike any built-in backend becomes the ladder's loop baseline, a GPU backend, or a source
of the machine's peak, by its description alone."""

from __future__ import annotations

import numpy as np
import pytest

from bench import keys, measurement, suite
from bench.configs import get_config
from bench.peaks import gpu_peak_cases
from bench.profiles import get_profile
from bench.regression.pairs import pair_changes
from bench.report.ladder import build_ladder
from bench.report.palette import colour
from bench.results import ResultsWriter, read_results, to_frame
from bench.runner import Runner
from bench.summary import speedup_table
from implementations import registry
from implementations.registry import LOOP_BASELINE, Backend, LadderRung, PeakKernels
from tests.test_check import _run
from tests.test_harness import TINY_BUDGET
from tests.test_report import Results


def _never_built(*args, **kwargs):
    raise AssertionError("a description test builds no trainer")


ABACUS = Backend("abacus", "cpu", ("float64",), _never_built, role=LOOP_BASELINE, order=-1, colour="#123456",
                 rungs=(LadderRung("float64", "one", "baseline: an abacus"),), single_threaded=True)
WARP = Backend("warp-drive", "cuda", ("float32",), _never_built, order=45,
               rungs=(LadderRung("float32", "any", "warp"),))


@pytest.fixture
def plugins(monkeypatch):
    """The registry with two plug-ins added, restored afterwards."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    registry.register(ABACUS)
    registry.register(WARP)


def test_a_plugin_on_cuda_is_a_gpu_backend_by_its_description(plugins):
    assert keys.device("warp-drive") == "gpu"
    assert registry.on_gpu("warp-drive") and not registry.on_gpu("abacus")
    assert keys.device("never-registered") == "cpu"  # results from elsewhere: the default


def test_a_plugin_described_as_the_loop_baseline_is_the_ladders_base(plugins):
    results = Results()
    for backend, median in (("abacus", 10.0), ("numpy", 0.1)):
        results.ok("lab-a", "mlp-mnist", backend, "float64", 1, median)
    cases = measurement.measurements(to_frame(results.rows))
    ladder = build_ladder("lab-a", "mlp-mnist", cases, all_cores=1, resamples=200)
    assert ladder.rungs[0].spec.backend == "abacus" and ladder.loops.case.backend == "abacus"
    numpy = ladder.rung_of(registry.VECTORIZED, "float64", "one")
    assert numpy.over_loops.value == pytest.approx(100.0, rel=0.1)
    assert "warp-drive float32" in [r.spec.name for r in ladder.rungs]  # a declared rung, not measured here
    assert colour("abacus") == "#123456"


def test_a_plugin_loop_baseline_is_what_the_summary_and_the_check_divide_by(plugins):
    rows = [dict(r, backend="abacus") if r["backend"] == "loops" else r for r in _run("r", seed=1)]
    frame = to_frame(rows)
    table = speedup_table(frame)
    assert table["loops_over_x"].notna().all() and (table["loops_over_x"] > 1).sum() == len(table) - 1
    changes = pair_changes([frame], [frame])
    assert any(name.startswith("speedup numpy over abacus") for name in changes.changes)


def _counted_product(calls: list):
    """A ``PeakKernels.target`` that builds a NumPy product and counts the products built."""
    def target(kind, dtype, n, tf32, device):
        assert (kind, tf32, device) == ("gemm", False, "cpu")
        calls.append((dtype, n))
        a = np.full((n, n), 0.5, dtype=dtype)
        return lambda: a @ a
    return target


def test_a_plugin_offering_a_peak_is_a_peak_source_by_its_description(plugins, monkeypatch, tmp_path):
    """A plug-in named unlike any built-in backend, offering products on the CPU (``Backend.peak``),
    is timed as the machine's peak beside the built-in source, its rows shaped like theirs; one on
    CUDA joins the GPU's peaks. Neither is named anywhere in the harness."""
    calls = []
    registry.register(Backend("slide-rule", "cpu", ("float64",), _never_built,
                              peak=PeakKernels(_counted_product(calls), ("float64",))))
    registry.register(Backend("photon-mill", "cuda", ("float32",), _never_built,
                              peak=PeakKernels(_never_built, ("bfloat16",), copy_dtype="bfloat16")))
    assert registry.peak_sources("cpu") == ("numpy", "slide-rule")
    assert [c.label for c in gpu_peak_cases(4, n=8, copy_bytes=64) if c.backend == "photon-mill"] == [
        "peak photon-mill gemm-bfloat16-8 4t", "peak photon-mill copy-64B 4t"]
    path = tmp_path / "r.parquet"
    runner = Runner(ResultsWriter(path), TINY_BUDGET, "custom", progress=False)
    runner.run([], peak_sizes=(16,), with_noop=False)
    frame = read_results([path])
    assert (frame["model"] == "peak").all() and (frame["status"] == "ok").all()
    mine = frame[frame["backend"] == "slide-rule"]
    assert set(mine["config"]) == {"gemm-float64-16"} and set(mine["threads"]) == {1, runner.cores}
    assert (mine["flops"] == 2 * 16**3).all() and (mine["precision"] == "float64").all()
    assert calls == [("float64", 16)] * len({1, runner.cores})
    built_in = frame[frame["backend"] != "slide-rule"]
    assert set(built_in["config"]) == {"gemm-float32-16", "gemm-float64-16"}


def test_a_plugin_loop_baseline_is_left_out_where_its_role_is(plugins):
    """Where a model rules the loop baseline out (ResNet-50 at 224 px beyond one image) or a profile
    runs a config without it (the quick profile's resnet50-32), a plug-in of that role is left out
    too, by its role; at one image, and on the quick profile's MLPs, it runs."""
    registry.register(Backend("tally-sticks", "cpu", ("float32", "float64"), _never_built, role=LOOP_BASELINE,
                              single_threaded=True))

    def backends_of(selected):
        return {c.backend for c in suite.expand_cases(selected, ["tally-sticks", "numpy"], cores=2)}

    assert backends_of([get_config("resnet50-224@32")]) == {"numpy"}
    assert backends_of([get_config("resnet50-224@1")]) == {"tally-sticks", "numpy"}
    quick = get_profile("quick")
    assert backends_of(suite.select_configs(quick, ["resnet50-32"])) == {"numpy"}
    assert backends_of(suite.select_configs(quick, ["mlp-tiny"])) == {"tally-sticks", "numpy"}


def test_a_plugin_with_an_unknown_role_or_device_is_refused():
    with pytest.raises(ValueError, match="role"):
        Backend("odd", "cpu", ("float64",), _never_built, role="oracle of delphi")
    with pytest.raises(ValueError, match="device"):
        Backend("odd", "tpu", ("float64",), _never_built)


def test_a_layers_kit_is_what_the_protocol_states():
    """The hand-written kits provide what ``LayersKit`` states (numba's compiles, loops' converts its
    gradients), and a kit that lacks part of it is refused by name, not failed deep inside a step."""
    import importlib
    import types

    from implementations.architectures import mlp
    from implementations.trainer import CompilingKit, GradientConvertingKit, HandwrittenTrainer, LayersKit, SGDConfig

    kits = {name: importlib.import_module(f"implementations.{name}.backend")
            for name in ("pure_python", "compiled_loops", "numpy_vectorized")}
    assert all(isinstance(kit, LayersKit) for kit in kits.values())
    assert [name for name, kit in kits.items() if isinstance(kit, CompilingKit)] == ["compiled_loops"]
    assert [name for name, kit in kits.items() if isinstance(kit, GradientConvertingKit)] == ["pure_python"]
    partial = types.SimpleNamespace(**{k: getattr(kits["numpy_vectorized"], k) for k in
                                       ("NAME", "DTYPES", "layers", "labels_to_native", "to_numpy", "zeros_like")})
    with pytest.raises(TypeError, match="lacks to_native"):
        HandwrittenTrainer(partial, mlp, mlp.MLPSpec((4, 3, 2)), {}, "float64", SGDConfig())
