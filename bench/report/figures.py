"""Every figure of the report, drawn with matplotlib's Agg backend; one colour per backend."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
from matplotlib.axes import Axes  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from .efficiency import Efficiency  # noqa: E402
from .ladder import Ladder, ThroughputLine  # noqa: E402
from .palette import colour  # noqa: E402
from .scaling import SweepLine  # noqa: E402

SIZE = (9.0, 4.8)  # inches: fits a laptop screen at 100 dpi and a landscape A4 page


def _new(size=SIZE, ax=None) -> tuple[Figure, Axes]:
    """A fresh figure, or the figure of ``ax`` when the caller (the PDF page) supplies the axes."""
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=size, dpi=100, layout="constrained")
    return fig, fig.add_subplot()


def ladder_figure(ladder: Ladder, ax=None) -> Figure:
    """Median seconds per step per rung, log scale; whiskers span the rounds' interquartile range."""
    fig, ax = _new(ax=ax)
    x = np.arange(len(ladder.rungs))
    measured = [r for r in ladder.rungs if r.measured]
    top = max((np.percentile(r.case.clean, 75) for r in measured), default=1.0)
    for i, rung in enumerate(ladder.rungs):
        if not rung.measured:
            ax.text(i, 0.5, rung.state.split(":")[0], transform=ax.get_xaxis_transform(), rotation=90,
                    ha="center", va="center", color="#555555", fontsize=9)
            continue
        s = rung.case.clean  # the uncontended rounds, as every statistic
        med = rung.case.time
        q1, q3 = np.percentile(s, [25, 75])
        ax.bar(i, med, color=colour(rung.spec.backend), edgecolor="black", linewidth=0.5,
               hatch="//" if rung.case.noisy else None)
        ax.errorbar(i, med, yerr=[[med - q1], [q3 - med]], color="black", capsize=4, linewidth=1)
        label = "1×" if rung.over_loops is None and i == 0 else (
            f"{rung.over_loops.value:,.3g}×" if rung.over_loops else "")
        if rung.case.one_round:
            label += "\n(one round)"
        ax.annotate(label, (i, q3), textcoords="offset points", xytext=(0, 3), ha="center", va="bottom", fontsize=8)
    ax.set_xlim(-0.6, len(ladder.rungs) - 0.4)
    ax.set_yscale("log")
    if measured:
        low = min(np.percentile(r.case.clean, 25) for r in measured)
        ax.set_ylim(low / 3, top * 8)
    ax.set_xticks(x, [r.spec.name.replace(", ", "\n") for r in ladder.rungs], fontsize=8)
    ax.set_ylabel("median time per training step (s, log scale)")
    res = f", {ladder.resolution} px" if ladder.resolution else ""
    ax.set_title(f"Speedup ladder: {ladder.config} (batch {ladder.batch_size}{res}) on {ladder.machine}\n"
                 "bars: median of rounds; whiskers: interquartile range; label: × over loops; hatched: noisy",
                 fontsize=10)
    ax.grid(axis="y", which="major", alpha=0.3)
    return fig


def throughput_figure(lines: list[ThroughputLine], ax=None) -> Figure:
    fig, ax = _new(ax=ax)
    first = lines[0]
    for line in lines:
        b = [p[0] for p in line.points]
        r = [p[1] for p in line.points]
        ax.plot(b, r, marker="o", color=colour(line.backend), label=line.case_label,
                linestyle="-" if "float32" in line.case_label else "--")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size (images per step, log scale)")
    ax.set_ylabel("throughput (images / s, log scale)")
    ax.set_title(f"{first.config} training throughput on {first.machine}", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(which="major", alpha=0.3)
    return fig


def scaling_figure(lines: list[SweepLine], ax=None) -> Figure:
    fig, ax = _new(ax=ax)
    for line in lines:
        style = "-" if line.dtype == "float32" else "--"
        fit = line.fit_all
        label = line.label + (f" (k = {fit.exponent:.2f})" if fit else "")
        ax.plot(line.widths, line.medians, marker="o", color=colour(line.backend), linestyle=style, label=label)
        if line.fit_wide is not None:
            k = len(line.widths) - min(len(line.widths), max(3, (len(line.widths) + 1) // 2))
            w = line.widths[k:]
            ax.plot(w, line.fit_wide.prefactor * w ** line.fit_wide.exponent, color=colour(line.backend),
                    linestyle=":", linewidth=2.5, alpha=0.6)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("width N (input = hidden = N, log scale)")
    ax.set_ylabel("median time per training step (s, log scale)")
    ax.set_title(f"Scaling with width, mlp-width-N (batch 32) on {lines[0].machine}\n"
                 "dotted: power-law fit over the compute-bound widths; solid float32, dashed float64", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(which="major", alpha=0.3)
    return fig


def efficiency_figure(effs: list[Efficiency], ax=None) -> Figure:
    """Fraction of the measured peak reached by each case, one horizontal bar per case."""
    shown = [e for e in effs if e.peak is not None]
    height = max(3.0, 0.18 * len(shown) + 1.2)
    fig, ax = _new((SIZE[0], min(height, 30.0)), ax)
    y = np.arange(len(shown))
    ax.barh(y, [e.fraction for e in shown], color=[colour(e.case.backend) for e in shown],
            edgecolor="black", linewidth=0.3)
    ax.set_yticks(y, [f"{e.case.config} b{e.case.batch_size} {e.case.label}" for e in shown],
                  fontsize=6 if len(shown) < 60 else 4)
    backends = list(dict.fromkeys(e.case.backend for e in shown))
    ax.legend(handles=[Patch(color=colour(b), label=b) for b in backends], fontsize=7, loc="lower right")
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("achieved GFLOP/s as a fraction of the measured GEMM peak (log scale)")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_title(f"Efficiency against peak on {shown[0].case.machine}" if shown else "Efficiency", fontsize=10)
    ax.grid(axis="x", which="major", alpha=0.3)
    return fig


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()
