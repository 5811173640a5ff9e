"""The speedup ladder: one config's rungs as bars, a panel per machine; and the ResNet-50 throughput
by batch size."""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
import numpy as np

from ...formatting import times
from ..ladder import Ladder, ThroughputLine, shown_rungs
from ..palette import colour
from .style import legend_beside, linestyle, machine_title, panels, point_style, series_label


def ladder_figure(ladders: list[Ladder], axes=None) -> Figure:
    """One config's ladder, one panel per machine side by side: a horizontal bar per rung, loops at
    the top, median seconds per step (log scale), whiskers spanning the rounds' interquartile range,
    and beside each bar the rung's multiplier over loops on that machine."""
    own = axes is None
    names, _ = shown_rungs(ladders)  # a GPU machine adds rungs; rungs no machine ran are left out
    fig, axes = panels(len(ladders), 1.6 + 0.42 * len(names), axes)
    # one x range for every panel, so that bars side by side compare (room right of the slowest
    # quartile for the multipliers' labels)
    measured = [r for ladder in ladders for r in ladder.rungs if r.measured]
    low = min((np.percentile(r.case.clean, 25) for r in measured), default=3e-4) / 3
    high = max((np.percentile(r.case.clean, 75) for r in measured), default=1e-2) * (30 if len(ladders) == 1 else 300)
    for ax, ladder in zip(axes, ladders):
        _ladder_panel(ax, ladder, names, low, high)
        ax.set_title(machine_title(ladder.machine, ax), loc="left", fontsize="medium")
    axes[0].set_yticks(np.arange(len(names)), names)
    for ax in axes[1:]:
        ax.tick_params(labelleft=False)
    if own:
        fig.suptitle(ladder_title(ladders[0]), x=0.01, ha="left", fontsize="large")
        fig.supxlabel(LADDER_X, fontsize="medium")
    else:
        for ax in axes:
            ax.set_xlabel("s per step (log scale)")
    return fig


LADDER_X = "median time per training step (s, log scale); whiskers: interquartile range of rounds"


def ladder_title(ladder: Ladder) -> str:
    res = f", {ladder.resolution} px" if ladder.resolution else ""
    return f"{ladder.config} (batch {ladder.batch_size}{res}): seconds per step, × over loops beside each bar"


def _ladder_panel(ax: Axes, ladder: Ladder, names: list[str], low: float, high: float) -> None:
    rows = {name: i for i, name in enumerate(names)}
    for rung in ladder.rungs:
        if rung.spec.name not in rows:  # no machine ran it: listed under the table
            continue
        i = rows[rung.spec.name]
        if not rung.measured:
            ax.text(low * 1.3, i, rung.state.split(":")[0], va="center", ha="left", color="#555555")
            continue
        med = rung.case.time  # the median of the uncontended rounds, as every statistic
        q1, q3 = np.percentile(rung.case.clean, [25, 75])
        ax.barh(i, med - low, left=low, height=0.6, color=colour(rung.spec.backend), edgecolor="black",
                linewidth=0.5, hatch="//" if rung.case.noisy else None)
        ax.errorbar(med, i, xerr=[[med - q1], [q3 - med]], color="black", capsize=3, linewidth=1)
        if rung is ladder.loops:  # the slowest bar: its label goes inside it, not into the next panel
            ax.text(low * 1.3, i, "baseline", va="center", ha="left",
                    bbox=dict(facecolor="white", alpha=0.8, edgecolor="none", pad=1.0))
            continue
        label = times(rung.over_loops.value) if rung.over_loops else ""
        ax.text(q3 * 1.25, i, label + (" (1 round)" if rung.case.one_round else ""), va="center", ha="left")
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    ax.set_ylim(len(names) - 0.5, -0.5)  # loops on top
    ax.grid(axis="x", which="major", alpha=0.3)


def throughput_figure(groups: list[list[ThroughputLine]], axes=None) -> Figure:
    """Images/s against batch size, one panel per machine side by side; one legend below them."""
    own = axes is None
    fig, axes = panels(len(groups), 4.6, axes)
    series: dict[str, Line2D] = {}
    for ax, lines in zip(axes, groups):
        for line in lines:
            case = line.points[0][2]
            (h,) = ax.plot([p[0] for p in line.points], [p[1] for p in line.points], linestyle=linestyle(case.dtype),
                           **point_style(line.backend, case.dtype, case.threads))
            series.setdefault(series_label(line.backend, case.dtype, case.threads), h)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size (log scale)")
        ax.set_title(machine_title(lines[0].machine, ax), loc="left", fontsize="medium")
        ax.grid(which="major", alpha=0.3)
    axes[0].set_ylabel("images / s (log scale)")
    for ax in axes[1:]:  # the shared y axis is labelled once, on the left
        ax.tick_params(which="both", labelleft=False)
    if own:
        fig.suptitle(f"{groups[0][0].config} training throughput", x=0.01, ha="left", fontsize="large")
        fig.legend(list(series.values()), list(series), loc="outside lower center", ncol=4, frameon=False)
    else:
        legend_beside(axes[-1], list(series.values()), list(series))
    return fig
