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
from .model import Report  # noqa: E402
from .tables import Table  # noqa: E402

W, H = 11.69, 8.27  # inches, A4 landscape
MARGIN = 0.45
FONT = 7.0  # points, table text
LINE = FONT * 1.35 / 72  # inches per line of table text
CHAR = FONT * 0.6 / 72  # average character width in inches (DejaVu Sans)
SECTIONS = ("Headline", "Speedup ladder", "Claims", "Machines side by side", "Where the time goes", "Scaling",
            "Efficiency", "Environment and method", "Noisy, failed and skipped cases")


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
        spans, first = [], 0  # a label over each group of columns (a machine over its three)
        for label, span in t.groups:
            spans.append((label, xs[first], sum(cols[first:first + span])))
            first += span
        groups_h = LINE + 0.05 if spans else 0.0

        def draw_header(title: str) -> None:
            self.heading(title, 10)
            if spans:
                self._row([x for _, x, _ in spans], [w for _, _, w in spans],
                          [_cell_lines(label, w) for label, _, w in spans], groups_h, bold=True)
            self._row(xs, cols, header, header_h, bold=True)

        rows = [cells(row) for row in (t.rows or [["none"] + [""] * (len(t.columns) - 1)])]
        heights = [max(len(c) for c in wrapped) * LINE + 0.04 for wrapped in rows]
        if keep_together:
            note_h = len(_paragraph_lines(t.note, 7.5, width)) * _line_step(7.5) if t.note else 0.0
            total = _heading_room(10) + groups_h + header_h + sum(heights) + note_h
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

    def figure_page(self, section: str, draw, rect=(0.08, 0.42, 0.88, 0.48), then: Table | None = None) -> None:
        """A new page with a chart drawn by ``draw(ax)`` in ``rect`` (figure fractions), then a table."""
        self.start(section)
        ax = self.page.add_axes(rect)
        draw(ax)
        self.below(rect[1], 0.75)
        if then is not None:
            self.table(then)


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


def write(report: Report, path: Path) -> Path:
    """At most about 16 pages for two machines: a page per config's ladder (every machine's panel and
    one table), the per-case lists (efficiency per case, noisy cases) only in the HTML report."""
    with PdfPages(path, metadata={"Title": "vecbench report", "Creator": "vecbench"}) as pdf:
        w = Writer(pdf)
        w.start("Headline")
        w.heading("vecbench: how much faster does vectorized code train neural networks?", 15)
        w.heading("The articles' claims, measured", 11)
        for claim in report.claims:
            w.paragraph("• " + verdict_line(claim), 10)
        w.heading("Speedups over pure-Python loops", 11)
        for line in report.headlines:
            w.paragraph(line, 10)
        w.paragraph("Built from: " + ", ".join(report.sources), 7.5)

        for group, table in zip(report.ladder_groups, report.ladder_compact_tables):
            w.start("Speedup ladder")
            w.heading(fig.ladder_title(group[0]), 11)
            fig.ladder_figure(group, _side_by_side(w, len(group), 0.26, 0.96, 0.58, 0.88))
            w.below(0.58)
            w.table(table)
        for groups in report.throughput.values():
            w.start("Speedup ladder")
            w.heading(f"{groups[0][0].config} training throughput (images / s) by batch size", 11)
            fig.throughput_figure(groups, _side_by_side(w, len(groups), 0.1, 0.7, 0.58, 0.84))
            w.below(0.58)
        if report.throughput_compact_table is not None:
            w.table(report.throughput_compact_table)

        w.start("Claims")
        w.table(report.claims_table)

        if report.across:
            w.figure_page("Machines side by side",
                          lambda ax: fig.machines_figure(report.across_machines, report.across, ax),
                          rect=(0.22, 0.3, 0.45, 0.6))
            w.paragraph("Each rung's time on every machine is in the ladder tables above; the HTML report lists "
                        "them with each ratio's 95% interval (Machines side by side).", 9)
            if report.machines_apart:
                w.paragraph(f"Not compared here: {', '.join(map(str, report.machines_apart))}: no rung in common with "
                            "another machine.", 9)

        for machine, found in report.breakdowns.items():
            w.start("Where the time goes")
            w.heading(f"Where the time of one ResNet-50 step goes on {machine}", 11)
            bottom = 0.5  # the table below holds a row per case
            axes = _stacked(w, fig.breakdown_facet_heights(found), left=0.2, width=0.5, top=0.86, bottom=bottom, gap=0.07)
            fig.breakdown_figure(found, axes)
            w.below(bottom)
            w.table(report.breakdown_compact_tables[machine])

        if report.sweeps:
            w.start("Scaling")
            w.heading("mlp-width-N (batch 32, input = hidden = N): median time per step against width", 11)
            bottom = 0.52
            fig.scaling_panels(report.sweeps, _side_by_side(w, len(report.sweeps), 0.08, 0.72, bottom, 0.83))
            w.below(bottom)
            for machine in report.sweeps:
                w.table(report.scaling_tables[machine], keep_together=True)

        machines = fig.efficiency_machines(report.efficiencies)
        if machines:
            w.start("Efficiency")
            w.heading("Efficiency: achieved GFLOP/s over the same machine's measured GEMM peak in the case's precision",
                      11)
            top, bottom = 0.83, 0.4
            heights = fig.efficiency_facet_heights(report.efficiencies)
            left, width = 0.16, 0.57 / len(machines)
            rows = _stacked(w, heights, left=left, width=width, top=top, bottom=bottom, gap=0.05)
            grid = [[ax] + [w.page.add_axes((left + i * (width + 0.015), *ax.get_position().bounds[1:]),
                                            sharex=ax, sharey=ax)
                            for i in range(1, len(machines))] for ax in rows]
            fig.efficiency_figure(report.efficiencies, grid)
            w.below(bottom)
            w.table(report.peaks_table)
        w.start("Environment and method")
        w.table(report.environment_table)
        w.paragraph("The achieved GFLOP/s of every case, one row each, is in the HTML report (Efficiency).", 7.5)
        w.heading("Method", 10)
        for note in report.method:
            w.paragraph("• " + note, 7)

        w.start("Noisy, failed and skipped cases")
        w.table(report.noisy_table.head(12))
        w.table(report.problems_table.head(20))
        w.flush()
    return path
