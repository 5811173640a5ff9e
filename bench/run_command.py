"""``python -m bench run``: the selected cases of a profile verified and timed into a results file,
then what the run found printed (harness, speedups, suspects, load) and every failure named.

Exit codes: 0 every case ran or was skipped with its reason; 1 a case failed; 130 interrupted
(every finished case is kept).
"""

from __future__ import annotations

import socket
import sys
from datetime import datetime, timezone
from pathlib import Path

from implementations import backend_names, get_backend
from implementations.data_parallel.group import port_taken, split_endpoint
from implementations.registry import spans_processes

from . import memory, profiles, suite
from .data_parallel_case import Spread, serve_node
from .errors import UsageError
from .measurement import measurements
from .results import ResultsWriter
from .runner import Runner
from .summary import format_blind_spots, format_harness, format_load, format_speedups, format_suspects

RESULTS_DIR = Path("results")


def _default_out(profile: str) -> Path:
    """``results/<UTC time>-<host>-<profile>.parquet``: a new file per run, named so that files sort by time."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return RESULTS_DIR / f"{stamp}-{socket.gethostname()}-{profile}.parquet"


def _spread(args, backends: list[str]) -> Spread:
    """Where data-parallel ranks run, from ``--world-size``, ``--nnodes``, ``--node-rank`` and
    ``--rdzv-endpoint``; UsageError with one line for what cannot work."""
    world_sizes = getattr(args, "world_size", None) or []
    nodes, node_rank, endpoint = getattr(args, "nnodes", 1), getattr(args, "node_rank", 0), getattr(args, "rdzv_endpoint", None)
    if any(n < 1 for n in world_sizes):
        raise UsageError(f"--world-size {' '.join(map(str, world_sizes))}: each must be at least 1")
    if nodes < 1 or not 0 <= node_rank < nodes:
        raise UsageError(f"--nnodes {nodes} --node-rank {node_rank}: the node rank must be 0..{nodes - 1}")
    spanning = [b for b in backends if spans_processes(b)]
    if world_sizes and not spanning:
        raise UsageError(f"--world-size applies to a backend whose step spans processes "
                         f"({', '.join(b for b in backend_names() if spans_processes(b))}); none is selected")
    if nodes > 1:
        if len(spanning) != len(backends):
            raise UsageError(f"--nnodes {nodes}: only backends whose step spans processes run across machines; "
                             f"leave out {', '.join(b for b in backends if b not in spanning)}")
        if not endpoint:
            raise UsageError(f"--nnodes {nodes} needs --rdzv-endpoint HOST:PORT (node 0's address and a free port)")
        odd = [n for n in world_sizes or [nodes] if n % nodes]
        if odd:
            raise UsageError(f"--world-size {odd[0]} does not split evenly over --nnodes {nodes}")
    if endpoint:
        try:
            host, port = split_endpoint(endpoint)
        except ValueError as exc:
            raise UsageError(f"--rdzv-endpoint: {exc}") from None
        if node_rank == 0 and port_taken(host, port):
            raise UsageError(f"--rdzv-endpoint {endpoint}: port {port} is in use on {host} (or {host} is not an "
                             "address of this machine): name a free port of node 0")
    return Spread(nodes, endpoint)


def run(args) -> int:
    """``bench run`` with parsed ``args`` (``bench.cli_parser``); its exit code."""
    profile = profiles.get_profile(args.profile)
    configs = suite.select_configs(profile, args.models)
    backends = suite.check_backends(args.backends or list(profile.backends) or None)
    spread = _spread(args, backends)
    suite.refuse_if_none_can_run(backends)
    cases = suite.expand_cases(configs, backends, world_sizes=getattr(args, "world_size", None))
    if not cases:
        raise UsageError("the selection holds no case to run")
    if getattr(args, "node_rank", 0) > 0:
        return serve_node(cases, spread, args.node_rank)
    memory.check_memory([c for c in cases if not get_backend(c.backend).unavailable()])  # the skipped need none
    writer = ResultsWriter(args.out or _default_out(profile.name))
    runner = Runner(writer, profile.budget, profile.name, progress=not args.no_progress, spread=spread)
    try:
        runner.run(cases, peak_sizes=profile.peak_sizes)
    except KeyboardInterrupt:
        print(f"\ninterrupted: {len(runner.outcomes)} finished case(s) are kept in {writer.path}", file=sys.stderr)
        return 130
    frame = writer.frame()
    this_run = frame[frame["run_id"] == runner.run_id]
    print(format_harness(this_run))
    print(format_speedups(this_run))
    for text in (format_suspects(this_run), format_blind_spots(this_run), format_load(measurements(this_run))):
        if text:
            print(text)
    skipped: dict[str, int] = {}
    for outcome in runner.outcomes:
        if outcome.status == "skipped":
            skipped[outcome.error] = skipped.get(outcome.error, 0) + 1
    for reason, count in skipped.items():
        print(f"skipped {count} case(s): {reason}")
    failed = [o for o in runner.outcomes if o.status == "failed"]
    for outcome in failed:
        print(f"FAILED: {outcome.label}: {outcome.error}", file=sys.stderr)
    print(f"results: {writer.path}")
    return 1 if failed else 0
