"""The verdicts of CI's regression check: two revisions timed in alternate runs of one job.

``bench check --against REV`` runs REV (the known-good side, ``base``) and the working tree
(``head``) in alternate processes, pair after pair, so that both sides see the same machine in the
same minutes: a drift of the machine's speed between days, which moves every backend by 20-44%,
moves both sides of a pair alike and cancels in their ratio (asv's ``continuous``, pyperf's worker
processes). Every figure here is a **log change per pair**, ``d = log(head time / base time)``, of
one quantity:

* a **case** (one backend, dtype, thread count and config): its time in the pair's two runs;
* a **backend**: the median of its cases' ``d`` in that pair (a change of a backend's code moves
  all its cases; one noisy case does not move the median);
* a **speedup** of the ladder at one config (numba over loops, numpy over loops, torch-cpu over
  numpy): ``d(faster rung) - d(slower rung)``, positive when the speedup shrank, so a speedup that
  shrinks is caught even when neither time crossed its own threshold;
* the **harness**: the no-op case (what timing one call costs).

A quantity's change is ``exp(median of d over the pairs)``; it regresses when that exceeds its
threshold. The threshold comes from an A/A study of this very command on unchanged code (``bench
noise --paired``): the spread of ``d`` between pairs of one job, ``sigma`` (``robust_sigma``: read
from the middle and from the slower side), so ``threshold = exp(Z x MARGIN x 1.2533 x sigma / sqrt(pairs))``: the median
of ``pairs`` normal values has 1.2533 x sigma / sqrt(pairs) as its standard deviation, ``Z`` is the
one-sided quantile that spreads ``FAMILY_ALARM`` over every gated quantity (Bonferroni), and
``MARGIN`` pays for sigma's own uncertainty and for heavy tails. A quantity whose threshold
exceeds ``GATE_LIMIT`` at the pairs run cannot see a 1.3x regression here: it is reported, not
gated, and the A/A study names it.

A pair counts for a case only where both runs timed it (status ok) with at most
``MAX_CONTENDED`` of its rounds contended (``bench.contention``: run-queue wait or steal, never CPU
over wall time alone). A case that ran on the known-good side and is skipped or failed (its
verification included) on the other is a regression.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import stats
from .errors import UsageError
from .measurement import CaseKey, MachineKey, Measurement, machines, measurements
from .results import empty_frame, read_results

FAMILY_ALARM = 0.05  # false alarms of the whole check on unchanged code, at most
MARGIN = 1.25  # on the A/A sigma: its own uncertainty over 20-odd pairs, and tails heavier than normal
MEDIAN_SD = 1.2533  # sd of the median of n normal values, times sqrt(n) / sigma
GATE_LIMIT = 1.3  # a threshold above this cannot see the 1.3x regression the check is built for
MIN_PAIRS = 3  # a quantity with fewer usable pairs is not judged
MAX_CONTENDED = 0.5  # a run whose case had more of its rounds contended does not count for that case
UNJUDGED_SHARE = 0.1  # at most this share of the gated cases may stay unjudged (every backend judged)
NOOP = "harness no-op"
# The ladder's speedups judged between the two sides: (slower rung, faster rung), each as
# (backend, dtype, threads: 1 or "all"), at every config where both ran.
SPEEDUPS = (
    (("loops", "float64", 1), ("numba", "float64", 1)),
    (("loops", "float64", 1), ("numpy", "float64", 1)),
    (("numpy", "float32", "all"), ("torch-cpu", "float32", "all")),
)


# -- what the runs give ----------------------------------------------------------------------------
@dataclass
class Pairs:
    """Per-pair log changes of every quantity, and what ran on one side only.

    ``changes[name]`` holds one entry per pair (NaN where that pair cannot count). ``lost`` names
    the cases that ran on the known-good side and not on the other, with why.
    """

    machine: MachineKey
    pairs: int
    changes: dict[str, np.ndarray]
    kinds: dict[str, str]  # name -> case, backend, speedup or harness
    lost: dict[str, str] = field(default_factory=dict)
    new: list[str] = field(default_factory=list)  # cases the known-good side did not run


def _by_label(frame) -> dict[str, Measurement]:
    found = {}
    for m in measurements(frame, harness=True):
        if m.key.model == "peak":
            continue
        found[NOOP if m.key.model == "noop" else m.key.label] = m
    return found


def _usable(m: Measurement | None) -> bool:
    return m is not None and m.ok and m.contended_share <= MAX_CONTENDED


def _speedup_cases(labels: dict[str, CaseKey], cores: int) -> dict[str, tuple[str, str]]:
    """Speedup name -> (slower case's label, faster case's label), for every config both ran."""
    out = {}
    by_rung = {(k.config, k.batch_size, k.backend, k.dtype, k.threads): label for label, k in labels.items()}
    configs = sorted({(k.config, k.batch_size) for k in labels.values()})
    for config, batch in configs:
        for slow, fast in SPEEDUPS:
            ends = []
            for backend, dtype, threads in (slow, fast):
                ends.append(by_rung.get((config, batch, backend, dtype, cores if threads == "all" else threads)))
            if all(ends):
                out[f"speedup {fast[0]} over {slow[0]} at {config}@{batch}"] = (ends[0], ends[1])
    return out


def pair_changes(base_runs: list, head_runs: list) -> Pairs:
    """The per-pair log changes of every case, backend, speedup and the harness.

    base_runs, head_runs: one results frame per run, pair ``i`` being ``base_runs[i]`` and
    ``head_runs[i]`` (timed one after the other).
    """
    if len(base_runs) != len(head_runs) or not base_runs:
        raise UsageError(f"paired runs: {len(base_runs)} known-good and {len(head_runs)} current runs; "
                         "each pair needs one of each")
    found = sorted({m for frame in head_runs if not frame.empty for m in machines(frame)})
    if len(found) != 1:
        raise UsageError(f"the current runs come from {len(found)} machines; a paired check runs on one")
    machine = found[0]
    base = [_by_label(f) for f in base_runs]
    head = [_by_label(f) for f in head_runs]
    n = len(base)
    labels = sorted({label for side in base for label, m in side.items() if m.ok})
    changes: dict[str, np.ndarray] = {}
    kinds: dict[str, str] = {}
    keys: dict[str, CaseKey] = {}
    lost: dict[str, str] = {}
    for label in labels:
        d = np.full(n, np.nan)
        for i in range(n):
            b, h = base[i].get(label), head[i].get(label)
            if b is not None and b.ok and (h is None or h.status != "ok"):
                lost[label] = (f"{h.status} here: {h.error}" if h is not None and h.error
                               else "not run here" if h is None else f"{h.status} here")
            if _usable(b) and _usable(h):
                d[i] = math.log(h.time / b.time)
        changes[label] = d
        kinds[label] = "harness" if label == NOOP else "case"
        if label != NOOP:
            keys[label] = next(side[label].key for side in base if label in side)
    backends = sorted({k.backend for k in keys.values()})
    for backend in backends:
        mine = [changes[label] for label, k in keys.items() if k.backend == backend]
        stacked = np.vstack(mine)
        counted = np.sum(~np.isnan(stacked), axis=0)
        with np.errstate(all="ignore"):
            median = np.array([np.nanmedian(col) if c else np.nan for col, c in zip(stacked.T, counted)])
        median[counted < (len(mine) + 1) // 2] = np.nan  # half its cases or more, or the pair does not count
        name = f"backend {backend} ({len(mine)} case{'' if len(mine) == 1 else 's'})"
        changes[name], kinds[name] = median, "backend"
    for name, (slow, fast) in _speedup_cases(keys, machine.cores).items():
        changes[name], kinds[name] = changes[fast] - changes[slow], "speedup"
    new = sorted({label for side in head for label, m in side.items() if m.ok} - set(labels))
    return Pairs(machine, n, changes, kinds, lost, new)


def read_pairs(folder: str | Path) -> Pairs:
    """The pairs a ``bench check --against --keep FOLDER`` left: ``base-<i>.parquet`` beside
    ``head-<i>.parquet``; a pair missing either file is left out."""
    folder = Path(folder)
    base_files = {p.stem.split("-", 1)[1]: p for p in folder.glob("base-*.parquet")}
    head_files = {p.stem.split("-", 1)[1]: p for p in folder.glob("head-*.parquet")}
    pairs = sorted(base_files, key=lambda s: (len(s), s))  # a pair is its known-good run, and what came beside it
    if not pairs or not head_files:
        raise UsageError(f"{folder}: no pair of base-N.parquet and head-N.parquet files")
    # A current run that left no file (it crashed before its first case ended) ran nothing: every
    # case of its pair is lost, which is a regression, not a pair to leave out.
    return pair_changes([read_results([base_files[i]]) for i in pairs],
                        [read_results([head_files[i]]) if i in head_files else empty_frame() for i in pairs])


# -- thresholds from the A/A study -----------------------------------------------------------------
def robust_sigma(values: np.ndarray) -> float:
    """A normal's sigma read from the pairs of an A/A study: the larger of 1.4826 x the median
    absolute deviation (the middle, not moved by one wild pair) and (85th percentile - median) /
    1.0364 (the slower side, where a one-sided check's false alarms come from). On the AMD kind the
    middle alone left two quantities with long slow tails that alarmed in 5% of checks drawn from
    the study; read from the slower side too, none did (README, The A/A study of CI's check)."""
    values = values[~np.isnan(values)]
    if values.size < MIN_PAIRS:
        return math.nan
    middle = float(np.median(values))
    return max(1.4826 * float(np.median(np.abs(values - middle))),
               (float(np.quantile(values, 0.85)) - middle) / 1.0364)


def z_for(gated: int) -> float:
    """The one-sided normal quantile that keeps ``gated`` verdicts together below FAMILY_ALARM."""
    return stats.normal_quantile(1 - FAMILY_ALARM / max(1, gated))


def threshold_for(sigma: float, pairs: int, z: float) -> float:
    """The change (a factor) that the median of ``pairs`` A/A log changes exceeds with probability
    about ``FAMILY_ALARM / gated``."""
    if not math.isfinite(sigma) or pairs < 1:
        return math.inf
    return math.exp(z * MARGIN * MEDIAN_SD * sigma / math.sqrt(pairs))


@dataclass(frozen=True)
class PairedThresholds:
    """The A/A study of the paired check on one machine kind: each quantity's sigma, and the
    number of pairs CI runs (which sets the thresholds and what is gated)."""

    machine: MachineKey
    sigmas: dict[str, float]
    pairs: int  # what CI runs: the thresholds below are for this many pairs
    source: str

    def gated_names(self, pairs: int) -> list[str]:
        """The quantities whose threshold at ``pairs`` pairs is at most GATE_LIMIT (the z of the
        gated family depends on how many are gated: settled by iteration from the widest)."""
        names = [n for n, s in self.sigmas.items() if math.isfinite(s)]
        while True:
            z = z_for(len(names))
            keep = [n for n in names if threshold_for(self.sigmas[n], pairs, z) <= GATE_LIMIT]
            if len(keep) == len(names):
                return keep
            names = keep

    def threshold(self, name: str, pairs: int) -> tuple[float, bool]:
        """(threshold at ``pairs`` pairs, gated)."""
        gated = self.gated_names(self.pairs)
        sigma = self.sigmas.get(name, math.nan)
        return threshold_for(sigma, pairs, z_for(len(gated))), name in gated


def study(pairs: Pairs, ci_pairs: int) -> dict:
    """The thresholds file of an A/A study (both sides the same code): every quantity's sigma."""
    sigmas = {name: robust_sigma(d) for name, d in pairs.changes.items()}
    return {
        "machine": {"cpu": pairs.machine.cpu, "cores": pairs.machine.cores, "gpu": pairs.machine.gpu},
        "pairs_in_study": pairs.pairs,
        "ci_pairs": ci_pairs,
        "rule": (f"threshold = exp(z x {MARGIN} x {MEDIAN_SD} x sigma / sqrt(pairs)); z spreads {FAMILY_ALARM} "
                 f"over the gated quantities; gated where the threshold at ci_pairs is at most {GATE_LIMIT}"),
        "sigma": {name: (None if not math.isfinite(s) else round(s, 6)) for name, s in sigmas.items()},
    }


def load_paired_thresholds(path: str | Path, machine: MachineKey) -> PairedThresholds:
    """The study of ``machine`` in ``path`` (a .json file or a folder of them). A machine kind
    without one is judged with the widest sigma any studied kind has for each quantity (saying so),
    never passed unjudged."""
    path = Path(path)
    files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
    studies = []
    for file in files:
        try:
            data = json.loads(file.read_text())
            own = MachineKey(str(data["machine"]["cpu"]), int(data["machine"]["cores"]), str(data["machine"]["gpu"]))
            sigmas = {str(k): (math.nan if v is None else float(v)) for k, v in data["sigma"].items()}
            studies.append(PairedThresholds(own, sigmas, int(data["ci_pairs"]), str(file)))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UsageError(f"{file}: not a vecbench paired thresholds file ({exc.__class__.__name__}: {exc})") \
                from None
    if not studies:
        raise UsageError(f"{path}: no paired A/A study (.json); make one with python -m bench noise --paired DIR "
                         "--write FILE")
    for found in studies:
        if found.machine == machine:
            return found
    names = {n for s in studies for n in s.sigmas}
    widest = {n: max((s.sigmas.get(n, math.nan) for s in studies), key=lambda v: -1 if math.isnan(v) else v)
              for n in names}
    return PairedThresholds(machine, widest, max(s.pairs for s in studies),
                            f"{', '.join(s.source for s in studies)} (another machine kind: the widest sigma of each)")


# -- verdicts ----------------------------------------------------------------------------------------
@dataclass
class PairedVerdict:
    name: str
    kind: str
    change: float  # exp(median log change); NaN when not judged
    threshold: float
    pairs: int  # usable pairs
    gated: bool
    verdict: str
    regression: bool = False
    unjudged: bool = False


def judge(pairs: Pairs, thresholds: PairedThresholds) -> list[PairedVerdict]:
    out = []
    order = {"backend": 0, "speedup": 1, "harness": 2, "case": 3}
    for name in sorted(pairs.changes, key=lambda n: (order[pairs.kinds[n]], n)):
        d = pairs.changes[name]
        usable = d[~np.isnan(d)]
        threshold, gated = thresholds.threshold(name, usable.size)
        change = float(math.exp(np.median(usable))) if usable.size else math.nan
        v = PairedVerdict(name, pairs.kinds[name], change, threshold, int(usable.size), gated, "ok")
        if name in pairs.lost:
            v.verdict, v.regression = f"REGRESSION: ran on the known-good side, {pairs.lost[name]}", True
        elif not gated:
            why = "no A/A spread" if name not in thresholds.sigmas else "A/A spread too wide for 1.3x"
            v.verdict = f"not gated: {why}"
        elif usable.size < MIN_PAIRS:
            v.verdict, v.unjudged = f"not judged: {usable.size} usable pair(s) of {pairs.pairs}", True
        elif change > threshold:
            v.verdict, v.regression = "REGRESSION", True
        elif change < 1 / threshold:
            v.verdict = "faster"
        out.append(v)
    return out


def exit_code(verdicts: list[PairedVerdict]) -> int:
    """0 no regression; 1 a regression; 3 no verdict: a backend, or more than UNJUDGED_SHARE of the
    gated cases, could not be judged."""
    if any(v.regression for v in verdicts):
        return 1
    return 3 if cannot_say(verdicts) else 0


def cannot_say(verdicts: list[PairedVerdict]) -> list[str]:
    """The unjudged verdicts that leave the check without a verdict (empty: it has one)."""
    unjudged = [v for v in verdicts if v.unjudged]
    gated_cases = [v for v in verdicts if v.gated and v.kind == "case"]
    if any(v.kind != "case" for v in unjudged):
        return [v.name for v in unjudged]
    if gated_cases and len(unjudged) > UNJUDGED_SHARE * len(gated_cases):
        return [v.name for v in unjudged]
    return []


def format_verdicts(verdicts: list[PairedVerdict]) -> str:
    header = ("quantity", "change", "threshold", "pairs", "verdict")
    rows = [(v.name, "-" if math.isnan(v.change) else f"{(v.change - 1) * 100:+.1f}%",
             f"{(v.threshold - 1) * 100:+.0f}%" if math.isfinite(v.threshold) else "-", str(v.pairs), v.verdict)
            for v in verdicts]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join([r[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(r[1:4], widths[1:4])), r[4]])
                     for r in [header, *rows])


def _changed(v: PairedVerdict) -> str:
    if v.verdict.startswith("REGRESSION:"):
        return "lost"
    return f"{(v.change - 1) * 100:+.0f}%"


def summary(verdicts: list[PairedVerdict]) -> str:
    regressions = [v for v in verdicts if v.regression]
    gated = [v for v in verdicts if v.gated]
    line = (f"{len(verdicts)} quantities compared ({len(gated)} gated), {len(regressions)} "
            f"regression{'' if len(regressions) == 1 else 's'}")
    if regressions:
        return line + ": " + "; ".join(f"{v.name} ({_changed(v)})" for v in regressions)
    missing = cannot_say(verdicts)
    if missing:
        return (line + f"; NO VERDICT: {len(missing)} gated quantities could not be judged (too few uncontended "
                f"pairs): {', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''}")
    unjudged = [v for v in verdicts if v.unjudged]
    if unjudged:
        line += (f"; {len(unjudged)} gated case(s) not judged (at most {UNJUDGED_SHARE:.0%} may be): "
                 + ", ".join(v.name for v in unjudged))
    return line


def false_alarms(pairs: Pairs, thresholds: PairedThresholds, draws: int = 1000,
                 seed: int = stats.SEED) -> tuple[int, int, list[str], float]:
    """The A/A study's pairs judged as CI would judge them, with the study's own thresholds (in
    sample, so optimistic): cut into consecutive checks of ``thresholds.pairs`` pairs (checks,
    checks with an alarm, what alarmed), and the share of ``draws`` checks of that many pairs drawn
    without replacement that alarm."""
    size = thresholds.pairs

    def alarmed(index) -> list[str]:
        part = Pairs(pairs.machine, size, {n: d[index] for n, d in pairs.changes.items()}, pairs.kinds)
        return [v.name for v in judge(part, thresholds) if v.regression]

    checks = pairs.pairs // size
    names = [alarmed(np.arange(k * size, (k + 1) * size)) for k in range(checks)]
    rng = np.random.default_rng(seed)
    drawn = [bool(alarmed(rng.choice(pairs.pairs, size, replace=False))) for _ in range(draws)] \
        if pairs.pairs > size else []
    return checks, sum(bool(n) for n in names), [x for n in names for x in n], \
        (float(np.mean(drawn)) if drawn else math.nan)


def _pooled(parts: list[Pairs]) -> Pairs:
    """Several jobs' pairs as one study, in job order (a quantity a job lacks is NaN there)."""
    names = sorted({n for p in parts for n in p.changes})
    changes = {n: np.concatenate([p.changes.get(n, np.full(p.pairs, np.nan)) for p in parts]) for n in names}
    kinds = {n: k for p in parts for n, k in p.kinds.items()}
    return Pairs(parts[0].machine, sum(p.pairs for p in parts), changes, kinds)


def _thresholds_of(data: dict, machine: MachineKey, ci_pairs: int, source: str) -> PairedThresholds:
    """The thresholds ``study`` wrote in ``data``, as the check reads them."""
    sigmas = {n: (math.nan if v is None else v) for n, v in data["sigma"].items()}
    return PairedThresholds(machine, sigmas, ci_pairs, source)


def run_paired_study(folders: list[str | Path], ci_pairs: int, write: str | Path | None = None, out=None) -> int:
    """``bench noise --paired``: the A/A study of CI's check from the pairs in ``folders`` (each a
    ``bench check --against --keep`` folder of unchanged code, pairs taken in folder order). Prints
    each quantity's sigma, its threshold at ``ci_pairs`` pairs and whether it is gated, and the
    false alarms of the study's own pairs cut into checks of ``ci_pairs``; writes the thresholds."""
    import sys  # noqa: PLC0415

    out = out or sys.stdout
    if ci_pairs < MIN_PAIRS:
        raise UsageError(f"--ci-pairs {ci_pairs}: must be at least {MIN_PAIRS}")
    parts = [read_pairs(folder) for folder in folders]
    if len({p.machine for p in parts}) != 1:
        raise UsageError("the folders come from more than one machine kind; study one kind at a time")
    everything = _pooled(parts)
    names, kinds = sorted(everything.changes), everything.kinds
    data = study(everything, ci_pairs)
    thresholds = _thresholds_of(data, everything.machine, ci_pairs, "this study")
    gated = set(thresholds.gated_names(ci_pairs))
    z = z_for(len(gated))
    print(f"A/A study of the paired check: {everything.pairs} pairs from {len(parts)} job(s) on {everything.machine}; "
          f"thresholds for {ci_pairs} pairs (z {z:.2f} over {len(gated)} gated quantities)", file=out)
    print(f"{'quantity':<58} {'sigma':>7} {'threshold':>9}  gated", file=out)
    for name in sorted(names, key=lambda n: (kinds[n], n)):
        sigma = thresholds.sigmas[name]
        t = threshold_for(sigma, ci_pairs, z)
        shown = f"{(t - 1) * 100:+.0f}%" if math.isfinite(t) else "-"
        why = "yes" if name in gated else f"no: cannot see {GATE_LIMIT}x here"
        print(f"{name:<58} {sigma:>7.3f} {shown:>9}  {why}", file=out)
    checks, alarms, which, rate = false_alarms(everything, thresholds)
    print(f"false alarms, in sample (the study's own thresholds): {alarms} of {checks} consecutive checks of "
          f"{ci_pairs} pairs" + (f" ({', '.join(which)})" if which else "")
          + (f"; {rate:.1%} of 1000 checks of {ci_pairs} pairs drawn from the study" if rate == rate else ""), file=out)
    # Out of sample: each job's pairs judged by the thresholds of the other jobs alone (another
    # session's), as CI's check of a new day is judged by thresholds from earlier ones.
    for folder, part in zip(folders, parts) if len(parts) > 1 else ():
        rest = _pooled([p for p in parts if p is not part])
        others = _thresholds_of(study(rest, ci_pairs), part.machine, ci_pairs, "the other jobs")
        checks, alarms, which, rate = false_alarms(part, others)
        print(f"false alarms, out of sample ({Path(folder).name} judged by the other jobs' thresholds): {alarms} of "
              f"{checks} consecutive checks of {ci_pairs} pairs" + (f" ({', '.join(which)})" if which else "")
              + (f"; {rate:.1%} of 1000 checks drawn from it" if rate == rate else ""), file=out)
    if write:
        target = Path(write)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(f"thresholds written to {target}", file=out)
    return 0
