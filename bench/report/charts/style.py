"""What every chart of the report shares: the fonts, the series' styles, legends, panels, axes'
ticks and the SVG writer; matplotlib's Agg backend.

Charts are vector (SVG inline in the HTML, vector in the PDF) with text kept as text. At the SVG's
natural size one point is 4/3 CSS pixel, so ``FONT`` = 11.5 pt is 15.3 px, the HTML body's 15 px or
more: no text in a chart is smaller than the text around it at 100% zoom (the PDF draws the same
charts at its own size, ``pdf.FIGURE_FONT``). Every series a legend names differs from the others
in colour (backend), line style or marker fill (dtype) and marker shape (threads). Legends sit
outside the axes or in a panel's empty corner, never over data.
"""

from __future__ import annotations

import io
import re
import textwrap
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")
from matplotlib.axes import Axes  # noqa: E402  (the backend must be chosen first)
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402
import numpy as np  # noqa: E402

from ...formatting import seconds, times  # noqa: E402
from ...keys import case_name  # noqa: E402
from ..palette import colour  # noqa: E402

FONT = 11.5  # points: 15.3 px at the SVG's natural size, the HTML body's 15 px or more
matplotlib.rcParams.update({
    # sizes relative to font.size, so that the PDF draws the same figures smaller (pdf.FIGURE_FONT)
    "font.size": FONT, "axes.titlesize": "medium", "axes.labelsize": "medium", "xtick.labelsize": "medium",
    "ytick.labelsize": "medium", "legend.fontsize": "medium", "figure.titlesize": "large",
    "figure.labelsize": "medium", "svg.fonttype": "none",  # text stays text
    "svg.hashsalt": "vecbench",  # the same figure gives the same SVG: reports diff cleanly
})
WIDTH = 9.0  # inches: 864 px at its natural size, within the HTML column and a landscape A4 page
# inches: 326 px at its natural size, within a 390-px phone's column, so that its text stays at
# FONT (a wide chart shrunk to a phone's width would draw it at 6 px)
NARROW_WIDTH = 3.4
_widths = [WIDTH]


@contextmanager
def narrow():
    """Charts drawn inside are a phone's width: their panels one above the other (``is_narrow``)."""
    _widths.append(NARROW_WIDTH)
    try:
        yield
    finally:
        _widths.pop()


def is_narrow() -> bool:
    return _widths[-1] < WIDTH


def wrapped(text: str, width: float | None = None, scale: float = 1.0) -> str:
    """``text`` wrapped to ``width`` inches (the figure's width, less a margin) at ``scale`` times the
    font's size (1.2 for a "large" title): a title never runs off a narrow chart."""
    inches = width or _widths[-1] - 0.15
    chars = inches * 72 / (0.6 * scale * matplotlib.rcParams["font.size"])
    return textwrap.fill(text, max(12, int(chars)))


def names_above_rows(ax: Axes, names: list[str]) -> None:
    """Each row's name written inside the axes, over its row, instead of as a tick label beside it:
    a narrow panel has no room beside it for a name like "torch-cuda-compile bfloat16 autocast".
    The rows' marks are drawn in the lower part of each row (``ROW_MARK_AT``)."""
    ax.set_yticks(range(len(names)), [""] * len(names))
    ax.tick_params(axis="y", length=0)
    across = blended_transform_factory(ax.transAxes, ax.transData)
    for i, name in enumerate(names):
        ax.text(0.01, i - 0.02, name, transform=across, va="bottom", ha="left", fontsize="medium")


ROW_MARK_AT = 0.22  # where a narrow row's bar or marker sits, below its name (rows are 1 apart)
NARROW_ROW = 0.5  # inches of a narrow row: a line of its name and its bar


def new_figure(height: float, ax=None) -> tuple[Figure, Axes]:
    """A fresh figure, or the figure of ``ax`` when the caller (the PDF page) supplies the axes."""
    if ax is not None:
        return ax.figure, ax
    fig = figure(height)
    return fig, fig.add_subplot()


def marker(threads: int) -> str:
    """Circle for one thread, triangle for more."""
    return "o" if threads == 1 else "^"


def linestyle(dtype: str) -> str:
    return "-" if dtype == "float32" else "--"


def series_label(backend: str, dtype: str, threads: int) -> str:
    """``numpy float32 2t`` (``torch-cuda float32`` for a GPU rung): the legends' compact case name."""
    return case_name(backend, dtype, threads, compact=True)


def point_style(backend: str, dtype: str, threads: int) -> dict:
    c = colour(backend)
    return dict(marker=marker(threads), color=c, markeredgecolor=c,
                markerfacecolor=c if dtype != "float64" else "white", markersize=7)


def legend_beside(ax: Axes, handles, labels, x: float = 1.01, **kwargs) -> None:
    """The legend to the right of ``ax`` (``x`` axes widths from its left), outside it: never over data."""
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(x, 1.0), borderaxespad=0, frameon=False,
              **kwargs)


def figure(height: float) -> Figure:
    return Figure(figsize=(_widths[-1], height), dpi=100, layout="constrained")


def stacked(heights: list[float], extra: float) -> list[Axes]:
    """Panels one above the other sharing their x axis, ``heights`` inches each plus ``extra`` for
    the title and the axis label."""
    fig = figure(sum(heights) + extra)
    return list(np.atleast_1d(fig.subplots(len(heights), 1, height_ratios=heights, squeeze=False, sharex=True)[:, 0]))


def panels(count: int, height: float, axes) -> tuple[Figure, list[Axes]]:
    """``count`` panels side by side sharing their y axis (narrow: one above the other, each
    ``height`` tall, sharing their x axis), or the caller's ``axes`` (the PDF page)."""
    if axes is not None:
        return axes[0].figure, list(axes)
    if is_narrow():
        fig = figure(height * count)
        return fig, list(np.atleast_1d(fig.subplots(count, 1, sharex=True, squeeze=False)[:, 0]))
    fig = figure(height)
    return fig, list(np.atleast_1d(fig.subplots(1, count, sharey=True, squeeze=False)[0]))


def machine_title(machine, ax: Axes) -> str:
    """A machine's name over the panel ``ax``: wrapped to the panel's width at the figure's font
    size (a character is about 0.6 of the size wide; the panel's width known before the layout
    makes room for tick labels, so 80% of it), never cut off."""
    share = 0.6 if is_narrow() else 0.8  # a phone's panel loses more of its width to the tick labels
    return wrapped(str(machine), share * ax.get_position().width * ax.figure.get_figwidth())


def seconds_ticks(ax: Axes) -> None:
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


def times_ticks(ax: Axes) -> None:
    """Multiplier ticks at 1, 2 and 5 per decade, written as the tables write them (``2×``)."""
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: times(v)))
    ax.xaxis.set_minor_formatter(NullFormatter())


LEGEND_ROWS = 12  # entries a legend beside a page's chart holds in one column


def svg(fig: Figure, prefix: str = "") -> str:
    """``fig`` as an ``<svg>`` element to inline in HTML: no XML prolog, a viewBox so that CSS can
    shrink it on a narrow screen; its width and height stay the natural size. Every id in it (and
    every reference to one) starts with ``prefix``: matplotlib numbers them alike in every figure,
    and a page of inline SVGs must not repeat an id (a hatch would fill from a hidden figure's)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, count=1, flags=re.S)
    if prefix:
        text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}\1"', text)
        text = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}\1)", text)
        text = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}\1"', text)
    return text
