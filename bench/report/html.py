"""The report document as one self-contained HTML file: inline CSS, figures as inline SVG, autoescaped."""

from __future__ import annotations

from pathlib import Path

import jinja2

from . import charts as chart, flags
from .document import Document, FigureBlock

# Each figure kind drawn for a column of the page; the scaling figure a machine at a time, one above
# the other, so that each keeps its panels' legends readable.
DRAW = {
    "ladder": lambda group: [chart.ladder_figure(group)],
    "throughput": lambda groups: [chart.throughput_figure(groups)],
    "machines": lambda data: [chart.machines_figure(*data)],
    "breakdown": lambda found: [chart.breakdown_figure(found)],
    "scaling": lambda sweeps: [chart.scaling_figure(machine, lines) for machine, lines in sweeps.items()],
    "efficiency": lambda by_machine: [chart.efficiency_figure(by_machine)],
}


def render(doc: Document) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, "templates"),
        autoescape=True,  # text from results files never becomes markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["block_kind"] = lambda block: type(block).__name__.lower()
    env.filters["block_id"] = id
    images = {id(block): [chart.svg(f) for f in DRAW[block.kind](block.data)]
              for section in doc.sections for block in section.blocks if isinstance(block, FigureBlock)}
    return env.get_template("report.html.j2").render(doc=doc, figures=images, flag_colours=flags.COLOURS)


def write(doc: Document, path: Path) -> Path:
    path.write_text(render(doc), encoding="utf-8")
    return path
