"""The data-parallel rung (torch-ddp): its ranks, started through torchrun, give the per-shard
float64 step; a fault in one rank is caught; blocks are timed by every rank; a rank that dies or
hangs ends its case with one line, no process left behind and nothing recorded lost; two
"nodes" on localhost give what one node gives. Small configs: each group costs seconds to start."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bench import data_parallel_case, profiles, verify
from bench.configs import get_config
from bench.reference import make_inputs, sharded_reference, step_errors
from bench.results import ResultsWriter, read_results
from bench.runner import Runner
from bench.suite import Case
from implementations import get_backend
from implementations.data_parallel.group import Placement, WorkerGroup, free_port
from implementations.data_parallel.job import Job
from tests.conftest import ROOT

BUDGET = profiles.get_profile("quick").budget


def worker_pids() -> set[int]:
    """Every live rank of any group on this machine (the worker module in its command line)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"implementations.data_parallel.worker" in cmdline:
                found.add(int(entry.name))
    return found


def group_of(config_name: str, dtype: str, processes: int = 2, planted: str = "", **placement) -> WorkerGroup:
    config = get_config(config_name)
    params, x, y = make_inputs(config)
    job = Job("torch-ddp", config.model, config.spec, params, x, y, dtype, 1, "", planted=planted)
    return get_backend("torch-ddp").launch(job, Placement(processes, **placement))


def steps_of(group: WorkerGroup, steps: int = 2) -> verify.StepResult:
    with group:
        group.start(120)
        return verify.StepResult(*group.command("steps", 120, steps=steps)[0])


@pytest.fixture(scope="module")
def mnist_verifier():
    return verify.Verifier(get_config("mlp-mnist"))


@pytest.fixture(scope="module")
def resnet_verifier():
    return verify.Verifier(get_config("resnet50-32@8"))


# -- what a data-parallel step must equal --------------------------------------------------------
def test_the_per_shard_reference_is_the_whole_batch_step_where_no_layer_mixes_samples(mnist_verifier):
    """The MLP's mean-loss gradient over two shards, averaged, is the whole batch's: the per-shard
    reference (oracle per shard, numpy's update) agrees with the whole-batch oracle over two steps."""
    sharded = sharded_reference(mnist_verifier.config, mnist_verifier.reference, 2)
    errors = step_errors(sharded.result, mnist_verifier.reference)
    assert max(errors.values()) < 1e-12, max(errors, key=errors.get)


def test_with_local_batch_norm_rank_0s_running_statistics_are_its_own_shards(resnet_verifier):
    """ResNet's batch norm stays local: the per-shard reference's loss differs from the whole
    batch's, and its running statistics are those of a single-process step on shard 0 alone."""
    verifier, config = resnet_verifier, resnet_verifier.config
    sharded = verifier.sharded(2).reference
    assert abs(sharded.result.loss - verifier.reference.result.loss) > 1e-4 * abs(verifier.reference.result.loss)
    ref = verifier.reference
    alone = verify._steps_of("numpy", config, ref.params, ref.x[:4], ref.y[:4], "float64", 1)
    for name, value in alone.running.items():
        assert verify.relative_error(sharded.result.running[name], value) < 1e-10, name


def test_a_shard_too_small_for_batch_norm_is_refused_by_the_model():
    """Over 2 processes resnet50-32's batch of 4 leaves 2 images a rank: layer4's batch norms would
    normalize 2 values per channel (a degenerate step); 4 images, or one at 224 px, are fine."""
    assert "degenerate" in get_config("resnet50-32@2").limits.degenerate
    assert get_config("resnet50-32@4").limits.degenerate == ""
    assert get_config("resnet50-224@1").limits.degenerate == ""


@pytest.mark.parametrize("steps", [1, 2])
def test_two_processes_give_the_per_shard_float64_step(mnist_verifier, steps):
    result = steps_of(group_of("mlp-mnist", "float64"), steps)
    judge = mnist_verifier.sharded(2)
    error, bound = judge.check("torch-ddp", "float64", "float64", result)
    assert bound == 1e-8 and error < 1e-12 and result.steps == steps


def test_two_resnet_processes_give_the_per_shard_float64_step(resnet_verifier):
    """Batch norm, momentum buffers and running statistics through DDP (buffers broadcast from
    rank 0, gradients averaged) against the per-shard reference, over two steps."""
    verifier = resnet_verifier.sharded(2)
    result = steps_of(group_of("resnet50-32@8", "float64"))
    error, bound = verifier.check("torch-ddp", "float64", "float64", result)
    assert bound == 1e-8 and error < 1e-10
    assert set(result.running) == set(verifier.reference.result.running) and result.running


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_one_percent_fault_in_one_ranks_gradient_is_caught(mnist_verifier, dtype):
    """Rank 1's gradient of the head's bias 1% off before the all-reduce (half of it after the
    mean over two ranks) fails verification in both dtypes."""
    result = steps_of(group_of("mlp-mnist", dtype, planted="gradient 1% off"))
    with pytest.raises(verify.VerificationError, match="fc2.bias"):
        mnist_verifier.sharded(2).check("torch-ddp", dtype, dtype, result)


# -- timing through the harness ------------------------------------------------------------------
def test_a_run_records_every_ranks_time_and_the_all_reduces_share(tmp_path):
    before = worker_pids()
    writer = ResultsWriter(tmp_path / "ddp.parquet")
    runner = Runner(writer, BUDGET, "custom", progress=False)
    config = get_config("mlp-mnist")
    outcomes = runner.run_config([Case(config, "torch-cpu", "float32", 1), Case(config, "torch-ddp", "float32", 1, 2)])
    assert [o.status for o in outcomes] == ["ok", "ok"], [o.error for o in outcomes]
    frame = read_results([writer.path])
    ddp = frame[frame["backend"] == "torch-ddp"]
    steps = ddp[ddp["part"] == "step"]
    assert (steps["world_size"] == 2).all() and (steps["nodes"] == 1).all() and len(steps) >= BUDGET.min_rounds
    ranks = steps["rank_seconds"].map(lambda text: [float(v) for v in text.split()])
    assert (ranks.map(len) == 2).all()
    assert np.allclose(steps["seconds"].to_numpy(), ranks.map(max).to_numpy(), rtol=1e-6)
    params = sum(np.asarray(v).size for v in make_inputs(config)[0].values())
    assert (steps["communicated_bytes"] == 4 * params).all()  # float32 gradients, an MLP has no buffers
    parts = set(ddp.loc[ddp["part"] != "step", "part"])  # an all-reduce the backward hid entirely has no row
    assert data_parallel_case.COMPUTE in parts and parts <= {data_parallel_case.COMPUTE, data_parallel_case.COMMUNICATION}
    single = frame[(frame["backend"] == "torch-cpu") & (frame["part"] == "step")]
    assert (single["world_size"] == 1).all() and single["rank_seconds"].isna().all()
    assert worker_pids() <= before  # the ranks ended with their config


def test_bench_run_torch_ddp_world_size_2_works_with_nothing_else_started(tmp_path):
    out = tmp_path / "cli.parquet"
    done = subprocess.run([sys.executable, "-m", "bench", "run", "--profile", "data-parallel", "--backends", "torch-ddp",
                           "--world-size", "2", "--models", "mlp-mnist", "--out", str(out), "--no-progress"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    frame = read_results([out])
    steps = frame[(frame["backend"] == "torch-ddp") & (frame["part"] == "step")]
    assert set(steps["dtype"]) == {"float32", "float64"} and (steps["world_size"] == 2).all()
    assert (steps["status"] == "ok").all() and (steps["verification"] == "before").all()
    header, *rows = [line.split() for line in done.stdout.splitlines() if "torch-ddp" in line or "processes" in line]
    assert [row[header.index("processes")] for row in rows] == ["2", "2"], done.stdout


def test_bench_verify_checks_the_data_parallel_step_against_its_shards(capsys):
    from bench import cli

    code = cli.main(["verify", "--profile", "data-parallel", "--backends", "torch-ddp", "--models", "mlp-mnist",
                     "--world-size", "2"])
    lines = [line for line in capsys.readouterr().out.splitlines() if "torch-ddp x2" in line]
    assert code == 0 and len(lines) == 2 and all(line.endswith("ok") for line in lines), lines


# -- faults ----------------------------------------------------------------------------------------
def _run_with_fault(tmp_path, monkeypatch, planted: str):
    """An MLP config recorded first, then a data-parallel case with ``planted`` in rank 1."""
    writer = ResultsWriter(tmp_path / "fault.parquet")
    runner = Runner(writer, BUDGET, "custom", progress=False, spread=data_parallel_case.Spread(planted=planted))
    runner.run_config([Case(get_config("mlp-tiny"), "numpy", "float64", 1)])
    kept = len(read_results([writer.path]))
    before = worker_pids()
    start = time.monotonic()
    outcome, = runner.run_config([Case(get_config("mlp-mnist"), "torch-ddp", "float32", 1, 2)])
    return outcome, time.monotonic() - start, writer, kept, before


def test_a_rank_that_dies_ends_its_case_with_one_line_and_no_orphan(tmp_path, monkeypatch):
    outcome, _, writer, kept, before = _run_with_fault(tmp_path, monkeypatch, "dies in a block")
    assert outcome.status == "failed" and "\n" not in outcome.error
    assert "rank 1" in outcome.error and "SIGKILL" in outcome.error, outcome.error
    frame = read_results([writer.path])
    assert len(frame[frame["backend"] == "numpy"]) == kept  # what was recorded before is all there
    failed = frame[frame["backend"] == "torch-ddp"]
    assert (failed["status"] == "failed").any() and failed["planted"].str.contains("dies in a block").all()
    assert worker_pids() <= before


def test_a_rank_that_hangs_ends_its_case_within_the_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(data_parallel_case, "ANSWER_SECONDS", 5.0)
    monkeypatch.setattr(data_parallel_case, "ANSWER_FACTOR", 1.0)
    outcome, seconds, _, _, before = _run_with_fault(tmp_path, monkeypatch, "hangs in a block")
    assert outcome.status == "failed" and "did not answer" in outcome.error and "\n" not in outcome.error
    assert seconds < 120  # the bound (5 s past the block's) and the group's start and end, not the hang's hour
    assert worker_pids() <= before


def test_a_failed_case_is_one_line_and_exit_1_from_bench_run(tmp_path, monkeypatch, capsys):
    from bench import cli, run_command

    monkeypatch.setattr(run_command, "Spread", lambda nodes, endpoint: data_parallel_case.Spread(
        nodes, endpoint, planted="dies in a block"))
    out = tmp_path / "cli.parquet"
    code = cli.main(["run", "--profile", "data-parallel", "--backends", "torch-ddp", "--world-size", "2",
                     "--models", "mlp-mnist", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    failures = [line for line in err.splitlines() if line.startswith("FAILED")]
    assert len(failures) == 2 and all("rank 1 was killed by SIGKILL" in line for line in failures), err
    assert "Traceback" not in err


def test_bench_run_ended_by_sigterm_leaves_no_rank_behind(tmp_path):
    """A CI job cancelled mid-case: `bench run` ends as Ctrl-C ends it (exit 130, what it recorded
    kept) and takes the case's torchrun and ranks with it."""
    before = worker_pids()
    run = subprocess.Popen([sys.executable, "-m", "bench", "run", "--profile", "data-parallel", "--backends",
                            "torch-ddp", "--world-size", "2", "--models", "mlp-mnist", "--out",
                            str(tmp_path / "ended.parquet"), "--no-progress"], cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not worker_pids() - before and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.2)
    assert worker_pids() - before, "the ranks never started"
    run.terminate()
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130, err[-2000:]
    deadline = time.monotonic() + 20
    while worker_pids() - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not worker_pids() - before


def test_torchruns_default_port_taken_is_avoided():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            taken.bind(("127.0.0.1", 29500))
        except OSError:
            pass  # already taken by something else: the same test
        taken.listen()
        result = steps_of(group_of("mlp-mnist", "float64"), 1)
    assert np.isfinite(result.loss)


def test_a_rendezvous_port_in_use_is_one_line_and_exit_2(capsys):
    from bench import cli

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = cli.main(["run", "--profile", "data-parallel", "--backends", "torch-ddp", "--models", "mlp-mnist",
                         "--rdzv-endpoint", f"127.0.0.1:{port}", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and f"port {port} is in use" in err[0], err


@pytest.mark.parametrize("args, message", [
    (["--world-size", "0"], "each must be at least 1"),
    (["--nnodes", "2", "--node-rank", "2"], "the node rank must be 0..1"),
    (["--nnodes", "2"], "needs --rdzv-endpoint"),
    (["--nnodes", "2", "--rdzv-endpoint", "127.0.0.1:x"], "not HOST:PORT"),
    (["--world-size", "3", "--nnodes", "2", "--rdzv-endpoint", "127.0.0.1:1"], "does not split evenly"),
])
def test_bad_spreads_are_one_line_and_exit_2(capsys, args, message):
    from bench import cli

    code = cli.main(["run", "--profile", "data-parallel", "--backends", "torch-ddp", "--models", "mlp-mnist", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0], err


def test_world_size_without_a_data_parallel_backend_is_refused(capsys):
    from bench import cli

    code = cli.main(["run", "--backends", "numpy", "--world-size", "2", "--models", "mlp-tiny"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "torch-ddp" in err[0], err


# -- across machines, on this one ------------------------------------------------------------------
def test_two_nodes_on_localhost_give_what_one_node_gives(tmp_path):
    """Two torchrun agents (node ranks 0 and 1, one process each) meeting on 127.0.0.1 give the
    same parameters and momentum after two steps as one agent running both processes."""
    one_node = steps_of(group_of("mlp-mnist", "float64"))
    endpoint = f"127.0.0.1:{free_port()}"
    config = get_config("mlp-mnist")
    params, x, y = make_inputs(config)
    job = Job("torch-ddp", config.model, config.spec, params, x, y, "float64", 1, "")
    second = WorkerGroup(job, Placement(2, nodes=2, node_rank=1, rendezvous=endpoint), workdir=tmp_path)
    second.start()  # node 1 takes no commands: it serves its rank until node 0 stops it
    try:
        first = group_of("mlp-mnist", "float64", nodes=2, node_rank=0, rendezvous=endpoint)
        with first:
            hello = first.start(120)
            two_nodes = verify.StepResult(*first.command("steps", 120, steps=2)[0])
        assert sorted(h["node"] for h in hello) == [0, 1]
        assert second.wait(60) == 0, second.log_file.read_text()[-3000:]  # node 0's stop ended node 1's cleanly
    finally:
        second.close(force=True)
    for (params, momentum), (params1, momentum1) in zip(two_nodes.after, one_node.after):
        for name in params1:
            assert verify.relative_error(params[name], params1[name]) < 1e-14, name
            assert verify.relative_error(momentum[name], momentum1[name]) < 1e-14, name


def test_bench_run_across_two_nodes_records_on_node_0(tmp_path):
    endpoint = f"127.0.0.1:{free_port()}"
    common = ["--profile", "data-parallel", "--backends", "torch-ddp", "--world-size", "2", "--models", "mlp-mnist",
              "--nnodes", "2", "--rdzv-endpoint", endpoint, "--no-progress"]
    out = tmp_path / "two-nodes.parquet"
    node1 = subprocess.Popen([sys.executable, "-m", "bench", "run", *common, "--node-rank", "1"], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        node0 = subprocess.run([sys.executable, "-m", "bench", "run", *common, "--out", str(out)], cwd=ROOT,
                               capture_output=True, text=True, timeout=600)
        served, errors = node1.communicate(timeout=120)
    finally:  # a failed test leaves no node 1 waiting at its rendezvous (SIGTERM: it ends its ranks first)
        if node1.poll() is None:
            node1.terminate()
            try:
                node1.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(node1.pid, signal.SIGKILL)
    assert node0.returncode == 0, node0.stderr[-2000:]
    assert node1.returncode == 0 and served.count("served") == 2, (served, errors[-2000:])
    steps = read_results([out])
    steps = steps[(steps["part"] == "step") & (steps["backend"] == "torch-ddp")]
    assert len(steps) and (steps["nodes"] == 2).all() and (steps["world_size"] == 2).all() and (steps["status"] == "ok").all()


# -- the CUDA twin -----------------------------------------------------------------------------------
def test_the_cuda_twin_is_skipped_with_the_reason_where_there_is_no_gpu(tmp_path):
    if get_backend("torch-ddp-cuda").unavailable() is None:
        pytest.skip("a CUDA GPU is here: the twin runs (the test below)")
    runner = Runner(ResultsWriter(tmp_path / "cuda.parquet"), BUDGET, "custom", progress=False)
    outcome, = runner.run_config([Case(get_config("mlp-mnist"), "torch-ddp-cuda", "float32", 2, 1)])
    assert outcome.status == "skipped" and "no CUDA GPU" in outcome.error


@pytest.mark.cuda
@pytest.mark.skipif(get_backend("torch-ddp-cuda").unavailable() is not None,
                    reason=str(get_backend("torch-ddp-cuda").unavailable()))
def test_one_gpu_process_over_nccl_is_verified_and_timed(tmp_path):
    """World size 1 on the GPU: DDP's own cost over torch-cuda, verified like every GPU rung."""
    runner = Runner(ResultsWriter(tmp_path / "cuda.parquet"), BUDGET, "custom", progress=False)
    config = get_config("mlp-mnist")
    outcomes = runner.run_config([Case(config, "torch-cuda", "float32", 2), Case(config, "torch-ddp-cuda", "float32", 2, 1)])
    assert [o.status for o in outcomes] == ["ok", "ok"], [o.error for o in outcomes]


# -- the committed study ----------------------------------------------------------------------------
STUDY = sorted((ROOT / "results" / "data-parallel" / "amd-epyc-2core").glob("*.parquet"))[-1]


def test_the_committed_study_verified_every_data_parallel_case_before_timing_it():
    frame = read_results([STUDY])
    ddp = frame[frame["backend"] == "torch-ddp"]
    assert set(ddp["world_size"]) == {1, 2} and (ddp["status"] == "ok").all()
    assert (ddp["verification"] == "before").all() and (ddp["verified_max_rel_error"] <= ddp["tolerance"]).all()
    assert set(ddp.loc[ddp["world_size"] == 2, "config"]) == {"mlp-mnist", "mlp-wide", "resnet50-32", "resnet50-224"}


def test_the_studys_parallel_efficiency_is_recomputed_from_its_rows():
    """resnet50-224@8's efficiency in docs/data-parallel.md from the file's rows, without vecbench's
    readers: the median uncontended step of torch-cpu at one thread over twice torch-ddp's over 2."""
    import pandas as pd

    rows = pd.read_parquet(STUDY)
    rows = rows[(rows["config"] == "resnet50-224") & (rows["batch_size"] == 8) & (rows["part"] == "step")
                & (rows["status"] == "ok") & (rows["dtype"] == "float32") & ~rows["contended"].fillna(False)]
    one = rows[(rows["backend"] == "torch-cpu") & (rows["threads"] == 1)]["seconds"].median()
    two = rows[(rows["backend"] == "torch-ddp") & (rows["world_size"] == 2)]["seconds"].median()
    table = (ROOT / "docs" / "data-parallel.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| resnet50-224@8 "))
    assert f"| {one / (2 * two):.2f} [" in row, (one / (2 * two), row)


def test_the_report_says_which_wins_from_the_committed_study():
    """The report's "Threads or processes" section, built from the study file: a row per config,
    each winner as the times say (threads where torch-cpu on both cores is faster), and no such
    section from results without the data-parallel rung (the references)."""
    from bench.report import build_document

    document = build_document([STUDY])
    section = next(s for s in document.sections if s.anchor == "data-parallel")
    table = next(block.table for block in section.blocks if hasattr(block, "table"))
    frame = read_results([STUDY])
    for row in table.rows:
        config, batch = row[1].split("@")
        chosen = frame[(frame["config"] == config) & (frame["batch_size"] == int(batch)) & (frame["part"] == "step")
                       & (frame["dtype"] == "float32")]
        threads = chosen[(chosen["backend"] == "torch-cpu") & (chosen["threads"] == 2)]["seconds"].median()
        processes = chosen[(chosen["world_size"] == 2) & (chosen["threads"] == 1)]["seconds"].median()
        assert row[5].startswith("threads" if threads < processes else "processes"), row
    assert sorted(row[1] for row in table.rows) == ["mlp-mnist@32", "mlp-wide@128", "resnet50-224@8", "resnet50-32@8"]
    references = build_document([ROOT / "results" / "reference"])
    assert "data-parallel" not in [s.anchor for s in references.sections]
