"""Everything the report says, built from results files, as text.

    python -m tests.report_tables results/reference > tests/data/report_tables.txt

``tests/data/report_tables.txt`` holds what the report says for the committed references;
tests/test_report.py holds every later version of the code to it, so that moving code never changes
what a reader sees. A change meant to alter the report regenerates the file and says why.
"""

from __future__ import annotations

import sys

from bench.report import build_document
from bench.report.document import Bullets, FigureBlock, Paragraph, Subheading, TableBlock, Verdicts
from bench.report.tables import Table


def table_lines(value: Table, name: str) -> list[str]:
    out = [f"## {name}: {value.title}", " | ".join(value.columns)]
    out += [" | ".join(row) + (f"  [{value.flags[i]}]" if value.flags and value.flags[i] else "")
            for i, row in enumerate(value.rows)]
    return out + ([f"note: {value.note}"] if value.note else [])


def report_text(paths: list[str]) -> str:
    """The report document as text: every section, paragraph, verdict, figure title and table, in
    reading order, then each table attached as CSV."""
    doc = build_document(paths)
    lines: list[str] = []
    for section in doc.sections:
        lines.append(f"# {section.title}")
        for block in section.blocks:
            if isinstance(block, TableBlock):
                lines += table_lines(block.table, "table")
            elif isinstance(block, FigureBlock):
                lines.append(f"## figure ({block.kind}): {block.title}")
            elif isinstance(block, Verdicts):
                lines += [f"## verdict: {v.verdict} | {v.claim} | {v.figure}" for v in block.items]
            elif isinstance(block, Bullets):
                lines += [f"## bullet: {item}" for item in block.items]
            elif isinstance(block, (Paragraph, Subheading)):
                lines.append(f"## {type(block).__name__.lower()}: {block.text}")
    for attachment in doc.attachments:
        lines += table_lines(attachment.table, f"attached {attachment.name}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(report_text(sys.argv[1:]))
