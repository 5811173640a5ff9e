"""The report as one self-contained HTML file: inline CSS, figures as base64 PNG, autoescaped."""

from __future__ import annotations

import base64
from pathlib import Path

import jinja2

from . import figures as fig
from .model import Report


def _b64(figure) -> str:
    return base64.b64encode(fig.png(figure)).decode("ascii")


def render(report: Report) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, "templates"),
        autoescape=True,  # text from results files never becomes markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    images = {
        "ladders": [_b64(fig.ladder_figure(l)) for l in report.ladders],
        "throughput": [_b64(fig.throughput_figure(lines)) for lines in report.throughput.values()],
        "scaling": [_b64(fig.scaling_figure(lines)) for lines in report.sweeps.values()],
        "efficiency": [(m, _b64(fig.efficiency_figure(e))) for m, e in report.efficiencies.items()
                       if any(x.peak for x in e)],
    }
    return env.get_template("report.html.j2").render(report=report, figures=images)


def write(report: Report, path: Path) -> Path:
    path.write_text(render(report), encoding="utf-8")
    return path
