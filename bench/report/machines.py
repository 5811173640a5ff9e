"""Several machines side by side: the same rung of the same config, timed on each machine.

A row is one (config, rung) measured on at least two machines. Its times are the ladders' (the
median of the uncontended rounds), and each machine after the first is compared with the first
(``reference``, the first in sorted order) as time(machine) / time(reference) with the ladder's
hierarchical-bootstrap interval: above 1, that machine is slower at that rung.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..keys import MachineKey
from .ladder import Ladder, Speedup, speedup_between


@dataclass(frozen=True)
class RungAcross:
    config: str
    batch_size: int
    rung: str
    backend: str
    cases: dict[MachineKey, object]  # machine -> its Measurement (ok) for this rung
    over_reference: dict[MachineKey, Speedup]  # machine -> time(machine) / time(reference)


def compare_machines(groups: list[list[Ladder]], resamples: int, seed: int) -> tuple[list[MachineKey], list[RungAcross]]:
    """``groups``: per config, its ladders on every machine. Returns the machines, reference first,
    that share a rung with another, and every rung measured on two machines or more; nothing when the
    results hold one machine."""
    machines = sorted({l.machine for group in groups for l in group})
    if len(machines) < 2:
        return machines, []
    shared = []  # (group, rung name, {machine: rung}) for every rung two machines or more ran
    for group in groups:
        names = list(dict.fromkeys(r.spec.name for l in group for r in l.rungs))
        for name in names:
            cases = {}
            for ladder in group:
                rung = ladder.rung(name)
                if rung is not None and rung.measured:
                    cases[ladder.machine] = rung
            if len(cases) >= 2:
                shared.append((group, name, cases))
    # a machine that shares no rung with another (a GPU machine where only the GPU rungs ran) has
    # nothing to show here, and is never the reference
    compared = [m for m in machines if any(m in cases for _, _, cases in shared)]
    if not compared:
        return [], []
    reference = compared[0]
    rows = []
    for group, name, cases in shared:
        over = {}
        if reference in cases:
            base = cases[reference].case
            over = {m: speedup_between(r.case, base, str(reference), resamples, seed)
                    for m, r in cases.items() if m != reference}
        first = next(iter(cases.values()))
        rows.append(RungAcross(group[0].config, group[0].batch_size, name, first.spec.backend,
                               {m: r.case for m, r in cases.items()}, over))
    return compared, rows
