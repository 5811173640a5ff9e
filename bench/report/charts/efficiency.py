"""Efficiency: each case's achieved GFLOP/s over the same machine's measured GEMM peak, a row
of panels per model and a column per machine."""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from implementations.registry import order_key
from ..cases import config_ranks
from ..efficiency import Efficiency
from .style import LEGEND_ROWS, figure, is_narrow, legend_beside, machine_title, point_style, series_label, wrapped


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
        shown_series = {(c.backend, c.dtype, c.threads) for effs in shown.values() for c in (e.case for e in effs)}
        # narrow: the legend is one column under the panels, a line an entry
        fig = figure(sum(heights) + (2.0 + 0.25 * len(shown_series) if is_narrow() else 3.2))
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
                               **point_style(c.backend, c.dtype, c.threads))
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
    labels = [series_label(*k[1:]) for k in sorted(series)]
    if own:  # the HTML column is narrower than a page: the legend goes below, one axis title for all
        fig.suptitle(wrapped("Efficiency: achieved GFLOP/s over the same machine's measured GEMM peak in the case's "
                             "precision", scale=1.2), x=0.01, ha="left", fontsize="large")
        axes[-1][len(machines) // 2].set_xlabel(wrapped("achieved / peak GFLOP/s (log scale)", 1.8))
        fig.legend(handles, labels, loc="outside lower center", ncol=1 if is_narrow() else 3, frameon=False)
    else:  # beside the grid, in as many columns as keep it within the grid's height
        legend_beside(axes[0][-1], handles, labels, ncol=1 + len(handles) // LEGEND_ROWS)
    return fig
