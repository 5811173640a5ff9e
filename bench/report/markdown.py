"""The report document as Markdown (GitHub's tables): the same sections, text and tables as the HTML
and the PDF; each chart is named where it stands, drawn in those two."""

from __future__ import annotations

from pathlib import Path

from .document import Bullets, Document, FigureBlock, Paragraph, Subheading, TableBlock, Verdicts
from .headline import verdict_line
from .tables import Table


def _cell(text: str) -> str:
    """A table cell on one line: a pipe escaped, line breaks as ``<br>``."""
    return str(text).replace("|", "\\|").replace("\n", "<br>")


def table(t: Table, title: bool = True) -> list[str]:
    """``t`` as a Markdown table, under its title in bold (``title``) and over its note."""
    out = [f"**{_cell(t.title)}**", ""] if title else []
    out += ["| " + " | ".join(_cell(c) for c in t.columns) + " |",
            "| " + " | ".join("---" for _ in t.columns) + " |"]
    rows = [list(row) for row in t.rows] or [["none"] + [""] * (len(t.columns) - 1)]
    for row, flag in zip(rows, t.flags):  # no colours here: a flagged row says its flag in words
        if flag:
            row[0] = f"{row[0]} [{flag}]"
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    if t.note:
        out += ["", t.note]
    return out


def block(b) -> list[str]:
    if isinstance(b, Subheading):
        return [f"### {b.text}"]
    if isinstance(b, Paragraph):
        return [b.text]
    if isinstance(b, Bullets):
        return [f"- {item}" for item in b.items]
    if isinstance(b, Verdicts):
        return [f"- {verdict_line(v)}" for v in b.items]
    if isinstance(b, TableBlock):
        return table(b.table)
    if isinstance(b, FigureBlock):
        return [f"*Figure: {b.title} (drawn in the HTML and PDF report).*"]
    raise TypeError(f"no Markdown for {type(b).__name__}")


def render(doc: Document) -> str:
    out = [f"# {doc.title}"]
    for section in doc.sections:
        out += ["", f"## {section.title}"]
        for b in section.blocks:
            out += ["", *block(b)]
    return "\n".join(out) + "\n"


def write(doc: Document, path: Path) -> Path:
    path.write_text(render(doc), encoding="utf-8")
    return path
