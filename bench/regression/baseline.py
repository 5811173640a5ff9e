"""``bench check --baseline``: judge runs against committed runs of the same machine kind (the
stored-baseline rule), every run of that kind in the baseline pooled per case."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import UsageError
from ..keys import CaseKey, MachineKey, machines
from ..measurement import Measurement, measurements, pool
from ..results import read_results
from .judge import compare, stored_exit_code
from .render import print_stored
from .thresholds import Thresholds, load_thresholds
from .verdicts import EXIT_OK


def one_machine(frame, what: str) -> MachineKey:
    """The one machine kind ``frame`` was measured on; UsageError naming them when there are more."""
    found = machines(frame)
    if len(found) != 1:
        raise UsageError(f"{what} come from {len(found)} machines ({'; '.join(map(str, found))}); "
                         "check one machine's results at a time")
    return found[0]


def pooled(items: list[Measurement]) -> list[Measurement]:
    """One Measurement per case: every run of it pooled (all their repeats count)."""
    groups: dict[CaseKey, list[Measurement]] = {}
    for m in items:
        groups.setdefault(m.key, []).append(m)
    return [pool(group) for group in groups.values()]


def judge_and_print(baseline: list[Measurement], current: list[Measurement], thresholds: Thresholds, out,
                    notes: tuple[str, ...] = ()) -> int:
    verdicts = compare(baseline, current, thresholds)
    print_stored(verdicts, baseline, current, thresholds, out, notes)
    return stored_exit_code(verdicts)


def _software_note(baseline, current) -> str:
    cols = ("python", "numpy", "torch", "blas")
    a = {c: sorted(set(map(str, baseline[c].dropna()))) for c in cols}
    b = {c: sorted(set(map(str, current[c].dropna()))) for c in cols}
    differ = [f"{c} {','.join(a[c])} -> {','.join(b[c])}" for c in cols if a[c] != b[c]]
    return ("note: the software differs from the baseline's: " + "; ".join(differ)) if differ else ""


def run_check(baseline: str | Path, results: list[str | Path], thresholds: str | Path | None = None,
              allow_other_machine: bool = False, skip_unknown_machine: bool = False, out=None) -> int:
    """Compare the newest run of every case in ``results`` with ``baseline`` (file or folder): every
    run of the results' machine kind in the baseline, pooled per case.

    skip_unknown_machine: where neither a baseline nor A/A thresholds exist for the results'
    machine kind, say so in one line and return 0 (CI on a machine kind nobody has measured yet).
    """
    out = out or sys.stdout
    current_frame = read_results(list(results))
    machine = one_machine(current_frame, "results")
    current = measurements(current_frame)
    if not any(m.ok for m in current):
        raise UsageError(f"results {', '.join(map(str, results))}: no successful timed case (status ok)")
    base_frame = read_results([baseline])
    same = base_frame[(base_frame["cpu"] == machine.cpu) & (base_frame["cores"] == machine.cores)
                      & (base_frame["gpu"].fillna("") == machine.gpu)]
    notes = []
    if same.empty and skip_unknown_machine:
        print(f"no baseline for {machine} in {baseline}: nothing to compare on this machine kind; record a baseline "
              "and an A/A study here (docs/noise-study.md) to check it", file=out)
        return EXIT_OK
    if same.empty:
        others = machines(base_frame)
        if not allow_other_machine or len(others) != 1:
            raise UsageError(f"baseline {baseline} was measured on {'; '.join(map(str, others))}, the results on "
                             f"{machine}; times move between machines: record a baseline on this machine kind "
                             "(docs/noise-study.md), or pass --allow-other-machine to compare with one "
                             "other machine anyway")
        same = base_frame
        notes.append(f"note: baseline from another machine ({others[0]}); results: {machine}")
    software = _software_note(same, current_frame)
    if software:
        notes.append(software)
    base = pooled(measurements(same, newest=False))
    if not any(m.ok for m in base):
        raise UsageError(f"baseline {baseline}: no successful timed case (status ok) for {machine}")
    beside = Path(baseline) if Path(baseline).is_dir() else Path(baseline).parent  # the study lives with its runs
    try:
        known = load_thresholds(thresholds or beside, machine)
    except UsageError:
        if not skip_unknown_machine:
            raise
        print(f"no A/A thresholds for {machine}: nothing can be gated on this machine kind; run the noise study here "
              "(docs/noise-study.md) to check it", file=out)
        return EXIT_OK
    return judge_and_print(base, current, known, out, tuple(notes))
