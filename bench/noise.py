"""The A/A study: how far each case moves between runs of unchanged code, and what follows.

Run ``python -m bench run --profile quick`` twenty or more times on one quiet machine kind (a file
per run, or all appended to one), then ``python -m bench noise RUNS... --write FILE``. Unlike the
check, which takes only the newest run of each case, the study uses every run. It prints and
writes:

* which estimator of a run's rounds (``stats.ESTIMATORS``) moves least between runs, and whether
  dividing out a per-run machine factor (``check.machine_factor``) makes the cases steadier;
* per case: its spread between runs (``sd_log``, the standard deviation of the log time), the
  largest fall between any two runs, and its **threshold**: the larger of the normal-model bound
  ``exp(z * sqrt(2) * sd_log)`` (a check compares two runs; ``z`` for a Bonferroni share of a 1-in-20
  false-alarm rate over the gated cases) and the largest change seen between any two runs. A case
  whose threshold exceeds ``check.GATE_LIMIT`` is named and not gated;
* the false-alarm rate of the whole check (thresholds plus the rank test), measured on every
  ordered pair of runs, and cross-validated: thresholds from the odd runs, alarms among the even;
* how often a 95% interval of one run (``stats.ratio_interval``, repeats then rounds) covers the
  time of an independent run: of each case's time, and of each case's speedup over its config's
  loops case.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from itertools import permutations
from pathlib import Path

import numpy as np
import pandas as pd

from . import stats
from .check import ALPHA, GATE_LIMIT, Thresholds, compare
from .errors import UsageError
from .measurement import CaseKey, MachineKey, Measurement, machines, measurements
from .results import read_results

MIN_RUNS = 3  # fewer runs say nothing about the spread between runs
ALARM_RATE = 0.05  # of the whole check, same code, same machine kind


def runs_by_case(paths: list[str | Path]) -> tuple[MachineKey, dict[str, dict[CaseKey, Measurement]]]:
    """The machine, and run_id -> {case: Measurement} for every ok case of every run."""
    frame = read_results(paths)
    found = machines(frame)
    if len(found) > 1:
        raise UsageError(f"the noise study takes runs of one machine kind; these files hold {len(found)}: "
                         + "; ".join(map(str, found)))
    runs: dict[str, dict[CaseKey, Measurement]] = {}
    for m in measurements(frame, newest=False):
        if m.ok:
            runs.setdefault(m.run_id, {})[m.key] = m
    if len(runs) < MIN_RUNS:
        raise UsageError(f"the noise study needs at least {MIN_RUNS} runs of the same code; "
                         f"{', '.join(map(str, paths))} hold(s) {len(runs)}")
    return found[0], runs


def _times(runs, estimator: str = stats.ESTIMATOR) -> pd.DataFrame:
    """Seconds per step: one row per run, one column per case (NaN where a run lacks it)."""
    table = {run: {key: stats.center(m.clean, estimator) for key, m in cases.items()} for run, cases in runs.items()}
    return pd.DataFrame.from_dict(table, orient="index")


def _factors(times: pd.DataFrame) -> pd.Series:
    """Per run: the median over cases of its time over the case's median time (machine speed)."""
    return (times / times.median(axis=0)).median(axis=1)


def spread(times: pd.DataFrame) -> pd.DataFrame:
    """Per case (rows): runs, median seconds, sd_log, largest change between two runs (a factor >= 1)."""
    logs = np.log(times)
    out = pd.DataFrame({
        "runs": times.notna().sum(axis=0),
        "median_s": times.median(axis=0),
        "sd_log": logs.std(axis=0, ddof=1),
        "max_change": np.exp(logs.max(axis=0) - logs.min(axis=0)),
    })
    return out[out["runs"] >= MIN_RUNS]


def thresholds_from(table: pd.DataFrame, alarm_rate: float = ALARM_RATE) -> pd.DataFrame:
    """``table`` (from ``spread``) with ``threshold``, ``gated`` and ``reason`` columns."""
    z = stats.normal_quantile(1 - alarm_rate / max(1, len(table)))
    parametric = np.exp(z * math.sqrt(2) * table["sd_log"])
    threshold = np.maximum(parametric, table["max_change"])
    gated = threshold <= GATE_LIMIT
    reasons = [("" if g else f"moves up to {m:.2f}x between runs of the same code (sd of log {s:.3f}); its "
                f"threshold {t:.2f}x exceeds {GATE_LIMIT}x")
               for g, m, s, t in zip(gated, table["max_change"], table["sd_log"], threshold)]
    return table.assign(threshold=threshold, gated=gated, reason=reasons)


def _as_thresholds(machine: MachineKey, table: pd.DataFrame, normalize: bool) -> Thresholds:
    cases = {key.label: {"threshold": float(row.threshold), "gated": bool(row.gated), "reason": row.reason}
             for key, row in table.iterrows()}
    return Thresholds(machine, cases, normalize, "study")


def alarm_rate(runs: dict, thresholds: Thresholds, run_ids: list[str]) -> tuple[float, int]:
    """Fraction of ordered pairs (baseline, current) of ``run_ids`` where the check would fail."""
    pairs = list(permutations(run_ids, 2))
    alarms = 0
    for base, current in pairs:
        verdicts, _ = compare(list(runs[base].values()), list(runs[current].values()), thresholds)
        alarms += any(v.regression for v in verdicts)
    return (alarms / len(pairs) if pairs else math.nan), len(pairs)


def coverage(runs: dict, resamples: int = 1000) -> dict[str, float]:
    """How often one run's 95% interval holds another run's value: case times, and speedups over loops."""
    ids = sorted(runs)
    hits = {"time": [], "speedup": []}
    for i in ids:
        for key, m in runs[i].items():
            loops = next((x for k, x in runs[i].items() if k.backend == "loops" and k.config == key.config
                          and k.batch_size == key.batch_size), None)
            interval = stats.center_interval(m.clean, m.clean_repeats, resamples=resamples)
            if interval is not None:
                hits["time"] += [interval.low <= runs[j][key].time <= interval.high
                                 for j in ids if j != i and key in runs[j]]
            if loops is not None and key.backend != "loops":
                ratio = stats.ratio_interval(loops.clean, loops.clean_repeats, m.clean, m.clean_repeats,
                                             resamples=resamples)
                if ratio is not None:
                    for j in ids:
                        other_loops = next((x for k, x in runs[j].items() if k.backend == "loops"
                                            and k.config == key.config and k.batch_size == key.batch_size), None)
                        if j != i and key in runs[j] and other_loops is not None:
                            hits["speedup"].append(ratio.low <= other_loops.time / runs[j][key].time <= ratio.high)
    return {k: float(np.mean(v)) if v else math.nan for k, v in hits.items()}


@dataclass
class Study:
    machine: MachineKey
    runs: int
    estimators: dict[str, float]  # estimator -> median sd_log over cases
    normalize: bool
    sd_raw: float
    sd_normalized: float
    table: pd.DataFrame  # per case, with thresholds
    alarm_in_sample: tuple[float, int]
    alarm_cross: tuple[float, int]
    coverage: dict[str, float]

    def thresholds(self) -> Thresholds:
        return _as_thresholds(self.machine, self.table, self.normalize)


def study(paths: list[str | Path], with_coverage: bool = True) -> Study:
    machine, runs = runs_by_case(paths)
    estimators = {e: float(spread(_times(runs, e))["sd_log"].median()) for e in stats.ESTIMATORS}
    times = _times(runs)
    raw = spread(times)
    normalized = spread(times.div(_factors(times), axis=0))
    normalize = bool(normalized["sd_log"].median() < raw["sd_log"].median())
    table = thresholds_from(normalized if normalize else raw)
    ids = sorted(runs, key=lambda r: min(m.ended for m in runs[r].values()))
    in_sample = alarm_rate(runs, _as_thresholds(machine, table, normalize), ids)
    train, test = ids[0::2], ids[1::2]
    train_times = times.loc[train]
    train_table = thresholds_from(spread(train_times.div(_factors(train_times), axis=0)) if normalize
                                  else spread(train_times))
    cross = alarm_rate(runs, _as_thresholds(machine, train_table, normalize), test)
    return Study(machine, len(runs), estimators, normalize, float(raw["sd_log"].median()),
                 float(normalized["sd_log"].median()), table.sort_values("threshold", ascending=False),
                 in_sample, cross, coverage(runs) if with_coverage else {})


def format_study(result: Study) -> str:
    lines = [f"A/A study: {result.runs} runs on {result.machine}", ""]
    lines.append("estimator of a run's rounds, median sd of log time between runs: "
                 + ", ".join(f"{e} {v:.4f}" for e, v in result.estimators.items()))
    lines.append(f"machine factor divided out: {'yes' if result.normalize else 'no'} (median sd of log: raw "
                 f"{result.sd_raw:.4f}, normalized {result.sd_normalized:.4f})")
    table = result.table.reset_index().rename(columns={"index": "case"})
    table["case"] = [k.label for k in result.table.index]
    shown = table.assign(median_s=table["median_s"].map(lambda v: f"{v:.4g}"),
                         sd_log=table["sd_log"].map(lambda v: f"{v:.3f}"),
                         max_change=table["max_change"].map(lambda v: f"{v:.2f}x"),
                         threshold=table["threshold"].map(lambda v: f"{v:.2f}x"),
                         gated=table["gated"].map(lambda g: "gated" if g else "NOT GATED"))
    lines += ["", shown[["case", "runs", "median_s", "sd_log", "max_change", "threshold", "gated"]].to_string(index=False),
              ""]
    gated = int(result.table["gated"].sum())
    lines.append(f"{gated} of {len(result.table)} cases gated (threshold <= {GATE_LIMIT}x); false alarms of the "
                 f"whole check (thresholds + Mann-Whitney p < {ALPHA}): in sample {result.alarm_in_sample[0]:.1%} of "
                 f"{result.alarm_in_sample[1]} ordered pairs of runs; cross-validated (thresholds from the odd runs, "
                 f"pairs of the even) {result.alarm_cross[0]:.1%} of {result.alarm_cross[1]}")
    if result.coverage:
        lines.append(f"95% intervals of one run covering an independent run: case times "
                     f"{result.coverage['time']:.0%}, speedups over loops {result.coverage['speedup']:.0%}")
    return "\n".join(lines)


def write_thresholds(result: Study, path: Path, command: str) -> None:
    data = {
        "made_by": command,
        "machine": {"cpu": result.machine.cpu, "cores": result.machine.cores, "gpu": result.machine.gpu},
        "runs": result.runs,
        "estimator": stats.ESTIMATOR,
        "normalize": result.normalize,
        "alpha": ALPHA,
        "gate_limit": GATE_LIMIT,
        "false_alarms": {"in_sample": result.alarm_in_sample[0], "cross_validated": result.alarm_cross[0]},
        "coverage": result.coverage,
        "cases": {key.label: {"threshold": round(float(row.threshold), 4), "gated": bool(row.gated),
                              "sd_log": round(float(row.sd_log), 5), "max_change": round(float(row.max_change), 4),
                              "runs": int(row.runs), "reason": row.reason}
                  for key, row in result.table.iterrows()},
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the thresholds there ({exc.strerror or exc})") from None


def run_noise(paths: list[str | Path], write: str | Path | None = None, out=None) -> int:
    """Print the study; with ``write``, save the thresholds the check reads (hook for ``bench noise``)."""
    out = out or sys.stdout
    if write is not None and Path(write).suffix != ".json":
        raise UsageError(f"--write {write}: the thresholds file must end in .json")
    result = study(paths)
    print(format_study(result), file=out)
    if write is not None:
        write_thresholds(result, Path(write), "python -m bench noise " + " ".join(map(str, paths)) + f" --write {write}")
        print(f"thresholds: {write}", file=out)
    return 0
