"""``python -m bench check``: has a speedup ratio fallen below the baseline's?

Raw seconds move between machines, and between runs on a shared machine; a ratio of two cases
timed in the same run moves far less, because both sides saw the same machine. So the check
compares ratios, never raw times. For every case X present in both the baseline and the results
(key: model, config, backend, dtype, threads, batch_size) it forms, within one run:

* ``loops / X``: median seconds of the config's loops case (float64, 1 thread) over X's median,
  for every X other than loops itself, where that run has the loops case;
* ``numpy / torch-cpu``: numpy's median over torch-cpu's at the same config, dtype and threads.

The change is ``current / baseline - 1``. A ratio is a **regression** when both hold:

1. it fell by more than the tolerance: ``change < -tolerance``; the tolerance covers the drift
   from run to run that no single run's rounds can show, and is sized by the noise study
   (``bench.noise``, the README's "Noise study" section);
2. the fall is beyond the noise of the rounds: the upper end of the 95% percentile-bootstrap
   interval of ``current ratio / baseline ratio`` lies below ``1 - tolerance``. Each of the four
   medians (reference and case, baseline and current) is resampled from its own rounds, 2000
   times, from a generator seeded by the ratio's name, so a verdict is reproducible.

A ratio with a side of fewer than ``MIN_ROUNDS`` rounds (a slow loops case timed once or twice)
gives the bootstrap too little to resample, and an interval from it would look falsely certain.
Such a ratio is judged on its point change alone against the tolerance, and its verdict says so.
That is sound because the noise study sizes the tolerance from runs holding the same few-round
cases, so their run-to-run spread is inside it.

Rows: successful rounds of real models (not the harness's peak and noop). Of each results file,
only its newest run (the run_id whose rows end latest) counts, for the baseline and the results
alike; ratios are never formed across runs, and a ratio found in several files' newest runs is
taken from the newest of them.

Machine: the baseline's runs must come from the results' machine, by ``cpu`` and ``cores`` (the
hostname may differ, e.g. on CI). A baseline folder may hold one file per machine; the files of
the results' machine are used. None matching is an error unless ``allow_other_machine``.

Exit codes: 0 no regression; 1 at least one, each named; 2 (UsageError) unusable input: a
missing, corrupt, foreign or newer file, no shared case, no ratio to compare, another machine.
"""

from __future__ import annotations

import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import UsageError
from .results import read_results
from .summary import HARNESS_MODELS

# Largest accepted relative fall of a ratio, from the noise study in the README ("Noise study"):
# five quick runs of the same commit on this 2-core machine kind spread ratios of sub-millisecond
# cases by up to 68% between runs; `python -m bench noise results/noise` recommends 0.90 for a
# false alarm less often than once in 20 runs. Such a check catches only a ten-fold slowdown of
# a vectorized path; rerun the study and lower this where a quieter machine allows.
DEFAULT_TOLERANCE = 0.90
CONFIDENCE = 0.95  # of the bootstrap interval of current / baseline
RESAMPLES = 2000
MIN_ROUNDS = 3  # fewer rounds on any side of a ratio: judged on the tolerance alone

CASE_KEY = ("model", "config", "backend", "dtype", "threads", "batch_size")
LOOPS_REFERENCE = ("loops", "float64", 1)  # (backend, dtype, threads) of the loops rung


@dataclass(frozen=True)
class RatioKey:
    """A ratio: the case X (the denominator) and which reference rung is over it."""

    model: str
    config: str
    backend: str
    dtype: str
    threads: int
    batch_size: int
    reference: str  # "loops" or "numpy"

    @property
    def label(self) -> str:
        return f"{self.config} {self.reference} / {self.backend} {self.dtype} {self.threads}t"

    @property
    def case(self) -> tuple:
        return (self.model, self.config, self.backend, self.dtype, self.threads, self.batch_size)


@dataclass
class Ratio:
    """One ratio measured in one run: ``median(reference) / median(case)``.

    reference, case: seconds per step of every timed round, shape (rounds,).
    """

    key: RatioKey
    run_id: str
    reference: np.ndarray
    case: np.ndarray

    @property
    def value(self) -> float:
        return float(np.median(self.reference) / np.median(self.case))

    @property
    def rounds(self) -> int:
        """Rounds of the thinner side."""
        return min(len(self.reference), len(self.case))


@dataclass
class Comparison:
    key: RatioKey
    baseline: float
    current: float
    change: float  # current / baseline - 1
    interval: tuple[float, float] | None  # bootstrap interval of the change; None with too few rounds
    rounds: int  # rounds of the thinnest of the four sides
    regression: bool
    verdict: str


# -- rows and ratios ---------------------------------------------------------------------------
def timed_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Successful rounds of real models: the rows ratios are made of."""
    seconds = frame["seconds"].astype(float)
    ok = (frame["status"] == "ok").fillna(False).astype(bool)
    keep = ok & ~frame["model"].isin(HARNESS_MODELS) & np.isfinite(seconds) & (seconds > 0)
    return frame[keep.to_numpy(dtype=bool)]


def run_ends(frame: pd.DataFrame) -> pd.Series:
    """run_id -> timestamp of its last row."""
    return frame.groupby("run_id")["timestamp"].max()


def newest_run_per_file(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of each source file's newest run (the run whose rows end latest)."""
    ends = frame.groupby(["source_file", "run_id"])["timestamp"].max().rename("end").reset_index()
    newest = ends.sort_values("end").groupby("source_file").tail(1)
    keep = pd.MultiIndex.from_frame(newest[["source_file", "run_id"]])
    return frame[pd.MultiIndex.from_frame(frame[["source_file", "run_id"]]).isin(keep)]


def compute_ratios(frame: pd.DataFrame) -> list[Ratio]:
    """Every ratio of every run in ``frame``, each formed within its own run."""
    timed = timed_rows(frame)
    ratios = []
    for run_id, run in timed.groupby("run_id", sort=False):
        cases = {}
        for key, group in run.groupby(list(CASE_KEY), sort=True):
            model, config, backend, dtype, threads, batch = key
            cases[(str(model), str(config), str(backend), str(dtype), int(threads), int(batch))] = \
                group["seconds"].to_numpy(dtype=float)
        for (model, config, backend, dtype, threads, batch), seconds in cases.items():
            loops = cases.get((model, config, *LOOPS_REFERENCE, batch))
            if backend != "loops" and loops is not None:
                key = RatioKey(model, config, backend, dtype, threads, batch, "loops")
                ratios.append(Ratio(key, str(run_id), loops, seconds))
            numpy = cases.get((model, config, "numpy", dtype, threads, batch))
            if backend == "torch-cpu" and numpy is not None:
                key = RatioKey(model, config, backend, dtype, threads, batch, "numpy")
                ratios.append(Ratio(key, str(run_id), numpy, seconds))
    return ratios


def newest_ratios(frame: pd.DataFrame) -> dict[RatioKey, Ratio]:
    """One ratio per key: from the newest run that has it."""
    ends = run_ends(frame)
    chosen: dict[RatioKey, Ratio] = {}
    for ratio in sorted(compute_ratios(frame), key=lambda r: ends[r.run_id]):
        chosen[ratio.key] = ratio
    return chosen


# -- the decision ------------------------------------------------------------------------------
def bootstrap_change(baseline: Ratio, current: Ratio, resamples: int = RESAMPLES,
                     confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile bootstrap interval of ``current.value / baseline.value - 1``.

    The rounds of each of the four sides are resampled independently with replacement; the
    generator is seeded by the ratio's label, so the same files give the same interval.
    """
    rng = np.random.default_rng(zlib.crc32(baseline.key.label.encode()))

    def medians(seconds: np.ndarray) -> np.ndarray:  # (resamples,)
        picks = rng.integers(0, len(seconds), size=(resamples, len(seconds)))
        return np.median(seconds[picks], axis=1)

    current_ratio = medians(current.reference) / medians(current.case)
    baseline_ratio = medians(baseline.reference) / medians(baseline.case)
    tail = (1 - confidence) / 2
    low, high = np.quantile(current_ratio / baseline_ratio - 1, [tail, 1 - tail])
    return float(low), float(high)


def judge(baseline: Ratio, current: Ratio, tolerance: float) -> Comparison:
    """Compare one ratio with its baseline (see the module docstring for the rule)."""
    change = current.value / baseline.value - 1
    rounds = min(baseline.rounds, current.rounds)
    fell = change < -tolerance
    if rounds < MIN_ROUNDS:
        interval = None
        regression = fell
        note = f" ({rounds} round{'s' if rounds != 1 else ''}: tolerance only)"
    else:
        interval = bootstrap_change(baseline, current)
        regression = fell and interval[1] < -tolerance
        note = ""
    if regression:
        verdict = "REGRESSION"
    elif fell:
        verdict = "slower, within noise"
    elif change > tolerance:
        verdict = "faster"
    else:
        verdict = "ok"
    return Comparison(current.key, baseline.value, current.value, change, interval, rounds, regression,
                      verdict + note)


# -- inputs ------------------------------------------------------------------------------------
def _machines(frame: pd.DataFrame) -> list[tuple[str, int]]:
    pairs = frame[["cpu", "cores"]].drop_duplicates()
    return sorted((str(cpu), int(cores)) for cpu, cores in zip(pairs["cpu"], pairs["cores"]))


def _machine_text(machine: tuple[str, int]) -> str:
    return f"{machine[0]!r} with {machine[1]} cores"


def _files(frame: pd.DataFrame) -> str:
    return ", ".join(sorted(frame["source_file"].unique()))


def _load(paths: list[str | Path], what: str) -> pd.DataFrame:
    frame = newest_run_per_file(read_results(paths))
    if timed_rows(frame).empty:
        raise UsageError(f"{what} {_files(frame) or ' '.join(map(str, paths))}: no successful timed case "
                         "(status ok) in its newest run")
    return frame


def _match_machine(baseline: pd.DataFrame, results: pd.DataFrame,
                   allow_other_machine: bool) -> tuple[pd.DataFrame, str]:
    """The baseline rows measured on the results' machine, and a note when another was allowed."""
    current = _machines(results)
    if len(current) > 1:
        raise UsageError(f"results come from {len(current)} machines ({'; '.join(map(_machine_text, current))}); "
                         "check one machine's results at a time")
    machine = current[0]
    same = baseline[(baseline["cpu"] == machine[0]) & (baseline["cores"] == machine[1])]
    if not same.empty:
        return same, ""
    others = _machines(baseline)
    if not allow_other_machine:
        raise UsageError(f"baseline {_files(baseline)} was measured on {' / '.join(map(_machine_text, others))}, "
                         f"the results on {_machine_text(machine)}; ratios move between machines: record a baseline "
                         "on this machine, or pass --allow-other-machine to compare anyway")
    if len(others) > 1:
        raise UsageError(f"baseline {_files(baseline)} holds runs of {len(others)} machines, none of them the results' "
                         f"({_machine_text(machine)}); name one baseline file")
    return baseline, (f"note: baseline from another machine ({_machine_text(others[0])}; "
                      f"results: {_machine_text(machine)})")


def _run_text(frame: pd.DataFrame) -> str:
    parts = []
    for (source, run_id), rows in frame.groupby(["source_file", "run_id"], sort=True):
        first = rows.iloc[0]
        parts.append(f"{source} run {run_id} ({first['profile']} profile, {first['hostname']}, "
                     f"{first['cpu']}, {first['cores']} cores, commit {str(first['git_commit'])[:12]})")
    return "; ".join(parts)


# -- output ------------------------------------------------------------------------------------
def _ratio_text(value: float) -> str:
    return f"{value:,.0f}x" if value >= 100 else f"{value:.3g}x"


def _percent(change: float) -> str:
    return f"{change * 100:+.1f}%"


def format_table(comparisons: list[Comparison]) -> str:
    """One line per ratio: name, baseline, current, change, interval of the change, verdict."""
    header = ("ratio", "baseline", "current", "change", f"{CONFIDENCE:.0%} interval", "verdict")
    lines = [(c.key.label, _ratio_text(c.baseline), _ratio_text(c.current), _percent(c.change),
              f"[{c.interval[0] * 100:+.0f}%, {c.interval[1] * 100:+.0f}%]" if c.interval else "-", c.verdict)
             for c in comparisons]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]

    def row(cells):
        text = [cells[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(cells[1:5], widths[1:5])), cells[5]]
        return "  ".join(text)

    return "\n".join(row(cells) for cells in [header, *lines])


def summary_line(comparisons: list[Comparison], tolerance: float) -> str:
    regressions = [c for c in comparisons if c.regression]
    line = f"{len(comparisons)} ratios compared, {len(regressions)} regression{'' if len(regressions) == 1 else 's'}"
    if regressions:
        return line + ": " + ", ".join(f"{c.key.label} ({_percent(c.change)})" for c in regressions)
    return line + f" (tolerance {tolerance:.0%})"


# -- the command -------------------------------------------------------------------------------
def compare(baseline: pd.DataFrame, results: pd.DataFrame, tolerance: float) -> tuple[list[Comparison], list[str]]:
    """Comparisons of every ratio in both, and notes on what could not be compared."""
    base_cases = set(map(tuple, timed_rows(baseline)[list(CASE_KEY)].drop_duplicates().itertuples(index=False)))
    result_cases = set(map(tuple, timed_rows(results)[list(CASE_KEY)].drop_duplicates().itertuples(index=False)))
    if not base_cases & result_cases:
        raise UsageError(f"baseline ({_files(baseline)}) and results ({_files(results)}) share no case; baseline "
                         f"configs: {', '.join(sorted({c[1] for c in base_cases}))}; results configs: "
                         f"{', '.join(sorted({c[1] for c in result_cases}))}")
    base_ratios, result_ratios = newest_ratios(baseline), newest_ratios(results)
    shared = sorted(set(base_ratios) & set(result_ratios),
                    key=lambda k: (k.model, k.config, k.reference, k.backend, k.dtype, k.threads, k.batch_size))
    if not shared:
        raise UsageError("baseline and results share cases but no ratio: a ratio needs the config's loops case "
                         "(float64, 1 thread), or numpy and torch-cpu at the same dtype and threads, in one run")
    comparisons = [judge(base_ratios[k], result_ratios[k], tolerance) for k in shared]
    notes = []
    missing = sorted(set(base_ratios) - set(result_ratios), key=lambda k: k.label)
    if missing:
        notes.append(f"not in the results: {len(missing)} baseline ratio(s): "
                     + ", ".join(k.label for k in missing[:5]) + (", ..." if len(missing) > 5 else ""))
    untimed = results[(results["status"] != "ok") & ~results["model"].isin(HARNESS_MODELS)]
    for _, row in untimed.drop_duplicates(list(CASE_KEY)).iterrows():
        notes.append(f"{row['status']} in the results, not compared: {row['config']} {row['backend']} {row['dtype']} "
                     f"{row['threads']}t: {row['error']}")
    return comparisons, notes


def run_check(baseline: str | Path, results: list[str | Path], tolerance: float | None = None,
              allow_other_machine: bool = False, out=None) -> int:
    """Print the comparison of ``results`` with ``baseline``; 0 no regression, 1 regression(s).

    baseline: a results file or a folder of them (one per machine); results: files or folders.
    UsageError (exit 2) for unusable input.
    """
    out = out or sys.stdout
    tolerance = DEFAULT_TOLERANCE if tolerance is None else tolerance
    if not 0 < tolerance < 1:
        raise UsageError(f"--tolerance {tolerance}: must be a fraction between 0 and 1 (0.25 accepts a 25% fall)")
    base_frame = _load([baseline], "baseline")
    result_frame = _load(list(results), "results")
    base_frame, machine_note = _match_machine(base_frame, result_frame, allow_other_machine)
    comparisons, notes = compare(base_frame, result_frame, tolerance)
    print(f"baseline: {_run_text(base_frame)}", file=out)
    print(f"results:  {_run_text(result_frame)}", file=out)
    print(f"a regression: a ratio fell by more than {tolerance:.0%} and its {CONFIDENCE:.0%} bootstrap interval "
          f"lies wholly below -{tolerance:.0%}", file=out)
    if machine_note:
        print(machine_note, file=out)
    print(file=out)
    print(format_table(comparisons), file=out)
    print(file=out)
    for note in notes:
        print(note, file=out)
    print(summary_line(comparisons, tolerance), file=out)
    return 1 if any(c.regression for c in comparisons) else 0
