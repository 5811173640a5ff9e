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

from implementations import get_backend

from . import memory, profiles, suite
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


def run(args) -> int:
    """``bench run`` with parsed ``args`` (``bench.cli_parser``); its exit code."""
    profile = profiles.get_profile(args.profile)
    configs = suite.select_configs(profile, args.models)
    backends = suite.check_backends(args.backends or list(profile.backends) or None)
    suite.refuse_if_none_can_run(backends)
    cases = suite.expand_cases(configs, backends)
    if not cases:
        raise UsageError("the selection holds no case to run")
    memory.check_memory([c for c in cases if not get_backend(c.backend).unavailable()])  # the skipped need none
    writer = ResultsWriter(args.out or _default_out(profile.name))
    runner = Runner(writer, profile.budget, profile.name, progress=not args.no_progress)
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
