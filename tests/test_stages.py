"""Where the time goes inside one ResNet step: every backend reports the same parts in the same order,
a part gets the time spent in it, and the runner records one instrumented step per ResNet case as
``part`` rows (schema 4) that no measurement counts as a round."""

from __future__ import annotations

import dataclasses
import time

import pandas as pd
import pytest
import torch

from bench import stages
from bench.breakdown import breakdowns
from bench.measurement import measurements
from bench.results import ResultsWriter, read_results, to_frame
from bench.runner import Runner
from bench.configs import ModelConfig, get_config
from bench.profiles import TimingBudget
from bench.suite import Case
from implementations import hooks, make_trainer
from implementations.architectures import resnet
from implementations.numpy_vectorized import layers as numpy_layers
from implementations.torch_autograd.variant import TorchVariant

REDUCED = resnet.ResNetSpec(blocks=(1, 2, 1, 1), num_classes=5)  # a stage of two blocks: its mark comes once
PARTS = resnet.stage_parts(REDUCED)
DELAY = 0.2  # seconds planted in one part: several times any part of the reduced step here


# for loops: a pure-Python step of REDUCED takes about 20 s; this one a second or two
NARROW = resnet.ResNetSpec(blocks=(1, 2, 1, 1), widths=(2, 4, 4, 8), num_classes=5)


def _trainer(backend: str):
    spec = NARROW if backend == "loops" else REDUCED
    params = resnet.init_params(spec, 0)
    x, y = resnet.make_batch(spec, 2, 1, 32)
    if backend == "torch-cuda-amp":  # the GPU rung's exact code (autocast, channels_last), on the CPU
        trainer = make_trainer(backend, "resnet50", spec, params, "float32", device="cpu")
    else:
        trainer = make_trainer(backend, "resnet50", spec, params, "float64")
    return trainer, trainer.prepare_batch(x, y)


def test_the_parts_are_every_stage_forward_then_backward_then_the_update():
    assert PARTS == ["stem forward", "layer1 forward", "layer2 forward", "layer3 forward", "layer4 forward",
                     "head forward", "head backward", "layer4 backward", "layer3 backward", "layer2 backward",
                     "layer1 backward", "stem backward", "update"]


@pytest.mark.parametrize("backend", ["loops", "numpy", "torch-cpu", "torch-cuda-amp"])
def test_every_backend_reports_the_stage_boundaries_in_order(backend):
    trainer, batch = _trainer(backend)
    heard: list[str] = []
    clock = stages.StageClock(PARTS)
    with stages.reporting(trainer, clock), hooks.listening_to_stages(heard.append):
        trainer.step(batch)
    assert heard == PARTS[:-1]
    heard.clear()
    trainer.step(batch)  # nobody listens now: no mark, and the torch hooks are gone
    assert heard == [] and not hooks.stages_heard()


def test_a_delay_in_the_head_backward_lands_in_that_part(monkeypatch):
    trainer, batch = _trainer("numpy")
    real = numpy_layers.global_avgpool_backward

    def slow(*args):
        time.sleep(DELAY)
        return real(*args)

    before = stages.time_parts(trainer, lambda: trainer.step(batch), PARTS)
    monkeypatch.setattr(numpy_layers, "global_avgpool_backward", slow)
    parts = stages.time_parts(trainer, lambda: trainer.step(batch), PARTS)
    assert list(parts) == PARTS
    assert parts["head backward"] >= DELAY
    assert all(parts[p] - before[p] < DELAY / 2 for p in PARTS if p != "head backward")


def test_a_delay_in_a_torch_stage_lands_in_its_forward_and_its_backward():
    """Sleep in layer3's forward, and in the backward of an identity at layer3's input (which runs
    after layer3's own backward, before the gradient reaches layer2's output)."""
    trainer, batch = _trainer("torch-cpu")

    class SlowBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.view_as(x)

        @staticmethod
        def backward(ctx, grad):
            time.sleep(DELAY)
            return grad

    before = stages.time_parts(trainer, lambda: trainer.step(batch), PARTS)
    layer3 = trainer.module.layer3
    real = layer3.forward

    def slow_forward(x):
        time.sleep(DELAY)
        return real(SlowBackward.apply(x))

    layer3.forward = slow_forward
    parts = stages.time_parts(trainer, lambda: trainer.step(batch), PARTS)
    assert parts["layer3 forward"] >= DELAY and parts["layer3 backward"] >= DELAY
    assert all(parts[p] - before[p] < DELAY / 2 for p in PARTS if p not in ("layer3 forward", "layer3 backward"))


def test_a_compiled_step_or_wrong_marks_give_no_breakdown():
    params = resnet.init_params(REDUCED, 0)
    compiled = make_trainer("torch-cpu", "resnet50", REDUCED, params, "float64")
    compiled.variant = TorchVariant(compile=True)  # refused before any step runs: nothing compiles
    assert stages.time_parts(compiled, lambda: pytest.fail("a step ran"), PARTS) is None
    clock = stages.StageClock(PARTS)
    clock.wrap(lambda: [clock.heard(p) for p in reversed(PARTS[:-1])])()
    assert clock.seconds() is None  # out of order
    clock.wrap(lambda: [clock.heard(p) for p in PARTS[:-1]])()
    assert list(clock.seconds()) == PARTS


BUDGET = TimingBudget(repeats=2, block_time=0.01, min_time=0.001, min_rounds=2, slow_budget=0.2, warmup_time=0.001)


def test_the_runner_records_one_instrumented_step_per_resnet_case_and_none_counts_as_a_round(tmp_path):
    """numpy stands in for loops as the backend whose one timed step is also verified (the runner's
    path for a minutes-long step): a loops step of even this small ResNet takes many seconds."""
    small = ModelConfig("resnet-small", "resnet50", REDUCED, 4, 32, verify_timed_round=("numpy",))  # batch 4: see suite
    mlp = get_config("mlp-tiny")
    path = tmp_path / "r.parquet"
    runner = Runner(ResultsWriter(path), BUDGET, "custom", progress=False)
    runner.run([Case(small, "numpy", "float64", 1), Case(small, "torch-cpu", "float64", 1),
                Case(mlp, "numpy", "float64", 1)], with_noop=False)
    frame = read_results([path])
    assert set(frame["status"]) == {"ok"}
    parts = frame[frame["part"] != "step"]
    assert (parts["timing_mode"] == "instrumented").all() and (parts["seconds"] > 0).all()
    for backend in ("numpy", "torch-cpu"):
        assert list(parts[parts["backend"] == backend]["part"]) == PARTS
    assert parts[parts["config"] == "mlp-tiny"].empty
    # a step timed once and verified has its parts from that very step: they add up to its time
    once = frame[(frame["backend"] == "numpy") & (frame["config"] == "resnet-small")]
    timed = once[once["part"] == "step"]["seconds"]
    assert len(timed) == 1
    assert once[once["part"] != "step"]["seconds"].sum() == pytest.approx(timed.iloc[0], rel=0.02)
    # no part row is a round of a measurement
    for m in measurements(frame):
        steps = frame[(frame["backend"] == m.key.backend) & (frame["config"] == m.key.config) & (frame["part"] == "step")]
        assert len(m.seconds) == len(steps)
    found = {b.key.backend: b for b in breakdowns(frame)}
    assert set(found) == {"numpy", "torch-cpu"} and list(found["torch-cpu"].parts) == PARTS


def test_a_file_before_schema_4_reads_as_whole_steps_only(tmp_path):
    row = dict(schema_version=3, run_id="r", timestamp=pd.Timestamp("2026-01-01", tz="UTC"), profile="quick",
               model="mlp", config="mlp-tiny", backend="numpy", dtype="float64", threads=1, batch_size=5,
               resolution=None, round=0, iterations=1, seconds=1e-4, flops=1, macs=1, timing_mode="calibrated",
               verification="before", verified_max_rel_error=0.0, tolerance=1e-8, loss=1.0, status="ok", error="",
               hostname="h", cpu="c", cores=2, gpu="", python="3", numpy="2", torch="2", blas="b", platform="p",
               git_commit="g")
    path = tmp_path / "v3.parquet"
    to_frame([row]).drop(columns=["part"]).to_parquet(path)
    frame = read_results([path])
    assert list(frame["part"]) == ["step"] and breakdowns(frame) == []
    assert len(measurements(frame)[0].seconds) == 1


def test_a_newer_breakdown_replaces_an_older_one():
    def rows(run, stamp, seconds):
        return [dict(run_id=run, model="resnet50", config="resnet50-32", backend="numpy", dtype="float32",
                     threads=1, batch_size=4, resolution=32, world_size=1, cpu="c", cores=2, gpu="", status="ok",
                     part=part, seconds=seconds, timestamp=pd.Timestamp(stamp, tz="UTC")) for part in PARTS]
    frame = pd.DataFrame(rows("old", "2026-01-01", 1.0) + rows("new", "2026-01-02", 2.0))
    (found,) = breakdowns(frame)
    assert found.run_id == "new" and found.total == 2.0 * len(PARTS)
