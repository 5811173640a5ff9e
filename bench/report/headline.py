"""The answer at the top of the report: first each seed claim's verdict in one line, with the
figure that decides it; then one sentence or two of speedups per machine, from the ladders."""

from __future__ import annotations

from ..formatting import times
from .claims import Claim
from .ladder import Ladder


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
        return head + f"{ladder.config}: pure-Python loops were not measured ({ladder.loops.state}), so no speedup."
    parts = []
    numpy_all = ladder.rung("numpy float32, all cores")
    if numpy_all is not None and numpy_all.measured:
        parts.append(f"numpy float32 on all {ladder.all_cores} threads trains {ladder.config} (batch "
                     f"{ladder.batch_size}) {_speed(numpy_all, ladder)} faster than pure-Python loops")
    best = ladder.best()
    if best is not None and best is not numpy_all:
        parts.append(f"the fastest rung, {best.spec.name}, is {_speed(best, ladder)} faster")
    if not parts:
        return head + f"{ladder.config}: no vectorized backend was measured."
    return head + "; ".join(parts) + "."


def _resnet_sentence(ladders: list[Ladder]) -> str | None:
    by_config = {l.config: l for l in ladders}
    for config in ("resnet50-224", "resnet50-32"):
        ladder = by_config.get(config)
        if ladder is None:
            continue
        best = ladder.best()
        if ladder.loops.measured and best is not None:
            res = f"{ladder.resolution} px" if ladder.resolution else config
            return (f"ResNet-50 ({res}, batch {ladder.batch_size}): {best.spec.name} trains "
                    f"{_speed(best, ladder)} faster than loops.")
    if "resnet50-224" in by_config:
        return f"ResNet-50 (224 px): loops {by_config['resnet50-224'].loops.state}; no loops baseline to compare."
    return None


def headlines(ladders: list[Ladder], hardware: dict[str, str]) -> list[str]:
    """One paragraph per machine; ``hardware`` maps a machine label to words naming its CPU and GPU."""
    out = []
    for machine in sorted(hardware):
        mine = [l for l in ladders if l.machine == machine]
        if not mine:
            out.append(f"On {hardware[machine]}, only the mlp-width-N sweep was measured: see Scaling.")
            continue
        preferred = [l for l in mine if l.config == "mlp-mnist"] or [l for l in mine if l.loops.measured] or mine
        sentence = _mlp_sentence(preferred[0], hardware.get(machine, machine))
        resnet = _resnet_sentence(mine)
        out.append(sentence + (" " + resnet if resnet else ""))
    return out


def verdict_line(claim: Claim) -> str:
    """``<claim in a few words>: <verdict>. <deciding figure>``: what a reader needs in one line."""
    figure = claim.figure.rstrip(".")
    return f"{claim.claim}: {claim.verdict}. {figure[:1].upper()}{figure[1:]}."
