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
from .style import (NARROW_ROW, ROW_MARK_AT, figure, is_narrow, legend_beside, linestyle, machine_title,
                    names_above_rows, panels, point_style, series_label, wrapped)


def ladder_figure(ladders: list[Ladder], axes=None) -> Figure:
    """One config's ladder, one panel per machine side by side: a horizontal bar per rung, loops at
    the top, median seconds per step (log scale), whiskers spanning the rounds' interquartile range,
    and beside each bar the rung's multiplier over loops on that machine."""
    own = axes is None
    if own and is_narrow():
        return _ladder_figure_narrow(ladders)
    names, _ = shown_rungs(ladders)  # a GPU machine adds rungs; rungs no machine ran are left out
    fig, axes = panels(len(ladders), 1.6 + 0.42 * len(names), axes)
    low, high = _x_range(ladders, room=30 if len(ladders) == 1 else 300)
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


def _x_range(ladders: list[Ladder], room: float) -> tuple[float, float]:
    """One x range for every panel, so that bars side by side compare, with ``room`` (a factor)
    right of the slowest quartile for the multipliers' labels."""
    measured = [r for ladder in ladders for r in ladder.rungs if r.measured]
    low = min((np.percentile(r.case.clean, 25) for r in measured), default=3e-4) / 3
    high = max((np.percentile(r.case.clean, 75) for r in measured), default=1e-2) * room
    return low, high


def _ladder_figure_narrow(ladders: list[Ladder]) -> Figure:
    """One config's ladder for a phone: a panel per machine one above the other on one x range,
    each with the rungs that machine ran (ok or failed: the table names the others), a rung's name
    over its bar."""
    ran = [[r for r in ladder.rungs if r.case is not None and (r.measured or r.case.status == "failed")]
           for ladder in ladders]
    heights = [NARROW_ROW * max(1, len(rungs)) + 0.3 for rungs in ran]
    fig = figure(sum(heights) + 1.8)
    axes = fig.subplots(len(ladders), 1, sharex=True, squeeze=False, height_ratios=heights)[:, 0]
    low, high = _x_range(ladders, room=40)
    for ax, ladder, rungs in zip(axes, ladders, ran):
        names = [r.spec.name for r in rungs]
        _ladder_panel(ax, ladder, names, low, high, at=ROW_MARK_AT, height=0.42)
        names_above_rows(ax, names)
        ax.set_title(machine_title(ladder.machine, ax), loc="left", fontsize="medium")
    fig.suptitle(wrapped(ladder_title(ladders[0]), scale=1.2), x=0.01, ha="left", fontsize="large")
    fig.supxlabel(wrapped(LADDER_X), fontsize="medium")
    return fig


def ladder_title(ladder: Ladder) -> str:
    res = f", {ladder.resolution} px" if ladder.resolution else ""
    return f"{ladder.config} (batch {ladder.batch_size}{res}): seconds per step, × over loops beside each bar"


def _ladder_panel(ax: Axes, ladder: Ladder, names: list[str], low: float, high: float, at: float = 0.0,
                  height: float = 0.6) -> None:
    """``names``' rungs of ``ladder`` as bars, a row each, the bar ``at`` below the row's middle."""
    rows = {name: i + at for i, name in enumerate(names)}
    for rung in ladder.rungs:
        if rung.spec.name not in rows:  # no machine ran it: listed under the table
            continue
        i = rows[rung.spec.name]
        if not rung.measured:
            ax.text(low * 1.3, i, rung.state.split(":")[0], va="center", ha="left", color="#555555")
            continue
        med = rung.case.time  # the median of the uncontended rounds, as every statistic
        q1, q3 = np.percentile(rung.case.clean, [25, 75])
        ax.barh(i, med - low, left=low, height=height, color=colour(rung.spec.backend), edgecolor="black",
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
    # narrow: the legend is one column under the panels, a line an entry
    entries = len({(line.backend, line.points[0][2].dtype, line.points[0][2].threads) for g in groups for line in g})
    fig, axes = panels(len(groups), 3.2 if is_narrow() else 4.6, axes)
    if own and is_narrow():
        fig.set_figheight(fig.get_figheight() + 1.0 + 0.3 * entries)
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
    for ax in axes[1:]:  # the shared y axis is labelled once, on the left (narrow: each its own)
        if is_narrow():
            ax.set_ylabel("images / s (log scale)")
        else:
            ax.tick_params(which="both", labelleft=False)
    if own:
        fig.suptitle(wrapped(f"{groups[0][0].config} training throughput", scale=1.2), x=0.01, ha="left", fontsize="large")
        fig.legend(list(series.values()), list(series), loc="outside lower center", ncol=1 if is_narrow() else 2,
                   frameon=False)
    else:
        legend_beside(axes[-1], list(series.values()), list(series))
    return fig
