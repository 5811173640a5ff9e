"""The generated blocks of README.md and docs/*.md: tables from the committed results and the schema.

A block sits between two markers, and nothing between them is typed by hand::

    <!-- generated: NAME (python -m bench docs) -->
    ...
    <!-- end generated: NAME -->

NAME is ``findings`` (the README's table of speedups and the claims' verdicts, from every committed
reference), ``schema`` (the results file's columns, from ``bench/schema.py``) or one of these, by
what they are generated from:

* ``machine:FILE``, ``targets:FILE``, ``gpu:FILE``: one machine's ladders, its CPU speed targets and
  its GPU rungs' ResNet-50 throughput, from the reference ``results/reference/FILE.parquet``;
* ``aa-study:DIR``, ``aa-ungated:DIR``, ``power:DIR``: the A/A study of CI's check (each job, and
  the thresholds pooled from all), what those thresholds leave ungated, and each planted fault's
  check, from the study folder ``results/ab/DIR/`` (``bench.regression.study_tables``);
* ``floor:FILE``, ``floor-runs:DIR``, ``footprint:FILE``: loops against the textbook per shape (from
  ``results/floor/FILE.parquet``), per run (every file of ``results/floor/DIR/``), and their
  cachegrind counts (``results/floor/footprint-FILE.parquet``) (``bench.floor``);
* ``timers:DIR``: vecbench's timer against pytest-benchmark's on the same cases, from the newest
  study in ``results/timers/DIR/`` (``bench.timer_study``).

"""

from __future__ import annotations

import re
from dataclasses import fields
from functools import cached_property
from pathlib import Path

from .errors import UsageError
from .schema import SCHEMA_VERSION, Round

ROOT = Path(__file__).resolve().parent.parent
REFERENCES = "results/reference"
STUDIES = "results/ab"  # the A/A and power studies of CI's check, a folder per machine kind
FLOOR = "results/floor"  # the loops floor study's files
TIMERS = "results/timers"  # vecbench's timer against pytest-benchmark's (studies/timer_difference.py)
MARKED = re.compile(r"(?P<open><!-- generated: (?P<name>[\w:.-]+) \(python -m bench docs\) -->\n)"
                    r"(?P<body>.*?)"
                    r"(?P<close><!-- end generated: (?P=name) -->)", re.DOTALL)


def documents(root: Path) -> list[Path]:
    """The Markdown files that may hold generated blocks: README.md and docs/*.md."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def schema_table() -> str:
    """The results file's columns as a Markdown table: name, dtype and meaning, in file order."""
    rows = ["| column | type | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{f.name}` | {f.metadata['dtype']} | {f.metadata['meaning']} |" for f in fields(Round)]
    return f"Columns of schema_version {SCHEMA_VERSION}:\n\n" + "\n".join(rows)


class Sources:
    """What the blocks are generated from: the reference results under ``root``, read once."""

    def __init__(self, root: Path):
        self.root = root
        self.references = root / REFERENCES

    @cached_property
    def report(self):
        from .report import build  # noqa: PLC0415  (the report model: only where a block needs it)

        if not sorted(self.references.glob("*.parquet")):
            raise UsageError(f"{self.references}: no results files to generate the documents from")
        return build([self.references])

    def machine(self, stem: str):
        """The machine key of the reference file ``stem`` (its rows' CPU, cores and GPU)."""
        import pandas as pd  # noqa: PLC0415

        from .keys import machine_key  # noqa: PLC0415

        path = self.references / f"{stem}.parquet"
        if not path.is_file():
            raise UsageError(f"generated block for {stem}: no {path.relative_to(self.root)}")
        frame = pd.read_parquet(path, columns=["cpu", "cores", "gpu"]).drop_duplicates()
        if len(frame) != 1:
            raise UsageError(f"{path.relative_to(self.root)}: rows from {len(frame)} machines, not one")
        return machine_key(frame.iloc[0])


def _markdown(columns: list[str], rows: list[list[str]], note: str = "") -> str:
    from .report.markdown import table  # noqa: PLC0415
    from .report.tables import Table  # noqa: PLC0415

    return "\n".join(table(Table("", columns, rows, note=note), title=False))


def _study_block(kind: str, folder: Path) -> str:
    from .regression import study_tables  # noqa: PLC0415

    if not folder.is_dir():
        raise UsageError(f"generated block {kind}: no study folder {folder}")
    if kind == "aa-ungated":
        return study_tables.ungated_summary(folder)
    return _markdown(*(study_tables.aa_table if kind == "aa-study" else study_tables.power_table)(folder))


def _floor_block(kind: str, stem: str, root: Path) -> str:
    from . import floor  # noqa: PLC0415

    if kind == "floor":
        return _markdown(*floor.floor_table(root / FLOOR / f"{stem}.parquet"))
    if kind == "floor-runs":
        return _markdown(*floor.floor_runs_table(root / FLOOR / stem))
    return _markdown(*floor.footprint_table(root / FLOOR / f"footprint-{stem}.parquet"))


def block(name: str, sources: Sources) -> str:
    """The Markdown of the generated block ``name``, without its markers."""
    from .report import findings  # noqa: PLC0415
    from .report.markdown import table  # noqa: PLC0415

    if name == "schema":
        return schema_table()
    if name == "findings":
        report = sources.report
        return "\n".join([*table(findings.speedups_table(report)), "",
                          *table(findings.claims_summary_table(report))])
    kind, _, stem = name.partition(":")
    if kind == "machine" and stem:
        return "\n".join(table(findings.machine_table(sources.report, sources.machine(stem))))
    if kind == "targets" and stem:
        return "\n".join(table(findings.targets_table(sources.report, sources.machine(stem))))
    if kind == "gpu" and stem:
        return "\n".join(table(findings.gpu_throughput_table(sources.report, sources.machine(stem))))
    if kind in ("aa-study", "aa-ungated", "power") and stem:
        return _study_block(kind, sources.root / STUDIES / stem)
    if kind in ("floor", "floor-runs", "footprint") and stem:
        return _floor_block(kind, stem, sources.root)
    if kind == "timers" and stem:
        from .timer_study import timer_table  # noqa: PLC0415

        return _markdown(*timer_table(sources.root / TIMERS / stem))
    if kind == "data-parallel" and stem:
        from .data_parallel_study import STUDIES as DATA_PARALLEL, study_table  # noqa: PLC0415

        return _markdown(*study_table(sources.root / DATA_PARALLEL / stem))
    raise UsageError(f"unknown generated block {name!r} (findings, schema, machine:FILE, targets:FILE, gpu:FILE, "
                     "aa-study:DIR, aa-ungated:DIR, power:DIR, floor:FILE, floor-runs:DIR, footprint:FILE, timers:DIR, "
                     "data-parallel:DIR)")


def regenerate(text: str, sources: Sources) -> str:
    """``text`` with every generated block's body written anew."""
    return MARKED.sub(lambda m: m["open"] + block(m["name"], sources) + "\n" + m["close"], text)


def stale(root: Path = ROOT) -> dict[Path, str]:
    """Each document whose generated blocks differ from what the committed results give, with its
    regenerated text."""
    sources = Sources(root)
    changed = {}
    for path in documents(root):
        text = path.read_text(encoding="utf-8")
        if MARKED.search(text) is None:
            continue
        new = regenerate(text, sources)
        if new != text:
            changed[path] = new
    return changed


def run(check: bool, root: Path = ROOT) -> int:
    changed = stale(root)
    for path, text in changed.items():
        name = path.relative_to(root)
        if check:
            print(f"{name}: generated blocks differ from the committed results (python -m bench docs rewrites them)")
        else:
            path.write_text(text, encoding="utf-8")
            print(f"docs: rewrote {name}")
    if not changed:
        print("docs: every generated block matches the committed results")
    return 1 if check and changed else 0
