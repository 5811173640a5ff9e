"""One rank's program: ``python -m implementations.data_parallel.worker JOB_FILE``, started by
torchrun (which sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT).

Rank 0 takes each command from the harness's store and broadcasts it; every rank runs it; rank 0
gathers what the ranks found and answers. Commands (``op``): ``hello`` (each rank's pid, node, threads,
bytes all-reduced per step), ``steps`` (the verification steps: rank 0's ``StepResult``), ``block``
(a timed block: per rank, per round, wall and CPU seconds per step), ``breakdown`` (steps with and
without the all-reduce, alternating) and ``stop``. Answers go in a file beside the job, the store
holding its path. A rank that fails writes one line to
``JOB_FILE.rank<R>.error`` and exits 1: torchrun then ends the others and the harness reports it.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist

from implementations import make_trainer
from implementations.trainer import read_steps

from .job import Job


def _plant(job: Job, trainer, rank: int) -> None:
    """The fault a test asked for, in this rank (``Job.planted``)."""
    if job.planted == "gradient 1% off" and rank == job.planted_rank:
        last = list(trainer.module.parameters())[-1]  # the head's bias: a gradient every model has
        last.register_hook(lambda grad: grad * 1.01)


def _block(trainer, step, command: dict, job: Job, rank: int) -> list[tuple[float, float]]:
    """``warmup`` untimed steps, then ``rounds`` rounds of ``iterations`` steps, each round started
    by every rank together (a barrier). The same number of steps on every rank: each is a collective."""
    if job.planted and rank == job.planted_rank:
        if job.planted == "dies in a block":
            os.kill(os.getpid(), signal.SIGKILL)
        if job.planted == "hangs in a block":
            time.sleep(job.idle_seconds)
    for _ in range(command["warmup"]):
        step()
    out = []
    wall, process = time.perf_counter, time.process_time
    for _ in range(command["rounds"]):
        dist.barrier()
        c0, t0 = process(), wall()
        for _ in range(command["iterations"]):
            step()
        t1, c1 = wall(), process()
        out.append(((t1 - t0) / command["iterations"], (c1 - c0) / command["iterations"]))
    return out


def _breakdown(trainer, batch, command: dict) -> list[tuple[float, float]]:
    """``rounds`` pairs of (a step, a step without the all-reduce), alternating, seconds each."""
    wall = time.perf_counter
    out = []
    for _ in range(command["rounds"]):
        dist.barrier()
        t0 = wall()
        trainer.step(batch)
        t1 = wall()
        dist.barrier()
        t2 = wall()
        trainer.local_step(batch)
        out.append((t1 - t0, wall() - t2))
    return out


def _answer(store, job_file: Path, number: int, answer: list) -> None:
    """The answer beside the job (a ResNet step's tensors far exceed a store value), its path in the store."""
    path = Path(f"{job_file}.answer{number}")
    path.write_bytes(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
    store.set(f"answer/{number}", str(path))


def serve(job: Job, job_file: Path) -> None:
    rank = dist.get_rank()
    torch.set_num_threads(job.threads)
    trainer = make_trainer(job.backend, job.model, job.spec, job.params, job.dtype)
    batch = trainer.prepare_batch(job.x, job.y)
    job.params = job.x = job.y = None  # copied into the trainer: a float64 ResNet-50's weights are 200 MB
    _plant(job, trainer, rank)
    store = None
    if rank == 0:
        host, port = job.control.rsplit(":", 1)
        store = dist.TCPStore(host, int(port), is_master=False, timeout=timedelta(seconds=job.idle_seconds))
    step = lambda: trainer.step(batch)  # noqa: E731
    number = 0
    while True:
        box = [pickle.loads(store.get(f"command/{number}")) if rank == 0 else None]
        dist.broadcast_object_list(box, src=0)
        command = box[0]
        op = command["op"]
        if op == "hello":
            found = {"pid": os.getpid(), "node": int(os.environ.get("GROUP_RANK", "0")),
                     "threads": torch.get_num_threads(), "bytes": trainer.communicated_bytes()}
        elif op == "steps":  # every rank steps (the loss is a collective); rank 0's result alone is answered
            found = read_steps(trainer, batch, command["steps"])
        elif op == "block":
            gc.collect()
            gc.disable()  # as the harness's own blocks (bench.timing)
            try:
                found = _block(trainer, step, command, job, rank)
            finally:
                gc.enable()
        elif op == "breakdown":
            found = _breakdown(trainer, batch, command)
        elif op == "stop":
            found = None
        else:
            raise ValueError(f"unknown command {op!r}")
        if op == "steps":  # not gathered: gathering a ResNet's tensors would copy them twice on rank 0
            answer = [found] if rank == 0 else None
        else:
            answer = [None] * dist.get_world_size() if rank == 0 else None
            dist.gather_object(found, answer, dst=0)
        if rank == 0:
            _answer(store, job_file, number, answer)
        number += 1
        if op == "stop":
            return


def main(argv: list[str]) -> int:
    job_file = Path(argv[0])
    rank = int(os.environ.get("RANK", "0"))
    try:
        job: Job = pickle.loads(job_file.read_bytes())
        if job.device == "cuda":  # one GPU per process, NCCL between them
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if job.device == "cuda" else "gloo", timeout=timedelta(seconds=job.idle_seconds))
        serve(job, job_file)
        dist.barrier()  # every rank done before any leaves: none meets a closed connection on its way out
        dist.destroy_process_group()
    except Exception as exc:  # noqa: BLE001  (one line for the harness; torchrun ends the other ranks)
        Path(f"{job_file}.rank{rank}.error").write_text(f"{type(exc).__name__}: {exc}"[:500])
        return 1
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # Straight out: the C++ store and gloo objects' destructors at interpreter exit can abort
    # (SIGABRT) when node 0's agent, which hosts the store, has already gone.
    os._exit(code)
