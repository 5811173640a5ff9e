"""``python -m bench check``: is any backend or case slower than its baseline, beyond this machine's noise?

Every case is judged on its own time (every backend, loops included): a ratio such as
``loops / X`` would hide a slower loops backend, which only raises every ratio.

The baseline is either committed runs of the same machine kind (``--baseline``; what CI runs: the
A/A study's runs, pooled, so that the baseline's own noise is averaged over many runs) or the same
cases timed from another revision in the same job (``--against REV``: REV is built in a temporary
git worktree, and REV's runs and the working tree's alternate, ABBA, in separate processes, as
``asv continuous`` does). Each side's runs of a case are pooled: their repeats all count.

Two verdicts, both sized by the A/A study (``python -m bench noise --write``, README "Noise study")
so that the whole check raises a false alarm less than once in 20 runs of unchanged code:

* a **backend** regresses when the median over its cases of ``current / baseline`` exceeds the
  backend's threshold. One run's cases move up and down on their own (a case 1.5x off in one run
  of twenty, another in the next); a change of the backend's code moves all of them, so the
  median over a backend's cases sees a 1.5x slowdown that no single noisy case can;
* a **case** regresses when its own ``current / baseline`` exceeds its threshold. A case whose
  threshold exceeds ``GATE_LIMIT`` (it moves that much between runs of unchanged code) is
  reported, never gated.

Either verdict also needs a one-sided Mann-Whitney test of the current repeats against the
baseline's (for a backend: every case's repeats over its baseline time) to say "slower" at
``ALPHA`` (asv decides with a factor plus this test): a single unlucky repeat cannot fail a check.
Times are those of ``bench.measurement``: the estimator over the uncontended rounds.

Exit codes: 0 no regression; 1 at least one regression, each named; 2 unusable input (a missing,
corrupt, foreign or newer file, no shared case, another machine, no thresholds for the machine);
3 no regression found, but the machine was contended: a gated case had too many contended rounds
to be judged (or, with ``--against``, a run failed), or every backend was slower alike (the
machine, not one backend's code: ``_machine_wide``), so the check cannot say "no regression".
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import paired, stats
from .errors import UsageError
from .formatting import first_names, seconds
from .measurement import CaseKey, MachineKey, Measurement, machines, measurements, pool
from .results import read_results
from .suspect import suspects

ALPHA = 0.01  # of the Mann-Whitney test, per case
GATE_LIMIT = 1.4  # a case whose A/A threshold exceeds this is not gated: it could not see a 1.5x slowdown
MAX_CONTENDED = 0.5  # a case with more of its rounds contended than this is not judged
EXIT_OK, EXIT_REGRESSION, EXIT_USAGE, EXIT_CONTENDED = 0, 1, 2, 3
THRESHOLDS_DIR = Path("results/baseline")


@dataclass(frozen=True)
class Thresholds:
    """Per-case thresholds of one machine kind, from the A/A study (``bench.noise``)."""

    machine: MachineKey
    cases: dict[str, dict]  # CaseKey.label -> {"threshold", "gated", "reason", ...}
    backends: dict[str, dict]  # backend -> {"threshold", "gated", "reason", ...}
    source: str

    def of(self, key: CaseKey) -> tuple[float, bool, str]:
        """(threshold, gated, why not gated)."""
        return _entry(self.cases.get(key.label))

    def of_backend(self, backend: str) -> tuple[float, bool, str]:
        return _entry(self.backends.get(backend))


def _entry(entry: dict | None) -> tuple[float, bool, str]:
    if entry is None:
        return math.inf, False, "not in the A/A study"
    return float(entry["threshold"]), bool(entry["gated"]), str(entry.get("reason", ""))


def load_thresholds(path: str | Path, machine: MachineKey) -> Thresholds:
    """The thresholds of ``machine`` from a JSON file or a folder of them; UsageError when none fits."""
    path = Path(path)
    files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
    if not files or not all(f.is_file() for f in files):
        raise UsageError(f"{path}: no thresholds file (.json); make one with python -m bench noise RUNS --write FILE")
    seen = []
    for file in files:
        try:
            data = json.loads(file.read_text())
            own = MachineKey(str(data["machine"]["cpu"]), int(data["machine"]["cores"]), str(data["machine"]["gpu"]))
            cases = {str(k): dict(v) for k, v in data["cases"].items()}
            backends = {str(k): dict(v) for k, v in data.get("backends", {}).items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UsageError(f"{file}: not a vecbench thresholds file ({exc.__class__.__name__}: {exc})") from None
        if own == machine:
            return Thresholds(own, cases, backends, str(file))
        seen.append(str(own))
    raise UsageError(f"no A/A thresholds for {machine} in {path} (it has: {'; '.join(seen) or 'none'}); run the "
                     "noise study on this machine kind (README, Noise study)")


@dataclass
class Verdict:
    label: str  # a case's label, or "backend numpy (16 cases)"
    baseline: float  # seconds per step (a backend: 1, its changes are relative)
    current: float
    change: float  # current / baseline
    threshold: float
    p_value: float
    gated: bool
    verdict: str  # REGRESSION, slower (not significant), ok, faster, not gated: ..., contended
    regression: bool = False
    unjudged: bool = False  # gated, but too contended to judge


def _decide(verdict: Verdict, contended: float, p_faster: float, reason: str) -> Verdict:
    if not verdict.gated:
        verdict.verdict = f"not gated: {reason}"
    elif contended > MAX_CONTENDED:
        verdict.verdict = f"contended: {contended:.0%} of the rounds; not judged"
        verdict.unjudged = True
    elif verdict.change > verdict.threshold and verdict.p_value < ALPHA:
        verdict.verdict, verdict.regression = "REGRESSION", True
    elif verdict.change > verdict.threshold:
        verdict.verdict = f"slower, not significant (p={verdict.p_value:.2g})"
    elif verdict.change < 1 / verdict.threshold and p_faster < ALPHA:
        verdict.verdict = "faster"
    return verdict


def judge(baseline: Measurement, current: Measurement, thresholds: Thresholds) -> Verdict:
    """One case against its baseline (the rule in the module docstring)."""
    threshold, gated, reason = thresholds.of(current.key)
    now, before = current.repeat_times(), baseline.repeat_times()
    verdict = Verdict(current.key.label, baseline.time, current.time, current.time / baseline.time, threshold,
                      stats.slower_p_value(now, before), gated, "ok")
    contended = max(current.contended_share, baseline.contended_share)
    return _decide(verdict, contended, stats.slower_p_value(before, now), reason)


def judge_backend(backend: str, pairs: list[tuple[Measurement, Measurement]], thresholds: Thresholds) -> Verdict:
    """A backend: the median over its cases of current / baseline, and the rank test over every
    case's repeats, each divided by its case's baseline time."""
    threshold, gated, reason = thresholds.of_backend(backend)
    change = float(np.median([c.time / b.time for b, c in pairs]))
    now = np.concatenate([c.repeat_times() / b.time for b, c in pairs])
    before = np.concatenate([b.repeat_times() / b.time for b, c in pairs])
    verdict = Verdict(f"backend {backend} ({len(pairs)} cases)", 1.0, change, change, threshold,
                      stats.slower_p_value(now, before), gated, "ok")
    contended = float(np.mean([c.contended_share > MAX_CONTENDED for b, c in pairs]))
    return _decide(verdict, contended, stats.slower_p_value(before, now), reason)


def compare(baseline: list[Measurement], current: list[Measurement], thresholds: Thresholds) -> list[Verdict]:
    """Verdicts of every backend, then of every case, measured (ok) on both sides.

    baseline, current: one Measurement per case (``pool`` several runs first).
    """
    base = {m.key: m for m in baseline if m.ok}
    pairs = [(base[m.key], m) for m in current if m.ok and m.key in base]
    if not pairs:
        raise UsageError("baseline and results share no successful case; baseline: "
                         + ", ".join(sorted({k.config for k in base})) + "; results: "
                         + ", ".join(sorted({m.key.config for m in current})))
    backends: dict[str, list] = {}
    for b, c in pairs:
        backends.setdefault(c.key.backend, []).append((b, c))
    by_backend = [judge_backend(name, group, thresholds) for name, group in sorted(backends.items())]
    by_case = [judge(b, c, thresholds) for b, c in pairs]
    return _machine_wide(by_backend, by_case)


def _machine_wide(by_backend: list[Verdict], by_case: list[Verdict]) -> list[Verdict]:
    """When every gated backend (two or more) regressed, the machine itself may be slower (another
    VM of the same kind, a neighbour the load records cannot see): a code change rarely slows
    interpreter loops, BLAS and torch alike. Each verdict is then judged again on its change over
    the backends' median change (``drift``); what stays within its threshold becomes "cannot say"
    (exit 3, as contention), what still exceeds it stays a regression. A change that really slows
    every backend alike is then only reported, never failed: the check is built to catch one
    backend slowed (README, Checking for regressions)."""
    gated = [v for v in by_backend if v.gated]
    if len(gated) < 2 or not all(v.regression for v in gated):
        return by_backend + by_case
    drift = float(np.median([v.change for v in gated]))
    for v in [*by_backend, *by_case]:
        if v.regression and v.change / drift <= v.threshold:
            v.regression, v.unjudged = False, True
            v.verdict = f"machine-wide: every backend {(drift - 1) * 100:+.0f}% alike; not judged"
    return by_backend + by_case


def exit_code(verdicts: list[Verdict]) -> int:
    if any(v.regression for v in verdicts):
        return EXIT_REGRESSION
    return EXIT_CONTENDED if any(v.unjudged for v in verdicts) else EXIT_OK


# -- output ------------------------------------------------------------------------------------
def format_table(verdicts: list[Verdict]) -> str:
    header = ("backend or case", "baseline", "current", "change", "threshold", "p", "verdict")
    lines = [(v.label, seconds(v.baseline) if not v.label.startswith("backend") else "-",
              seconds(v.current) if not v.label.startswith("backend") else "-", f"{(v.change - 1) * 100:+.1f}%",
              f"{(v.threshold - 1) * 100:+.0f}%" if math.isfinite(v.threshold) else "-",
              f"{v.p_value:.2g}", v.verdict) for v in verdicts]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    return "\n".join("  ".join([cells[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(cells[1:6], widths[1:6])),
                                cells[6]]) for cells in [header, *lines])


def summary_line(verdicts: list[Verdict]) -> str:
    regressions = [v for v in verdicts if v.regression]
    gated = [v for v in verdicts if v.gated]
    cases = [v for v in verdicts if not v.label.startswith("backend")]
    line = (f"{len(verdicts) - len(cases)} backends and {len(cases)} cases compared, {len(gated)} gated, "
            f"{len(regressions)} regression{'' if len(regressions) == 1 else 's'}")
    if regressions:
        return line + ": " + ", ".join(f"{v.label} ({(v.change - 1) * 100:+.0f}%)" for v in regressions)
    unjudged = [v for v in verdicts if v.unjudged]
    if any(v.verdict.startswith("machine-wide") for v in unjudged):
        return line + ("; every backend was slower alike: the machine, or a change of all of them, cannot be told "
                       "apart from one run; measure again, and compare with --against on one machine")
    if unjudged:
        return line + (f"; the machine was contended: {len(unjudged)} gated case(s) could not be judged ("
                       + ", ".join(v.label for v in unjudged[:5]) + "); run the check again on a quiet machine")
    return line


def _describe(items: list[Measurement]) -> str:
    runs = sorted({run for m in items for run in m.run_id.split("+")})
    commits = sorted({m.git_commit[:12] for m in items})
    profiles = sorted({m.profile for m in items})
    shown = ", ".join(f"run {r}" for r in runs[:4]) + (f" and {len(runs) - 4} more" if len(runs) > 4 else "")
    return (f"{len(runs)} run{'s' if len(runs) != 1 else ''} ({shown}; {'/'.join(profiles)} profile, commit "
            f"{', '.join(commits)})")


def _software_note(baseline, current) -> str:
    cols = ("python", "numpy", "torch", "blas")
    a = {c: sorted(set(map(str, baseline[c].dropna()))) for c in cols}
    b = {c: sorted(set(map(str, current[c].dropna()))) for c in cols}
    differ = [f"{c} {','.join(a[c])} -> {','.join(b[c])}" for c in cols if a[c] != b[c]]
    return ("note: the software differs from the baseline's: " + "; ".join(differ)) if differ else ""


def report(baseline: list[Measurement], current: list[Measurement], thresholds: Thresholds, out,
           notes: tuple[str, ...] = ()) -> int:
    verdicts = compare(baseline, current, thresholds)
    print(f"baseline: {_describe(baseline)}", file=out)
    print(f"results:  {_describe(current)}", file=out)
    print(f"thresholds: {thresholds.source} ({thresholds.machine})", file=out)
    print(f"a regression: a backend's median change over its cases, or a case's change, beyond its A/A threshold, "
          f"and a one-sided Mann-Whitney test over repeats at p < {ALPHA}; cases with more than "
          f"{MAX_CONTENDED:.0%} contended rounds are not judged", file=out)
    for note in notes:
        print(note, file=out)
    print(file=out)
    print(format_table(verdicts), file=out)
    print(file=out)
    base_labels, current_labels = {m.key.label for m in baseline if m.ok}, {m.key.label for m in current if m.ok}
    missing = sorted(base_labels - current_labels)
    if missing:
        print(f"not in the results: {len(missing)} baseline case(s): {first_names(missing)}", file=out)
    unmeasured = sorted(current_labels - base_labels)  # e.g. a backend newer than this machine's baseline
    if unmeasured:
        print(f"no baseline time, not compared: {len(unmeasured)} case(s): {first_names(unmeasured)}", file=out)
    untimed: dict[tuple[str, str], list[str]] = {}
    for m in current:
        if not m.ok:
            untimed.setdefault((m.status, m.error), []).append(m.key.label)
    for (status, error), labels in untimed.items():
        print(f"{status} in the results, not compared: {len(labels)} case(s) ({', '.join(labels[:3])}"
              f"{', ...' if len(labels) > 3 else ''}): {error}", file=out)
    for where, why in sorted(suspects(current).items(), key=lambda kv: kv[0][2]):
        print(f"suspect in the results: {where[2].label}: {'; '.join(why)}", file=out)
    print(summary_line(verdicts), file=out)
    return exit_code(verdicts)


# -- the two ways to get a baseline --------------------------------------------------------------
def _one_machine(frame, what: str) -> MachineKey:
    found = machines(frame)
    if len(found) != 1:
        raise UsageError(f"{what} come from {len(found)} machines ({'; '.join(map(str, found))}); "
                         "check one machine's results at a time")
    return found[0]


def run_check(baseline: str | Path, results: list[str | Path], thresholds: str | Path | None = None,
              allow_other_machine: bool = False, skip_unknown_machine: bool = False, out=None) -> int:
    """Compare the newest run of every case in ``results`` with ``baseline`` (file or folder): every
    run of the results' machine kind in the baseline, pooled per case.

    skip_unknown_machine: where neither a baseline nor A/A thresholds exist for the results'
    machine kind, say so in one line and return 0 (CI on a machine kind nobody has measured yet).
    """
    out = out or sys.stdout
    current_frame = read_results(list(results))
    machine = _one_machine(current_frame, "results")
    current = measurements(current_frame)
    if not any(m.ok for m in current):
        raise UsageError(f"results {', '.join(map(str, results))}: no successful timed case (status ok)")
    base_frame = read_results([baseline])
    same = base_frame[(base_frame["cpu"] == machine.cpu) & (base_frame["cores"] == machine.cores)
                      & (base_frame["gpu"].fillna("") == machine.gpu)]
    notes = []
    if same.empty and skip_unknown_machine:
        print(f"no baseline for {machine} in {baseline}: nothing to compare on this machine kind; record a baseline "
              "and an A/A study here (README, Refreshing the baseline) to check it", file=out)
        return EXIT_OK
    if same.empty:
        others = machines(base_frame)
        if not allow_other_machine or len(others) != 1:
            raise UsageError(f"baseline {baseline} was measured on {'; '.join(map(str, others))}, the results on "
                             f"{machine}; times move between machines: record a baseline on this machine kind "
                             "(README, Refreshing the baseline), or pass --allow-other-machine to compare with one "
                             "other machine anyway")
        same = base_frame
        notes.append(f"note: baseline from another machine ({others[0]}); results: {machine}")
    software = _software_note(same, current_frame)
    if software:
        notes.append(software)
    base = _pooled(measurements(same, newest=False))
    if not any(m.ok for m in base):
        raise UsageError(f"baseline {baseline}: no successful timed case (status ok) for {machine}")
    beside = Path(baseline) if Path(baseline).is_dir() else Path(baseline).parent  # the study lives with its runs
    try:
        known = load_thresholds(thresholds or beside, machine)
    except UsageError:
        if not skip_unknown_machine:
            raise
        print(f"no A/A thresholds for {machine}: nothing can be gated on this machine kind; run the noise study here "
              "(README, Noise study) to check it", file=out)
        return EXIT_OK
    return report(base, current, known, out, tuple(notes))


def _git(args: list[str], cwd: Path) -> str:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                              timeout=120).stdout.strip()
    except subprocess.CalledProcessError as exc:
        raise UsageError(f"git {' '.join(args)}: {exc.stderr.strip().splitlines()[-1] if exc.stderr.strip() else exc}") \
            from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"git {' '.join(args)}: {exc}") from None


PAIRED_THRESHOLDS_DIR = Path("results/ab")


def run_against(rev: str, run_args: list[str], pairs: int = 6, thresholds: str | Path | None = None,
                keep: str | Path | None = None, budget: float = math.inf, out=None) -> int:
    """Time revision ``rev`` and the working tree in alternating runs (ABBA), then judge the pairs
    (``bench.paired``). While a gated quantity has too few usable pairs (a contended machine), one
    more pair is run, as long as it can start within ``budget`` seconds of the start.

    run_args: arguments for ``bench run`` (profile, models, backends).
    """
    out = out or sys.stdout
    if pairs < paired.MIN_PAIRS:
        raise UsageError(f"--pairs {pairs}: must be at least {paired.MIN_PAIRS}")
    root = Path(__file__).resolve().parent.parent
    commit = _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], root)
    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="vecbench-against-"))
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.glob("*-*.parquet")):
        raise UsageError(f"{folder}: holds results of another check already; --keep takes a new or empty folder")
    worktree = Path(tempfile.mkdtemp(prefix="vecbench-rev-")) / "tree"
    _git(["worktree", "add", "--detach", str(worktree), commit], root)
    start = time.monotonic()
    notes = []
    try:
        sides = {"base": worktree, "head": root}
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
            measured = paired.read_pairs(folder)
            if thresholds_found is None:
                thresholds_found = paired.load_paired_thresholds(thresholds or PAIRED_THRESHOLDS_DIR, measured.machine)
            verdicts = paired.judge(measured, thresholds_found)
            per_pair = (time.monotonic() - start) / done_pairs
            if not paired.cannot_say(verdicts) or time.monotonic() - start + per_pair > budget:
                break
            print(f"{len(paired.cannot_say(verdicts))} gated quantities have too few uncontended pairs: one more pair",
                  file=out, flush=True)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=root, capture_output=True)
    print(f"against {rev} ({commit[:12]}): {done_pairs} pairs of runs, alternating, in {time.monotonic() - start:.0f} s;"
          f" results in {folder}", file=out)
    print(f"thresholds: {thresholds_found.source} ({thresholds_found.machine}; A/A study, {thresholds_found.pairs} "
          f"pairs in CI)", file=out)
    print("a regression: a quantity's change (the median over pairs of head / base) beyond its A/A threshold, or a "
          "case that ran on the known-good side and not here; rounds contended by other work do not count", file=out)
    for note in notes:
        print(f"note: {note}", file=out)
    print(file=out)
    print(paired.format_verdicts(verdicts), file=out)
    print(file=out)
    if measured.new:
        print(f"not on the known-good side, not compared: {len(measured.new)} case(s): {first_names(measured.new)}",
              file=out)
    print(paired.summary(verdicts), file=out)
    return paired.exit_code(verdicts)


def compare_runs(base_runs: list[Path], head_runs: list[Path], thresholds: str | Path, out=None,
                 notes: tuple[str, ...] = ()) -> int:
    """Judge runs timed alternately on one machine: each side's runs pooled per case (every repeat
    of every run), against the A/A ``thresholds`` of that machine kind (the stored-baseline rule)."""
    head_frame = read_results(head_runs)
    machine = _one_machine(head_frame, "results")
    base = _pooled(measurements(read_results(base_runs), newest=False))
    head = _pooled(measurements(head_frame, newest=False))
    return report(base, head, load_thresholds(thresholds, machine), out or sys.stdout, notes)


def _pooled(items: list[Measurement]) -> list[Measurement]:
    groups: dict[CaseKey, list[Measurement]] = {}
    for m in items:
        groups.setdefault(m.key, []).append(m)
    return [pool(group) for group in groups.values()]


__all__ = ["run_check", "run_against", "compare_runs", "compare", "judge", "load_thresholds", "Thresholds", "Verdict"]
