"""The report as one document: sections of blocks, rendered alike to HTML, PDF and Markdown.

``bench.report.outline`` builds the one ``Document`` (what is said, in which order, in which words);
``html``, ``pdf`` and ``markdown`` only lay it out for their medium. A figure block names what it
shows (its ``kind`` and data); each renderer draws it to fit its page, so the three documents say
the same things with the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from .tables import Table


@dataclass(frozen=True)
class Paragraph:
    text: str
    small: bool = False  # a note or a source line: smaller type in the HTML and the PDF


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]
    small: bool = False


@dataclass(frozen=True)
class Verdict:
    """One claim's verdict, coloured by ``tone``: "fails" (does not hold), "holds", or "other"."""
    verdict: str
    claim: str
    figure: str
    tone: str


@dataclass(frozen=True)
class Verdicts:
    items: tuple[Verdict, ...]


@dataclass(frozen=True)
class Subheading:
    text: str
    anchor: str = ""


@dataclass(frozen=True)
class TableBlock:
    table: Table
    keep_together: bool = False  # the PDF starts a new page rather than split a table that fits on one


@dataclass(frozen=True)
class FigureBlock:
    """A chart: ``kind`` names the drawing (``ladder``, ``throughput``, ``machines``, ``breakdown``,
    ``scaling``, ``efficiency``) and ``data`` is what it draws; ``title`` is said above it."""
    kind: str
    data: object
    title: str


Block = Union[Paragraph, Bullets, Verdicts, Subheading, TableBlock, FigureBlock]


@dataclass(frozen=True)
class Section:
    title: str
    anchor: str
    blocks: tuple[Block, ...]
    lead: bool = False  # the first screen: set apart in the HTML, the first page of the PDF


@dataclass(frozen=True)
class Attachment:
    """A table written in full beside the report as CSV (``name``), too long to read on a page."""
    name: str
    table: Table


@dataclass(frozen=True)
class Document:
    title: str
    sections: tuple[Section, ...]
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)

    def tables(self) -> list[Table]:
        """Every table the document shows, in reading order."""
        return [b.table for s in self.sections for b in s.blocks if isinstance(b, TableBlock)]

    def figures(self) -> list[FigureBlock]:
        """Every figure the document shows, in reading order."""
        return [b for s in self.sections for b in s.blocks if isinstance(b, FigureBlock)]
