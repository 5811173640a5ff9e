"""Every table, headline and note of the report built from results files, as text.

    python -m tests.report_tables results/reference > tests/data/report_tables.txt

``tests/data/report_tables.txt`` was written by the report code as it stood before the one-owner
redesign; tests/test_report.py holds every later version to it, so that moving code never changes
what a reader sees. A change meant to alter the report regenerates the file and says why.
"""

from __future__ import annotations

import dataclasses
import sys

from bench.report.model import build
from bench.report.tables import Table


def walk(name, value, out):
    if isinstance(value, Table):
        out.append(f"## {name}: {value.title}")
        out.append(" | ".join(value.columns))
        out += [" | ".join(row) + ("  [flagged]" if value.flagged and value.flagged[i] else "")
                for i, row in enumerate(value.rows)]
        if value.note:
            out.append(f"note: {value.note}")
    elif isinstance(value, dict):
        for k, v in value.items():
            walk(f"{name}[{k}]", v, out)
    elif isinstance(value, list) and value and all(isinstance(v, (Table, list, str)) for v in value):
        for i, v in enumerate(value):
            walk(f"{name}[{i}]", v, out)
    elif isinstance(value, str):
        out.append(f"## {name}: {value}")


# the model's computed objects, which the tables and headlines render
_OBJECTS = ("cases", "ladders", "ladder_groups", "throughput", "claims", "machines", "across", "across_machines",
            "breakdowns", "sweeps", "efficiencies")


def report_text(paths: list[str]) -> str:
    report = build(paths)
    lines: list[str] = []
    for f in dataclasses.fields(report):
        if f.name not in _OBJECTS:
            walk(f.name, getattr(report, f.name), lines)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(report_text(sys.argv[1:]))
