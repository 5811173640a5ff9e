"""Where the report's charts go on a landscape A4 page: each kind's size (a ladder and a stage
breakdown by their bars, every other kind a fixed height) and how it is drawn between two heights
of the page (figure fractions), across the page or in one half of it."""

from __future__ import annotations

from matplotlib.figure import Figure

from . import charts as chart
from .document import FigureBlock
from .ladder import shown_rungs

W, H = 11.69, 8.27  # inches, A4 landscape


def stacked(page: Figure, heights: list[float], *, left: float, width: float, top: float, bottom: float,
             gap: float) -> list:
    """Axes one above the other between the figure fractions ``top`` and ``bottom``, sharing x,
    each as tall as its share of ``heights``."""
    scale = (top - bottom - gap * (len(heights) - 1)) / sum(heights)
    axes, y = [], top
    for h in heights:
        axes.append(page.add_axes((left, y - h * scale, width, h * scale), sharex=axes[0] if axes else None))
        y -= h * scale + gap
    return axes


def side_by_side(page: Figure, count: int, left: float, right: float, bottom: float, top: float, gap: float = 0.03):
    """``count`` axes in a row between the figure fractions ``left``..``right``, ``bottom``..``top``."""
    width = (right - left - gap * (count - 1)) / count
    first = page.add_axes((left, bottom, width, top - bottom))
    return [first] + [page.add_axes((left + i * (width + gap), bottom, width, top - bottom), sharey=first)
                      for i in range(1, count)]


def _ladder(page: Figure, group, top: float, bottom: float) -> None:
    chart.ladder_figure(group, side_by_side(page, len(group), 0.30, 0.97, bottom, top))


def _throughput(page: Figure, groups, top: float, bottom: float) -> None:
    chart.throughput_figure(groups, side_by_side(page, len(groups), 0.1, 0.7, bottom, top))


def _machines(page: Figure, data, top: float, bottom: float) -> None:
    chart.machines_figure(*data, page.add_axes((0.2, bottom, 0.38, top - bottom)))


def _breakdown(page: Figure, found, top: float, bottom: float, half: int | None = None) -> None:
    """A stage breakdown across the page, or in its left (``half`` 0) or right (1) half, the right
    one carrying the legend."""
    left, width, legend_x = (0.2, 0.5, 1.13) if half is None else ((0.17, 0.23, None), (0.6, 0.2, 1.28))[half]
    bars = [len(cases) for _, cases in chart.breakdown_facets(found)]
    chart.breakdown_figure(found, stacked(page, bars, left=left, width=width, top=top, bottom=bottom, gap=FACET_GAP / H),
                         legend_x=legend_x)


def _scaling(page: Figure, sweeps, top: float, bottom: float) -> None:
    chart.scaling_panels(sweeps, side_by_side(page, chart.scaling_panel_count(sweeps), 0.07, 0.97, bottom, top, gap=0.012))


def _efficiency(page: Figure, by_machine, top: float, bottom: float) -> None:
    machines = chart.efficiency_machines(by_machine)
    left, width = 0.16, 0.52 / len(machines)
    rows = stacked(page, chart.efficiency_facet_heights(by_machine), left=left, width=width, top=top, bottom=bottom,
                    gap=0.05)
    grid = [[ax] + [page.add_axes((left + i * (width + 0.015), *ax.get_position().bounds[1:]), sharex=ax, sharey=ax)
                    for i in range(1, len(machines))] for ax in rows]
    chart.efficiency_figure(by_machine, grid)


# Each figure kind laid out on a landscape page: how to draw it between two heights (figure
# fractions), and how many inches of axes it takes.
DRAW = {"ladder": _ladder, "throughput": _throughput, "machines": _machines, "breakdown": _breakdown,
        "scaling": _scaling, "efficiency": _efficiency}
# inches of axes of the charts drawn at a fixed height (a ladder and a stage breakdown are sized by their bars)
FIGURE_HEIGHT = {"throughput": 1.7, "machines": 2.0, "scaling": 2.1, "efficiency": 2.3}
FIGURE_FONT = 7.0  # points: the figures' text on the page, as large as the tables' (FONT)
BAR = 1.15 * FIGURE_FONT / 72  # inches a bar of a ladder or a stage breakdown: its label's line and a gap
FACET_GAP = 0.42  # inches between stacked panels: the upper one's tick labels, the lower one's title


def figure_height(block: FigureBlock) -> float:
    """Inches of axes a figure gets: a ladder and a stage breakdown by their bars (at most a
    page), every other kind its fixed height."""
    if block.kind == "breakdown":
        bars = [len(cases) for _, cases in chart.breakdown_facets(block.data)]
        return min(4.6, BAR * sum(bars) + FACET_GAP * (len(bars) - 1))
    if block.kind == "ladder":
        return min(4.6, BAR * len(shown_rungs(block.data)[0]))
    return FIGURE_HEIGHT[block.kind]


SHRINK = 0.7  # the least fraction of its height a chart of no bars is drawn at to stay on its page
TITLE_ROOM = 0.3  # inches above the axes for the panels' titles (a machine's name wraps to two lines)
LABEL_ROOM = 0.42  # inches below the axes for tick labels and the axis title


PAIRED = ("breakdown",)  # kinds of chart drawn two to a row, each in half the page


def paired(block, after) -> bool:
    """Whether ``block`` and the block ``after`` it are charts drawn side by side."""
    return (isinstance(block, FigureBlock) and isinstance(after, FigureBlock) and block.kind == after.kind
            and block.kind in PAIRED)
