"""``bench check --against REV`` (CI's check): time REV and the working tree in alternate runs of
one job, then judge the pairs (``bench.regression.pairs``, the paired rule).

REV is built in a temporary git worktree; REV's runs and the working tree's alternate, ABBA, in
separate processes, as ``asv continuous`` does.
"""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..errors import UsageError
from ..formatting import first_names
from ..measurement import measurements
from ..results import read_results
from .baseline import judge_and_print, one_machine, pooled
from .judge import cannot_say, judge_pairs, paired_exit_code
from .pairs import read_pairs
from .render import paired_summary, paired_table
from .thresholds import MIN_PAIRS, load_paired_thresholds, load_thresholds

PAIRED_THRESHOLDS_DIR = Path("results/ab")
_ROOT = Path(__file__).resolve().parents[2]


def _git(args: list[str], cwd: Path) -> str:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                              timeout=120).stdout.strip()
    except subprocess.CalledProcessError as exc:
        raise UsageError(f"git {' '.join(args)}: {exc.stderr.strip().splitlines()[-1] if exc.stderr.strip() else exc}") \
            from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"git {' '.join(args)}: {exc}") from None


def run_against(rev: str, run_args: list[str], pairs: int = 6, thresholds: str | Path | None = None,
                keep: str | Path | None = None, budget: float = math.inf, out=None) -> int:
    """Time revision ``rev`` and the working tree in alternating runs (ABBA), then judge the pairs.
    While a gated quantity has too few usable pairs (a contended machine), one more pair is run, as
    long as it can start within ``budget`` seconds of the start.

    run_args: arguments for ``bench run`` (profile, models, backends).
    """
    out = out or sys.stdout
    if pairs < MIN_PAIRS:
        raise UsageError(f"--pairs {pairs}: must be at least {MIN_PAIRS}")
    commit = _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], _ROOT)
    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="vecbench-against-"))
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.glob("*-*.parquet")):
        raise UsageError(f"{folder}: holds results of another check already; --keep takes a new or empty folder")
    worktree = Path(tempfile.mkdtemp(prefix="vecbench-rev-")) / "tree"
    _git(["worktree", "add", "--detach", str(worktree), commit], _ROOT)
    start = time.monotonic()
    notes = []
    try:
        sides = {"base": worktree, "head": _ROOT}
        done_pairs, verdicts, thresholds_found = 0, None, None
        while True:
            order = ["base", "head"] if done_pairs % 2 == 0 else ["head", "base"]
            for side in order:
                target = folder / f"{side}-{done_pairs}.parquet"
                print(f"pair {done_pairs + 1}: {side} ({commit[:12] if side == 'base' else 'working tree'}), "
                      f"{time.monotonic() - start:.0f} s in", file=out, flush=True)
                ran = subprocess.run([sys.executable, "-m", "bench", "run", *run_args, "--no-progress",
                                      "--out", str(target.resolve())], cwd=sides[side], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
                if ran.returncode == 2:
                    raise UsageError(f"bench run {' '.join(run_args)} refused its input in the {side} tree: "
                                     f"{ran.stderr.strip().splitlines()[-1] if ran.stderr.strip() else ''}")
                if ran.returncode != 0:
                    notes.append(f"{side} run of pair {done_pairs + 1} exited {ran.returncode}")
            done_pairs += 1
            if done_pairs < pairs:
                continue
            measured = read_pairs(folder)
            if thresholds_found is None:
                thresholds_found = load_paired_thresholds(thresholds or PAIRED_THRESHOLDS_DIR, measured.machine)
            verdicts = judge_pairs(measured, thresholds_found)
            per_pair = (time.monotonic() - start) / done_pairs
            if not cannot_say(verdicts) or time.monotonic() - start + per_pair > budget:
                break
            print(f"{len(cannot_say(verdicts))} gated quantities have too few uncontended pairs: one more pair",
                  file=out, flush=True)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=_ROOT, capture_output=True)
    print(f"against {rev} ({commit[:12]}): {done_pairs} pairs of runs, alternating, in {time.monotonic() - start:.0f} s;"
          f" results in {folder}", file=out)
    print(f"thresholds: {thresholds_found.source} ({thresholds_found.machine}; A/A study, {thresholds_found.pairs} "
          f"pairs in CI)", file=out)
    print("a regression: a quantity's change (the median over pairs of head / base) beyond its A/A threshold, or a "
          "case that ran on the known-good side and not here; rounds contended by other work do not count", file=out)
    for note in notes:
        print(f"note: {note}", file=out)
    print(file=out)
    print(paired_table(verdicts), file=out)
    print(file=out)
    if measured.new:
        print(f"not on the known-good side, not compared: {len(measured.new)} case(s): {first_names(measured.new)}",
              file=out)
    print(paired_summary(verdicts), file=out)
    return paired_exit_code(verdicts)


def compare_runs(base_runs: list[Path], head_runs: list[Path], thresholds: str | Path, out=None,
                 notes: tuple[str, ...] = ()) -> int:
    """Judge runs timed alternately on one machine by the stored-baseline rule: each side's runs
    pooled per case (every repeat of every run), against that machine kind's A/A ``thresholds``."""
    head_frame = read_results(head_runs)
    machine = one_machine(head_frame, "results")
    base = pooled(measurements(read_results(base_runs), newest=False))
    head = pooled(measurements(head_frame, newest=False))
    return judge_and_print(base, head, load_thresholds(thresholds, machine), out or sys.stdout, notes)
