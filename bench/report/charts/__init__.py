"""The report's charts, one module per kind; ``style`` holds what they share. Each draws on the
caller's axes (a PDF page) or on a figure of its own (the HTML column), from the report model's
records, never from results rows."""

from .efficiency import efficiency_facet_heights, efficiency_figure, efficiency_machines
from .ladder import ladder_figure, ladder_title, throughput_figure
from .machines import machines_figure
from .scaling import MAX_SERIES, scaling_figure, scaling_groups, scaling_panel_count, scaling_panels
from .stages import breakdown_facet_heights, breakdown_facets, breakdown_figure
from .style import FONT, narrow, svg

__all__ = ["FONT", "MAX_SERIES", "breakdown_facet_heights", "breakdown_facets", "breakdown_figure",
           "efficiency_facet_heights", "efficiency_figure", "efficiency_machines", "ladder_figure", "ladder_title",
           "machines_figure", "narrow", "scaling_figure", "scaling_groups", "scaling_panel_count", "scaling_panels", "svg",
           "throughput_figure"]
