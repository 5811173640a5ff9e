"""The A/A study: how far each case moves between runs of unchanged code, and what follows.

Run ``python -m bench run --profile quick`` twenty or more times on one quiet machine kind (a file
per run), then ``python -m bench noise RUNS... --write FILE``. Those runs, pooled, are the check's
baseline (``results/baseline/<machine>/``), and the study sizes the check's thresholds from them:

* which estimator of a run's rounds (``stats.ESTIMATORS``) moves least between runs;
* **leave one out**: each run against the pool of all the others, as the check compares a new
  run with the committed pool. Per case, the spread of ``run / pool`` (``sd_log``, the standard
  deviation of its log) and the largest slowdown seen; per backend, the same of the median over
  its cases. A threshold is the larger of the normal-model bound ``exp(z * sd_log)`` (``z`` for a
  Bonferroni share of a 1-in-20 false-alarm rate over every backend and case) and the largest
  slowdown seen widened by ``MARGIN`` on the log scale. A case or backend whose threshold exceeds
  ``GATE_LIMIT`` is named and not gated;
* the false-alarm rate of the whole check, cross-validated: each run judged by the full rule
  against the pool of the others, with thresholds sized from the others alone;
* how often a 95% interval of one run (``stats.ratio_interval``, repeats then rounds) covers the
  value of an independent run: of each case's time, and of each case's speedup over its config's
  loops case, and the widening that would make it 95%.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from implementations.registry import LOOP_BASELINE, role_of

from .. import stats
from ..errors import UsageError
from ..keys import CaseKey, MachineKey, machines
from ..measurement import Measurement, measurements, pool
from ..results import read_results
from .judge import ALPHA, compare
from .thresholds import Thresholds, stored_study_data, write_json

GATE_LIMIT = 1.4  # a case whose threshold exceeds this is not gated: it could not see a 1.5x slowdown
MIN_RUNS = 3  # fewer runs say nothing about the spread between runs
# A new run may move further than the worst of n runs seen: on the log scale the threshold is at
# least MARGIN x the largest slowdown seen. Chosen by cross-validation on the committed study (21
# runs, each against the pool of the others, thresholds from the others alone): with 2.0, 1 run of
# 21 raised a false alarm (mlp-mnist numpy float64 2t); with 2.5, none, and every backend is still
# gated below 1.34x.
MARGIN = 2.5
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


def _pools(runs: dict, ids: list[str]) -> dict[CaseKey, Measurement]:
    """Every case of the runs ``ids``, pooled as the check pools a baseline."""
    groups: dict[CaseKey, list[Measurement]] = {}
    for run in ids:
        for key, m in runs[run].items():
            groups.setdefault(key, []).append(m)
    return {key: pool(group) for key, group in groups.items()}


def leave_one_out(runs: dict, ids: list[str]) -> pd.DataFrame:
    """``run / pool of the other runs`` per case: one row per run of ``ids``, one column per case."""
    table = {}
    for run in ids:
        others = _pools(runs, [r for r in ids if r != run])
        table[run] = {key: m.time / others[key].time for key, m in runs[run].items() if key in others}
    return pd.DataFrame.from_dict(table, orient="index")


def _backend_changes(changes: pd.DataFrame) -> pd.DataFrame:
    """Per run, the median over each backend's cases of the cases' changes."""
    by_backend: dict[str, list] = {}
    for key in changes.columns:
        by_backend.setdefault(key.backend, []).append(key)
    return pd.DataFrame({backend: changes[keys].median(axis=1) for backend, keys in sorted(by_backend.items())})


def thresholds_from(changes: pd.DataFrame, checks: int, alarm_rate: float = ALARM_RATE) -> pd.DataFrame:
    """Per column of ``changes`` (leave-one-out changes of cases or backends): runs, sd_log, the largest
    slowdown seen, the threshold, whether it is gated and why not. ``checks``: the backends and cases
    one check judges, over which the false-alarm rate is shared (Bonferroni)."""
    logs = np.log(changes)
    z = stats.normal_quantile(1 - alarm_rate / max(1, checks))
    table = pd.DataFrame({"runs": changes.notna().sum(axis=0), "sd_log": logs.std(axis=0, ddof=1),
                          "max_change": np.exp(logs.max(axis=0))})
    table = table[table["runs"] >= MIN_RUNS]
    threshold = np.maximum(np.exp(z * table["sd_log"]), table["max_change"] ** MARGIN)
    gated = threshold <= GATE_LIMIT
    reasons = [("" if g else f"moves up to {m:.2f}x against the pool of the other runs (sd of log {s:.3f}); its "
                f"threshold {t:.2f}x exceeds {GATE_LIMIT}x")
               for g, m, s, t in zip(gated, table["max_change"], table["sd_log"], threshold)]
    return table.assign(threshold=threshold, gated=gated, reason=reasons)


def _as_thresholds(machine: MachineKey, cases: pd.DataFrame, backends: pd.DataFrame) -> Thresholds:
    def entries(table, name):
        return {name(k): {"threshold": float(r.threshold), "gated": bool(r.gated), "reason": r.reason}
                for k, r in table.iterrows()}

    return Thresholds(machine, entries(cases, lambda k: k.label), entries(backends, str), "study")


def _sized(runs: dict, ids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(case thresholds, backend thresholds) from the runs ``ids`` alone."""
    changes = leave_one_out(runs, ids)
    backends = _backend_changes(changes)
    checks = changes.shape[1] + backends.shape[1]
    return thresholds_from(changes, checks), thresholds_from(backends, checks)


def cross_validated_alarms(runs: dict, ids: list[str]) -> tuple[int, int, list[str]]:
    """Each run judged by the whole check against the pool of the others, with thresholds sized from
    the others alone: (runs with an alarm, runs, what raised each alarm)."""
    alarms, why = 0, []
    for run in ids:
        others = [r for r in ids if r != run]
        cases, backends = _sized(runs, others)
        verdicts = compare(list(_pools(runs, others).values()), list(runs[run].values()),
                           _as_thresholds(MachineKey("", 0), cases, backends))
        flagged = [v.name for v in verdicts if v.regression]
        alarms += bool(flagged)
        why += [f"{run}: {', '.join(flagged)}"] if flagged else []
    return alarms, len(ids), why


def _needed(point: float, interval: stats.Interval, value: float) -> float:
    """The widening (log scale) at which ``interval`` around ``point`` would just hold ``value``."""
    bound = interval.high if value >= point else interval.low
    span = abs(math.log(bound / point))
    distance = abs(math.log(value / point))
    return distance / span if span > 0 else (0.0 if distance == 0 else math.inf)


def _loops_of(cases: dict, key: CaseKey):
    return next((m for k, m in cases.items() if role_of(k.backend) == LOOP_BASELINE and k.config == key.config
                 and k.batch_size == key.batch_size), None)


def coverage(runs: dict, resamples: int = 1000) -> dict[str, float]:
    """How often one run's 95% interval holds another run's value, for case times and for speedups
    over the config's loops case: with ``stats.WIDENING`` (``time``, ``speedup``), unwidened
    (``raw_time``, ``raw_speedup``), and the widening that would make it 95% (``needed_time``,
    ``needed_speedup``)."""
    ids = sorted(runs)
    needed = {"time": [], "speedup": []}
    for i in ids:
        for key, m in runs[i].items():
            interval = stats.center_interval(m.clean, m.clean_repeats, resamples=resamples, widen=1.0)
            if interval is not None:
                needed["time"] += [_needed(m.time, interval, runs[j][key].time)
                                   for j in ids if j != i and key in runs[j]]
            loops = _loops_of(runs[i], key)
            if loops is None or role_of(key.backend) == LOOP_BASELINE:
                continue
            ratio = stats.ratio_interval(loops.clean, loops.clean_repeats, m.clean, m.clean_repeats,
                                         resamples=resamples, widen=1.0)
            if ratio is None:
                continue
            for j in ids:
                other = _loops_of(runs[j], key)
                if j != i and key in runs[j] and other is not None:
                    needed["speedup"].append(_needed(loops.time / m.time, ratio, other.time / runs[j][key].time))
    out: dict[str, float] = {}
    for name, values in needed.items():
        v = np.array(values)
        widening = stats.TIME_WIDENING if name == "time" else stats.WIDENING
        out[name] = float(np.mean(v <= widening)) if v.size else math.nan
        out[f"raw_{name}"] = float(np.mean(v <= 1.0)) if v.size else math.nan
        out[f"needed_{name}"] = float(np.quantile(v[np.isfinite(v)], 0.95)) if v.size else math.nan
    return out


@dataclass
class Study:
    machine: MachineKey
    runs: int
    estimators: dict[str, float]  # estimator -> median sd_log between runs over cases
    cases: pd.DataFrame  # per case, with thresholds
    backends: pd.DataFrame  # per backend, with thresholds
    alarms: tuple[int, int, list[str]]  # cross-validated: runs with an alarm, runs, what
    coverage: dict[str, float]

    def thresholds(self) -> Thresholds:
        return _as_thresholds(self.machine, self.cases, self.backends)


def study(paths: list[str | Path], with_coverage: bool = True) -> Study:
    machine, runs = runs_by_case(paths)
    logs = {e: np.log(_times(runs, e)) for e in stats.ESTIMATORS}
    estimators = {e: float(v.std(axis=0, ddof=1).median()) for e, v in logs.items()}
    ids = sorted(runs, key=lambda r: min(m.ended for m in runs[r].values()))
    cases, backends = _sized(runs, ids)
    return Study(machine, len(runs), estimators, cases.sort_values("threshold", ascending=False), backends,
                 cross_validated_alarms(runs, ids), coverage(runs) if with_coverage else {})


def _shown(table: pd.DataFrame, names: list[str], first: str) -> str:
    shown = pd.DataFrame({first: names, "runs": table["runs"].to_numpy(),
                          "sd_log": [f"{v:.3f}" for v in table["sd_log"]],
                          "max_change": [f"{v:.2f}x" for v in table["max_change"]],
                          "threshold": [f"{v:.2f}x" for v in table["threshold"]],
                          "gated": ["gated" if g else "NOT GATED" for g in table["gated"]]})
    return shown.to_string(index=False)


def format_study(result: Study) -> str:
    lines = [f"A/A study: {result.runs} runs on {result.machine}", ""]
    lines.append("estimator of a run's rounds, median sd of log time between runs: "
                 + ", ".join(f"{e} {v:.4f}" for e, v in result.estimators.items()))
    lines += ["", "each run against the pool of the others (leave one out):", "",
              _shown(result.backends, [str(b) for b in result.backends.index], "backend"), "",
              _shown(result.cases, [k.label for k in result.cases.index], "case"), ""]
    gated = int(result.cases["gated"].sum())
    alarms, total, why = result.alarms
    lines.append(f"{int(result.backends['gated'].sum())} of {len(result.backends)} backends and {gated} of "
                 f"{len(result.cases)} cases gated (threshold <= {GATE_LIMIT}x); false alarms of the whole check "
                 f"(thresholds + Mann-Whitney p < {ALPHA}), each run against the pool of the others with thresholds "
                 f"sized from the others alone: {alarms} of {total} runs")
    lines += [f"  alarm: {w}" for w in why]
    if result.coverage:
        c = result.coverage
        lines.append(f"95% intervals of one run covering an independent run (widened {stats.TIME_WIDENING:g} and "
                     f"{stats.WIDENING:g}): case times {c['time']:.0%}, speedups over loops {c['speedup']:.0%}; "
                     f"unwidened {c['raw_time']:.0%} "
                     f"and {c['raw_speedup']:.0%}; widening that would give 95%: {c['needed_time']:.2f} (times), "
                     f"{c['needed_speedup']:.2f} (speedups)")
    return "\n".join(lines)


def _entry(row) -> dict:
    return {"threshold": round(float(row.threshold), 4), "gated": bool(row.gated), "sd_log": round(float(row.sd_log), 5),
            "max_change": round(float(row.max_change), 4), "runs": int(row.runs), "reason": row.reason}


def write_thresholds(result: Study, path: Path, command: str) -> None:
    header = {
        "made_by": command,
        "runs": result.runs,
        "estimator": stats.ESTIMATOR,
        "alpha": ALPHA,
        "gate_limit": GATE_LIMIT,
        "false_alarms": {"runs_with_an_alarm": result.alarms[0], "runs": result.alarms[1], "which": result.alarms[2]},
        "coverage": result.coverage,
    }
    write_json(path, stored_study_data(result.machine, header,
                                       {str(name): _entry(row) for name, row in result.backends.iterrows()},
                                       {key.label: _entry(row) for key, row in result.cases.iterrows()}))


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
