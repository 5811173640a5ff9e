"""What a paired check measured: two revisions timed in alternate runs of one job.

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

A pair counts for a case only where both runs timed it (status ok) with at most
``MAX_CONTENDED`` of its rounds contended (``bench.contention``: run-queue wait or steal, never CPU
over wall time alone). A case that ran on the known-good side and is skipped or failed (its
verification included) on the other is ``lost``: a regression.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from implementations.registry import COMPILED_LOOPS, FRAMEWORK, LOOP_BASELINE, VECTORIZED, on_gpu, role_of

from ..errors import UsageError
from ..keys import CaseKey, MachineKey, machines
from ..measurement import Measurement, measurements
from ..results import empty_frame, read_results

MAX_CONTENDED = 0.5  # a run whose case had more of its rounds contended does not count for that case
NOOP = "harness no-op"

# The ladder's speedups judged between the two sides: (slower rung, faster rung), each as (the
# backend's role, dtype, threads: 1 or "all"), at every config where both ran, for every CPU
# backend of each role: numba over loops, numpy over loops, torch-cpu over numpy.
SPEEDUPS = (
    ((LOOP_BASELINE, "float64", 1), (COMPILED_LOOPS, "float64", 1)),
    ((LOOP_BASELINE, "float64", 1), (VECTORIZED, "float64", 1)),
    ((VECTORIZED, "float32", "all"), (FRAMEWORK, "float32", "all")),
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
    rungs: dict[tuple, list[tuple[str, str]]] = {}  # (config, batch, role, dtype, threads) -> [(backend, label)]
    for label, k in sorted(labels.items()):
        if not on_gpu(k.backend):
            rungs.setdefault((k.config, k.batch_size, role_of(k.backend), k.dtype, k.threads), []).append(
                (k.backend, label))
    configs = sorted({(k.config, k.batch_size) for k in labels.values()})
    for config, batch in configs:
        for slow, fast in SPEEDUPS:
            ends = [rungs.get((config, batch, role, dtype, cores if threads == "all" else threads), [])
                    for role, dtype, threads in (slow, fast)]
            for slow_backend, slow_label in ends[0]:
                for fast_backend, fast_label in ends[1]:
                    out[f"speedup {fast_backend} over {slow_backend} at {config}@{batch}"] = (slow_label, fast_label)
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
