"""The harness: rows on disk after every case, nothing earlier lost, a wrong answer never timed."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import bench.case_preparation as preparation
import bench.runner as runner_module
from bench import configs, plan, profiles, repeats, results, run_rows, suite
from bench.errors import UsageError
from bench.results import REQUIRED, ResultsWriter, read_results
from bench.runner import Runner
from bench.configs import get_config
from bench.profiles import TimingBudget
from bench.suite import Case
from bench.verify import max_relative_error, relative_error

TINY_BUDGET = TimingBudget(repeats=2, block_time=0.01, min_time=0.001, min_rounds=3, slow_budget=0.2, warmup_time=0.001)


def run_cases(path, cases, **kwargs):
    runner = Runner(ResultsWriter(path), TINY_BUDGET, "custom", progress=False)
    runner.run(cases, **kwargs)
    return runner


def test_rows_carry_every_column_and_a_verified_error(tmp_path):
    config = get_config("mlp-tiny")
    path = tmp_path / "r.parquet"
    runner = run_cases(path, [Case(config, "numpy", "float32", 1), Case(config, "loops", "float64", 1)],
                       peak_sizes=(64,))
    frame = read_results([path])
    assert set(REQUIRED) <= set(frame.columns)
    assert (frame["run_id"] == runner.run_id).all()
    cases = frame[frame["model"] == "mlp"]
    assert set(cases["status"]) == {"ok"}
    assert (cases["seconds"] > 0).all() and (cases["round"] >= 0).all()
    assert cases.groupby("backend")["round"].count().min() >= TINY_BUDGET.min_rounds
    assert (cases["verified_max_rel_error"] <= cases["tolerance"]).all()
    assert (cases["flops"] == 2 * (2 * 5 * 4 * 3 + 5 * 3 + 2 * 5 * 3 * 2 + 5 * 2) + 2 * 5 * 3 * 2 + 2 * 5 * 3
            + 5 * 5 * 2 + 4 * 23).all()  # 23 parameters in the 4-3-2 network
    peaks = frame[frame["model"] == "peak"]
    assert set(peaks["config"]) == {"gemm-float32-64", "gemm-float64-64"}
    assert (peaks["flops"] == 2 * 64**3).all()
    assert (frame[frame["model"] == "noop"]["seconds"] > 0).all()


def test_a_wrong_answer_is_recorded_failed_and_never_timed(tmp_path, monkeypatch):
    real = preparation.make_trainer
    steps = []

    class Wrong:
        def __init__(self, trainer):
            self.trainer = trainer

        def prepare_batch(self, x, y):
            return self.trainer.prepare_batch(x, y)

        def last_loss_and_grads(self):
            loss, grads = self.trainer.last_loss_and_grads()
            grads["fc1.weight"] = grads["fc1.weight"] * 1.001
            return loss, grads

        def step(self, batch):
            steps.append(1)
            return self.trainer.step(batch)

        def state_dict(self):
            return self.trainer.state_dict()

        def momentum_buffers(self):
            return self.trainer.momentum_buffers()

    monkeypatch.setattr(preparation, "make_trainer", lambda *a, **k: Wrong(real(*a, **k)))
    path = tmp_path / "r.parquet"
    run_cases(path, [Case(get_config("mlp-tiny"), "numpy", "float64", 1)], with_noop=False)
    frame = read_results([path])
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["status"] == "failed"
    assert row["error"].startswith("fc1.weight differs from torch float64")
    assert math.isnan(row["seconds"]) and pd.isna(row["round"])
    assert len(steps) == 2  # the two verification steps, and not one more


def test_a_minutes_long_step_is_timed_once_and_that_step_is_verified(tmp_path, monkeypatch):
    """``verify_timed_round`` (the loops step of mlp-wide and ResNet-50): one timed round, no separate
    verification steps, and the row says the timed step itself was verified; a wrong timed step fails."""
    config = dataclasses.replace(get_config("mlp-tiny"), verify_timed_round=("loops",))
    real = preparation.make_trainer
    steps = []

    class Counted:
        def __init__(self, trainer, wrong):
            self.trainer, self.wrong = trainer, wrong

        def __getattr__(self, name):
            return getattr(self.trainer, name)

        def step(self, batch):
            steps.append(1)
            return self.trainer.step(batch)

        def last_loss_and_grads(self):
            loss, grads = self.trainer.last_loss_and_grads()
            return loss * (1.01 if self.wrong else 1.0), grads

    for wrong in (False, True):
        steps.clear()
        monkeypatch.setattr(preparation, "make_trainer", lambda *a, w=wrong, **k: Counted(real(*a, **k), w))
        path = tmp_path / f"r{wrong}.parquet"
        run_cases(path, [Case(config, "loops", "float64", 1)], with_noop=False)
        row = read_results([path]).iloc[0]
        assert len(steps) == 1  # the timed step, and not one more
        if wrong:
            assert row["status"] == "failed" and row["error"].startswith("loss differs from torch float64")
        else:
            assert row["status"] == "ok" and row["verification"] == "timed-round"
            assert row["round"] == 0 and row["iterations"] == 1 and row["seconds"] > 0
            assert row["verified_max_rel_error"] <= row["tolerance"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present: torch-cuda runs instead of skipping")
def test_torch_cuda_is_skipped_with_its_reason(tmp_path):
    path = tmp_path / "r.parquet"
    run_cases(path, [Case(get_config("mlp-tiny"), "torch-cuda", "float32", 2)], with_noop=False)
    row = read_results([path]).iloc[0]
    assert row["status"] == "skipped"
    assert row["error"].startswith("no CUDA GPU is available")


def test_each_pass_is_on_disk_before_the_next_starts(tmp_path, monkeypatch):
    path = tmp_path / "r.parquet"
    config = get_config("mlp-tiny")
    cases = [Case(config, "numpy", "float64", 1), Case(config, "loops", "float64", 1)]
    real = repeats.time_repeat

    def time_repeat(timed, budget, cores):
        if timed.done == 1:  # the second pass: the whole first pass must be readable on disk; then a kill
            on_disk = read_results([path])
            assert set(on_disk["backend"]) == {"numpy", "loops"} and set(on_disk["repeat"]) == {0}
            raise KeyboardInterrupt
        return real(timed, budget, cores)

    monkeypatch.setattr(repeats, "time_repeat", time_repeat)
    with pytest.raises(KeyboardInterrupt):
        run_cases(path, cases, with_noop=False)
    frame = read_results([path])
    assert set(frame["backend"]) == {"numpy", "loops"} and (frame["status"] == "ok").all()
    assert set(frame["repeat"]) == {0}


def test_cases_of_a_config_are_timed_in_interleaved_repeats(tmp_path):
    path = tmp_path / "r.parquet"
    config = get_config("mlp-tiny")
    budget = TimingBudget(repeats=4, block_time=0.005, min_time=0.001, min_rounds=2, slow_budget=0.2,
                          warmup_time=0.001)
    runner = Runner(ResultsWriter(path), budget, "custom", progress=False)
    runner.run([Case(config, "numpy", "float64", 1), Case(config, "loops", "float64", 1)], with_noop=False)
    frame = read_results([path])
    blocks = frame.groupby(["backend", "repeat"])["timestamp"].min().sort_values()
    # ABBA: numpy 0, loops 0, loops 1, numpy 1, numpy 2, loops 2, loops 3, numpy 3
    assert [f"{b}{r}" for b, r in blocks.index] == ["numpy0", "loops0", "loops1", "numpy1", "numpy2", "loops2",
                                                    "loops3", "numpy3"]
    for _, rows in frame.groupby("backend"):
        assert sorted(rows["round"]) == list(range(len(rows)))  # rounds numbered through the repeats
        assert (rows.groupby("repeat").size() >= budget.min_rounds).all()
        assert (rows["warmup_steps"] >= 1).all()  # a fast step is warmed before every block
        assert (rows["cpu_seconds"] > 0).all() and rows["run_wait"].notna().all()
        # a 1-thread step computes all the time it runs: its CPU time is about its wall time
        assert (rows["cpu_seconds"] <= rows["seconds"] * 1.5).all()


def test_a_slow_step_gets_one_call_per_round_and_the_slow_budget():
    budget = TimingBudget(repeats=6, block_time=0.05, min_time=0.002, min_rounds=3, slow_budget=4.0,
                          warmup_time=0.01)
    assert plan.slow_plan(budget, 0.4) == (6, 1)  # 10 steps fit: every repeat, one round each
    assert plan.slow_plan(budget, 0.1) == (6, 3)  # 40 fit: rounds up to min_rounds
    assert plan.slow_plan(budget, 400.0) == (1, 1)  # never fewer than one


def test_the_test_slowdown_hook_stretches_each_call(tmp_path, monkeypatch):
    import time

    def sleeper():
        time.sleep(0.01)

    slowed = preparation.slowed(sleeper, 1.5)
    start = time.perf_counter()
    slowed()
    assert time.perf_counter() - start >= 0.015
    assert preparation.slowed(sleeper, 1.0) is sleeper
    # injected by the test that wants it, never read from the environment by the runner
    writer = ResultsWriter(tmp_path / "r.parquet")
    budget = profiles.get_profile("quick").budget
    assert runner_module.Runner(writer, budget, "quick", slowdowns={"numpy": 1.5}).slowdowns == {"numpy": 1.5}
    for bad in ({"numpy": 0.5}, {"numpy": float("nan")}):
        with pytest.raises(ValueError):
            runner_module.Runner(writer, budget, "quick", slowdowns=bad)
    monkeypatch.setenv("VECBENCH_TEST_SLOWDOWN", "numpy:2")  # the environment variable it once read
    assert runner_module.Runner(writer, budget, "quick").slowdowns == {}
    for module in (runner_module, preparation, run_rows):  # where the hook is taken, applied and recorded
        source = Path(module.__file__).read_text()
        assert "os.environ" not in source and "VECBENCH_TEST" not in source


def test_a_second_run_appends_and_keeps_earlier_rows(tmp_path):
    path = tmp_path / "r.parquet"
    config = get_config("mlp-tiny")
    first = run_cases(path, [Case(config, "numpy", "float64", 1)], with_noop=False)
    before = read_results([path])
    second = run_cases(path, [Case(config, "numpy", "float32", 1)], with_noop=False)
    after = read_results([path])
    assert first.run_id != second.run_id
    assert len(after) > len(before)
    kept = after[after["run_id"] == first.run_id].drop(columns="source_file").reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, before.drop(columns="source_file"))


def test_writer_refuses_corrupt_and_foreign_files_without_touching_them(tmp_path):
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(UsageError, match="not a readable parquet file"):
        ResultsWriter(corrupt)
    assert corrupt.read_bytes() == b"PAR1 this is not parquet"
    foreign = tmp_path / "foreign.parquet"
    pd.DataFrame({"a": [1, 2]}).to_parquet(foreign)
    with pytest.raises(UsageError, match="not a vecbench results file"):
        ResultsWriter(foreign)
    assert len(pd.read_parquet(foreign)) == 2


def test_reader_refuses_newer_schema_and_missing_columns(tmp_path):
    rows = results.empty_frame()
    newer = tmp_path / "newer.parquet"
    rows.assign(schema_version=pd.Series([results.SCHEMA_VERSION + 1], dtype="int64")).to_parquet(newer)
    with pytest.raises(UsageError, match=f"schema_version {results.SCHEMA_VERSION + 1}, newer than"):
        read_results([newer])
    partial = tmp_path / "partial.parquet"
    results.empty_frame().drop(columns=["seconds", "flops"]).to_parquet(partial)
    with pytest.raises(UsageError, match="lacks required column\\(s\\) seconds, flops"):
        read_results([partial])


def test_unwritable_output_path_is_refused_up_front(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError, match="cannot write results there"):
        ResultsWriter(blocker / "sub" / "r.parquet")
    with pytest.raises(UsageError, match="must end in .parquet"):
        ResultsWriter(tmp_path / "r.csv")


def test_config_and_profile_names_are_checked():
    with pytest.raises(UsageError, match="unknown model or config 'mlp-huge'; models: mlp, resnet50; configs: mlp-tiny, mlp-mnist"):
        configs.get_config("mlp-huge")
    with pytest.raises(UsageError, match="mlp-width-0: a width must be a positive integer"):
        configs.get_config("mlp-width-0")
    with pytest.raises(UsageError, match="unknown profile 'fast'; accepted: quick, ci, default, full"):
        profiles.get_profile("fast")
    assert configs.get_config("mlp-width-96").spec.sizes == (96, 96, 10)
    full = profiles.get_profile("full").configs
    assert all(f"mlp-width-{n}" in full for n in (32, 64, 128, 256, 512, 1024, 2048))


def test_cases_expand_over_dtypes_and_threads():
    cases = suite.expand_cases([get_config("mlp-tiny")], ["loops", "numpy", "torch-cpu"], cores=4)
    labels = {(c.backend, c.dtype, c.threads) for c in cases}
    assert labels == {("loops", "float64", 1),
                      ("numpy", "float32", 1), ("numpy", "float32", 4), ("numpy", "float64", 1), ("numpy", "float64", 4),
                      ("torch-cpu", "float32", 1), ("torch-cpu", "float32", 4),
                      ("torch-cpu", "float64", 1), ("torch-cpu", "float64", 4)}


def test_relative_error_is_a_norm_ratio_and_nan_never_passes():
    ref = np.array([3.0, 4.0])
    assert relative_error(ref + [0.0, 5e-3], ref) == pytest.approx(1e-3)
    assert relative_error([np.nan, 4.0], ref) == float("inf")
    error, where = max_relative_error(1.0, {"a": ref, "b": ref * 1.1}, 1.0, {"a": ref, "b": ref})
    assert where == "b" and error == pytest.approx(0.1)


def _verifier(model, reference, floor=None, numpy_floor=None):
    """A Verifier on a synthetic reference, without running torch (its oracle passed); ``floor`` is
    torch-cpu float32's per-tensor error, ``numpy_floor`` numpy float32's."""
    from bench.verify import Oracle, Verifier

    verifier = Verifier.__new__(Verifier)
    verifier.config = type("Config", (), {"model": model, "name": "synthetic"})()
    verifier.reference = reference
    verifier.oracle = Oracle(0.0, "", 0.0, None)
    verifier._floors = {"torch-cpu": floor or {}, "numpy": numpy_floor or {}}
    return verifier


def _one_step(loss, grads, running):
    """A StepResult of one step from zero weights (update = -lr x gradient, lr 1, momentum = gradient)."""
    from bench.verify import StepResult

    return StepResult(loss, grads, running, [({k: -g for k, g in grads.items()}, dict(grads))])


def _synthetic_reference():
    from bench.verify import Reference

    grads = {"chaotic": np.ones(4), "stable": np.ones(4)}
    return Reference({k: np.zeros(4) for k in grads}, None, None,
                     _one_step(2.0, grads, {"bn.running_mean": np.ones(2)}))


def test_float32_resnet_bounds_are_floored_per_tensor_by_another_implementations_error():
    from bench.verify import FLOOR_FACTOR, VerificationError

    # torch float32 is 0.2% off on one gradient (and so its momentum), exact elsewhere
    floor = {"loss": 1e-7, "chaotic": 2e-3, "chaotic momentum": 2e-3, "chaotic update": 2e-3, "stable": 1e-7,
             "stable momentum": 1e-7, "stable update": 1e-7, "bn.running_mean": 1e-7}
    verifier = _verifier("resnet50", _synthetic_reference(), floor)
    running = {"bn.running_mean": np.ones(2)}
    grads = {"chaotic": np.ones(4) * 1.015, "stable": np.ones(4)}
    error, bound = verifier.check("numpy", "float32", None, _one_step(2.0, grads, running))
    assert error == pytest.approx(0.015) and bound == pytest.approx(FLOOR_FACTOR * 2e-3)
    assert verifier.blind_spots("numpy", "float32") == ["chaotic", "chaotic momentum", "chaotic update"]
    # the floor is the tensor's own: a 1% error on a tensor torch float32 gets right fails
    with pytest.raises(VerificationError, match=r"^stable differs .* 0.01 > 0.001 \(and 2 more tensors\)$"):
        verifier.check("numpy", "float32", None,
                       _one_step(2.0, {"chaotic": np.ones(4), "stable": np.ones(4) * 1.01}, running))
    with pytest.raises(VerificationError, match=r"^loss differs .* 0.005 > 0.001$"):
        verifier.check("numpy", "float32", None, _one_step(2.01, dict(grads, chaotic=np.ones(4)), running))
    with pytest.raises(VerificationError, match="bn.running_mean differs"):
        verifier.check("numpy", "float32", None, _one_step(2.0, dict(grads, chaotic=np.ones(4)),
                                                            {"bn.running_mean": np.ones(2) * 1.01}))


def test_no_backend_is_floored_by_its_own_code():
    """torch's rungs are judged by numpy float32's error, the hand-written backends by torch's: a
    torch float32 fault that loosens torch's own floor cannot let torch pass."""
    from bench.verify import VerificationError, floor_source

    assert {b: floor_source(b) for b in ("torch-cpu", "torch-cuda", "torch-cuda-amp", "torch-cuda-compile",
                                         "torch-cuda-graphs", "numpy", "numba", "loops")} == {
        "torch-cpu": "numpy", "torch-cuda": "numpy", "torch-cuda-amp": "numpy", "torch-cuda-compile": "numpy",
        "torch-cuda-graphs": "numpy", "numpy": "torch-cpu", "numba": "torch-cpu", "loops": "torch-cpu"}
    # torch float32 1.5x off on "chaotic" everywhere: its own error there is 0.5, numpy's 1e-7
    torch_floor = {"chaotic": 0.5, "chaotic momentum": 0.5, "chaotic update": 0.5}
    verifier = _verifier("resnet50", _synthetic_reference(), torch_floor, numpy_floor={"chaotic": 1e-7})
    running = {"bn.running_mean": np.ones(2)}
    faulty = _one_step(2.0, {"chaotic": np.ones(4) * 1.5, "stable": np.ones(4)}, running)
    with pytest.raises(VerificationError, match=r"^chaotic differs .* 0.5 > 0.001"):
        verifier.check("torch-cpu", "float32", None, faulty)
    assert verifier.blind_spots("torch-cpu", "float32") == []
    assert verifier.blind_spots("numpy", "float32") == ["chaotic", "chaotic momentum", "chaotic update"]


def test_nan_infinity_and_zero_gradients_fail_with_their_own_reason():
    from bench.verify import VerificationError

    verifier = _verifier("resnet50", _synthetic_reference(), {"chaotic": 0.5})  # a floor that would let 1 pass
    running = {"bn.running_mean": np.ones(2)}
    cases = {"chaotic holds NaN": dict(chaotic=np.array([1.0, np.nan, 1.0, 1.0]), stable=np.ones(4)),
             "stable holds infinity": dict(chaotic=np.ones(4), stable=np.array([1.0, np.inf, 1.0, 1.0])),
             "chaotic is all zeros": dict(chaotic=np.zeros(4), stable=np.ones(4))}
    for reason, grads in cases.items():
        with pytest.raises(VerificationError, match=f"^{reason}, unlike torch float64's$"):
            verifier.check("numpy", "float32", None, _one_step(2.0, grads, running))
    with pytest.raises(VerificationError, match="^loss holds NaN"):
        verifier.check("numpy", "float32", None, _one_step(float("nan"), dict(cases["chaotic is all zeros"],
                                                                             chaotic=np.ones(4)), running))


def test_a_floor_that_is_not_finite_sets_no_bound(monkeypatch):
    from bench import verify

    verifier = _verifier("resnet50", _synthetic_reference())
    verifier.config = type("Config", (), {"model": "resnet50", "name": "synthetic", "spec": None})()
    verifier._floors = {}
    ref = verifier.reference
    monkeypatch.setattr(verify, "_steps_of", lambda *args, **kwargs: _one_step(
        2.0, {"chaotic": np.array([np.nan] * 4), "stable": np.ones(4)}, ref.result.running))
    with pytest.raises(verify.VerificationError, match="^numpy float32, whose error sets the float32 bounds here, "
                                                       "is not finite on 3 tensor"):
        verifier.check("torch-cpu", "float32", None, ref.result)


def test_an_unconfirmed_reference_fails_every_case():
    from bench.verify import Oracle, VerificationError

    verifier = _verifier("mlp", _synthetic_reference())
    verifier.oracle = Oracle(0.5, "loss", 0.0, "the float64 reference of synthetic is not confirmed: ...")
    with pytest.raises(VerificationError, match="not confirmed"):
        verifier.check("numpy", "float64", None, verifier.reference.result)


def test_float64_and_mlp_bounds_are_never_floored():
    from bench.verify import VerificationError

    ref = _synthetic_reference()
    grads = {"chaotic": np.ones(4), "stable": np.ones(4) * (1 + 1e-7)}
    running = {"bn.running_mean": np.ones(2)}
    with pytest.raises(VerificationError, match=r"stable differs .* > 1e-08"):
        _verifier("resnet50", ref, {}).check("numpy", "float64", None, _one_step(2.0, grads, running))
    grads["stable"] = np.ones(4) * 1.001
    with pytest.raises(VerificationError, match=r"stable differs .* > 0.0001"):
        _verifier("mlp", ref).check("numpy", "float32", None, _one_step(2.0, grads, running))


def test_contention_is_seen_in_the_run_queue_wait_and_flags_rounds():
    import subprocess
    import sys
    import time

    from bench.contention import CONTENDED_RUN_WAIT, Load, LoadProbe, is_contended
    from bench.machine import available_cores

    def spin(seconds):
        probe = LoadProbe(cores=2)
        probe.start()
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass
        return probe.stop()

    alone = spin(0.3)
    hogs = [subprocess.Popen([sys.executable, "-c", "import time\nt = time.time()\nwhile time.time() - t < 3: pass"])
            for _ in range(available_cores() + 1)]
    try:
        time.sleep(0.3)
        crowded = spin(0.5)
    finally:
        for hog in hogs:
            hog.wait()
    if alone.run_wait != alone.run_wait:  # NaN: no /proc/self/task/*/schedstat here
        pytest.skip("the scheduler's run_delay is not readable on this system")
    # one busy process more than there are cores, and us: we wait for a CPU much of the time
    assert crowded.run_wait > CONTENDED_RUN_WAIT > alone.run_wait
    assert is_contended(crowded, threads=2, seconds=1.0, cpu_seconds=1.0)
    assert not is_contended(Load(0.0, 0.0), threads=2, seconds=1.0, cpu_seconds=2.0)
    assert is_contended(Load(0.0, 0.3), threads=2, seconds=1.0, cpu_seconds=2.0)  # the hypervisor took 30%
    assert not is_contended(Load(0.5, 0.0), threads=2, seconds=1.0, cpu_seconds=1.9)  # it waited on itself
    # an off-CPU wait of the step's own (a lock, a sleep) on an idle machine is a slower step, not contention
    assert not is_contended(Load(0.0, 0.0), threads=1, seconds=1.0, cpu_seconds=0.5)
    assert is_contended(Load(0.3, 0.0), threads=1, seconds=1.0, cpu_seconds=0.5)  # it waited for a CPU
    assert not is_contended(Load(float("nan"), float("nan")), threads=2, seconds=1.0, cpu_seconds=2.0)


def test_docs_schema_documents_every_column_of_the_schema_as_it_is():
    """The parquet schema is a public interface: docs/schema.md's table must say what bench/schema.py does."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "schema.md").read_text(encoding="utf-8")
    assert f"## Results schema (schema_version {results.SCHEMA_VERSION})" in text
    documented = {name: (kind.strip(), meaning) for name, kind, meaning in
                  re.findall(r"^\| `(\w+)` \| ([\w\[\], ]+?) \| (.+) \|$", text, flags=re.MULTILINE)}
    assert documented == results.COLUMNS  # names, dtypes and meanings: the schema's words, not a paraphrase


def test_a_copy_of_the_tree_without_git_records_the_commit_it_is_told(tmp_path):
    """On the GPU machine the tree arrives without .git: the run records $VECBENCH_COMMIT-copy."""
    import os  # noqa: PLC0415
    import shutil  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    shutil.copytree(Path(__file__).resolve().parent.parent / "bench", tmp_path / "bench",
                    ignore=shutil.ignore_patterns("__pycache__"))
    probe = [sys.executable, "-c", "from bench.machine import git_commit; print(git_commit())"]
    env = {k: v for k, v in os.environ.items() if k != "VECBENCH_COMMIT"}
    told = subprocess.run(probe, cwd=tmp_path, env=dict(env, VECBENCH_COMMIT="abc123"), capture_output=True,
                          text=True, check=True)
    untold = subprocess.run(probe, cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert (told.stdout.strip(), untold.stdout.strip()) == ("abc123-copy", "unknown")


X86_CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC 9654 96-Core Processor
stepping\t: 1

processor\t: 1
model name\t: AMD EPYC 9654 96-Core Processor
"""
POWER_CPUINFO = "processor\t: 0\ncpu\t\t: POWER9 (architected), altivec supported\nclock\t\t: 2750.000000MHz\n"
ARM_CPUINFO = "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\n"


@pytest.mark.parametrize("text, brand", [(X86_CPUINFO, "AMD EPYC 9654 96-Core Processor"),
                                         (POWER_CPUINFO, "POWER9 (architected), altivec supported"),
                                         (ARM_CPUINFO, None), ("", None)])
def test_the_cpu_brand_is_read_from_proc_cpuinfo_as_py_cpuinfo_reads_it(text, brand):
    """The brand files baselines by machine kind, so the fast reading must name a CPU as py-cpuinfo
    did when the committed baselines were measured: x86's numbered ``processor`` lines are skipped,
    POWER's ``cpu`` line counts, and where no line names one (ARM) py-cpuinfo is asked instead."""
    from cpuinfo import cpuinfo  # noqa: PLC0415

    from bench.machine import brand_from_proc_cpuinfo  # noqa: PLC0415

    assert brand_from_proc_cpuinfo(text) == brand
    # and as py-cpuinfo's own reader of /proc/cpuinfo (9.0.0, pinned) reads the same text
    assert cpuinfo._get_field(True, text, None, None, "model name", "cpu", "processor", "uarch") == brand


def test_the_cpu_brand_here_is_the_one_py_cpuinfo_gives(monkeypatch):
    import cpuinfo  # noqa: PLC0415

    import bench.machine as machine  # noqa: PLC0415

    assert machine._cpu_brand() == cpuinfo.get_cpu_info().get("brand_raw")
    # where /proc/cpuinfo names no brand (ARM), py-cpuinfo is asked
    monkeypatch.setattr(machine, "brand_from_proc_cpuinfo", lambda text: None)
    monkeypatch.setattr(cpuinfo, "get_cpu_info", lambda: {"brand_raw": "Neoverse-N1 (asked)"})
    assert machine._cpu_brand() == "Neoverse-N1 (asked)"


@pytest.mark.parametrize("enabled_before", [True, False])
def test_a_timed_block_runs_with_gc_off_and_leaves_it_as_it_found_it(enabled_before):
    """A collection landing in one round and not another is noise: every call of a block, warm-up
    included, runs with GC off, and the block hands GC back in the state it found it."""
    import gc  # noqa: PLC0415

    from bench.timing import time_block  # noqa: PLC0415

    seen = []
    (gc.enable if enabled_before else gc.disable)()
    try:
        time_block(lambda: seen.append(gc.isenabled()), iterations=3, rounds=2, warmup_time=0.0,
                   warmup_max_calls=2, cores=1)
        after = gc.isenabled()
    finally:
        gc.enable()
    assert len(seen) >= 7 and not any(seen)
    assert after is enabled_before


def test_a_backend_a_profile_runs_on_some_configs_only_is_left_out_of_the_others():
    """``Profile.only_on``: the quick profile (CI's) runs numba on two configs at one thread; a
    config named with --models keeps the restriction."""
    profile = profiles.Profile("p", ("mlp-tiny", "mlp-mnist"), profiles.get_profile("quick").budget,
                            only_on=(("numpy", ("mlp-mnist",)),))
    cases = suite.expand_cases(suite.select_configs(profile, None), ["loops", "numpy"], cores=2)
    assert sorted(c.label for c in cases) == ["mlp-mnist@32 loops float64 1t", "mlp-mnist@32 numpy float32 1t",
                                              "mlp-mnist@32 numpy float32 2t", "mlp-mnist@32 numpy float64 1t",
                                              "mlp-mnist@32 numpy float64 2t", "mlp-tiny@5 loops float64 1t"]
    named = suite.expand_cases(suite.select_configs(profile, ["mlp-tiny"]), ["loops", "numpy"], cores=2)
    assert [c.label for c in named] == ["mlp-tiny@5 loops float64 1t"]
    quick = profiles.get_profile("quick")
    numba = suite.expand_cases(suite.select_configs(quick, None), ["numba"], cores=2)
    assert [c.label for c in numba] == ["mlp-width-256@32 numba float32 1t", "mlp-width-256@32 numba float64 1t",
                                        "resnet50-32@4 numba float32 1t", "resnet50-32@4 numba float64 1t"]


def test_a_round_is_typed_and_its_fields_are_the_schema():
    """One owner of the schema: ``Round``'s fields are the columns, and a misspelled field is an
    error wherever a row is made (pandas would drop an unknown key and leave its column null)."""
    from dataclasses import fields

    from bench.schema import Round

    assert [f.name for f in fields(Round)] == list(results.COLUMNS)
    machine = dict(hostname="h", cpu="c", cores=2, gpu="", python="3", numpy="2", torch="2", blas="b",
                   platform="p", git_commit="g")
    row = Round(run_id="r", timestamp=pd.Timestamp("2026-01-01", tz="UTC"), profile="quick", model="mlp",
                config="mlp-tiny", backend="numpy", dtype="float64", threads=1, batch_size=5, flops=10, **machine)
    frame = results.to_frame([row.with_(seconds=0.5, round=0)])
    assert frame.loc[0, "seconds"] == 0.5 and frame.loc[0, "schema_version"] == results.SCHEMA_VERSION
    with pytest.raises(TypeError, match="secnds"):
        row.with_(secnds=0.5)
    with pytest.raises(TypeError):
        Round(run_id="r")  # what the case is, and the machine, must be given
    with pytest.raises(ValueError, match="not columns of the schema: secnds"):
        results.to_frame([row.as_row() | {"secnds": 0.5}])


@pytest.mark.parametrize("study", sorted(p.stem for p in (Path(__file__).resolve().parent.parent / "studies").glob("*.py")
                                         if p.stem != "__init__"))
def test_every_study_still_imports(study):
    """The studies behind committed numbers run rarely (some on the GPU machine only): a refactor that
    moves what they import must not leave them broken until then."""
    import importlib

    importlib.import_module(f"studies.{study}")


def test_the_schedule_alternates_the_order_of_cases_between_passes():
    """ABBA: a drift of the machine's speed within a config falls on every case alike."""
    from bench.schedule import interleaved

    assert [list(order) for _, order in interleaved(["a", "b", "c"], 3)] == [["a", "b", "c"], ["c", "b", "a"],
                                                                             ["a", "b", "c"]]
    assert list(interleaved(["a"], 0)) == []


def test_a_case_has_one_label_from_planning_to_the_results():
    """The label a run prints for a case is the label its rows read back with (``CaseKey.label``)."""
    from bench.measurement import measurements

    case = suite.expand_cases([configs.get_config("mlp-tiny")], ["numpy"], cores=1)[0]
    row = dict(schema_version=results.SCHEMA_VERSION, run_id="r", timestamp=pd.Timestamp("2026-01-01", tz="UTC"),
               profile="quick", model=case.config.model, config=case.config.name, backend=case.backend,
               dtype=case.dtype, threads=case.threads, batch_size=case.config.batch_size, resolution=None, round=0,
               iterations=1, seconds=1e-5, flops=1, macs=1, timing_mode="calibrated", verification="before",
               verified_max_rel_error=0.0, tolerance=1e-9, loss=1.0, status="ok", error="", hostname="h", cpu="c",
               cores=1, gpu="", python="3", numpy="2", torch="2", blas="b", platform="p", git_commit="g")
    (measured,) = measurements(results.to_frame([row]))
    assert case.label == measured.key.label == "mlp-tiny@5 numpy float32 1t"
