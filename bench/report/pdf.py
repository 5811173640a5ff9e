"""The report as a PDF built with matplotlib alone: text and tables drawn as text, and charts.

Pages are landscape A4. Sections, text and tables flow down a page and onto the next; a table
that does not fit continues on the next page under its repeated header (one kept together starts
the next page whole); a chart goes where it fits (``pdf_layout`` says how large each is and how it
is drawn). Every page carries at its top the name of the section it starts in, so a reader (or a
test) can tell where it is.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from . import flags  # noqa: E402
from .headline import verdict_line  # noqa: E402
from .document import Bullets, Document, FigureBlock, Paragraph, Subheading, TableBlock, Verdicts  # noqa: E402
from .pdf_layout import (DRAW, FIGURE_HEIGHT, FIGURE_FONT, H, LABEL_ROOM, SHRINK, TITLE_ROOM, W,  # noqa: E402
                         figure_height, paired)
from .tables import Table  # noqa: E402

MARGIN = 0.4
FONT = 7.0  # points, table text
LINE = FONT * 1.27 / 72  # inches per line of table text
ROW_PAD = 0.03  # inches of a table row above and below its text
CHAR = FONT * 0.6 / 72  # average character width in inches (DejaVu Sans)


def _heading_room(size: float) -> float:
    """Inches a heading of ``size`` points needs above what follows it."""
    return size * 2.2 / 72


def _line_step(size: float) -> float:
    """Inches from one line of paragraph text of ``size`` points to the next."""
    return size * 1.35 / 72


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
        self.y += size * 1.65 / 72

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
            self.heading(title, 9)
            self._row(xs, cols, header, header_h, bold=True)

        rows = [cells(row) for row in (t.rows or [["none"] + [""] * (len(t.columns) - 1)])]
        heights = [max(len(c) for c in wrapped) * LINE + ROW_PAD for wrapped in rows]
        if keep_together:
            note_h = len(_paragraph_lines(t.note, 7.5, width)) * _line_step(7.5) if t.note else 0.0
            total = _heading_room(9) + header_h + sum(heights) + note_h
            if self.y + total > H - MARGIN and total < H - MARGIN - 0.6:
                self.start(self.section)
        self.need(_heading_room(9) + header_h + heights[0])  # never a header without a row under it
        draw_header(t.title)
        for i, (wrapped, h) in enumerate(zip(rows, heights)):
            if self.y + h > H - MARGIN:
                self.start(self.section)
                draw_header(f"{t.title} (continued)")
            flag = t.flags[i] if i < len(t.flags) else ""
            self._row(xs, cols, wrapped, h, shade=flags.COLOURS.get(flag))
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
                      linespacing=1.15)
        self.page.add_artist(Rectangle((MARGIN / W, top - h / H), (W - 2 * MARGIN) / W, 0.001,
                                       transform=self.page.transFigure, color="#bbbbbb"))
        self.y += h

    def below(self, bottom: float, labels: float = 0.55) -> None:
        """Continue the flow under axes whose bottom edge is at figure fraction ``bottom``, leaving
        ``labels`` inches for their tick labels and axis title."""
        self.y = H * (1 - bottom) + labels

    def figure_pair(self, left: FigureBlock, right: FigureBlock) -> None:
        """Two charts of one kind side by side under their titles, each in half the page."""
        height = max(figure_height(left), figure_height(right))
        titles = [_paragraph_lines(b.title, 10 * 1.15, (W - 2 * MARGIN) / 2 - 0.2) for b in (left, right)]  # bold
        title_h = max(map(len, titles)) * _line_step(10) + 0.1
        if self.page is None or self.y + title_h + TITLE_ROOM + height + LABEL_ROOM > H - MARGIN:
            self.start(self.section)
        for i, lines in enumerate(titles):
            self.text(MARGIN + i * (W - 2 * MARGIN) / 2, self.y, "\n".join(lines), 10, weight="bold", linespacing=1.3)
        self.y += title_h
        top = 1 - (self.y + TITLE_ROOM) / H
        bottom = top - height / H
        with matplotlib.rc_context({"font.size": FIGURE_FONT}):
            for i, block in enumerate((left, right)):
                DRAW[block.kind](self.page, block.data, top, bottom, half=i)
        self.below(bottom, LABEL_ROOM)

    def figure(self, block: FigureBlock) -> None:
        """A chart under its title: on this page where it fits (a chart of no bars down to
        ``SHRINK`` of its height: the rest of a page left empty costs more), else at the top of the next."""
        height = figure_height(block)
        room = H - MARGIN - (self.y + _figure_frame()) if self.page is not None else 0.0
        if block.kind in FIGURE_HEIGHT and height * SHRINK <= room < height:
            height = room
        elif room < height:
            self.start(self.section)
        self.heading(block.title, 11)
        top = 1 - (self.y + TITLE_ROOM) / H
        bottom = top - height / H
        with matplotlib.rc_context({"font.size": FIGURE_FONT}):
            DRAW[block.kind](self.page, block.data, top, bottom)
        self.below(bottom, LABEL_ROOM)


def write(doc: Document, path: Path) -> Path:
    """Sections follow one another down the pages (a new page only where the next block does not
    fit: a page per section left most pages a third empty); a figure goes where it fits. Each page's
    header names the section it starts in."""
    with PdfPages(path, metadata={"Title": doc.title, "Creator": "vecbench"}) as pdf:
        w = Writer(pdf)
        for section in doc.sections:
            if section.lead or w.page is None:
                w.start(section.title)
                w.heading(doc.title, 15)
            else:
                w.section = section.title  # first: a page the heading starts is headed by its section
                w.need(_heading_room(SECTION) + _room_to_start(section.blocks[0]))  # no heading alone at a page's foot
                w.heading(section.title, SECTION)
            blocks = list(section.blocks)
            while blocks:
                block = blocks.pop(0)
                if paired(block, blocks[0] if blocks else None):
                    w.figure_pair(block, blocks.pop(0))
                else:
                    _block(w, block)
        w.flush()
    return path


def _figure_frame() -> float:
    """Inches a chart needs beside its axes: its title, its panels' titles, its tick labels."""
    return _heading_room(11) + TITLE_ROOM + LABEL_ROOM


def _room_to_start(block) -> float:
    """Inches the first lines of ``block`` need: a figure whole, a few lines of anything else."""
    if isinstance(block, FigureBlock):
        return _figure_frame() + figure_height(block)
    return 4 * LINE + _heading_room(9)


TEXT, SMALL_TEXT = 8.5, 7.0  # points: paragraphs, and notes and sources
SECTION = 12  # points: a section's heading


def _block(w: Writer, block) -> None:
    if isinstance(block, Subheading):
        w.heading(block.text, 11)
    elif isinstance(block, Paragraph):
        w.paragraph(block.text, SMALL_TEXT if block.small else TEXT)
    elif isinstance(block, Bullets):
        for item in block.items:
            w.paragraph("• " + item, SMALL_TEXT if block.small else TEXT)
    elif isinstance(block, Verdicts):
        for v in block.items:
            w.paragraph("• " + verdict_line(v), TEXT + 0.5)
    elif isinstance(block, TableBlock):
        w.table(block.table, keep_together=block.keep_together)
    elif isinstance(block, FigureBlock):
        w.figure(block)
    else:
        raise TypeError(f"no PDF layout for {type(block).__name__}")
