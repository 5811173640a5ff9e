"""The report generator: results files in, one self-contained HTML page and one PDF out.

It reads results files only (``bench.results``); it never imports a backend or torch.
"""

from __future__ import annotations

from pathlib import Path

from . import html, pdf
from ..errors import UsageError
from .model import Report, build
from ..stats import RESAMPLES, SEED

__all__ = ["build_report", "Report", "build"]


def build_report(paths: list[str | Path], out_dir: str | Path = "reports", *,
                 resamples: int = RESAMPLES, seed: int = SEED) -> tuple[Path, Path]:
    """Write ``out_dir/index.html`` and ``out_dir/report.pdf`` from the results files or folders named.

    Raises ``bench.errors.UsageError`` (one line naming the file) for unusable input. ``resamples``
    and ``seed`` set the bootstrap behind every interval.
    """
    report = build(paths, resamples, seed)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{out}: cannot write the report there ({exc.strerror or exc})") from None
    return html.write(report, out / "index.html"), pdf.write(report, out / "report.pdf")
