"""Every figure of the report, drawn with matplotlib's Agg backend; one colour per backend.

Figures are vector (SVG inline in the HTML, vector in the PDF) with text kept as text. At the SVG's
natural size one point is 4/3 CSS pixel, so ``FONT`` = 11.5 pt is 15.3 px, the HTML body's 15 px or more: no text in a
figure is smaller than the text around it at 100% zoom. Every series a legend names differs from
the others in colour (backend), line style or marker fill (dtype) and marker shape (threads).
Legends sit outside the axes, never over data.
"""

from __future__ import annotations

import io
import re
import textwrap

import matplotlib

matplotlib.use("Agg")
from matplotlib.axes import Axes  # noqa: E402  (the backend must be chosen first)
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402
import numpy as np  # noqa: E402

from ..formatting import seconds, times  # noqa: E402
from ..measurement import Breakdown, case_name  # noqa: E402
from .cases import config_ranks  # noqa: E402
from .efficiency import Efficiency  # noqa: E402
from .ladder import Ladder, ThroughputLine, shown_rungs  # noqa: E402
from .machines import RungAcross  # noqa: E402
from implementations.registry import LOOP_ROLES, order_key, role_of  # noqa: E402
from .palette import colour  # noqa: E402
from .scaling import SweepLine  # noqa: E402

FONT = 11.5  # points: 15.3 px at the SVG's natural size, the HTML body's 15 px or more
matplotlib.rcParams.update({
    # sizes relative to font.size, so that the PDF draws the same figures smaller (pdf.FIGURE_FONT)
    "font.size": FONT, "axes.titlesize": "medium", "axes.labelsize": "medium", "xtick.labelsize": "medium",
    "ytick.labelsize": "medium", "legend.fontsize": "medium", "figure.titlesize": "large",
    "figure.labelsize": "medium", "svg.fonttype": "none",  # text stays text
    "svg.hashsalt": "vecbench",  # the same figure gives the same SVG: reports diff cleanly
})
WIDTH = 9.0  # inches: 864 px at its natural size, within the HTML column and a landscape A4 page


def _new(height: float, ax=None) -> tuple[Figure, Axes]:
    """A fresh figure, or the figure of ``ax`` when the caller (the PDF page) supplies the axes."""
    if ax is not None:
        return ax.figure, ax
    fig = _figure(height)
    return fig, fig.add_subplot()


def marker(threads: int) -> str:
    """Circle for one thread, triangle for more."""
    return "o" if threads == 1 else "^"


def linestyle(dtype: str) -> str:
    return "-" if dtype == "float32" else "--"


def _series_label(backend: str, dtype: str, threads: int) -> str:
    """``numpy float32 2t`` (``torch-cuda float32`` for a GPU rung): the legends' compact case name."""
    return case_name(backend, dtype, threads, compact=True)


def _point_style(backend: str, dtype: str, threads: int) -> dict:
    c = colour(backend)
    return dict(marker=marker(threads), color=c, markeredgecolor=c,
                markerfacecolor=c if dtype != "float64" else "white", markersize=7)


def _legend_beside(ax: Axes, handles, labels, x: float = 1.01, **kwargs) -> None:
    """The legend to the right of ``ax`` (``x`` axes widths from its left), outside it: never over data."""
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(x, 1.0), borderaxespad=0, frameon=False,
              **kwargs)


def _figure(height: float) -> Figure:
    return Figure(figsize=(WIDTH, height), dpi=100, layout="constrained")


def _stacked(heights: list[float], extra: float) -> list[Axes]:
    """Panels one above the other sharing their x axis, ``heights`` inches each plus ``extra`` for
    the title and the axis label."""
    fig = _figure(sum(heights) + extra)
    return list(np.atleast_1d(fig.subplots(len(heights), 1, height_ratios=heights, squeeze=False, sharex=True)[:, 0]))


def _panels(count: int, height: float, axes) -> tuple[Figure, list[Axes]]:
    """``count`` panels side by side sharing their y axis, or the caller's ``axes`` (the PDF page)."""
    if axes is not None:
        return axes[0].figure, list(axes)
    fig = _figure(height)
    return fig, list(np.atleast_1d(fig.subplots(1, count, sharey=True, squeeze=False)[0]))


def ladder_figure(ladders: list[Ladder], axes=None) -> Figure:
    """One config's ladder, one panel per machine side by side: a horizontal bar per rung, loops at
    the top, median seconds per step (log scale), whiskers spanning the rounds' interquartile range,
    and beside each bar the rung's multiplier over loops on that machine."""
    own = axes is None
    names, _ = shown_rungs(ladders)  # a GPU machine adds rungs; rungs no machine ran are left out
    fig, axes = _panels(len(ladders), 1.6 + 0.42 * len(names), axes)
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


def machine_title(machine, ax: Axes) -> str:
    """A machine's name over the panel ``ax``: wrapped to the panel's width at the figure's font
    size (a character is about 0.6 of the size wide), never cut off."""
    width = ax.get_position().width * ax.figure.get_figwidth() * 72 / (0.6 * matplotlib.rcParams["font.size"])
    return textwrap.fill(str(machine), max(12, int(width)))


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
    fig, axes = _panels(len(groups), 4.6, axes)
    series: dict[str, Line2D] = {}
    for ax, lines in zip(axes, groups):
        for line in lines:
            case = line.points[0][2]
            (h,) = ax.plot([p[0] for p in line.points], [p[1] for p in line.points], linestyle=linestyle(case.dtype),
                           **_point_style(line.backend, case.dtype, case.threads))
            series.setdefault(_series_label(line.backend, case.dtype, case.threads), h)
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
        _legend_beside(axes[-1], list(series.values()), list(series))
    return fig


def _scaling_panel(ax: Axes, lines: list[SweepLine], with_exponent: bool) -> dict[str, Line2D]:
    """One machine's sweep on ``ax``: a line per case, its fit over the compute-bound widths dotted.
    Returns the legend entries (with the fitted exponent where ``with_exponent``)."""
    entries = {}
    for line in lines:
        fit = line.fit_wide
        (h,) = ax.plot(line.widths, line.medians, linestyle=linestyle(line.dtype),
                       **_point_style(line.backend, line.dtype, line.threads))
        entries[line.label + (f", k = {fit.exponent:.2f}" if fit and with_exponent else "")] = h
        if fit is not None:
            w = line.widths[line.widths >= line.bound_from]
            ax.plot(w, fit.prefactor * w ** fit.exponent, color=colour(line.backend), linestyle=":",
                    linewidth=3, alpha=0.5)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("width N (input = hidden = N, log scale)" if with_exponent else "width N (log scale)")
    ax.grid(which="major", alpha=0.3)
    return entries


def _fit_entry() -> tuple[Line2D, str]:
    return Line2D([], [], color="#555555", linestyle=":", linewidth=3, alpha=0.5), "fit, compute-bound widths"


MAX_SERIES = 4  # lines one scaling panel holds: more are not told apart by colour, marker and dash


def scaling_groups(lines: list[SweepLine]) -> list[list[SweepLine]]:
    """One machine's sweep lines as panels of at most ``MAX_SERIES``: the loop code apart from the
    vectorized code (by the backends' roles), each in ladder order, then cut in fours."""
    ordered = sorted(lines, key=lambda l: (order_key(l.backend), l.dtype, l.threads))
    parts = ([l for l in ordered if role_of(l.backend) in LOOP_ROLES],
             [l for l in ordered if role_of(l.backend) not in LOOP_ROLES])
    return [part[i:i + MAX_SERIES] for part in parts for i in range(0, len(part), MAX_SERIES)]


def scaling_panel_count(sweeps: dict) -> int:
    return sum(len(scaling_groups(lines)) for lines in sweeps.values())


def _scaling_on(axes: list[Axes], panels: list[tuple[object, list[SweepLine]]], with_exponent: bool) -> None:
    """``panels`` (machine, its lines) on ``axes`` side by side sharing the time axis, each with its
    legend inside its upper left (the slow small widths are there only for flat lines)."""
    for i, (ax, (machine, lines)) in enumerate(zip(axes, panels)):
        entries = _scaling_panel(ax, lines, with_exponent)
        ax.set_title(machine_title(machine, ax), loc="left", fontsize="medium")
        handles, labels = list(entries.values()), list(entries)
        if i == 0:
            handle, label = _fit_entry()
            handles, labels = [*handles, handle], [*labels, label]
        ax.legend(handles, labels, loc="upper left", frameon=False)
    _seconds_ticks(axes[0])
    axes[0].set_ylabel("median time per step (log scale)")
    for ax in axes[1:]:
        ax.tick_params(which="both", labelleft=False)


def scaling_figure(machine, lines: list[SweepLine]) -> Figure:
    """One machine's mlp-width-N sweep, its panels side by side, each line's fitted exponent k in
    its panel's legend."""
    groups = scaling_groups(lines)
    fig, axes = _panels(len(groups), 5.0, None)
    _scaling_on(axes, [(machine, g) for g in groups], with_exponent=True)
    fig.suptitle(f"mlp-width-N (batch 32) on {machine}", x=0.01, ha="left", fontsize="large")
    return fig


def scaling_panels(sweeps: dict, axes: list[Axes]) -> None:
    """Every machine's sweep side by side on one shared time axis (one landscape page): where a machine
    is flat (launch-bound) beside the others' slopes is the point; the exponents are in the tables."""
    _scaling_on(axes, [(m, g) for m, lines in sweeps.items() for g in scaling_groups(lines)], with_exponent=False)


CONFIG_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")
MACHINE_MARKERS = ("o", "s", "D", "v", "P")


def _seconds_ticks(ax: Axes) -> None:
    """A log y axis of times written as the tables write them (``1.2 ms``); denser ticks where the
    data span less than two decades, so a flat line still gets labels."""
    ax.set_yscale("log")
    low, high = ax.get_ylim()
    if high / low < 2:  # a flat line (launch-bound steps): ticks 20% apart or closer
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)))
    elif high / low < 5:  # well under a decade: every 1..9 step
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=np.arange(1.0, 10.0)))
    elif high / low < 100:
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: seconds(v)))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _times_ticks(ax: Axes) -> None:
    """Multiplier ticks at 1, 2 and 5 per decade, written as the tables write them (``2×``)."""
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: times(v)))
    ax.xaxis.set_minor_formatter(NullFormatter())


def machines_figure(machines: list, rows: list[RungAcross], ax=None) -> Figure:
    """Each rung's time on every machine over the first machine's (log scale), a row per rung, a
    colour per config and a marker per machine: where a machine gains or loses, rung by rung."""
    names = list(dict.fromkeys(r.rung for r in rows))
    configs = list(dict.fromkeys(f"{r.config} ({r.batch_size})" for r in rows))
    fig, ax = _new(1.6 + 0.42 * len(names), ax)
    handles = {}
    for r in rows:
        ci = configs.index(f"{r.config} ({r.batch_size})")
        for mi, (machine, s) in enumerate(r.over_reference.items()):
            (h,) = ax.plot([s.value], [names.index(r.rung)], linestyle="none", marker=MACHINE_MARKERS[mi % len(MACHINE_MARKERS)],
                           color=CONFIG_COLOURS[ci % len(CONFIG_COLOURS)], markersize=8)
            label = f"{r.config} ({r.batch_size})" + (f", {machine}" if len(machines) > 2 else "")
            handles.setdefault(label, h)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    _times_ticks(ax)
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlabel(f"each machine's time per step over {machines[0]}'s\n(log scale; right of 1: slower)")
    _legend_beside(ax, list(handles.values()), list(handles), title="config (batch)")
    ax.grid(axis="x", which="major", alpha=0.3)
    return fig


def _facet_row(case) -> str:
    """A case's row in the efficiency figure: configs by name, an image model's (ResNet-50) with its batch."""
    return f"{case.config}@{case.batch_size}" if case.resolution else case.config


def _in_efficiency_figure(e: Efficiency) -> bool:
    """Cases against a peak; of the width sweep only the octaves (32, 64, ..., 2048), so that a
    quarter-octave sweep does not add twenty rows (every case is in the efficiency table)."""
    width = e.case.sweep_width
    return e.peak is not None and (width is None or width & (width - 1) == 0)


def _facets(effs: list[Efficiency]) -> list[tuple[str, list[str]]]:
    """(model, its configs top to bottom) for every model shown, over all machines."""
    out: dict[str, list[str]] = {}
    ranks = config_ranks([e.case for e in effs])
    for e in sorted(effs, key=lambda e: (ranks[e.case.config], e.case.batch_size)):
        configs = out.setdefault(e.case.model, [])
        if _facet_row(e.case) not in configs:
            configs.append(_facet_row(e.case))
    return list(out.items())


def efficiency_facet_heights(by_machine: dict) -> list[float]:
    """Inches each model's row of panels needs: a row per config, plus its title and axis."""
    shown = [e for effs in by_machine.values() for e in effs if _in_efficiency_figure(e)]
    return [0.5 + 0.24 * len(configs) for _, configs in _facets(shown)]


def efficiency_machines(by_machine: dict) -> list:
    """The machines with a case against a peak: the figure's columns."""
    return [m for m, effs in by_machine.items() if any(_in_efficiency_figure(e) for e in effs)]


def efficiency_figure(by_machine: dict, axes: list[list[Axes]] | None = None) -> Figure:
    """Fraction of the measured GEMM peak per case: a column per machine, a row of panels per model,
    a row per config, one marker per rung (colour: backend; filled float32, hollow float64; circle
    1 thread, triangle more). A config adds a row, a machine a column, never a cluster of bars.
    ``axes``: rows (models) of columns (machines), from the caller (the PDF page) or made here."""
    machines = efficiency_machines(by_machine)
    shown = {m: [e for e in by_machine[m] if _in_efficiency_figure(e)] for m in machines}
    facets = _facets([e for effs in shown.values() for e in effs])
    own = axes is None
    if own:
        heights = efficiency_facet_heights(by_machine)
        fig = _figure(sum(heights) + 3.2)
        axes = fig.subplots(len(facets), len(machines), squeeze=False, sharex=True, sharey="row",
                            height_ratios=heights)
    fig = axes[0][0].figure
    series: dict[tuple, Line2D] = {}
    for col, machine in enumerate(machines):
        for row, (model, configs) in enumerate(facets):
            ax = axes[row][col]
            rows = {name: i for i, name in enumerate(configs)}
            for e in shown[machine]:
                c = e.case
                if c.model != model:
                    continue
                (h,) = ax.plot([e.fraction], [rows[_facet_row(c)]], linestyle="none",
                               **_point_style(c.backend, c.dtype, c.threads))
                series.setdefault((order_key(c.backend), c.backend, c.dtype, c.threads), h)
            if col == 0:  # the row's other panels share these ticks
                ax.set_yticks(range(len(configs)), configs)
            else:
                ax.tick_params(axis="y", labelleft=False)
            ax.set_ylim(len(configs) - 0.5, -0.5)
            ax.set_xscale("log")
            ax.axvline(1.0, color="black", linewidth=0.8)
            ax.grid(which="major", alpha=0.3)
            if row == 0:
                ax.set_title(machine_title(machine, ax), loc="left",
                             fontsize="medium")
            if col == 0:
                ax.set_ylabel(model)
            if row == len(facets) - 1 and not own:
                ax.set_xlabel("GFLOP/s / peak (log)")
    handles = [series[k] for k in sorted(series)]
    labels = [_series_label(*k[1:]) for k in sorted(series)]
    if own:  # the HTML column is narrower than a page: the legend goes below, one axis title for all
        fig.suptitle("Efficiency: achieved GFLOP/s over the same machine's measured GEMM peak in the case's "
                     "precision", x=0.01, ha="left", fontsize="large")
        axes[-1][len(machines) // 2].set_xlabel("achieved / peak GFLOP/s (log scale)")
        fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False)
    else:  # beside the grid, in as many columns as keep it within the grid's height
        _legend_beside(axes[0][-1], handles, labels, ncol=1 + len(handles) // LEGEND_ROWS)
    return fig


LEGEND_ROWS = 12  # entries a legend beside a page's chart holds in one column


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
    if own:
        axes = _stacked(breakdown_facet_heights(found), 0.9)
    fig = axes[0].figure
    legend: dict[str, object] = {}
    for ax, (title, cases) in zip(axes, facets):
        for row, b in enumerate(cases):
            stages = list(dict.fromkeys(p.partition(" ")[0] for p in b.parts if p != "update"))
            left = 0.0
            for part, value in b.parts.items():
                share = value / b.total
                bar = ax.barh(row, share, left=left, height=0.7, edgecolor="white", linewidth=0.5,
                              **_part_style(part, stages))
                stage = part.partition(" ")[0]
                if part == "update" or part.endswith("backward"):
                    legend.setdefault(stage, bar)
                left += share
            ax.text(1.01, row, seconds(b.total), va="center", ha="left", fontsize="medium")
        ax.set_yticks(range(len(cases)), [b.key.short for b in cases])
        ax.set_ylim(len(cases) - 0.5, -0.5)
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
        ax.set_title(title, loc="left")
    axes[-1].set_xlabel("share of one instrumented step, in the order the parts ran; the step's time at the right")
    order = [*(s for s in legend if s != "update"), "update"] if "update" in legend else list(legend)
    if legend_x is not None:  # None: a figure beside this one on the page carries the legend
        _legend_beside(axes[0], [legend[s] for s in order], order, title="lighter: forward\ndarker: backward",
                       x=legend_x, alignment="left")
    if own and found:
        fig.suptitle(f"Where the time of one ResNet-50 step goes on {found[0].machine}", x=0.01, ha="left",
                     fontsize="large")
    return fig


def svg(fig: Figure) -> str:
    """``fig`` as an ``<svg>`` element to inline in HTML: no XML prolog, a viewBox so that CSS can
    shrink it on a narrow screen; its width and height stay the natural size."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    return re.sub(r"<metadata>.*?</metadata>", "", text, count=1, flags=re.S)
