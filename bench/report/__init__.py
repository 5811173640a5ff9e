"""The report generator: results files in; one document out, as HTML, PDF and Markdown, with its
long tables beside it as CSV.

It reads results files only (``bench.results``); it never imports a backend or torch.
"""

from __future__ import annotations

import csv
from pathlib import Path

from . import html, markdown, pdf
from ..errors import UsageError
from .document import Document
from .model import Report, build
from .outline import document
from ..stats import RESAMPLES, SEED

__all__ = ["build_report", "build_document", "Report", "build", "Document"]

FILES = {"html": "index.html", "pdf": "report.pdf", "markdown": "report.md"}


def build_document(paths: list[str | Path], resamples: int = RESAMPLES, seed: int = SEED) -> Document:
    """The report of the results files or folders named, as one document."""
    return document(build(paths, resamples, seed))


def write_csv(table, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(table.columns)
        out.writerows(table.rows)
    return path


def build_report(paths: list[str | Path], out_dir: str | Path = "reports", *,
                 resamples: int = RESAMPLES, seed: int = SEED) -> list[Path]:
    """Write ``out_dir/index.html``, ``report.pdf``, ``report.md`` and the attached CSV tables from
    the results files or folders named; returns the paths written.

    Raises ``bench.errors.UsageError`` (one line naming the file) for unusable input. ``resamples``
    and ``seed`` set the bootstrap behind every interval.
    """
    doc = build_document(paths, resamples, seed)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{out}: cannot write the report there ({exc.strerror or exc})") from None
    written = [html.write(doc, out / FILES["html"]), pdf.write(doc, out / FILES["pdf"]),
               markdown.write(doc, out / FILES["markdown"])]
    return written + [write_csv(a.table, out / a.name) for a in doc.attachments]
