"""The seed articles' claims, quoted verbatim from ``claims.json``, beside what was measured.

Verdicts: "holds", "does not hold", "inconclusive" or "not measured", with the figure that
decides. Speed and complexity claims are decided by the timings' intervals: "holds" only when the
whole interval lies inside the claimed range, "does not hold" only when it lies wholly outside,
"inconclusive" otherwise. Shape claims are decided by the shapes the backends really held
(``parameter_shapes``, recorded per case after verification): "holds up to a transpose" where a
backend held the stated matrix transposed, "does not hold" where any held another size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import numpy as np

from implementations.registry import COMPILED_LOOPS, LOOP_BASELINE, VECTORIZED, role_of

from ..formatting import times
from ..measurement import read_parameter_shapes
from .cases import Case
from ..stats import RESAMPLES, SEED
from .ladder import Ladder, Speedup, speedup_between
from .scaling import SweepLine

HOLDS, FAILS, UNSURE, UNMEASURED = "holds", "does not hold", "inconclusive", "not measured"
TRANSPOSED = "holds up to a transpose"


@dataclass(frozen=True)
class Claim:
    id: str
    article: str  # the article's title
    quotes: list[str]
    measured: list[str]  # one line per machine or per check
    verdict: str
    decided_by: str
    claim: str = ""  # the claim in a few words, for the report's first lines
    figure: str = ""  # the deciding figure(s) in one line, with their intervals
    source: str = ""  # the seed article's file under shared/seeds/


def load_claims() -> dict:
    return json.loads(resources.files(__package__).joinpath("claims.json").read_text(encoding="utf-8"))


def _combine(verdicts: list[str]) -> str:
    distinct = list(dict.fromkeys(verdicts))
    if not distinct:
        return UNMEASURED
    return distinct[0] if len(distinct) == 1 else "mixed: " + ", ".join(distinct)


def _fmt_x(value: float) -> str:
    return times(value)


def _interval(s) -> str:
    if not s.has_interval:
        return "(one round on a side: no interval; the point value decides)"
    return f"[95% CI {_fmt_x(s.low)}, {_fmt_x(s.high)}]"


def fastest_compiled_loops(cases: list[Case], ladder: Ladder) -> Case | None:
    """The fastest numba case (any dtype, one thread or all cores) of the ladder's machine, config and batch."""
    mine = [c for c in cases if c.ok and role_of(c.backend) == COMPILED_LOOPS and c.machine == ladder.machine
            and c.config == ladder.config and c.batch_size == ladder.batch_size]
    return min(mine, key=lambda c: c.median, default=None)


def over_compiled_loops(cases: list[Case], ladder: Ladder) -> Speedup | None:
    """The ladder's best vectorized rung over the fastest compiled loops of its machine, config and
    batch (:func:`fastest_compiled_loops`); None where either was not measured."""
    best, fastest = ladder.best(), fastest_compiled_loops(cases, ladder)
    if best is None or fastest is None:
        return None
    return speedup_between(fastest, best.case, fastest.label, RESAMPLES, SEED)


CLAIMED = (40.0, 100.0)  # the articles' ResNet-50 speedup range


def interval_verdict(low: float, high: float, claimed: tuple[float, float] = CLAIMED) -> tuple[str, str]:
    """Rule: holds when the whole interval [low, high] lies inside ``claimed``; does not hold when it
    lies wholly outside (all below or all above); inconclusive when it straddles an end. Returns
    (verdict, where the interval lies, in words)."""
    lo, hi = claimed
    if high < lo:
        return FAILS, f"below {lo:g}×"
    if low > hi:
        return FAILS, f"above {hi:g}×"
    if lo <= low and high <= hi:
        return HOLDS, f"within {lo:g}-{hi:g}×"
    return UNSURE, f"straddles {lo:g}-{hi:g}× (the interval is too wide to say)"


def _verdict(s) -> tuple[str, str]:
    """``interval_verdict`` on the 95% interval; with one round on a side there is no interval, and
    the point value decides (the line says so)."""
    low, high = (s.low, s.high) if s.has_interval else (s.value, s.value)
    return interval_verdict(low, high)


def _resnet(cases: list[Case], ladders: list[Ladder]) -> tuple[list[str], str, str]:
    """The claim answered once per loop baseline: pure-Python loops, and compiled loops (numba)."""
    lines, verdicts, figures = [], [], []
    for ladder in ladders:
        if ladder.config != "resnet50-224":
            continue
        best = ladder.best()
        at = f"resnet50-224 batch {ladder.batch_size}"
        if best is None:
            lines.append(f"{ladder.machine}: {at}: no vectorized rung measured")
            continue
        baselines = [("pure-Python loops", ladder.loops.case if ladder.loops.measured else None,
                      ladder.loops.state),
                     ("compiled loops", fastest_compiled_loops(cases, ladder), "not measured (no numba case)")]
        for kind, baseline, missing in baselines:
            if baseline is None:
                lines.append(f"{ladder.machine}: {kind} at {at}: {missing}")
                continue
            s = speedup_between(baseline, best.case, baseline.label, RESAMPLES, SEED)
            verdict, where = _verdict(s)
            verdicts.append(verdict)
            one_round = _interval(s) if s.has_interval else "(one round: no interval)"
            figures.append(f"{_fmt_x(s.value)} {one_round} over {kind} on {ladder.machine}")
            numpy_line = ""
            numpy_rung = ladder.rung_of(VECTORIZED, "float32", "all")
            if kind == "pure-Python loops" and numpy_rung is not None and numpy_rung.measured \
                    and numpy_rung is not best:
                n = numpy_rung.over_loops
                numpy_line = f"; numpy float32 all cores {_fmt_x(n.value)} {_interval(n)}"
            lines.append(f"{ladder.machine}: {kind} ({baseline.label}) -> best vectorized ({best.spec.name}) at "
                         f"{at}: {_fmt_x(s.value)} {_interval(s)}, {where}{numpy_line}")
    if not lines:
        lines.append("no resnet50-224 results")
    return lines, _combine(verdicts), "; ".join(figures)


def _exponent(line: SweepLine) -> str:
    fit = line.fit_wide or line.fit_all
    if np.isnan(fit.low):
        return f"{line.label}: k = {fit.exponent:.2f} ({fit.points} widths, no interval)"
    return f"{line.label}: k = {fit.exponent:.2f} [{fit.low:.2f}, {fit.high:.2f}]"


def _complexity(lines_in: list[SweepLine], flops_exp: dict[str, float]) -> tuple[list[str], str, str]:
    lines, verdicts, figures = [], [], []
    for machine in sorted({l.machine for l in lines_in}):
        mine = [l for l in lines_in if l.machine == machine and (l.fit_wide or l.fit_all) is not None]
        loops = next((l for l in mine if role_of(l.backend) == LOOP_BASELINE), None)
        compiled = [l for l in mine if role_of(l.backend) == COMPILED_LOOPS]  # explicit loops too: the same exponent?
        numpys = [l for l in mine if role_of(l.backend) == VECTORIZED]
        judged = next((l for l in numpys if l.dtype == "float64" and l.threads == 1), numpys[0] if numpys else None)
        parts = [_exponent(l) for l in ([loops] if loops else []) + compiled + numpys]
        if machine in flops_exp:
            parts.append(f"FLOPs: k = {flops_exp[machine]:.2f}")
        if judged is None:
            lines.append(f"{machine}: no numpy case in the width sweep; " + "; ".join(parts))
            continue
        fit = judged.fit_wide or judged.fit_all
        if np.isnan(fit.low):
            verdict = UNSURE  # two widths give no interval to judge by
        elif fit.low <= 1.0 <= fit.high and not fit.low <= 2.0 <= fit.high:
            verdict = HOLDS
        elif not fit.low <= 1.0 <= fit.high:
            verdict = FAILS
        else:
            verdict = UNSURE
        verdicts.append(verdict)
        flops = f", FLOPs k = {flops_exp[machine]:.2f}" if machine in flops_exp else ""
        figures.append(f"{_exponent(judged)}{flops} on {machine}")
        lines.append(f"{machine}: k over the compute-bound widths [95% CI]: " + "; ".join(parts))
    if not lines:
        lines.append("no mlp-width-N sweep in the results")
    return lines, _combine(verdicts), "; ".join(figures)


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def held_matrices(case: Case) -> list[tuple[int, ...]]:
    """The weight matrices (2-D parameters) ``case``'s backend held, in layer order."""
    return [shape for shape in read_parameter_shapes(case.parameter_shapes).values() if len(shape) == 2]


def shape_verdict(cases: list[Case], config: str, stated: list[tuple[int, int]]) -> tuple[list[str], str]:
    """The article's ``stated`` weight-matrix shapes (in layer order: the first ones of the model)
    against the matrices every verified ``config`` case held (verification holds a backend to the
    reference's layout, so this reads what the backends really store). Holds where each held
    exactly those; holds up to a transpose where some held them transposed; does not hold where any
    held another size or fewer matrices; not measured where no case recorded its shapes."""
    held: dict[str, list[list[tuple[int, ...]]]] = {}
    for c in cases:  # every case of a backend counts, not its first
        if c.ok and c.config == config and c.parameter_shapes:
            matrices = held_matrices(c)[:len(stated)]
            if matrices not in held.setdefault(c.backend, []):
                held[c.backend].append(matrices)
    if not held:
        return [f"{config}: no verified case recorded the shapes its backend held"], UNMEASURED
    wrong, transposed, by_layout = [], [], {}
    for backend, layouts in sorted(held.items()):
        # backends that held the same matrices share one line: "loops, numpy held 128x784"
        by_layout.setdefault(" or ".join(", ".join(_shape(m) for m in first) or "no matrix" for first in layouts),
                             []).append(backend)
        if any(len(first) < len(stated) or any(m not in (s, s[::-1]) for m, s in zip(first, stated))
               for first in layouts):
            wrong.append(backend)
        elif any(first != stated for first in layouts):
            transposed.append(backend)
    lines = [f"{', '.join(backends)} held {layout}" for layout, backends in by_layout.items()]
    said = f"stated {', '.join(_shape(s) for s in stated)}"
    if wrong:
        return [f"{config}: {said}; {'; '.join(lines)}: {', '.join(wrong)} held another size"], FAILS
    if transposed:
        return [f"{config}: {said}; {'; '.join(lines)} (output x input, as torch stores them)"], TRANSPOSED
    return [f"{config}: {said}; {'; '.join(lines)}"], HOLDS


def _verification(cases: list[Case]) -> tuple[list[str], bool | None]:
    """Rule: holds when every numpy MLP case was verified within its tolerance; fails when any numpy MLP
    case failed verification (failed cases included: they are the evidence against); not measured
    when there is none."""
    mine = [c for c in cases if role_of(c.backend) == VECTORIZED and c.model == "mlp" and c.status in ("ok", "failed")]
    failed = [c for c in mine if c.status == "failed" and "differs from torch float64" in c.error]
    checked = [c for c in mine if c.ok and np.isfinite(c.verified_error)]
    if failed:
        first = failed[0]
        return [f"{len(failed)} numpy MLP case(s) failed verification against torch float64 autograd, e.g. "
                f"{first.config} {first.dtype} {first.threads}t: {first.error}"], False
    if not checked:
        return ["no verified numpy MLP case in the results"], None
    worst = max(checked, key=lambda c: c.verified_error / c.tolerance if c.tolerance > 0 else np.inf)
    passed = all(c.verified_error <= c.tolerance for c in checked)
    return [f"{len(checked)} numpy MLP case(s), whose gradients are these matrix products, matched torch float64 "
            f"autograd; largest relative error {worst.verified_error:.2g} (tolerance {worst.tolerance:.2g}, "
            f"{worst.config} {worst.dtype})"], passed


def evaluate(cases: list[Case], ladders: list[Ladder], lines: list[SweepLine],
             flops_exp: dict[str, float]) -> list[Claim]:
    data = load_claims()
    out = []
    for entry in data["claims"]:
        cid = entry["id"]
        art = data["articles"][entry["article"]]
        if cid == "resnet50-speedup":
            measured, verdict, figure = _resnet(cases, ladders)
            decided = ("ladder resnet50-224: multiplier of the fastest vectorized rung over each loop baseline, "
                       "pure-Python loops and the fastest compiled loops (numba, float32 or float64, 1 thread or all cores), "
                       "95% CI; the claim never says which loops, so it is answered for both")
        elif cid == "complexity":
            measured, verdict, figure = _complexity(lines, flops_exp)
            decided = ("scaling: exponent k of time vs width over the compute-bound widths of mlp-width-N for "
                       "numpy float64 1 thread; holds only if its CI contains 1 and excludes 2. The counted FLOPs "
                       "grow as width^2 (their exponent is shown beside): vectorization changes the constant "
                       "factor, not how the arithmetic grows")
        elif cid == "shapes-4-3-2":
            measured, verdict = shape_verdict(cases, "mlp-tiny", [(4, 3), (3, 2)])
            measured.insert(0, "4->3 needs 12 weights and 3->2 needs 6 (rows x columns as the article writes them)")
            decided = "the weight matrices every mlp-tiny backend held after verification (parameter_shapes)"
        elif cid == "init":
            measured = ["not a speed or shape claim; results files do not record the initialization "
                        "(vecbench's MLP draws He normal weights for relu, Xavier normal for sigmoid)"]
            verdict = UNMEASURED
            decided = "not decidable from results files"
        elif cid == "mnist-layer":
            measured, verdict = shape_verdict(cases, "mlp-mnist", [(128, 784)])
            measured.insert(0, f"128 x 784 = {128 * 784:,} weights (plus 128 biases)")
            decided = "the first weight matrix every mlp-mnist backend held after verification (parameter_shapes)"
        elif cid == "batch-shapes":
            # W^T is 784x128 exactly where W is held 128x784
            measured, verdict = shape_verdict(cases, "mlp-mnist", [(128, 784)])
            measured.insert(0, "(32x784)·(784x128) is 32x128; W^T is 784x128 where W is held 128x784")
            decided = "the first weight matrix every mlp-mnist backend held after verification (parameter_shapes)"
        elif cid == "gradients":
            measured, passed = _verification(cases)
            measured.insert(0, "inputᵀ·d_output is (784x32)·(32x128) = 784x128: the gradient of Wᵀ; with W "
                               "128x784 as the article stores it, dW = d_outputᵀ·input. d_input = d_output·W "
                               "is (32x128)·(128x784) = 32x784, as stated")
            verdict = "holds up to a transpose" if passed else (FAILS if passed is False else UNMEASURED)
            decided = "shape algebra; verification of numpy gradients against torch float64 (verified_max_rel_error)"
        else:
            measured, verdict, decided = ["no check implemented"], UNMEASURED, "-"
        if cid not in ("resnet50-speedup", "complexity"):
            # a shape or verification claim: its last measured line decides (the first states the
            # arithmetic every such claim starts from), or says why nothing was measured
            figure = measured[-1]
        out.append(Claim(cid, art["title"], entry["quotes"], measured, verdict, decided,
                         entry["claim"], figure or "nothing measured", art["file"]))
    return out
