"""The report as a PDF built with matplotlib alone: text and tables drawn as text, then figures.

Pages are landscape A4. Text flows down a page and onto the next; a table that does not fit
continues on the next page under its repeated header. Every page carries its section name at the
top, so a reader (or a test) can tell where it is.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from . import figures as fig  # noqa: E402
from .headline import verdict_line  # noqa: E402
from .document import Bullets, Document, FigureBlock, Paragraph, Subheading, TableBlock, Verdicts  # noqa: E402
from .tables import Table  # noqa: E402

W, H = 11.69, 8.27  # inches, A4 landscape
MARGIN = 0.45
FONT = 7.0  # points, table text
LINE = FONT * 1.35 / 72  # inches per line of table text
CHAR = FONT * 0.6 / 72  # average character width in inches (DejaVu Sans)


def _heading_room(size: float) -> float:
    """Inches a heading of ``size`` points needs above what follows it."""
    return size * 2.2 / 72


def _line_step(size: float) -> float:
    """Inches from one line of paragraph text of ``size`` points to the next."""
    return size * 1.4 / 72


def _paragraph_lines(s: str, size: float, width: float) -> list[str]:
    """``s`` wrapped into lines of paragraph text ``width`` inches wide."""
    return textwrap.wrap(s, int(width / (size * 0.52 / 72))) or [""]


def _cell_lines(text: str, width: float) -> list[str]:
    """A table cell's text wrapped to a column ``width`` inches wide; its own line breaks kept."""
    chars = max(4, int(width / CHAR) - 2)
    return [piece for part in str(text).split("\n") for piece in (textwrap.wrap(part, chars) or [""])]


class Writer:
    """Lays out headings, paragraphs, tables and figure pages onto PdfPages."""

    def __init__(self, pdf: PdfPages):
        self.pdf = pdf
        self.page: Figure | None = None
        self.y = 0.0  # inches from the top where the next block starts
        self.section = ""
        self.pages = 0

    # pages -------------------------------------------------------------------------------
    def start(self, section: str) -> None:
        self.flush()
        self.section = section
        self.page = Figure(figsize=(W, H))
        self.pages += 1
        self.text(MARGIN, 0.3, f"vecbench report · {section}", 8, color="#555555")
        self.text(W - MARGIN, H - 0.3, f"page {self.pages}", 7, color="#777777", ha="right")
        self.y = 0.6

    def flush(self) -> None:
        if self.page is not None:
            self.pdf.savefig(self.page)
            self.page = None

    def need(self, inches: float) -> None:
        if self.page is None or self.y + inches > H - MARGIN:
            self.start(self.section)

    def text(self, x: float, y: float, s: str, size: float, **kw) -> None:
        self.page.text(x / W, 1 - y / H, s, fontsize=size, va="top", ha=kw.pop("ha", "left"), **kw)

    # blocks ------------------------------------------------------------------------------
    def heading(self, s: str, size: float = 13) -> None:
        self.need(_heading_room(size) + 3 * LINE)
        self.text(MARGIN, self.y, s, size, weight="bold")
        self.y += size * 1.8 / 72

    def paragraph(self, s: str, size: float = 9, width: float = W - 2 * MARGIN) -> None:
        step = _line_step(size)
        for line in _paragraph_lines(s, size, width):
            self.need(step)
            self.text(MARGIN, self.y, line, size)
            self.y += step
        self.y += step * 0.4

    def table(self, t: Table, keep_together: bool = False) -> None:
        """``keep_together``: start a new page rather than split a table that fits on one."""
        width = W - 2 * MARGIN
        rel = t.widths or [1.0] * len(t.columns)
        cols = [width * r / sum(rel) for r in rel]
        xs = [MARGIN + sum(cols[:i]) for i in range(len(cols))]

        def cells(row: list[str]) -> list[list[str]]:
            return [_cell_lines(cell, c) for cell, c in zip(row, cols)]

        header = cells(t.columns)
        header_h = max(len(c) for c in header) * LINE + 0.05

        def draw_header(title: str) -> None:
            self.heading(title, 10)
            self._row(xs, cols, header, header_h, bold=True)

        rows = [cells(row) for row in (t.rows or [["none"] + [""] * (len(t.columns) - 1)])]
        heights = [max(len(c) for c in wrapped) * LINE + 0.04 for wrapped in rows]
        if keep_together:
            note_h = len(_paragraph_lines(t.note, 7.5, width)) * _line_step(7.5) if t.note else 0.0
            total = _heading_room(10) + header_h + sum(heights) + note_h
            if self.y + total > H - MARGIN and total < H - MARGIN - 0.6:
                self.start(self.section)
        draw_header(t.title)
        for i, (wrapped, h) in enumerate(zip(rows, heights)):
            if self.y + h > H - MARGIN:
                self.start(self.section)
                draw_header(f"{t.title} (continued)")
            flagged = t.flagged[i] if i < len(t.flagged) else False
            self._row(xs, cols, wrapped, h, shade="#fff0d6" if flagged else None)
        if t.note:
            self.paragraph(t.note, 7.5)
        self.y += 0.15

    def _row(self, xs, cols, wrapped, h, bold=False, shade=None) -> None:
        top = 1 - self.y / H
        if shade or bold:
            self.page.add_artist(Rectangle((MARGIN / W, top - h / H), (W - 2 * MARGIN) / W, h / H,
                                           transform=self.page.transFigure,
                                           color=shade or "#eeeeee", zorder=0))
        for x, lines in zip(xs, wrapped):
            self.text(x + 0.03, self.y + 0.02, "\n".join(lines), FONT, weight="bold" if bold else "normal",
                      linespacing=1.2)
        self.page.add_artist(Rectangle((MARGIN / W, top - h / H), (W - 2 * MARGIN) / W, 0.001,
                                       transform=self.page.transFigure, color="#bbbbbb"))
        self.y += h

    def below(self, bottom: float, labels: float = 0.55) -> None:
        """Continue the flow under axes whose bottom edge is at figure fraction ``bottom``, leaving
        ``labels`` inches for their tick labels and axis title."""
        self.y = H * (1 - bottom) + labels

    def figure(self, block: FigureBlock) -> None:
        """A chart under its title: on this page where it fits, else at the top of the next."""
        height = figure_height(block)
        if self.page is None or self.y + _heading_room(11) + TITLE_ROOM + height + LABEL_ROOM > H - MARGIN:
            self.start(self.section)
        self.heading(block.title, 11)
        top = 1 - (self.y + TITLE_ROOM) / H
        bottom = top - height / H
        DRAW[block.kind](self, block.data, top, bottom)
        self.below(bottom, LABEL_ROOM)


def _stacked(w: Writer, heights: list[float], *, left: float, width: float, top: float, bottom: float,
             gap: float) -> list:
    """Axes one above the other between the figure fractions ``top`` and ``bottom``, sharing x,
    each as tall as its share of ``heights``."""
    scale = (top - bottom - gap * (len(heights) - 1)) / sum(heights)
    axes, y = [], top
    for h in heights:
        axes.append(w.page.add_axes((left, y - h * scale, width, h * scale), sharex=axes[0] if axes else None))
        y -= h * scale + gap
    return axes


def _side_by_side(w: Writer, count: int, left: float, right: float, bottom: float, top: float, gap: float = 0.03):
    """``count`` axes in a row between the figure fractions ``left``..``right``, ``bottom``..``top``."""
    width = (right - left - gap * (count - 1)) / count
    first = w.page.add_axes((left, bottom, width, top - bottom))
    return [first] + [w.page.add_axes((left + i * (width + gap), bottom, width, top - bottom), sharey=first)
                      for i in range(1, count)]


def _ladder(w: Writer, group, top: float, bottom: float) -> None:
    fig.ladder_figure(group, _side_by_side(w, len(group), 0.30, 0.97, bottom, top))


def _throughput(w: Writer, groups, top: float, bottom: float) -> None:
    fig.throughput_figure(groups, _side_by_side(w, len(groups), 0.1, 0.7, bottom, top))


def _machines(w: Writer, data, top: float, bottom: float) -> None:
    fig.machines_figure(*data, w.page.add_axes((0.2, bottom, 0.38, top - bottom)))


def _breakdown(w: Writer, found, top: float, bottom: float) -> None:
    fig.breakdown_figure(found, _stacked(w, fig.breakdown_facet_heights(found), left=0.2, width=0.5, top=top,
                                         bottom=bottom, gap=0.07))


def _scaling(w: Writer, sweeps, top: float, bottom: float) -> None:
    fig.scaling_panels(sweeps, _side_by_side(w, len(sweeps), 0.08, 0.72, bottom, top))


def _efficiency(w: Writer, by_machine, top: float, bottom: float) -> None:
    machines = fig.efficiency_machines(by_machine)
    left, width = 0.16, 0.57 / len(machines)
    rows = _stacked(w, fig.efficiency_facet_heights(by_machine), left=left, width=width, top=top, bottom=bottom,
                    gap=0.05)
    grid = [[ax] + [w.page.add_axes((left + i * (width + 0.015), *ax.get_position().bounds[1:]), sharex=ax, sharey=ax)
                    for i in range(1, len(machines))] for ax in rows]
    fig.efficiency_figure(by_machine, grid)


# Each figure kind laid out on a landscape page: how to draw it between two heights (figure
# fractions), and how many inches of axes it takes.
DRAW = {"ladder": _ladder, "throughput": _throughput, "machines": _machines, "breakdown": _breakdown,
        "scaling": _scaling, "efficiency": _efficiency}
FIGURE_HEIGHT = {"ladder": 2.5, "throughput": 2.2, "machines": 3.2, "breakdown": 3.0, "scaling": 2.6,
                 "efficiency": 3.6}
def figure_height(block: FigureBlock) -> float:
    """Inches of axes a figure gets: a stage breakdown by its rows (about 0.18 inch a bar, so that
    no label overprints the next, at most a page), every other kind its fixed height."""
    if block.kind == "breakdown":
        return min(4.6, 0.5 * sum(fig.breakdown_facet_heights(block.data)))
    return FIGURE_HEIGHT[block.kind]


TITLE_ROOM = 0.45  # inches above the axes for the panels' titles (a machine's name wraps to two lines)
LABEL_ROOM = 0.75  # inches below the axes for tick labels and the axis title


def write(doc: Document, path: Path) -> Path:
    """Each section from a new page; text and tables flow down it, a figure goes where it fits."""
    with PdfPages(path, metadata={"Title": doc.title, "Creator": "vecbench"}) as pdf:
        w = Writer(pdf)
        for section in doc.sections:
            w.start(section.title)
            if section.lead:
                w.heading(doc.title, 15)
            for block in section.blocks:
                _block(w, block)
        w.flush()
    return path


def _block(w: Writer, block) -> None:
    if isinstance(block, Subheading):
        w.heading(block.text, 11)
    elif isinstance(block, Paragraph):
        w.paragraph(block.text, 7.5 if block.small else 9.5)
    elif isinstance(block, Bullets):
        for item in block.items:
            w.paragraph("• " + item, 7 if block.small else 9.5)
    elif isinstance(block, Verdicts):
        for v in block.items:
            w.paragraph("• " + verdict_line(v), 10)
    elif isinstance(block, TableBlock):
        w.table(block.table, keep_together=block.keep_together)
    elif isinstance(block, FigureBlock):
        w.figure(block)
    else:
        raise TypeError(f"no PDF layout for {type(block).__name__}")
