"""The thresholds files: how far each quantity moves on unchanged code, read and written here only.

Two files, one per rule (``bench.regression.judge``):

* the **paired** study (``results/ab/<machine>/thresholds.json``, CI's): each quantity's ``sigma``,
  the spread of its per-pair log change between pairs of one job of unchanged code, and the pairs
  CI runs. ``threshold = exp(Z x MARGIN x 1.2533 x sigma / sqrt(pairs))``: the median of ``pairs``
  normal values has 1.2533 x sigma / sqrt(pairs) as its standard deviation, ``Z`` is the one-sided
  quantile that spreads ``FAMILY_ALARM`` over every gated quantity (Bonferroni), and ``MARGIN``
  pays for sigma's own uncertainty and for heavy tails. A quantity whose threshold exceeds
  ``GATE_LIMIT`` at the pairs CI runs cannot see a 1.3x regression here: reported, not gated;
* the **stored-baseline** study (``bench noise --write``): per case and per backend, a threshold,
  whether it is gated and why not (sized by ``bench.regression.noise``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import stats
from ..errors import UsageError
from ..keys import CaseKey, MachineKey

FAMILY_ALARM = 0.05  # false alarms of the whole check on unchanged code, at most
MARGIN = 1.25  # on the A/A sigma: its own uncertainty over 20-odd pairs, and tails heavier than normal
MEDIAN_SD = 1.2533  # sd of the median of n normal values, times sqrt(n) / sigma
GATE_LIMIT = 1.3  # a threshold above this cannot see the 1.3x regression the check is built for
MIN_PAIRS = 3  # a quantity with fewer usable pairs is not judged


def _machine_of(data: dict) -> MachineKey:
    return MachineKey(str(data["machine"]["cpu"]), int(data["machine"]["cores"]), str(data["machine"]["gpu"]))


def _machine_entry(machine: MachineKey) -> dict:
    return {"cpu": machine.cpu, "cores": machine.cores, "gpu": machine.gpu}


def _files(path: Path) -> list[Path]:
    return sorted(path.rglob("*.json")) if path.is_dir() else [path]


def write_json(path: str | Path, data: dict) -> None:
    """Write a thresholds file (either rule's); UsageError where it cannot be written."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the thresholds there ({exc.strerror or exc})") from None


# -- the paired rule's (CI's) ------------------------------------------------------------------------
def robust_sigma(values: np.ndarray) -> float:
    """A normal's sigma read from the pairs of an A/A study: the larger of 1.4826 x the median
    absolute deviation (the middle, not moved by one wild pair) and (85th percentile - median) /
    1.0364 (the slower side, where a one-sided check's false alarms come from). On the AMD kind the
    middle alone left two quantities with long slow tails that alarmed in 5% of checks drawn from
    the study; read from the slower side too, none did (docs/regression-check.md)."""
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


def paired_study_data(machine: MachineKey, pairs_in_study: int, sigmas: dict[str, float], ci_pairs: int) -> dict:
    """The paired thresholds file's content: every quantity's sigma (null where unknown)."""
    return {
        "machine": _machine_entry(machine),
        "pairs_in_study": pairs_in_study,
        "ci_pairs": ci_pairs,
        "rule": (f"threshold = exp(z x {MARGIN} x {MEDIAN_SD} x sigma / sqrt(pairs)); z spreads {FAMILY_ALARM} "
                 f"over the gated quantities; gated where the threshold at ci_pairs is at most {GATE_LIMIT}"),
        "sigma": {name: (None if not math.isfinite(s) else round(s, 6)) for name, s in sigmas.items()},
    }


def paired_from_data(data: dict, machine: MachineKey, ci_pairs: int, source: str) -> PairedThresholds:
    """The thresholds ``paired_study_data`` wrote in ``data``, as the check reads them."""
    sigmas = {str(n): (math.nan if v is None else float(v)) for n, v in data["sigma"].items()}
    return PairedThresholds(machine, sigmas, ci_pairs, source)


def load_paired_thresholds(path: str | Path, machine: MachineKey) -> PairedThresholds:
    """The study of ``machine`` in ``path`` (a .json file or a folder of them). A machine kind
    without one is judged with the widest sigma any studied kind has for each quantity (saying so),
    never passed unjudged."""
    path = Path(path)
    studies = []
    for file in _files(path):
        try:
            data = json.loads(file.read_text())
            studies.append(paired_from_data(data, _machine_of(data), int(data["ci_pairs"]), str(file)))
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


# -- the stored-baseline rule's ----------------------------------------------------------------------
@dataclass(frozen=True)
class Thresholds:
    """Per-case and per-backend thresholds of one machine kind, from the stored-baseline A/A study."""

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


def stored_study_data(machine: MachineKey, header: dict, backends: dict[str, dict], cases: dict[str, dict]) -> dict:
    """The stored-baseline thresholds file's content: ``header`` (how it was made: command, runs,
    estimator, false alarms, coverage), then each backend's and case's entry (``threshold``,
    ``gated``, ``reason``, and what sized it)."""
    return {**header, "machine": _machine_entry(machine), "backends": backends, "cases": cases}


def load_thresholds(path: str | Path, machine: MachineKey) -> Thresholds:
    """The stored-baseline thresholds of ``machine`` from a JSON file or a folder of them;
    UsageError when none fits."""
    path = Path(path)
    files = _files(path)
    if not files or not all(f.is_file() for f in files):
        raise UsageError(f"{path}: no thresholds file (.json); make one with python -m bench noise RUNS --write FILE")
    seen = []
    for file in files:
        try:
            data = json.loads(file.read_text())
            own = _machine_of(data)
            cases = {str(k): dict(v) for k, v in data["cases"].items()}
            backends = {str(k): dict(v) for k, v in data.get("backends", {}).items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UsageError(f"{file}: not a vecbench thresholds file ({exc.__class__.__name__}: {exc})") from None
        if own == machine:
            return Thresholds(own, cases, backends, str(file))
        seen.append(str(own))
    raise UsageError(f"no A/A thresholds for {machine} in {path} (it has: {'; '.join(seen) or 'none'}); run the "
                     "noise study on this machine kind (docs/noise-study.md)")
