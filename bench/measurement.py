"""The measured case: one record type that every reader (summary, check, noise, report) consumes,
and how it is read from a results file's rows.

Rows are regrouped here and nowhere else (the record owns its reading, as pyperf's ``Run`` owns its
JSON). A ``Measurement`` is one case measured in one run on one machine: its key, the machine's key
(``bench.keys``), its timed rounds with the repeat each belongs to, the rounds' CPU time and
contention flags, and how it was verified. The stage breakdowns of instrumented steps are
``bench.breakdown``'s.

"The newest run" of a case on a machine is the run whose rows of that case end latest
(``newest``); rounds of different runs are never pooled unless a reader asks (``pool``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from . import stats
from .contention import Load, is_contended
from .keys import RUN_OF_CASE, CaseKey, MachineKey, case_key, machine_key, stored_text
from .results import WHOLE_STEP

HARNESS_MODELS = ("peak", "noop")


@dataclass(frozen=True)
class Measurement:
    """One case, one run, one machine. Arrays have one entry per timed round (empty unless ok)."""

    key: CaseKey
    machine: MachineKey
    run_id: str
    source: str  # the results file
    hostname: str
    status: str  # ok, failed, skipped
    error: str
    ended: pd.Timestamp  # timestamp of the case's last row
    seconds: np.ndarray = field(repr=False)  # seconds per step, every ok round
    repeats: np.ndarray = field(repr=False)  # the repeat of each round
    cpu_seconds: np.ndarray = field(repr=False)  # process CPU seconds per step (NaN: not recorded)
    contended: np.ndarray = field(repr=False)  # bool: the round was contended
    flops: int = 0
    macs: int = 0
    bytes: int = 0  # bytes read plus written per call (the copy peak); 0 otherwise
    communicated_bytes: int = 0  # bytes one rank all-reduces per step (data parallel); 0 otherwise
    verification: str = ""
    verified_error: float = math.nan
    tolerance: float = math.nan
    precision: str = ""
    git_commit: str = ""
    profile: str = ""
    blind_spots: tuple[str, ...] = ()  # tensors whose verification bound reached 1% (a 1% fault would pass)
    parameter_shapes: str = ""  # the trainable parameters as the backend held them (bench.verify.parameter_shapes)
    sweep_width: int | None = None  # N of a width-sweep config (mlp-width-N); None for any other
    suspect: str = ""  # why the number cannot be trusted (bench.suspect), set by a reader that checked

    # -- what the readers ask -------------------------------------------------------------------
    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.seconds.size > 0

    @property
    def clean(self) -> np.ndarray:
        """Rounds that were not contended; every round when all were (so that something is left)."""
        keep = ~self.contended
        return self.seconds[keep] if keep.any() else self.seconds

    @property
    def clean_repeats(self) -> np.ndarray:
        keep = ~self.contended
        return self.repeats[keep] if keep.any() else self.repeats

    @property
    def time(self) -> float:
        """Seconds per step: ``stats.ESTIMATOR`` over the uncontended rounds (NaN unless ok)."""
        return stats.center(self.clean) if self.ok else math.nan

    @property
    def rounds(self) -> int:
        return int(self.seconds.size)

    @property
    def repeat_count(self) -> int:
        return int(np.unique(self.repeats).size) if self.ok else 0

    def repeat_times(self) -> np.ndarray:
        """Seconds per step of each repeat (uncontended rounds), shape (repeats,)."""
        return stats.repeat_centers(self.clean, self.clean_repeats)

    @property
    def contended_share(self) -> float:
        """Fraction of the rounds that were contended."""
        return float(self.contended.mean()) if self.ok else 0.0

    @property
    def noise(self) -> float:
        """IQR / median of the uncontended rounds."""
        return stats.iqr_over_median(self.clean) if self.ok else math.nan

    @property
    def noisy(self) -> bool:
        return self.ok and self.noise > stats.NOISY

    @property
    def one_round(self) -> bool:
        return self.ok and self.rounds == 1

    @property
    def cpu_share(self) -> float:
        """Median CPU time over wall time of the rounds: about the threads it kept busy."""
        ratio = self.cpu_seconds / self.seconds
        ratio = ratio[np.isfinite(ratio)]
        return float(np.median(ratio)) if ratio.size else math.nan

    # -- the report's vocabulary ----------------------------------------------------------------
    @property
    def median(self) -> float:
        return self.time

    @property
    def label(self) -> str:
        return self.key.short

    @property
    def flags(self) -> str:
        """Marks shown beside a time: noisy, contended and one-round cases."""
        marks = []
        if self.noisy:
            marks.append(f"noisy: IQR/median {self.noise:.0%}")
        if self.ok and self.contended.any():
            marks.append(f"contended: {self.contended.sum()} of {self.rounds} rounds left out")
        if self.one_round:
            marks.append("one round: no interval")
        if self.suspect:
            marks.append(f"SUSPECT: {self.suspect}")
        return "; ".join(marks)

    def __getattr__(self, name):  # the key's fields read as the case's own (case.config, case.threads)
        if name in CaseKey.__dataclass_fields__:
            return getattr(self.key, name)
        raise AttributeError(name)


def read_parameter_shapes(text: str) -> dict[str, tuple[int, ...]]:
    """``parameter_shapes``'s text back as name -> shape (a scalar's shape is ``()``)."""
    out = {}
    for item in filter(None, (part.strip() for part in (text or "").split(";"))):
        name, _, dims = item.rpartition(" ")
        out[name if name else dims] = tuple(int(n) for n in dims.split("x")) if name and dims else ()
    return out


def _contended(ok: pd.DataFrame, cpu: np.ndarray) -> np.ndarray:
    """The contended flag of each round: ``bench.contention``'s rule applied to the load the round
    recorded (so that a better rule needs no new measurement); the stored flag where no load was
    recorded; False for files from before schema version 3."""
    stored = ok["contended"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    wait = ok["run_wait"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    steal = ok["steal"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    seconds = ok["seconds"].to_numpy(dtype=float)
    threads = ok["threads"].to_numpy(dtype=int)
    return np.array([is_contended(Load(w, st), t, s, c) if (w == w or st == st) else flag
                     for w, st, t, s, c, flag in zip(wait, steal, threads, seconds, cpu, stored)], dtype=bool)


def _status(statuses: set[str]) -> str:
    if statuses == {"ok"}:
        return "ok"
    return "failed" if "failed" in statuses else sorted(statuses)[0]


def _count(value) -> int:
    """A stored integer; 0 where missing (an older file) or NA."""
    return 0 if value is None or pd.isna(value) else int(value)


def _precision(row) -> str:
    """The row's ``precision``; for a peak recorded without one (GPU files before it was written),
    what its GEMM ran in: ``tf32`` where TF32 products were allowed, else its dtype."""
    recorded = stored_text(row["precision"])
    if recorded or row["model"] != "peak":
        return recorded
    tf32 = row.get("tf32_matmul")
    return "tf32" if tf32 is not None and not pd.isna(tf32) and bool(tf32) else stored_text(row["dtype"])


def _one(rows: pd.DataFrame) -> Measurement:
    first = rows.iloc[0]
    status = _status(set(rows["status"].astype(str)))
    ok = rows[(rows["status"] == "ok") & np.isfinite(rows["seconds"].astype(float))] if status == "ok" else rows.iloc[:0]
    ok = ok.sort_values(["round"]) if len(ok) else ok
    repeats = ok["repeat"].astype("Float64").fillna(0).to_numpy(dtype=float).astype(int)
    cpu = ok["cpu_seconds"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    contended = _contended(ok, cpu)
    errors = sorted({stored_text(e) for e in rows["error"] if stored_text(e)})
    return Measurement(
        key=case_key(first), machine=machine_key(first), run_id=str(first["run_id"]),
        source=stored_text(first.get("source_file", "")), hostname=stored_text(first["hostname"]), status=status,
        error="; ".join(errors), ended=rows["timestamp"].max(),
        seconds=ok["seconds"].to_numpy(dtype=float), repeats=repeats, cpu_seconds=cpu, contended=contended,
        flops=int(first["flops"]), macs=int(first["macs"]), verification=stored_text(first["verification"]),
        verified_error=float(rows["verified_max_rel_error"].astype(float).max()),
        tolerance=float(rows["tolerance"].astype(float).max()), precision=_precision(first),
        bytes=_count(first.get("bytes")), communicated_bytes=_count(first.get("communicated_bytes")),
        git_commit=stored_text(first["git_commit"]), profile=stored_text(first["profile"]),
        parameter_shapes=stored_text(first.get("parameter_shapes", "")),
        sweep_width=_count(first.get("sweep_width")) or None,
        blind_spots=tuple(name.strip() for name in stored_text(first.get("blind_spots", "")).split(",") if name.strip()),
    )


def measurements(frame: pd.DataFrame, *, newest: bool = True, harness: bool = False) -> list[Measurement]:
    """The cases in ``frame`` (rows of ``bench.results``), one Measurement per (machine, case, run).

    newest: keep only the newest run of each case on each machine. harness: include the
    harness's own cases (peaks, the no-op). The same rows read twice (a file named twice) count
    once.
    """
    if frame.empty:
        return []
    if not harness:
        frame = frame[~frame["model"].isin(HARNESS_MODELS)]
    if "part" in frame.columns:
        frame = frame[frame["part"].fillna(WHOLE_STEP) == WHOLE_STEP]  # a stage of one step is not a round
    dedup = [c for c in ("run_id", "hostname", "cpu", "cores", "gpu", "model", "config", "backend", "dtype",
                         "threads", "batch_size", "round", "repeat", "status", "seconds") if c in frame.columns]
    frame = frame.drop_duplicates(subset=dedup)
    out = [_one(rows) for _, rows in frame.groupby(RUN_OF_CASE, sort=False, dropna=False)]
    if newest:
        latest: dict[tuple, Measurement] = {}
        for m in sorted(out, key=lambda m: m.ended):
            latest[(m.machine, m.key)] = m
        out = list(latest.values())
    return sorted(out, key=lambda m: (m.machine, m.key, m.ended))


def pool(runs: list[Measurement]) -> Measurement:
    """Several runs of one case as one Measurement; each run's repeats stay repeats of their own."""
    if len(runs) == 1:
        return runs[0]
    ok = [m for m in runs if m.ok]
    if not ok:
        return runs[-1]
    offset, repeats = 0, []
    for m in ok:
        repeats.append(m.repeats - m.repeats.min() + offset if m.repeats.size else m.repeats)
        offset = (repeats[-1].max() + 1) if m.repeats.size else offset
    return replace(ok[-1], run_id="+".join(m.run_id for m in ok),
                   seconds=np.concatenate([m.seconds for m in ok]), repeats=np.concatenate(repeats),
                   cpu_seconds=np.concatenate([m.cpu_seconds for m in ok]),
                   contended=np.concatenate([m.contended for m in ok]))
