"""The same rung on several machines: each machine's time over the first machine's."""

from __future__ import annotations

from matplotlib.figure import Figure

from ..machines import RungAcross
from .style import (NARROW_ROW, ROW_MARK_AT, is_narrow, legend_beside, names_above_rows, new_figure, times_ticks,
                    wrapped)


CONFIG_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")
MACHINE_MARKERS = ("o", "s", "D", "v", "P")


def machines_figure(machines: list, rows: list[RungAcross], ax=None) -> Figure:
    """Each rung's time on every machine over the first machine's (log scale), a row per rung, a
    colour per config and a marker per machine: where a machine gains or loses, rung by rung."""
    names = list(dict.fromkeys(r.rung for r in rows))
    configs = list(dict.fromkeys(f"{r.config} ({r.batch_size})" for r in rows))
    thin = ax is None and is_narrow()  # a phone: names over the rows, the legend under the chart
    handles = {}
    if thin:
        fig, ax = new_figure(NARROW_ROW * len(names) + 1.5 + 0.45 * len({r.config for r in rows}) * len(machines), ax)
    else:
        fig, ax = new_figure(1.6 + 0.42 * len(names), ax)
    at = ROW_MARK_AT if thin else 0.0
    for r in rows:
        ci = configs.index(f"{r.config} ({r.batch_size})")
        for machine, s in r.over_reference.items():
            mi = machines.index(machine)  # a machine's marker is its own in every row
            (h,) = ax.plot([s.value], [names.index(r.rung) + at], linestyle="none",
                           marker=MACHINE_MARKERS[mi % len(MACHINE_MARKERS)], color=CONFIG_COLOURS[ci % len(CONFIG_COLOURS)],
                           markersize=8)
            label = f"{r.config} ({r.batch_size})" + (f", {machine}" if len(machines) > 2 else "")
            handles.setdefault(label, h)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    times_ticks(ax)
    ax.set_ylim(len(names) - 0.5, -0.5)
    xlabel = f"each machine's time per step over that of {machines[0]} (log scale; right of 1: slower)"
    if thin:
        names_above_rows(ax, names)
        ax.set_xlabel(wrapped(xlabel))
        fig.legend(list(handles.values()), [wrapped(h) for h in handles], title="config (batch)",
                   loc="outside lower center", frameon=False)
    else:
        ax.set_yticks(range(len(names)), names)
        ax.set_xlabel(xlabel.replace(" (log", "\n(log"))
        legend_beside(ax, list(handles.values()), list(handles), title="config (batch)")
    ax.grid(axis="x", which="major", alpha=0.3)
    return fig
