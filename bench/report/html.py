"""The report as one self-contained HTML file: inline CSS, figures as inline SVG, autoescaped."""

from __future__ import annotations

from pathlib import Path

import jinja2

from . import figures as fig
from .model import Report


def verdict_class(verdict: str) -> str:
    """The CSS class that colours a verdict: red for "does not hold", green for the holds, grey else."""
    if verdict == "does not hold":
        return "v-fails"
    return "v-holds" if verdict.startswith("holds") else "v-other"


def render(report: Report) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, "templates"),
        autoescape=True,  # text from results files never becomes markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["verdict_class"] = verdict_class
    images = {
        "ladders": [fig.svg(fig.ladder_figure(group)) for group in report.ladder_groups],
        "throughput": [fig.svg(fig.throughput_figure(groups)) for groups in report.throughput.values()],
        "breakdowns": [fig.svg(fig.breakdown_figure(found)) for found in report.breakdowns.values()],
        "scaling": [fig.svg(fig.scaling_figure(lines)) for lines in report.sweeps.values()],
        "efficiency": (fig.svg(fig.efficiency_figure(report.efficiencies))
                       if fig.efficiency_machines(report.efficiencies) else None),
        "machines": fig.svg(fig.machines_figure(report.across_machines, report.across)) if report.across else "",
    }
    return env.get_template("report.html.j2").render(report=report, figures=images)


def write(report: Report, path: Path) -> Path:
    path.write_text(render(report), encoding="utf-8")
    return path
