"""The A/A and power studies of CI's check as a reader sees them in docs/regression-check.md: tables
generated from a study folder's committed files (``python -m bench docs``), never typed.

A study folder (``results/ab/<machine>/``) holds what the commands printed and wrote:

* ``aa-<date>/``: an A/A job's pairs (``bench check --against HEAD --keep``), and its printout
  ``check.txt`` where one was kept;
* ``study.txt``: ``bench noise --paired`` over every A/A job (``paired_study``: each quantity's
  sigma and whether it is gated, the false alarms in sample and each job's out of sample);
  ``study-<job>.txt``: the same over that job alone;
* ``thresholds.json``: the thresholds CI reads (``thresholds``);
* ``power-<fault>-<time>/``: a planted fault's check (``studies/check_power.py``), its printout
  ``check.txt`` headed by the fault and the exit code.

The printouts are read here because they are what the check and the study said when they ran (the
power checks before the second A/A job were judged by the thresholds of that time, and the false
alarms take a minute of resampling to recompute); their formats are those of ``render`` and
``paired_study``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from .thresholds import GATE_LIMIT, load_paired_thresholds, threshold_for, z_for

_STUDY_HEAD = re.compile(r"A/A study of the paired check: (?P<pairs>\d+) pairs from (?P<jobs>\d+) job\(s\) on .+; "
                         r"thresholds for (?P<ci>\d+) pairs \(z [\d.]+ over (?P<gated>\d+) gated quantities\)")
_STUDY_ROW = re.compile(r"(?P<name>\S.*?)\s+(?P<sigma>[\d.]+|nan)\s+(?:[+-]\d+%|-)\s\s(?P<gated>yes|no: .*)")
_ALARMS = re.compile(r"false alarms, (?:in sample \(the study's own thresholds\)|out of sample \((?P<job>\S+) judged "
                     r"by the other jobs' thresholds\)): (?P<alarms>\d+) of (?P<checks>\d+) consecutive checks of "
                     r"(?P<size>\d+) pairs(?: \([^;]*\))?(?:; (?P<rate>[\d.]+)% of (?P<draws>\d+) checks)?")
_CHECK_ROW = re.compile(r"(?P<name>\S.*?)\s+(?P<change>[+-][\d.]+%|-)\s+(?:[+-]\d+%|-)\s+(?P<pairs>\d+)\s\s(?P<verdict>.+)")
_CHECK_SUMMARY = re.compile(r"(?P<compared>\d+) quantities compared \((?P<gated>\d+) gated\), (?P<regressions>\d+) regression")
_EXITS = {0: "0, not caught", 1: "1, caught", 3: "3, no verdict"}


def kind_of(name: str) -> str:
    """A quantity's kind from its printed name (``bench.regression.pairs`` names them)."""
    return "harness" if name.startswith("harness") else name.split()[0] if name.startswith(("backend ", "speedup ")) \
        else "case"


@dataclass
class Alarms:
    """One false-alarms line of a study printout."""
    alarms: int
    checks: int
    size: int
    rate: float  # share of the drawn checks that alarmed (NaN where none were drawn)
    draws: int

    def text(self) -> str:
        drawn = f" and {self.rate:.1%} of {self.draws} drawn checks" if self.draws else ""
        return (f"{self.alarms} of {self.checks} consecutive check{'' if self.checks == 1 else 's'} of {self.size} "
                f"pairs{drawn} alarmed")


@dataclass
class StudyPrintout:
    """What ``bench noise --paired`` printed (``study.txt``)."""
    pairs: int
    ci_pairs: int
    gated: int
    gated_by_name: dict[str, bool]
    in_sample: Alarms
    out_of_sample: dict[str, Alarms] = field(default_factory=dict)  # job folder -> its line


@dataclass
class CheckPrintout:
    """What a paired check printed (``check.txt``): each quantity's change (NaN where none), its
    usable pairs and verdict, and the summary's counts."""
    fault: str
    exit: int | None
    changes: dict[str, float]
    pairs: dict[str, int]
    verdicts: dict[str, str]
    gated: int
    regressions: int
    runs: int  # the pairs of runs the check made


def _read(path: Path) -> str:
    if not path.is_file():
        raise UsageError(f"{path}: no such study file")
    return path.read_text(encoding="utf-8")


def _alarms(match: re.Match) -> Alarms:
    rate = match["rate"]
    return Alarms(int(match["alarms"]), int(match["checks"]), int(match["size"]),
                  float(rate) / 100 if rate else math.nan, int(match["draws"] or 0))


def read_study(path: Path) -> StudyPrintout:
    text = _read(path)
    head = _STUDY_HEAD.search(text)
    lines = text.splitlines()
    if head is None or not any(line.startswith("false alarms, in sample") for line in lines):
        raise UsageError(f"{path}: not a printout of bench noise --paired")
    rows = {m["name"]: m["gated"] == "yes" for m in map(_STUDY_ROW.fullmatch, lines) if m}
    found = [_ALARMS.match(line) for line in lines if line.startswith("false alarms")]
    in_sample = next(_alarms(m) for m in found if m and m["job"] is None)
    return StudyPrintout(int(head["pairs"]), int(head["ci"]), int(head["gated"]), rows, in_sample,
                         {m["job"]: _alarms(m) for m in found if m and m["job"]})


def read_check(path: Path) -> CheckPrintout:
    text = _read(path)
    summary = _CHECK_SUMMARY.search(text)
    if summary is None:
        raise UsageError(f"{path}: not a printout of bench check (no summary line)")
    rows = [m for m in map(_CHECK_ROW.fullmatch, text.splitlines()) if m and m["name"] != "quantity"]
    fault = re.search(r"^# fault (\S+):", text, re.MULTILINE)
    code = re.search(r"^# exit (\d+)$", text, re.MULTILINE)
    runs = re.search(r"^against .*?: (\d+) pairs of runs", text, re.MULTILINE)
    return CheckPrintout(fault[1] if fault else "", int(code[1]) if code else None,
                         {m["name"]: math.nan if m["change"] == "-" else float(m["change"][:-1]) / 100 + 1 for m in rows},
                         {m["name"]: int(m["pairs"]) for m in rows}, {m["name"]: m["verdict"] for m in rows},
                         int(summary["gated"]), int(summary["regressions"]),
                         int(runs[1]) if runs else max((int(m["pairs"]) for m in rows), default=0))


def _percent(factor: float) -> str:
    return f"{(factor - 1) * 100:+.0f}%"


def _folders(study: Path, prefix: str) -> list[Path]:
    found = sorted(p for p in study.glob(f"{prefix}-*") if p.is_dir())
    if not found:
        raise UsageError(f"{study}: no {prefix}-* folders")
    return found


def _pairs_in(folder: Path) -> int:
    return len(list(folder.glob("base-*.parquet")))


# -- the A/A study ---------------------------------------------------------------------------------
def aa_table(study: Path) -> tuple[list[str], list[list[str]]]:
    """One row per A/A job (its own study where ``study-<job>.txt`` holds one, its out-of-sample
    verdict from ``study.txt``, its own check where ``check.txt`` was kept), then CI's thresholds
    pooled from every job (``thresholds.json``) with their in-sample false alarms."""
    pooled = read_study(study / "study.txt")
    rows = []
    for job in _folders(study, "aa"):
        said = []
        own = study / f"study-{job.name}.txt"
        if own.is_file():
            alone = read_study(own)
            said.append(f"its own thresholds: {alone.gated} of {len(alone.gated_by_name)} quantities gated at "
                        f"{alone.ci_pairs} pairs; in sample {alone.in_sample.text()}")
        if job.name in pooled.out_of_sample:
            said.append(f"judged by the other jobs' thresholds (out of sample): {pooled.out_of_sample[job.name].text()}")
        if (job / "check.txt").is_file():
            check = read_check(job / "check.txt")
            said.append(f"its own check at {check.runs} pairs, by the thresholds of its time ({check.gated} gated): "
                        f"{check.regressions} regression{'' if check.regressions == 1 else 's'}")
        rows.append([f"`{job.name}`", str(_pairs_in(job)), "; ".join(said) or "-"])
    thresholds = _ci_thresholds(study)
    gated = thresholds.gated_names(thresholds.pairs)
    z = z_for(len(gated))
    backends = sorted(n for n in thresholds.sigmas if kind_of(n) == "backend")
    shown = ", ".join(f"{n.split()[1]} {_percent(threshold_for(thresholds.sigmas[n], thresholds.pairs, z))}"
                      for n in backends if n in gated)
    which = "every backend" if all(n in gated for n in backends) else "backends"
    count = {kind: sum(kind_of(n) == kind for n in gated) for kind in ("case", "speedup", "harness")}
    rows.append(["all jobs (CI's thresholds)", str(pooled.pairs),
                 f"{len(gated)} of {len(thresholds.sigmas)} quantities gated at {thresholds.pairs} pairs: {which} "
                 f"({shown}), {count['case']} cases, {count['speedup']} speedups"
                 + (", the harness" if count["harness"] else "") + f"; in sample {pooled.in_sample.text()}"])
    return ["job", "pairs", "what it shows"], rows


def _ci_thresholds(study: Path):
    import json  # noqa: PLC0415

    path = study / "thresholds.json"
    if not path.is_file():
        raise UsageError(f"{path}: no such thresholds file")
    machine = json.loads(path.read_text())["machine"]
    from ..keys import MachineKey  # noqa: PLC0415

    return load_paired_thresholds(path, MachineKey(machine["cpu"], int(machine["cores"]), machine["gpu"]))


def _span(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:.2f}" if f"{low:.2f}" == f"{high:.2f}" else f"{low:.2f}-{high:.2f}"


def ungated_summary(study: Path) -> str:
    """What CI's thresholds leave ungated (their threshold at CI's pairs over GATE_LIMIT), by kind,
    with their sigma."""
    thresholds = _ci_thresholds(study)
    gated = set(thresholds.gated_names(thresholds.pairs))
    out = {kind: sorted(n for n in thresholds.sigmas if n not in gated and kind_of(n) == kind)
           for kind in ("backend", "harness", "case", "speedup")}
    sigma = thresholds.sigmas
    parts = [f"backend {n.split()[1]} (sigma {sigma[n]:.2f})" for n in out["backend"]]
    parts += [f"the harness's no-op (sigma {sigma[n]:.2f})" for n in out["harness"]]
    two = [n for n in out["case"] if n.endswith(" 2t")]
    one = [n for n in out["case"] if not n.endswith(" 2t")]
    if out["case"]:
        parts.append(f"{len(out['case'])} cases (sigma {_span([sigma[n] for n in out['case']])}), {len(two)} of them "
                     f"on two threads" + (f", and on one thread {', '.join(one)}" if one else ""))
    if out["speedup"]:
        parts.append(f"{len(out['speedup'])} speedups: " + ", ".join(n.removeprefix("speedup ") for n in out["speedup"]))
    backends = "every backend" if not out["backend"] else "backends but those below"
    return (f"At {thresholds.pairs} pairs CI's thresholds (`thresholds.json`; the \"no\" rows of `study.txt`) gate "
            f"{backends} and leave ungated, their threshold over {GATE_LIMIT}x: " + ("; ".join(parts) or "nothing") + ".")


# -- the power study -------------------------------------------------------------------------------
def _said(check: CheckPrintout) -> str:
    """A power check's verdict in a line: each backend's change, flagged or not, the regressions
    by kind (each speedup named, the largest case), and whether any pair was lost to contention."""
    backends = [n for n in check.changes if kind_of(n) == "backend"]
    flagged = [n for n in backends if check.verdicts[n].startswith("REGRESSION")]

    def shown(names):
        return ", ".join(f"{n.split()[1]} {_percent(check.changes[n])}" for n in names)

    out = [f"flagged: {shown(flagged) or 'no backend'}"]
    if len(flagged) < len(backends):
        out[0] += f"; not flagged: {shown([n for n in backends if n not in flagged])}"
    regressed = [n for n in check.changes if check.verdicts[n].startswith("REGRESSION")]
    speedups = [n for n in regressed if kind_of(n) == "speedup"]
    cases = [n for n in regressed if kind_of(n) == "case"]
    by_backend: dict[str, int] = {}
    for name in cases:
        backend = name.split()[1]
        by_backend[backend] = by_backend.get(backend, 0) + 1
    line = f"{check.regressions} regression{'' if check.regressions == 1 else 's'}"
    detail = [f"{len(flagged)} backend{'' if len(flagged) == 1 else 's'}"]
    detail += [f"{n.removeprefix('speedup ')} {_percent(check.changes[n])}" for n in speedups]
    if cases:
        largest = max(cases, key=lambda n: check.changes[n])
        detail.append(f"{len(cases)} cases ({', '.join(f'{b} {k}' for b, k in sorted(by_backend.items()))}; the "
                      f"largest {largest} {_percent(check.changes[largest])})")
    out.append(line + ": " + ", ".join(detail))
    short = sum(p < check.runs for p in check.pairs.values())
    out.append(f"every quantity on all {check.runs} pairs (none contended)" if not short
               else f"{short} quantities on fewer than {check.runs} pairs (contended or not run)")
    return "; ".join(out)


def power_table(study: Path) -> tuple[list[str], list[list[str]]]:
    """One row per planted-fault check (``power-*/check.txt``), in folder order (by fault, then
    time): its folder, fault, pairs, the quantities its thresholds gated, exit, and what it said."""
    rows = []
    for folder in _folders(study, "power"):
        check = read_check(folder / "check.txt")
        code = "-" if check.exit is None else _EXITS.get(check.exit, str(check.exit))
        rows.append([f"`{folder.name}`", f"`{check.fault}`", str(_pairs_in(folder)),
                     f"{check.gated} of {len(check.changes)}", code, _said(check)])
    return ["check (folder)", "fault", "pairs", "gated", "exit", "what the check said"], rows
