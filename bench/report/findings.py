"""The findings as short tables: the report's first screen, and README.md's and docs/' tables
(``python -m bench docs`` writes those).

Built from the report model, with its number formats, so the README and the report cannot
disagree: each machine in a row, the best vectorized rung over each loop baseline per config and
machine, the articles' claims in a line each, one machine's ladders, targets and GPU throughput.
"""

from __future__ import annotations

from implementations.registry import FRAMEWORK, VECTORIZED

from ..formatting import times
from ..keys import device
from .claims import over_compiled_loops
from .ladder import Ladder, Speedup, gpu_over_cpu
from .model import Report
from .tables import Table, speedup
from ..formatting import seconds


def _over_loops(ladder: Ladder | None) -> str:
    """``657× [458×, 990×] (numpy float32, all cores)``: the best vectorized rung over pure-Python loops."""
    if ladder is None:
        return "not measured"
    if not ladder.loops.measured:
        return "loops not run"
    best = ladder.best()
    if best is None:
        return "no vectorized rung measured"
    return _named(best.over_loops, best.spec.name)


def _named(s: Speedup, name: str) -> str:
    """``657× [458×, 990×] (numpy float32, all cores)``; ``1,464× (torch-cpu float32; one round: no interval)``."""
    if s.has_interval:
        return f"{speedup(s)} ({name})"
    return f"{times(s.value)} ({name}; one round: no interval)"


def _over_compiled(report: Report, ladder: Ladder | None) -> str:
    over = over_compiled_loops(report.cases, ladder) if ladder is not None else None
    if over is None:
        return "not measured"
    return _named(over, f"over {over.over}")


def speedups_table(report: Report) -> Table:
    """A row per config, a column per machine that ran pure-Python loops; the last row sets the best
    vectorized rung of the largest ResNet-50 config against the fastest compiled loops."""
    machines = [m for m in report.machines if any(l.machine == m and l.loops.measured for l in report.ladders)]
    by = {(l.machine, l.config): l for l in report.ladders}
    configs = [group[0] for group in report.ladder_groups]  # one ladder per config: its batch and name
    rows = [[f"{first.config} (batch {first.batch_size})", *(_over_loops(by.get((m, first.config))) for m in machines)]
            for first in configs]
    images = [first.config for first in configs if first.resolution]  # the image model's ladders
    if images:
        config = images[-1]
        rows.append([f"{config}, over the loops compiled by numba",
                     *(_over_compiled(report, by.get((m, config))) for m in machines)])
    return Table("The best vectorized rung over pure-Python loops, median time per step [95% CI]",
                 ["config", *(str(m) for m in machines)], rows)


def claims_summary_table(report: Report) -> Table:
    """Each of the articles' claims in a line: its verdict and the figure that decides it."""
    return Table("The articles' claims against the measurements", ["claim", "verdict", "deciding figure"],
                 [[c.claim, c.verdict, c.figure] for c in report.claims])


def machine_table(report: Report, machine) -> Table:
    """One machine's ladders in a row per config: the loops step, the best vectorized rung, and the
    best over each loop baseline."""
    rows = []
    for ladder in (l for l in report.ladders if l.machine == machine):
        best = ladder.best()
        loops = ladder.loops
        rows.append([
            f"{ladder.config} (batch {ladder.batch_size})",
            (seconds(loops.case.median) + (" (1 round)" if loops.case.rounds == 1 else "")) if loops.measured
            else "not run",
            f"{best.spec.name}: {seconds(best.case.median)}" if best is not None else "none measured",
            speedup(best.over_loops) if best is not None else "-",
            _over_compiled(report, ladder),
        ])
    return Table(f"Ladders on {machine}: median time per step, multipliers [95% CI]",
                 ["config", "pure-Python loops", "best vectorized rung", "loops / best", "compiled loops / best"],
                 rows)


def _ladder(report: Report, machine, config: str) -> Ladder | None:
    return next((l for l in report.ladders if l.machine == machine and l.config == config), None)


def _within(report: Report, machine, config: str, limit: float) -> list[str]:
    """The vectorized rung in float32 on all cores against the framework's (numpy against torch-cpu)."""
    ladder = _ladder(report, machine, config)
    numpy, torch = ((ladder.rung_of(role, "float32", "all") for role in (VECTORIZED, FRAMEWORK)) if ladder
                    else (None, None))
    target = f"numpy float32 on all cores at {config} within {limit}x of torch-cpu's step"
    if numpy is None or torch is None or not numpy.measured or not torch.measured:
        return [target, "not measured", "-"]
    ratio = numpy.case.median / torch.case.median
    return [target, f"{times(ratio)} ({seconds(numpy.case.median)} against {seconds(torch.case.median)})",
            "met" if ratio <= limit else "missed"]


def _per_mac(report: Report, machine, config: str, limit_ns: float) -> list[str]:
    ladder = _ladder(report, machine, config)
    loops = ladder.loops.case if ladder is not None and ladder.loops.measured else None
    target = f"pure-Python loops at {config}: at most {limit_ns:.0f} ns per multiply-add"
    if loops is None or not loops.macs:
        return [target, "not measured", "-"]
    ns = loops.median / loops.macs * 1e9
    count = f"{loops.macs / 1e9:,.2f} G" if loops.macs >= 1e9 else f"{loops.macs / 1e6:,.1f} M"
    return [target, f"{ns:.0f} ns ({count} multiply-adds in {seconds(loops.median)})",
            "met" if ns <= limit_ns else "missed"]


def targets_table(report: Report, machine) -> Table:
    """The CPU speed targets on one machine, each measured from its reference."""
    rows = [_within(report, machine, "mlp-wide", 1.3), _per_mac(report, machine, "mlp-mnist", 60),
            _per_mac(report, machine, "resnet50-224", 60), _within(report, machine, "resnet50-224", 1.5)]
    return Table(f"Speed targets on {machine}", ["target", "measured (median time per step)", "verdict"], rows)


def gpu_throughput_table(report: Report, machine, config: str = "resnet50-224") -> Table:
    """Every GPU rung of ``machine`` at ``config``'s largest batch measured on the GPU: time per
    step, images per second, counted TFLOP/s and the fraction of the same machine's GEMM peak in
    the precision the step computed in."""
    mine = [e for e in report.all_efficiencies
            if e.case.machine == machine and e.case.config == config and device(e.case.backend) == "gpu"]
    batch = max((e.case.batch_size for e in mine), default=None)
    rows = []
    for e in sorted((e for e in mine if e.case.batch_size == batch), key=lambda e: -e.case.median):
        c = e.case
        peak = f"{e.fraction:.0%} of {e.peak.precision} ({e.peak.gflops / 1e3:,.0f})" if e.peak else "no peak measured"
        rows.append([f"{c.backend} ({c.precision or c.dtype})", seconds(c.median), f"{c.batch_size / c.median:,.0f}",
                     f"{e.gflops / 1e3:,.1f}", peak])
    return Table(f"{config}, batch {batch}, on {machine}: the GPU rungs, slowest first",
                 ["rung (precision computed in)", "time / step", "images / s", "TFLOP/s (counted FLOPs)",
                  "of the measured peak (TFLOP/s)"], rows)


def _resnet_ladder(report: Report, machine) -> Ladder | None:
    """The machine's largest ResNet-50 ladder whose loops ran (224 px before 32 px), else its largest."""
    mine = [l for l in report.ladders if l.machine == machine and l.resolution]
    mine.sort(key=lambda l: -(l.resolution or 0))
    return next((l for l in mine if l.loops.measured), mine[0] if mine else None)


def _gpu_over_cpu(report: Report, machine) -> str:
    """The fastest GPU rung over the fastest CPU rung of the same machine, at the first config where
    both were measured (ResNet-50 first)."""
    # ResNet-50 (the image model: its ladders record a resolution) first, then the MNIST MLP (the
    # headline's), then the others
    mine = sorted((l for l in report.ladders if l.machine == machine),
                  key=lambda l: (not l.resolution, l.config != "mlp-mnist"))
    if not any(device(r.spec.backend) == "gpu" for l in mine for r in l.rungs if r.measured):
        return "no GPU"
    for ladder in mine:
        found = gpu_over_cpu(ladder)
        if found is not None:
            over, gpu, cpu = found
            return f"{ladder.config} (batch {ladder.batch_size}): {speedup(over)} ({gpu.spec.name} over {cpu.spec.name})"
    return "no CPU rung measured beside the GPU"


# the environment fields the first page gives (its table, and the results files under it); the
# Environment section gives the rest
SUMMARY_FIELDS = ("CPU", "logical cores", "GPU", "Python", "NumPy", "PyTorch", "vecbench commit", "dates",
                  "results files")


def machines_summary_table(report: Report) -> Table:
    """The first screen's table: one row per machine, what it is and what it ran, with the
    ResNet-50 factors over each loop baseline and what its GPU buys over its own CPU."""
    envs = {e.machine: dict(e.rows) for e in report.environments}
    rows = []
    for machine in report.machines:
        env = envs.get(str(machine), {})
        ladder = _resnet_ladder(report, machine)
        best = ladder.best() if ladder is not None else None
        if ladder is None:
            loops = compiled = "ResNet-50 not measured"
        else:
            at = f"{ladder.config} (batch {ladder.batch_size}): "
            loops = at + (_over_loops(ladder) if best is not None or not ladder.loops.measured else "no vectorized rung")
            compiled = at + _over_compiled(report, ladder)
        rows.append([
            f"{env.get('CPU', machine)}, {env.get('logical cores', '?')} logical cores; GPU: {env.get('GPU', 'none')}",
            f"Python {env.get('Python', '?')}, NumPy {env.get('NumPy', '?')}, PyTorch {env.get('PyTorch', '?')}",
            f"{env.get('vecbench commit', '?')}; {env.get('dates', '?')}",
            loops, compiled, _gpu_over_cpu(report, machine)])
    return Table("Each machine in a row: ResNet-50 over each loop baseline, and its GPU over its own CPU [95% CI]",
                 ["machine", "software", "vecbench commit; dates", "best vectorized over pure-Python loops",
                  "best vectorized over compiled loops (numba)", "fastest GPU over fastest CPU rung"], rows,
                 widths=[1.6, 1.3, 1.3, 1.7, 1.7, 1.7])
