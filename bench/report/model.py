"""Everything the report shows, computed once from the results and shared by HTML and PDF."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ..formatting import first_names
from ..breakdown import Breakdown, breakdowns
from ..data_parallel_case import COMPUTE
from ..data_parallel_study import comparisons
from ..measurement import Measurement, measurements
from ..suspect import flag_text, suspects
from .cases import Case, config_ranks, ordered
from .claims import Claim, evaluate
from .efficiency import Efficiency, Peak, efficiencies, peaks
from .environment import Environment, environments
from .headline import headlines
from .ladder import Ladder, ThroughputLine, build_ladders, throughput
from .load import load, split
from .machines import RungAcross, compare_machines
from .scaling import SweepLine, flops_exponent, sweep_lines
from ..stats import NOISY, RESAMPLES, SEED, WIDENING


@dataclass
class Report:
    """What the results say, computed once; ``outline.document`` turns it into the report's text."""
    headlines: list[str]
    method: list[str]
    sources: list[str]
    inputs: list[str]  # the results files and folders as named to `bench report`
    cases: list[Case]
    ladders: list[Ladder]  # by machine, then config in display order
    ladder_groups: list[list[Ladder]]  # per config, its ladder on every machine
    throughput: dict[str, list[list[ThroughputLine]]]  # config -> per machine, its lines
    throughput_lines: list[ThroughputLine]
    claims: list[Claim]
    machines: list[str]
    across: list[RungAcross]  # the same rung on several machines (empty with one machine)
    across_machines: list  # the machines ``across`` compares, the reference first
    breakdowns: dict[str, list[Breakdown]]  # per machine with any: each case's instrumented ResNet-50 step
    sweeps: dict[str, list[SweepLine]]  # per machine with a width sweep
    flops_fits: dict  # per machine: the fit of recorded FLOPs per step against width (or None)
    efficiencies: dict[str, list[Efficiency]]  # per machine
    all_efficiencies: list[Efficiency]
    peaks: list[Peak]
    environments: list[Environment]
    data_parallel: list = field(default_factory=list)  # threads or processes, per config and machine (Comparison)

    @property
    def machines_apart(self) -> list:
        """Machines in the results that share no rung with another (not in Machines side by side)."""
        return [m for m in self.machines if m not in self.across_machines] if self.across else []


def method_notes(resamples: int, seed: int) -> list[str]:
    return [
        "A case is a (model, config, backend, dtype, threads, batch, resolution) on a machine kind (CPU, logical "
        "cores, GPU), timed in repeats (blocks of rounds) interleaved with its config's other cases; its time is "
        "the median seconds per training step of its uncontended rounds (rounds during which other processes or "
        "the hypervisor took the CPU are contended, left out), from its latest run on that machine kind.",
        "A multiplier is time(slower rung) / time(faster rung). Its 95% interval is a hierarchical bootstrap "
        f"({resamples:,} resamples, numpy generator seed {seed}): each side's repeats are resampled with "
        "replacement, then the rounds within each chosen repeat, so the spread between repeats minutes apart is "
        "part of the interval. Independent runs differ more: the A/A study measured how far, and every interval "
        f"is widened by {WIDENING:g} on the log scale to cover an independent run's value 95% of the time "
        "(docs/noise-study.md).",
        "A case timed in a single round (a many-minute loops step) has no interval, nor has a multiplier with "
        f"it on one side; a case whose interquartile range over its rounds exceeds {NOISY:.0%} of its median is "
        "noisy: amber in every table, hatched in the ladder charts.",
        "Ladder rungs share one batch size and resolution: the loops case's (the smallest measured without "
        "loops); \"all cores\" is the most threads measured on the machine. Over a rung not measured, a "
        "multiplier is taken over the nearest measured rung below, and says so. Harness overhead per call (the "
        "noop case, under Environment) is not subtracted from any time.",
    ]


def verification_note(cases: list[Measurement]) -> str:
    """What verification could not see: the cases whose bounds reached 1% on some tensor."""
    blind = [c for c in cases if c.blind_spots]
    text = ("Every case's training step is compared, before it is timed (a step of minutes: that step), with "
            "PyTorch float64 autograd (confirmed by the NumPy float64 step and finite differences): the loss, every "
            "gradient, the batch-norm statistics, each parameter's update and momentum, each within a bound per "
            "precision (docs/method.md); a float32 ResNet-50 bound per tensor is at least ten times the error of "
            "a float32 implementation sharing no code with the case.")
    # a verified case recorded before schema 6 has neither its shapes nor its blind spots: unknown
    unknown = [c for c in cases if c.verification not in ("", "none") and not c.parameter_shapes]
    if blind:
        listed = "; ".join(f"{c.key.label} ({len(c.blind_spots)}: {first_names(list(c.blind_spots), 3)})"
                           for c in blind)
        text += f" Blind spots, tensors whose bound reached 1% (a 1% fault there would have passed): {listed}."
    if unknown:
        return text + f" The blind spots of {len(unknown)} case(s), recorded before results schema 6, are unknown."
    if not blind:
        return text + (" No case here had a bound of 1% or more on any tensor: a 1% fault anywhere would have "
                       "failed.")
    return text


def build(paths: list[str | Path], resamples: int = RESAMPLES, seed: int = SEED) -> Report:
    frame = load(paths)
    measured, peak_rows, noop_rows = split(frame)
    peak_cases = measurements(peak_rows, newest=False, harness=True)
    reasons = suspects(measured, peak_cases)
    cases = ordered([replace(m, suspect=flag_text(reasons, m)) for m in measured])
    ladders = build_ladders(cases, resamples, seed)
    machines = sorted({c.machine for c in cases})
    hardware = {m: f"{m.cpu} ({m.cores} logical cores{' and ' + m.gpu if m.gpu else ''})" for m in machines}

    groups: dict[str, list[Ladder]] = {}
    for ladder in ladders:  # ladders come by machine, then config in display order
        groups.setdefault(ladder.config, []).append(ladder)
    ranks = config_ranks(cases)
    ladder_groups = [groups[c] for c in sorted(groups, key=ranks.__getitem__)]
    ordered_machines, across = compare_machines(ladder_groups, resamples, seed)

    lines = throughput(cases)
    by_config: dict[str, dict] = {}
    for line in lines:
        by_config.setdefault(line.config, {}).setdefault(line.machine, []).append(line)

    sweeps_all = sweep_lines(cases)
    sweeps = {m: [l for l in sweeps_all if l.machine == m] for m in machines}
    flops_fits = {m: flops_exponent([c for c in cases if c.machine == m]) for m in machines}
    flops_exp = {m: f.exponent for m, f in flops_fits.items() if f is not None}
    claims = evaluate(cases, ladders, sweeps_all, flops_exp)

    machine_peaks = peaks(peak_rows)
    effs = efficiencies(cases, machine_peaks)
    found = breakdowns(frame)
    divided = [b for b in found if COMPUTE in b.parts]  # a data-parallel step's two parts, not its stages
    stages = [b for b in found if COMPUTE not in b.parts]
    return Report(
        headlines=headlines(ladders, hardware, lines, effs, cases),
        method=[*method_notes(resamples, seed), verification_note(cases)],
        sources=sorted(set(frame["source_file"])),
        inputs=[str(p) for p in paths],
        cases=cases,
        ladders=ladders,
        ladder_groups=ladder_groups,
        throughput={config: list(per_machine.values()) for config, per_machine in by_config.items()},
        throughput_lines=lines,
        claims=claims,
        machines=machines,
        across=across,
        across_machines=ordered_machines,
        breakdowns={m: [b for b in stages if b.machine == m] for m in sorted({b.machine for b in stages})},
        sweeps={m: v for m, v in sweeps.items() if v},
        flops_fits=flops_fits,
        efficiencies={m: [e for e in effs if e.case.machine == m] for m in machines},
        all_efficiencies=effs,
        peaks=machine_peaks,
        environments=environments(frame),
        data_parallel=comparisons(cases, divided),
    )
