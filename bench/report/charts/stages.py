"""Where the time of one ResNet-50 step goes: each case's instrumented step split into its stages' forward
and backward parts and the update."""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from implementations.registry import order_key
from ...formatting import seconds
from ...breakdown import Breakdown
from .style import NARROW_ROW, ROW_MARK_AT, is_narrow, legend_beside, names_above_rows, stacked, wrapped


# Stage colours for the breakdown figure: a sequential ramp from the stem to the head, so that the
# order of the stages reads from the colours; the update is grey. Forward parts are drawn lighter.
STAGE_COLOURS = ("#fdae61", "#abd9e9", "#74add1", "#4575b4", "#313695", "#a50026")
UPDATE_COLOUR = "#999999"
FORWARD_ALPHA = 0.45


def _part_style(part: str, stages: list[str]) -> dict:
    stage, _, direction = part.partition(" ")
    if part == "update":
        return dict(color=UPDATE_COLOUR)
    return dict(color=STAGE_COLOURS[stages.index(stage) % len(STAGE_COLOURS)],
                alpha=FORWARD_ALPHA if direction == "forward" else 1.0)


def breakdown_facets(found: list[Breakdown]) -> list[tuple[str, list[Breakdown]]]:
    """(title, its cases top to bottom) per config and batch, ResNet-50 at 32 px before 224."""
    out: dict[tuple, list[Breakdown]] = {}
    for b in found:
        out.setdefault((b.key.resolution, b.key.batch_size, b.key.config), []).append(b)
    return [(f"{config} (batch {batch})", sorted(cases, key=lambda b: (order_key(b.key.backend), b.key.dtype,
                                                                       b.key.threads)))
            for (_, batch, config), cases in sorted(out.items())]


def breakdown_facet_heights(found: list[Breakdown]) -> list[float]:
    return [0.7 + 0.32 * len(cases) for _, cases in breakdown_facets(found)]


def breakdown_figure(found: list[Breakdown], axes: list[Axes] | None = None, legend_x: float | None = 1.13) -> Figure:
    """Where the time of one step goes, per case of one machine: a bar per case, split into the
    step's parts in the order they ran (forward stem to head, lighter; backward head to stem; the
    SGD update, grey), as fractions of that step; the step's time at the bar's end. Fractions, not
    seconds: a pure-Python step is a thousand times longer than the others."""
    facets = breakdown_facets(found)
    own = axes is None
    thin = own and is_narrow()  # a phone: each case's name and time over its bar, the legend below
    if own:
        heights = [0.6 + NARROW_ROW * len(cases) for _, cases in facets] if thin else breakdown_facet_heights(found)
        # beside the panels (wide) the legend (a two-line title, seven stages) needs 3 inches whatever the panels
        axes = stacked(heights, 2.6 if thin else max(0.9, 3.0 - sum(heights)))
    fig = axes[0].figure
    at = ROW_MARK_AT if thin else 0.0
    legend: dict[str, object] = {}
    for ax, (title, cases) in zip(axes, facets):
        for row, b in enumerate(cases):
            stages = list(dict.fromkeys(p.partition(" ")[0] for p in b.parts if p != "update"))
            left = 0.0
            for part, value in b.parts.items():
                share = value / b.total
                bar = ax.barh(row + at, share, left=left, height=0.42 if thin else 0.7, edgecolor="white",
                              linewidth=0.5, **_part_style(part, stages))
                stage = part.partition(" ")[0]
                if part == "update" or part.endswith("backward"):
                    legend.setdefault(stage, bar)
                left += share
            if not thin:
                ax.text(1.01, row, seconds(b.total), va="center", ha="left", fontsize="medium")
        if thin:
            names_above_rows(ax, [f"{b.key.short}: {seconds(b.total)}" for b in cases])
        else:
            ax.set_yticks(range(len(cases)), [b.key.short for b in cases])
        ax.set_ylim(len(cases) - 0.5, -0.5)
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
        ax.set_title(title, loc="left")
    order = [*(s for s in legend if s != "update"), "update"] if "update" in legend else list(legend)
    if thin:
        axes[-1].set_xlabel(wrapped("share of one instrumented step, in the order the parts ran"))
        fig.legend([legend[s] for s in order], order, title="lighter: forward, darker: backward",
                   loc="outside lower center", ncol=2, frameon=False)
    else:
        axes[-1].set_xlabel("share of one instrumented step, in the order the parts ran; the step's time at the right")
    if legend_x is not None and not thin:  # None: a figure beside this one on the page carries the legend
        legend_beside(axes[0], [legend[s] for s in order], order, title="lighter: forward\ndarker: backward",
                       x=legend_x, alignment="left")
    if own and found:
        fig.suptitle(wrapped(f"Where the time of one ResNet-50 step goes on {found[0].machine}", scale=1.2), x=0.01, ha="left",
                     fontsize="large")
    return fig
