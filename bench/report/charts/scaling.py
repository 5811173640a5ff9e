"""Time per step against width of the mlp-width-N sweep: a machine's lines in panels of at most
``MAX_SERIES``, loop code apart from vectorized code."""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import ScaledTranslation

from implementations.registry import LOOP_ROLES, order_key, role_of
from ..palette import colour
from ..scaling import SweepLine
from .style import is_narrow, linestyle, machine_title, panels, point_style, seconds_ticks, series_label, wrapped


def _scaling_panel(ax: Axes, lines: list[SweepLine], with_exponent: bool) -> dict[str, Line2D]:
    """One machine's sweep on ``ax``: a line per case, its fit over the compute-bound widths dotted.
    Returns the legend entries (with the fitted exponent where ``with_exponent``)."""
    entries = {}
    for line in lines:
        fit = line.fit_wide
        (h,) = ax.plot(line.widths, line.medians, linestyle=linestyle(line.dtype),
                       **point_style(line.backend, line.dtype, line.threads))
        if with_exponent:  # under the panel (HTML): the name wrapped to the panel, the exponent under it
            name = wrapped(series_label(line.backend, line.dtype, line.threads), 1.9)
            entries[name + (f"\nk = {fit.exponent:.2f}" if fit else "")] = h
        else:
            entries[line.label] = h
        if fit is not None:
            w = line.widths[line.widths >= line.bound_from]
            ax.plot(w, fit.prefactor * w ** fit.exponent, color=colour(line.backend), linestyle=":",
                    linewidth=3, alpha=0.5)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("width N (log scale)")
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
            handles, labels = [*handles, handle], [*labels, wrapped(label, 1.9) if with_exponent else label]
        if with_exponent:  # under the panel: inside it the exponents' labels would cross the lines
            # anchored a fixed 0.55 inch under the axes (their tick labels and title), not a fraction of
            # their height, so that the layout can make room for it
            below = ax.transAxes + ScaledTranslation(0, -0.55, ax.figure.dpi_scale_trans)
            ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.0, 0.0), bbox_transform=below,
                      borderaxespad=0, frameon=False, handlelength=1.6)
        else:
            ax.legend(handles, labels, loc="upper left", frameon=False)
    for ax in axes if is_narrow() else axes[:1]:  # side by side the panels share one time axis
        seconds_ticks(ax)
        ax.set_ylabel("median time per step (log scale)")
    for ax in [] if is_narrow() else axes[1:]:
        ax.tick_params(which="both", labelleft=False)


def scaling_figure(machine, lines: list[SweepLine]) -> Figure:
    """One machine's mlp-width-N sweep, its panels side by side, each line's fitted exponent k in
    its panel's legend."""
    groups = scaling_groups(lines)
    # each panel's axes, and under it its legend: about three lines an entry (a wrapped name and its
    # exponent), and the fit's entry
    legend = 0.25 * (3 * max(len(g) for g in groups) + 3)
    fig, axes = panels(len(groups), 3.2 + legend, None)
    _scaling_on(axes, [(machine, g) for g in groups], with_exponent=True)
    fig.suptitle(wrapped(f"mlp-width-N (batch 32) on {machine}", scale=1.2), x=0.01, ha="left", fontsize="large")
    return fig


def scaling_panels(sweeps: dict, axes: list[Axes]) -> None:
    """Every machine's sweep side by side on one shared time axis (one landscape page): where a machine
    is flat (launch-bound) beside the others' slopes is the point; the exponents are in the tables."""
    _scaling_on(axes, [(m, g) for m, lines in sweeps.items() for g in scaling_groups(lines)], with_exponent=False)
