"""The GPU rungs (torch-cuda-amp, torch-cuda-compile, torch-cuda-graphs) and their harness, checked on the CPU.

The rungs are options of the one torch trainer; ``make_trainer(..., device="cpu")`` runs their
exact code here (CPU autocast supports bfloat16, torch.compile works with gcc). Tests marked
``cuda`` repeat the checks on the GPU: ``python3 -m pytest -m cuda -q`` on the GPU machine.
"""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from bench import configs, memory, profiles, results, suite, verify
from bench.errors import UsageError
from bench.peaks import GPU_COPY_BYTES, GPU_GEMM_N, PeakCase, gpu_peak_cases
from bench.results import ResultsWriter, read_results
from bench.schema import (ADDED_IN_V2, ADDED_IN_V3, ADDED_IN_V4, ADDED_IN_V5, ADDED_IN_V6, ADDED_IN_V7, ADDED_IN_V8,
                          REQUIRED_BY_VERSION)
from bench.runner import Runner
from bench.configs import get_config
from bench.profiles import TimingBudget
from bench.suite import Case
from implementations import BACKENDS, CUDA_BACKENDS, backend_dtypes, make_trainer
from implementations.registry import spans_processes
from implementations.architectures import mlp, resnet
from implementations.torch_autograd.trainer import tf32_flags
from tests.conftest import cuda_skip_reason

TINY_BUDGET = TimingBudget(repeats=2, block_time=0.01, min_time=0.001, min_rounds=3, slow_budget=0.2, warmup_time=0.001)
SMALL_RESNET = resnet.ResNetSpec(blocks=(1, 1, 1, 1), num_classes=10)  # torchvision ResNet(Bottleneck, [1,1,1,1])


def reference(model, spec, params, x, y):
    trainer = make_trainer("torch-cpu", model, spec, params, "float64")
    return trainer.loss_and_grads(trainer.prepare_batch(x, y))


def run_variant(backend, model, spec, params, x, y, device):
    trainer = make_trainer(backend, model, spec, params, "float32", device=device)
    return trainer, trainer.loss_and_grads(trainer.prepare_batch(x, y))


def mlp_inputs(name="mlp-mnist", seed=0):
    config = get_config(name)
    params = mlp.init_params(config.spec, seed)
    x, y = mlp.make_batch(config.spec, config.batch_size, seed + 1)
    return config.spec, params, x, y


def resnet_inputs(seed=0):
    params = resnet.init_params(SMALL_RESNET, seed)
    x, y = resnet.make_batch(SMALL_RESNET, 4, seed + 1, resolution=32)
    return params, x, y


# -- registration -------------------------------------------------------------------------------
def test_gpu_rungs_are_backends_with_float32_masters():
    gpu_rungs = ("torch-cuda", "torch-ddp-cuda", "torch-cuda-amp", "torch-cuda-compile", "torch-cuda-graphs")
    assert BACKENDS[-5:] == gpu_rungs and CUDA_BACKENDS == gpu_rungs
    assert (backend_dtypes("torch-cuda-amp") == backend_dtypes("torch-cuda-compile")
            == backend_dtypes("torch-cuda-graphs") == ("float32",))
    assert backend_dtypes("torch-cuda") == ("float32", "float64")
    spec, params, _, _ = mlp_inputs("mlp-tiny")
    with pytest.raises(ValueError, match="torch-cuda-amp does not support dtype float64; accepted: float32"):
        make_trainer("torch-cuda-amp", "mlp", spec, params, "float64", device="cpu")
    with pytest.raises(ValueError, match="numpy runs on the CPU only"):
        make_trainer("numpy", "mlp", spec, params, "float32", device="cpu")
    if cuda_skip_reason():
        with pytest.raises(RuntimeError, match="no CUDA GPU is available"):
            make_trainer("torch-cuda-amp", "mlp", spec, params, "float32")


# -- the amp variant's numbers ------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
def test_amp_mlp_matches_float64_within_the_bfloat16_tolerance(seed):
    spec, params, x, y = mlp_inputs("mlp-mnist", seed)
    ref = reference("mlp", spec, params, x, y)
    trainer, (loss, grads) = run_variant("torch-cuda-amp", "mlp", spec, params, x, y, "cpu")
    error, where = verify.max_relative_error(loss, grads, *ref)
    assert error <= verify.tolerance("mlp", "float32", "bfloat16"), where
    assert error > verify.tolerance("mlp", "float32")  # bfloat16 really ran: float32 would be ~1e-7
    assert all(g.dtype == np.float32 for g in grads.values())  # float32 master weights and gradients
    assert all(p.dtype == torch.float32 for p in trainer.module.parameters())


def test_amp_resnet_matches_float64_and_is_channels_last():
    params, x, y = resnet_inputs()
    ref = reference("resnet50", SMALL_RESNET, params, x, y)
    trainer, (loss, grads) = run_variant("torch-cuda-amp", "resnet50", SMALL_RESNET, params, x, y, "cpu")
    error, where = verify.max_relative_error(loss, grads, *ref)
    # bfloat16 gradients of a ResNet at initialization are mostly noise: on an Intel Xeon (native
    # bfloat16 on the CPU) the median tensor is off by 63% and bn1.weight by 95.5%, above the 0.95
    # the AMD CPU sizing once gave; the reduced ResNet at 32 px is worse conditioned than ResNet-50
    # at 224, whose bound (0.75) was sized on an H100. On the CPU this test asks only that no
    # gradient is zero-like (error 1) or flipped (2).
    assert error < 1.0, where
    assert verify.relative_error(loss, ref[0]) < 1e-2  # the loss itself is close; gradients are ill-conditioned
    convs = [p for name, p in trainer.module.named_parameters() if p.dim() == 4]
    assert len(convs) == 1 + 4 * 3 + 4  # stem, three per block, four downsamples
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
    assert all(p.dtype == torch.float32 for p in trainer.module.parameters())
    xb, _ = trainer.prepare_batch(x, y)
    assert xb.is_contiguous(memory_format=torch.channels_last) and not xb.is_contiguous()
    # a training step runs and moves the weights
    before = trainer.state_dict()["conv1.weight"]
    trainer.step(trainer.prepare_batch(x, y))
    assert not np.allclose(trainer.state_dict()["conv1.weight"], before)


def test_plain_torch_trainer_is_not_channels_last():
    params, x, y = resnet_inputs()
    trainer = make_trainer("torch-cuda", "resnet50", SMALL_RESNET, params, "float32", device="cpu")
    assert not trainer.module.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert trainer.prepare_batch(x, y)[0].is_contiguous()


def test_bfloat16_tolerances_are_needed_the_gradients_are_ill_conditioned():
    """Why verify's bfloat16 bounds are loose: rounding only the input to bfloat16, all else in
    float64, already moves the small ResNet's gradients by far more than 1e-2."""
    params, x, y = resnet_inputs()
    ref = reference("resnet50", SMALL_RESNET, params, x, y)
    rounded = torch.from_numpy(x).bfloat16().double().numpy()
    error, _ = verify.max_relative_error(*reference("resnet50", SMALL_RESNET, params, rounded, y), *ref)
    assert 1e-2 < error < verify.tolerance("resnet50", "float32", "bfloat16")


# -- the compile variant ------------------------------------------------------------------------
def test_compile_variant_matches_eager_amp_and_records_compile_time():
    spec, params, x, y = mlp_inputs("mlp-tiny")
    _, (eager_loss, eager_grads) = run_variant("torch-cuda-amp", "mlp", spec, params, x, y, "cpu")
    trainer, (loss, grads) = run_variant("torch-cuda-compile", "mlp", spec, params, x, y, "cpu")
    error, where = verify.max_relative_error(loss, grads, eager_loss, eager_grads)
    assert error <= 1e-2, where  # the same bfloat16 computation; fused kernels may round differently
    ref = reference("mlp", spec, params, x, y)
    assert verify.max_relative_error(loss, grads, *ref)[0] <= verify.tolerance("mlp", "float32", "bfloat16")
    assert trainer.compile_seconds > 0 and math.isfinite(trainer.compile_seconds)
    first = trainer.compile_seconds
    batch = trainer.prepare_batch(x, y)
    seconds = trainer.warmup(batch, 3)
    assert len(seconds) == 3 and all(s > 0 for s in seconds)
    assert trainer.compile_seconds == first  # only the first call counts as compilation
    assert math.isnan(make_trainer("torch-cuda-amp", "mlp", spec, params, "float32", device="cpu").compile_seconds)


# -- recorded flags and precisions --------------------------------------------------------------
def test_tf32_flags_are_null_off_the_gpu():
    assert tf32_flags("cpu", "float32") == {"tf32_matmul": None, "tf32_cudnn": None}
    spec, params, _, _ = mlp_inputs("mlp-tiny")
    trainer = make_trainer("torch-cuda-amp", "mlp", spec, params, "float32", device="cpu")
    assert trainer.precision_flags() == {"tf32_matmul": None, "tf32_cudnn": None, "cudnn_benchmark": None}


def test_precision_picks_the_tolerance():
    assert verify.precision("mlp", "float32") == "float32"
    assert verify.precision("mlp", "float32", "bfloat16") == "bfloat16"
    # cuDNN's TF32 (PyTorch's default) touches convolutions: ResNet-50, not the MLP
    assert verify.precision("mlp", "float32", None, tf32_matmul=False, tf32_cudnn=True) == "float32"
    assert verify.precision("resnet50", "float32", None, tf32_matmul=False, tf32_cudnn=True) == "tf32"
    assert verify.precision("resnet50", "float64", None, tf32_matmul=False, tf32_cudnn=False) == "float64"
    for model in ("mlp", "resnet50"):
        assert (verify.tolerance(model, "float32") < verify.tolerance(model, "float32", "tf32")
                < verify.tolerance(model, "float32", "bfloat16") < 1)


# -- the harness without a GPU ------------------------------------------------------------------
@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present: the GPU rungs run instead of skipping")
def test_gpu_rungs_are_skipped_with_their_reason(tmp_path):
    path = tmp_path / "r.parquet"
    runner = Runner(ResultsWriter(path), TINY_BUDGET, "custom", progress=False)
    config = get_config("mlp-tiny")
    runner.run([Case(config, b, "float32", 2) for b in CUDA_BACKENDS], with_noop=False)
    frame = read_results([path])
    assert list(frame["backend"]) == list(CUDA_BACKENDS)
    assert set(frame["status"]) == {"skipped"} and frame["error"].str.startswith("no CUDA GPU is available").all()
    assert list(frame["precision"]) == ["float32", "float32", "bfloat16", "bfloat16", "bfloat16"]
    assert list(frame["tolerance"]) == [1e-4, 1e-4, 0.2, 0.2, 0.2]
    assert frame["tf32_matmul"].isna().all() and frame["compile_seconds"].isna().all()
    assert frame["capture_seconds"].isna().all()
    assert (frame[frame["model"] == "peak"]).empty  # no GPU peaks without a GPU


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
@pytest.mark.parametrize("args", [["--backends", "torch-cuda-amp"], ["--profile", "gpu", "--backends", "torch-cuda-graphs"],
                                  ["--backends", "torch-cuda-compile", "torch-cuda"]])
def test_gpu_rungs_alone_without_gpu_exit_2_with_one_line(args, capsys):
    from bench import cli

    assert cli.main(["run", *args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "cannot run here: no CUDA GPU is available" in lines[0], lines
    assert "backends that can: loops, numba, numpy, torch-cpu" in lines[0]


def test_cpu_rows_record_v2_columns(tmp_path):
    path = tmp_path / "r.parquet"
    runner = Runner(ResultsWriter(path), TINY_BUDGET, "custom", progress=False)
    runner.run([Case(get_config("mlp-tiny"), "torch-cpu", "float32", 1)], with_noop=False)
    frame = read_results([path])
    assert (frame["schema_version"] == results.SCHEMA_VERSION).all() and (frame["status"] == "ok").all()
    # version 3: every block is warmed, on every backend
    assert (frame["precision"] == "float32").all() and (frame["warmup_steps"] >= 1).all()
    assert frame["tf32_matmul"].isna().all() and frame["compile_seconds"].isna().all()
    assert (frame["bytes"] == 0).all()


def test_gpu_peak_cases_run_on_the_cpu(tmp_path):
    cases = gpu_peak_cases(1, n=64, copy_bytes=1 << 20)
    assert [c.config for c in cases] == ["gemm-float32-64", "gemm-tf32-64", "gemm-bfloat16-64", "copy-1MiB"]
    assert [c.config for c in gpu_peak_cases(8)] == [f"gemm-float32-{GPU_GEMM_N}", f"gemm-tf32-{GPU_GEMM_N}",
                                                     f"gemm-bfloat16-{GPU_GEMM_N}", "copy-1024MiB"]
    assert gpu_peak_cases(8)[-1].bytes == 2 * GPU_COPY_BYTES  # read and written
    path = tmp_path / "r.parquet"
    runner = Runner(ResultsWriter(path), TINY_BUDGET, "custom", progress=False)
    for case in cases:
        runner._record(runner.run_peak(case, device="cpu"))
    frame = read_results([path])
    assert set(frame["status"]) == {"ok"} and (frame["seconds"] > 0).all()
    copy = frame[frame["config"] == "copy-1MiB"]
    assert (copy["bytes"] == 2 << 20).all() and (copy["flops"] == 0).all()
    gemm = frame[frame["config"] == "gemm-bfloat16-64"]
    assert (gemm["flops"] == 2 * 64**3).all() and (gemm["bytes"] == 0).all() and (gemm["dtype"] == "bfloat16").all()


# -- suite ---------------------------------------------------------------------------------------
def test_gpu_rungs_run_at_all_cores_only_and_the_gpu_profile():
    for backend in CUDA_BACKENDS:
        assert suite.thread_counts(backend, 16) == [16]
    assert suite.thread_counts("torch-cpu", 16) == [1, 16]
    profile = profiles.get_profile("gpu")
    assert "gpu" in profiles.PROFILES and profile.backends == ()  # the GPU machine's whole ladder
    assert {"mlp-tiny", "mlp-mnist", "mlp-wide", "resnet50-32", "resnet50-224@1", "resnet50-224@32",
            "resnet50-224@256"} <= set(profile.configs)
    assert {f"mlp-width-{n}" for n in configs.WIDTH_SWEEP} <= set(profile.configs)
    cases = suite.expand_cases(suite.select_configs(profile, None), list(BACKENDS), cores=16)
    gpu = [c for c in cases if c.backend in CUDA_BACKENDS]
    assert {c.threads for c in gpu} == {16}
    single = [b for b in CUDA_BACKENDS if not spans_processes(b)]  # the data-parallel twin: a few configs
    for name in ("resnet50-224@1", "resnet50-224@32", "resnet50-224@256"):
        mine = {(c.backend, c.dtype) for c in gpu if c.config.key == name}
        assert {(b, "float32") for b in single} <= mine
    twin = {(c.config.key, c.world_size) for c in gpu if c.backend not in single}
    assert twin == {("mlp-mnist@32", 1), ("mlp-wide@128", 1), ("resnet50-224@32", 1)}
    # the host's CPU rungs where they meet the GPU at the same config; loops not where a step takes minutes
    where = {b: {c.config.key for c in cases if c.backend == b} for b in ("loops", "numba", "numpy", "torch-cpu")}
    assert where["loops"] == {"mlp-tiny@5", "mlp-mnist@32", "resnet50-32@4"}
    for backend in ("numba", "numpy", "torch-cpu"):
        assert where[backend] == {"mlp-tiny@5", "mlp-mnist@32", "mlp-wide@128", "resnet50-32@4", "resnet50-224@1"}
        assert {c.threads for c in cases if c.backend == backend} == {1, 16}
    # the GPU rungs' bounds do not hold at 32 px (measured on the H200): not run there
    assert not [c for c in gpu if c.config.name == "resnet50-32"]
    # a selection keeps the restrictions
    chosen = suite.expand_cases(suite.select_configs(profile, ["resnet50-224@256", "mlp-tiny"]), list(BACKENDS), cores=16)
    assert {c.backend for c in chosen if c.config.name == "resnet50-224"} == set(single)
    assert {"loops", "numpy", "torch-cpu", *single} <= {c.backend for c in chosen if c.config.name == "mlp-tiny"}


# -- schema versions -----------------------------------------------------------------------------
def _v1_frame():
    from tests.test_report import base_row  # noqa: PLC0415  (a complete row, as the report's tests build it)

    row = base_row("lab-a")
    frame = results.to_frame([row]).drop(columns=list(ADDED_IN_V2 + ADDED_IN_V3 + ADDED_IN_V4 + ADDED_IN_V5
                                                      + ADDED_IN_V6 + ADDED_IN_V7 + ADDED_IN_V8))
    assert set(frame.columns) == set(REQUIRED_BY_VERSION[1])
    return frame.assign(schema_version=pd.Series([1], dtype="int64"))


def test_version_1_files_still_read_with_nulls_in_the_new_columns(tmp_path):
    path = tmp_path / "v1.parquet"
    _v1_frame().to_parquet(path, index=False)
    frame = read_results([path])
    assert frame["schema_version"].tolist() == [1]
    assert frame["tf32_matmul"].isna().all() and frame["compile_seconds"].isna().all() and frame["bytes"].isna().all()
    assert str(frame["tf32_matmul"].dtype) == "boolean" and str(frame["bytes"].dtype) == "Int64"
    from bench.report.load import load  # noqa: PLC0415

    assert len(load([path])) == 1
    # appending a version-2 run to a version-1 file keeps the old rows and reads back
    writer = ResultsWriter(path)
    writer.append([dict(read_results([path]).drop(columns="source_file").iloc[0], schema_version=2, run_id="r2",
                        tf32_matmul=True)])
    both = read_results([path])
    assert sorted(both["schema_version"]) == [1, 2] and both["tf32_matmul"].tolist()[1] is True


def test_version_2_files_need_the_new_columns_and_version_9_is_refused(tmp_path):
    path = tmp_path / "v2-partial.parquet"
    _v1_frame().assign(schema_version=pd.Series([2], dtype="int64")).to_parquet(path, index=False)
    with pytest.raises(UsageError, match="lacks required column\\(s\\) precision, tf32_matmul"):
        read_results([path])
    v3 = tmp_path / "v3-partial.parquet"
    results.to_frame([dict(base_row_v3(), schema_version=3)]).drop(columns=["repeat", "run_wait", "part"]).to_parquet(v3)
    with pytest.raises(UsageError, match="lacks required column\\(s\\) repeat, run_wait"):
        read_results([v3])
    v4 = tmp_path / "v4-partial.parquet"
    results.to_frame([dict(base_row_v3(), schema_version=4)]).drop(columns=["part", "capture_seconds", *ADDED_IN_V7, *ADDED_IN_V8]).to_parquet(v4)
    with pytest.raises(UsageError, match="lacks required column\\(s\\) part"):
        read_results([v4])
    v5 = tmp_path / "v5-partial.parquet"
    results.to_frame([dict(base_row_v3(), schema_version=5)]).drop(columns=["capture_seconds", *ADDED_IN_V6,
                                                                             *ADDED_IN_V7, *ADDED_IN_V8]).to_parquet(v5)
    with pytest.raises(UsageError, match="lacks required column\\(s\\) capture_seconds"):
        read_results([v5])
    v6 = tmp_path / "v6-partial.parquet"
    results.to_frame([dict(base_row_v3(), schema_version=6)]).drop(columns=["blind_spots", *ADDED_IN_V7, *ADDED_IN_V8]).to_parquet(v6)
    with pytest.raises(UsageError, match="lacks required column\\(s\\) blind_spots"):
        read_results([v6])
    # a version-5 file (none of version 6's columns) reads, each of them empty
    v5_whole = tmp_path / "v5.parquet"
    results.to_frame([dict(base_row_v3(), schema_version=5)]).drop(columns=[*ADDED_IN_V6, *ADDED_IN_V7, *ADDED_IN_V8]).to_parquet(v5_whole)
    assert (read_results([v5_whole])[list(ADDED_IN_V6)] == "").all().all()
    # a version-4 file (no capture_seconds) reads, NaN there
    v4_whole = tmp_path / "v4.parquet"
    results.to_frame([dict(base_row_v3(), schema_version=4)]).drop(columns=["capture_seconds", *ADDED_IN_V7, *ADDED_IN_V8]).to_parquet(v4_whole)
    assert read_results([v4_whole])["capture_seconds"].isna().all()
    newer = tmp_path / "v9.parquet"
    results.to_frame([]).assign(schema_version=pd.Series([9], dtype="int64")).to_parquet(newer)
    with pytest.raises(UsageError, match="schema_version 9, newer than this vecbench reads \\(up to 8\\)"):
        read_results([newer])


def test_the_sweep_width_is_read_from_its_column_and_filled_from_the_name_only_before_version_7(tmp_path):
    """A version-6 file's mlp-width-N rows get N from the name when read (the one place a name is
    read for it); a version-7 row's recorded sweep_width is what counts, whatever the config's name."""
    rows = [dict(base_row_v3(), schema_version=6, config="mlp-width-96"), dict(base_row_v3(), schema_version=6)]
    v6 = tmp_path / "v6.parquet"
    results.to_frame(rows).drop(columns=["sweep_width"]).to_parquet(v6)
    widths = read_results([v6])["sweep_width"]
    assert widths.iloc[0] == 96 and pd.isna(widths.iloc[1])
    v7 = tmp_path / "v7.parquet"
    results.to_frame([dict(base_row_v3(), config="mlp-width-96"),
                      dict(base_row_v3(), config="my-sweep-b", sweep_width=48)]).to_parquet(v7)
    read = read_results([v7])
    assert pd.isna(read["sweep_width"].iloc[0]) and read["sweep_width"].iloc[1] == 48


def base_row_v3():
    from tests.test_report import base_row  # noqa: PLC0415

    return base_row("lab-a")


def test_version_2_files_read_as_one_repeat_per_case(tmp_path):
    """A file from before repeats: every round of a case is one repeat, none contended."""
    from bench.measurement import measurements  # noqa: PLC0415

    path = tmp_path / "v2.parquet"
    rows = [dict(base_row_v3(), round=i, seconds=1.0 + i / 10) for i in range(5)]
    results.to_frame(rows).drop(columns=list(ADDED_IN_V3 + ADDED_IN_V4)).assign(
        schema_version=pd.Series([2] * 5, dtype="int64")).drop(columns=list(ADDED_IN_V5)).to_parquet(path, index=False)
    (case,) = measurements(read_results([path]))
    assert case.repeat_count == 1 and case.rounds == 5 and not case.contended.any()
    assert case.time == pytest.approx(1.2)


def test_the_gpu_profile_fits_the_gpu_machine_but_not_a_small_one():
    """The GPU machine (16 cores, 128 GiB) holds the gpu profile's float64 references, ResNet-50 at
    224 px batch 256 included (its numpy oracle runs on a slice); a 16 GiB machine is told which
    case would not fit, before anything runs."""
    profile = profiles.get_profile("gpu")
    cases = suite.expand_cases(suite.select_configs(profile, None), list(CUDA_BACKENDS), cores=16)
    memory.check_memory(cases, available=128 * 2**30)
    with pytest.raises(UsageError, match=r"resnet50-224@256 .* needs about"):
        memory.check_memory(cases, available=16 * 2**30)


def test_the_gpu_bounds_hold_every_error_measured_on_an_h100_with_margin():
    """The committed H100 study (studies/gpu_verification_errors.py): every tensor's error of a tf32
    or bfloat16 rung, at every seed and batch up to 256, is at most two thirds of the bound the
    verifier applies to it (an update's raised by its float32-storage allowance); and every such
    bound stays below 1, so a zero gradient (error 1) fails."""
    from pathlib import Path  # noqa: PLC0415

    study = pd.read_csv(Path(__file__).resolve().parent.parent / "results/gpu-errors/nvidia-h100-80gb-hbm3.csv.gz")
    low = study[study["precision"].isin(["tf32", "bfloat16"])]
    assert set(low.groupby("model")["batch_size"].max().items()) >= {("resnet50", 256)}
    assert {("resnet50", "tf32"), ("resnet50", "bfloat16"), ("mlp", "bfloat16")} <= set(
        zip(low["model"], low["precision"]))
    bound = np.array([verify.tolerance(m, "float32", p) for m, p in zip(low["model"], low["precision"])])
    applied = np.maximum(bound, low["allowance"].to_numpy())
    worst = (low["error"].to_numpy() / applied).argmax()
    assert low["error"].iloc[worst] <= applied[worst] * 2 / 3, low.iloc[worst].to_dict()
    assert (bound < 1).all()


# -- on the GPU ------------------------------------------------------------------------------------
@pytest.mark.cuda
@pytest.mark.skipif(cuda_skip_reason() is not None, reason=str(cuda_skip_reason()))
@pytest.mark.parametrize("backend", ["torch-cuda", "torch-cuda-amp", "torch-cuda-compile", "torch-cuda-graphs"])
@pytest.mark.parametrize("model", ["mlp", "resnet50"])
def test_gpu_rung_matches_float64_on_the_gpu(backend, model):
    if model == "mlp":
        spec, params, x, y = mlp_inputs("mlp-mnist")
    else:
        spec, (params, x, y) = SMALL_RESNET, resnet_inputs()
    ref = reference(model, spec, params, x, y)
    trainer, (loss, grads) = run_variant(backend, model, spec, params, x, y, "cuda")
    flags = trainer.precision_flags()
    assert flags["tf32_cudnn"] is not None and flags["cudnn_benchmark"] == (backend != "torch-cuda")
    precision = verify.precision(model, "float32", trainer.variant.amp_dtype, flags["tf32_matmul"], flags["tf32_cudnn"])
    error, where = verify.max_relative_error(loss, grads, *ref)
    bound = verify.tolerance(model, "float32", precision)
    if model == "resnet50" and precision == "bfloat16":
        # The reduced ResNet at 32 px is worse conditioned than ResNet-50 at 224, whose bound (0.75)
        # this is: on an H200 its bfloat16 rungs missed float64's bn1.weight gradient by 0.83-0.88
        # (results/reference/nvidia-h200.log), as the CPU test above sees 95%. Here too, ask only
        # that no gradient is zero-like (1) or flipped (2); ResNet-50 itself is held to 0.75 by
        # every `bench run` on the GPU.
        bound = 1.0
    assert error < bound if bound == 1.0 else error <= bound, (where, error, precision)
    if model == "resnet50" and backend != "torch-cuda":
        assert trainer.module.conv1.weight.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.cuda
@pytest.mark.skipif(cuda_skip_reason() is not None, reason=str(cuda_skip_reason()))
def test_gpu_run_records_warmup_compile_time_peaks_and_flags(tmp_path):
    path = tmp_path / "r.parquet"
    runner = Runner(ResultsWriter(path), TINY_BUDGET, "custom", progress=False)
    config = get_config("mlp-mnist")
    runner.run([Case(config, b, "float32", 1) for b in CUDA_BACKENDS], with_noop=False)
    frame = read_results([path])
    cases = frame[frame["model"] == "mlp"]
    assert set(cases["status"]) == {"ok"}, cases[["backend", "error"]]
    assert (cases["warmup_steps"] > 0).all() and cases["tf32_cudnn"].notna().all()
    compiled = cases[cases["backend"].isin(["torch-cuda-compile", "torch-cuda-graphs"])]
    assert (compiled["compile_seconds"] > 0).all()
    assert cases[~cases["backend"].isin(["torch-cuda-compile", "torch-cuda-graphs"])]["compile_seconds"].isna().all()
    graphed = cases["backend"] == "torch-cuda-graphs"
    assert (cases[graphed]["capture_seconds"] > 0).all() and cases[~graphed]["capture_seconds"].isna().all()
    peaks = frame[frame["model"] == "peak"]
    assert {c.config for c in gpu_peak_cases(1)} <= set(peaks["config"])
    assert (peaks[peaks["config"] == f"gemm-tf32-{GPU_GEMM_N}"]["tf32_matmul"]).all()
    assert not (peaks[peaks["config"] == f"gemm-float32-{GPU_GEMM_N}"]["tf32_matmul"]).any()
    assert (peaks[peaks["config"].str.startswith("copy-")]["bytes"] == 2 * GPU_COPY_BYTES).all()


@pytest.mark.cuda
@pytest.mark.skipif(cuda_skip_reason() is not None, reason=str(cuda_skip_reason()))
def test_peak_case_tf32_flag_is_restored():
    from bench.peaks import make_target  # noqa: PLC0415

    before = torch.backends.cuda.matmul.allow_tf32
    make_target(PeakCase("torch-cuda", "float32", 256, 1, tf32=not before))()
    assert torch.backends.cuda.matmul.allow_tf32 == before
