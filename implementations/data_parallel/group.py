"""The harness's side of a data-parallel case: its ranks started through torchrun's launcher,
commanded, and ended.

``WorkerGroup`` runs ``python -m torch.distributed.run`` (the elastic agent torchrun is) as a child
in a session of its own, with static rendezvous on a port found free (or the one a multi-machine
run names), ``--max-restarts 0``: a rank that fails ends the group, which is what a benchmark
wants. The harness hosts a ``TCPStore`` on localhost where rank 0 takes commands and leaves the
ranks' answers (``worker``). Every wait is bounded: a rank that dies ends torchrun, which the
harness sees; a rank that hangs leaves an answer unwritten past its deadline. Either way the
harness ends torchrun, then every rank it knows by pid, and raises ``RankFailure`` with one line.
"""

from __future__ import annotations

import atexit
import os
import pickle
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass, replace
from pathlib import Path

from .job import Job

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 300.0  # importing torch and building the model in every rank, on busy cores
RENDEZVOUS_SECONDS = 1800
POLL = 0.05  # seconds between looks at the store and at torchrun (the ranks time themselves)
_LIVE: weakref.WeakSet = weakref.WeakSet()


class RankFailure(RuntimeError):
    """A rank died, hung or failed: one line saying which and how, once the group is ended."""


@dataclass(frozen=True)
class Placement:
    """Where a group's ranks run: ``processes`` in all, over ``nodes`` machines (each starting
    ``processes / nodes``), this machine being node ``node_rank``; ``rendezvous`` is node 0's
    ``host:port`` (None: this machine alone, on a port found free)."""

    processes: int
    nodes: int = 1
    node_rank: int = 0
    rendezvous: str | None = None

    def __post_init__(self):
        if self.processes < 1 or self.nodes < 1 or self.processes % self.nodes:
            raise ValueError(f"{self.processes} processes do not split evenly over {self.nodes} node(s)")
        if not 0 <= self.node_rank < self.nodes:
            raise ValueError(f"node rank {self.node_rank} is not one of 0..{self.nodes - 1}")
        if self.nodes > 1 and not self.rendezvous:
            raise ValueError("a run over several nodes needs node 0's rendezvous endpoint (HOST:PORT)")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the OS's pick): torchrun's default, 29500, may be taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_taken(host: str, port: int) -> bool:
    """Whether ``port`` on ``host`` (an address of this machine) cannot be listened on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def split_endpoint(endpoint: str) -> tuple[str, int]:
    """``host:port`` as (host, port); ValueError with one line otherwise."""
    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"rendezvous endpoint {endpoint!r} is not HOST:PORT")
    return host, int(port)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WorkerGroup:
    """The ranks of one case, started by ``start`` and ended by ``close`` (a context manager)."""

    def __init__(self, job: Job, placement: Placement, workdir: Path | None = None):
        self.placement = placement
        self._own_dir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="vecbench-ddp-")) if workdir is None else Path(workdir)
        self.job_file = self.workdir / "job.pickle"
        self.log_file = self.workdir / "torchrun.log"
        self._job = job
        self.process: subprocess.Popen | None = None
        self.store = None
        self.pids: list[int] = []
        self.hello: list[dict] = []
        self._number = 0

    # -- starting ---------------------------------------------------------------------------
    def _command_line(self) -> list[str]:
        p = self.placement
        if p.rendezvous:
            host, port = split_endpoint(p.rendezvous)
            if p.node_rank == 0 and port_taken(host, port):
                raise ValueError(f"rendezvous port {port} on {host} is in use: name a free one")
        else:
            host, port = "127.0.0.1", free_port()
        return [sys.executable, "-m", "torch.distributed.run", "--nnodes", str(p.nodes),
                "--nproc-per-node", str(p.processes // p.nodes), "--node-rank", str(p.node_rank),
                "--master-addr", host, "--master-port", str(port), "--max-restarts", "0",
                # another node may reach the rendezvous long before node 0 (its reference takes minutes)
                "--rdzv-conf", f"timeout={RENDEZVOUS_SECONDS}",
                "--monitor-interval", "0.1", "-m", "implementations.data_parallel.worker", str(self.job_file)]

    def start(self, timeout: float = START_SECONDS) -> list[dict]:
        """Start the ranks and wait for each to say hello (pid, threads, bytes all-reduced per
        step); node 0 only answers. ValueError for a taken rendezvous port; RankFailure otherwise."""
        if self.placement.node_rank == 0:
            import torch.distributed as dist  # noqa: PLC0415

            self.store = dist.TCPStore("127.0.0.1", 0, is_master=True, wait_for_workers=False)
        job = replace(self._job, control=f"127.0.0.1:{self.store.port}" if self.store else "")
        self.job_file.write_bytes(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
        command = self._command_line()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                   OMP_NUM_THREADS=str(job.threads))
        with open(self.log_file, "wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        _LIVE.add(self)
        if self.store is None:
            return []
        self.hello = self.command("hello", timeout)
        # this machine's ranks: the harness measures their load and ends them (a pid elsewhere is not ours)
        self.pids = [rank["pid"] for rank in self.hello if rank["node"] == self.placement.node_rank]
        return self.hello

    # -- commands ---------------------------------------------------------------------------
    def command(self, op: str, timeout: float, **fields):
        """Send ``op`` to the ranks and return what each answered (a list, by rank). RankFailure,
        with the group ended, when a rank dies or no answer comes within ``timeout`` seconds."""
        if self.store is None:
            raise RuntimeError("only node 0 commands the ranks")
        number = self._number
        self._number += 1
        self.store.set(f"command/{number}", pickle.dumps(dict(fields, op=op)))
        key = f"answer/{number}"
        deadline = time.monotonic() + timeout
        while not self.store.check([key]):
            code = self.process.poll()
            if code is not None:
                why = self.why_ended(code)
                self.close(force=True)
                raise RankFailure(why)
            if time.monotonic() > deadline:
                self.close(force=True)
                raise RankFailure(f"the ranks did not answer {op!r} within {timeout:.0f} s (a rank hung?); "
                                  "every rank was ended")
            time.sleep(POLL)
        answer = Path(self.store.get(key).decode())
        try:
            return pickle.loads(answer.read_bytes())
        finally:
            answer.unlink()

    def why_ended(self, code: int) -> str:
        """One line: which rank ended the group and how, from torchrun's exit ``code``, its failure
        summary and the ranks' own error lines. A rank killed by a signal (not torchrun's SIGTERM)
        is the cause; then a rank's own error that is not a lost connection to another (the
        consequence of a peer's end); then any rank's error; then torchrun's code."""
        log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
        ended = [(int(rank), int(exit_code)) for rank, exit_code in
                 re.findall(r"rank\s*:\s*(\d+).*?\n\s*exitcode\s*:\s*(-?\d+)", log)]
        for rank, exit_code in ended:
            if exit_code < 0 and -exit_code != signal.SIGTERM and -exit_code in signal.valid_signals():
                return f"rank {rank} was killed by {signal.Signals(-exit_code).name}; torchrun ended the group"
        errors = {int(path.name.rsplit(".rank", 1)[1].split(".")[0]): path.read_text().strip()
                  for path in self.workdir.glob(f"{self.job_file.name}.rank*.error")}
        peer = ("closed by peer", "reset by peer", "Connection refused", "Broken pipe")
        for rank, text in sorted(errors.items(), key=lambda item: any(p in item[1] for p in peer)):
            return f"rank {rank} failed: {text}"
        for rank, exit_code in ended:
            return f"rank {rank} exited with code {exit_code}; torchrun ended the group"
        return f"torchrun exited with code {code} before the ranks answered (its log: {self.log_file})"

    def wait(self, timeout: float | None = None) -> int:
        """A node other than 0: wait until torchrun ends (node 0 stopped the ranks); its exit code."""
        return self.process.wait(timeout)

    # -- ending -----------------------------------------------------------------------------
    def close(self, force: bool = False) -> None:
        """End the group: ``stop`` (unless ``force``d or already ended), then torchrun's end; if it
        does not end within seconds, SIGTERM, then SIGKILL to its session and to every rank by pid.
        Safe to call twice."""
        if self.process is None:
            return
        if not force and self.process.poll() is None and self.store is not None:
            try:
                self.command("stop", 60.0)
            except RankFailure:
                return  # the command has ended the group itself
        process, self.process = self.process, None
        try:
            try:
                process.wait(timeout=0 if force else 30)
            except subprocess.TimeoutExpired:
                process.terminate()  # the agent passes SIGTERM to its ranks and waits for them
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        finally:
            for pid in self.pids:
                if _alive(pid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            _LIVE.discard(self)
            self.store = None
            if self._own_dir:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> WorkerGroup:
        return self

    def __exit__(self, *exc) -> None:
        self.close(force=exc[0] is not None)


@atexit.register
def _end_every_group() -> None:
    """No rank outlives the harness, however it ends (an exception, Ctrl-C)."""
    for group in list(_LIVE):
        group.close(force=True)
