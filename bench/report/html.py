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
# The same for a phone (chart.narrow: 326 px, panels one above the other), where the column is too
# narrow for a chart of several machines side by side: those are drawn a machine at a time.
DRAW_NARROW = {
    **DRAW,
    "throughput": lambda groups: [chart.throughput_figure([group]) for group in groups],
    "efficiency": lambda by_machine: [chart.efficiency_figure({m: effs}) for m, effs in by_machine.items()
                                      if chart.efficiency_machines({m: effs})],
}


def _drawn(block: FigureBlock, number: int) -> dict[str, list[str]]:
    """The ``number``-th figure block's SVGs for a wide column and for a phone's, each SVG's ids
    its own (``f3w1-`` for the block's second wide SVG)."""
    wide = [chart.svg(f, f"f{number}w{i}-") for i, f in enumerate(DRAW[block.kind](block.data))]
    with chart.narrow():
        thin = [chart.svg(f, f"f{number}n{i}-") for i, f in enumerate(DRAW_NARROW[block.kind](block.data))]
    return {"wide": wide, "narrow": thin}


def render(doc: Document) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, "templates"),
        autoescape=True,  # text from results files never becomes markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["block_kind"] = lambda block: type(block).__name__.lower()
    env.filters["block_id"] = id
    images = {id(block): _drawn(block, n) for n, block in enumerate(doc.figures())}
    return env.get_template("report.html.j2").render(doc=doc, figures=images, flag_colours=flags.COLOURS)


def write(doc: Document, path: Path) -> Path:
    path.write_text(render(doc), encoding="utf-8")
    return path
