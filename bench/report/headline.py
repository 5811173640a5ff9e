"""The answer at the top of the report: first each seed claim's verdict in one line, with the
figure that decides it; then one sentence or two of speedups per machine, from the ladders."""

from __future__ import annotations

from implementations.registry import COMPILED_LOOPS, VECTORIZED

from ..formatting import number, times
from .claims import over_compiled_loops
from .efficiency import Efficiency
from .ladder import Ladder, ThroughputLine, gpu_over_cpu


def _x(value: float) -> str:
    return times(value)


def _speed(rung, ladder: Ladder) -> str:
    s = rung.over_loops
    if not s.has_interval:
        return f"{_x(s.value)} (one round on a side: no interval)"
    return f"{_x(s.value)} (95% CI {_x(s.low)}-{_x(s.high)})"


def _mlp_sentence(ladder: Ladder, hardware: str) -> str:
    head = f"On {hardware}, "
    if not ladder.loops.measured:
        first = next((r.spec.name for r in ladder.rungs if r.measured), None)
        start = f"its {ladder.config} ladder starts at {first}" if first else f"nothing of {ladder.config} was measured"
        return head + f"pure-Python loops were not run ({start}), so there is no speedup over loops."
    parts = []
    numpy_all = ladder.rung_of(VECTORIZED, "float32", "all")
    if numpy_all is not None and numpy_all.measured:
        parts.append(f"numpy float32 on all {ladder.all_cores} threads trains {ladder.config} (batch "
                     f"{ladder.batch_size}) {_speed(numpy_all, ladder)} faster than pure-Python loops")
    best = ladder.best()
    if best is not None and best is not numpy_all:
        parts.append(f"the fastest rung, {best.spec.name}, is {_speed(best, ladder)} faster")
    if not parts:
        return head + f"{ladder.config}: no vectorized backend was measured."
    return head + "; ".join(parts) + "."


def _gpu_over_cpu_sentence(ladder: Ladder) -> str | None:
    """The machine's fastest GPU rung over its own fastest CPU rung at the same config: what a GPU
    buys on that machine, both sides timed in one run."""
    found = gpu_over_cpu(ladder)
    if found is None:
        return None
    over, fast_gpu, fast_cpu = found
    interval = f" (95% CI {_x(over.low)}-{_x(over.high)})" if over.has_interval else " (one round: no interval)"
    than = "faster than" if over.value >= 1 else "as fast as (slower than)"
    return (f"At {ladder.config}, its fastest GPU rung, {fast_gpu.spec.name}, is {_x(over.value)}{interval} "
            f"{than} its fastest CPU rung, {fast_cpu.spec.name}.")


def _resnet_sentence(ladders: list[Ladder], cases) -> str | None:
    by_config = {l.config: l for l in ladders}
    for config in ("resnet50-224", "resnet50-32"):
        ladder = by_config.get(config)
        if ladder is None:
            continue
        best = ladder.best()
        if ladder.loops.measured and best is not None:
            res = f"{ladder.resolution} px" if ladder.resolution else config
            text = (f"ResNet-50 ({res}, batch {ladder.batch_size}): {best.spec.name} trains "
                    f"{_speed(best, ladder)} faster than loops")
            return text + _compiled_clause(ladder, best, cases) + "."
    return None


def _compiled_clause(ladder: Ladder, best, cases) -> str:
    """How much of the factor over pure Python the same loops compiled (numba float64, the ladder's
    rung) already take, and how far the best rung is above the fastest compiled loops (the claims
    table's compiled baseline)."""
    compiled = ladder.rung_of(COMPILED_LOOPS, "float64", "one")
    over = over_compiled_loops(cases, ladder)
    if compiled is None or not compiled.measured or over is None:
        return ""
    interval = f" (95% CI {_x(over.low)}-{_x(over.high)})" if over.has_interval else " (one round: no interval)"
    return (f"; the same loops compiled with numba (float64) are {_speed(compiled, ladder)} faster than pure "
            f"Python, and {best.spec.name} is {_x(over.value)}{interval} faster than the fastest compiled loops "
            f"({over.over})")


def _throughput_sentence(lines: list[ThroughputLine], effs: list[Efficiency]) -> str | None:
    """The fastest ResNet-50 training at 224 px over the batch sizes measured, and the fraction of the
    same machine's measured GEMM peak (in the case's own precision) that it reaches."""
    points = [(ips, batch, case) for line in lines if line.config == "resnet50-224" for batch, ips, case in line.points]
    if not points:
        return None
    ips, batch, case = max(points, key=lambda p: p[0])
    # named by what it computed in: a bfloat16 autocast step is not a float32 one
    computed = f" ({case.precision} autocast, float32 weights)" if case.precision == "bfloat16" else ""
    text = f"ResNet-50 (224 px) trains fastest with {case.label}{computed} at batch {batch}: {number(ips)} images/s"
    eff = next((e for e in effs if e.case is case and e.peak), None)
    if eff is not None:
        text += f", {eff.fraction:.0%} of the machine's measured {eff.peak.precision} GEMM peak"
    return text + "."


def headlines(ladders: list[Ladder], hardware: dict[str, str], lines: list[ThroughputLine] = (),
              effs: list[Efficiency] = (), cases=()) -> list[str]:
    """One paragraph per machine; ``hardware`` maps a machine label to words naming its CPU and GPU;
    where ResNet-50 was measured at several batch sizes, its best throughput (``lines``) and that
    case's efficiency (``effs``) follow the speedups; ``cases`` (every measured case) give the fastest
    compiled loops the ResNet sentence compares with, as the claims table does."""
    out = []
    for machine in sorted(hardware):
        mine = [l for l in ladders if l.machine == machine]
        if not mine:
            out.append(f"On {hardware[machine]}, only the mlp-width-N sweep was measured: see Scaling.")
            continue
        preferred = [l for l in mine if l.config == "mlp-mnist"] or [l for l in mine if l.loops.measured] or mine
        sentence = _mlp_sentence(preferred[0], hardware.get(machine, machine))
        extra = [_gpu_over_cpu_sentence(preferred[0]), _resnet_sentence(mine, cases),
                 _throughput_sentence([l for l in lines if l.machine == machine],
                                      [e for e in effs if e.case.machine == machine])]
        out.append(" ".join([sentence] + [e for e in extra if e]))
    return out


def verdict_line(claim) -> str:
    """``<claim in a few words>: <verdict>. <deciding figure>``: what a reader needs in one line.
    ``claim``: anything with ``claim``, ``verdict`` and ``figure`` (a ``Claim``, a document's ``Verdict``)."""
    figure = claim.figure.rstrip(".")
    return f"{claim.claim}: {claim.verdict}. {figure[:1].upper()}{figure[1:]}."
