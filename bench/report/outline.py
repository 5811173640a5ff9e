"""What the report says, in which order and in which words: ``document(report)`` -> ``Document``.

The one place that orders the sections and writes their prose; the HTML, PDF and Markdown
renderers lay out this document and add nothing to it. Every table appears once, the same in the
three; tables too long to read on a page are shortened here and attached in full as CSV.
"""

from __future__ import annotations

from .document import (Attachment, Bullets, Document, FigureBlock, Paragraph, Section, Subheading, TableBlock,
                       Verdict, Verdicts)
from .charts import efficiency_machines, ladder_title
from .model import Report
from . import findings, flags, measured_tables as m, pivots, tables as t
from .. import data_parallel_study as dps
from .tables import Table

TITLE = "vecbench: how much faster does vectorized code train neural networks?"
GLOSSARY = (
    "rung: one implementation of the training step at one precision and thread count; a ladder climbs "
    "one config's rungs one change at a time (loops, compiled loops, vectorized, float32, threads, "
    "library, GPU).",
    "loop baselines: pure-Python loops, and the same loops compiled by numba (compiled loops).",
    "multiplier (×): the slower rung's median time per step over the faster's; [low, high] its 95% "
    "interval, widened by the A/A study (the same code timed against itself in independent runs).",
    "one round: a step of minutes timed once, so no interval; noisy: rounds spread by more than 10% "
    "of their median (IQR); contended: a round during which other work took the machine's CPU, left out.",
    "MACs: the multiply-adds of the step's matrix products and convolutions, counted from the "
    "architecture; FLOPs = 2 × MACs; k: the exponent of time ∝ width^k.",
    "1t, 2t, all cores: the threads a case ran with; mlp-mnist@32: config mlp-mnist at batch 32; "
    "resnet50-224: ResNet-50 on 224 × 224 images.",
    "bfloat16 autocast: the GPU rungs above torch-cuda compute in bfloat16 with float32 weights; "
    "TF32: torch-cuda's float32 products and convolutions in TensorFloat-32.",
    "a commit ending -dirty: measured from a checkout with uncommitted changes; -copy: from a copy of that "
    "commit's tree that was not a git checkout (the GPU machines' runs), as the one who copied it said.",
)


def tone(verdict: str) -> str:
    """How a verdict is coloured: "fails" for "does not hold", "holds" for the holds, "other" else."""
    if verdict == "does not hold":
        return "fails"
    return "holds" if verdict.startswith("holds") else "other"


def document(report: Report) -> Document:
    attachments = _attachments(report)
    sections = [_headline(report, attachments), _ladder(report), _claims(report)]
    if report.across:
        sections.append(_machines(report))
    if report.data_parallel:
        sections.append(_data_parallel(report))
    sections += [_stages(report), _scaling(report), _efficiency(report), _problems(report),
                 _environment(report)]  # how it was measured, last: the appendix
    return Document(TITLE, tuple(sections), attachments)


def _attachments(report: Report) -> tuple[Attachment, ...]:
    """The full tables beside the report, as CSV: what the report shows shortened or as a pivot."""
    found = [Attachment("claims.csv", t.claims_table(report.claims)),
             Attachment("ladders.csv", t.ladders_table(report.ladders))]
    if report.across:
        found.append(Attachment("machines.csv", t.machines_table(report.across_machines, report.across)))
    if report.breakdowns:
        found.append(Attachment("stages.csv", m.breakdowns_table(report.breakdowns)))
    if report.throughput_lines:
        found.append(Attachment("throughput.csv", t.throughput_compact_table(report.throughput_lines)))
    if report.sweeps:
        found.append(Attachment("scaling.csv", m.scalings_table(report.sweeps, report.flops_fits)))
    found += [Attachment("efficiency.csv", m.efficiency_table(report.all_efficiencies)),
              Attachment("noisy.csv", m.noisy_table(report.cases)),
              Attachment("failed-and-skipped.csv", m.problems_table(report.cases))]
    return tuple(found)


def _headline(report: Report, attachments: tuple[Attachment, ...]) -> Section:
    verdicts = Verdicts(tuple(Verdict(c.verdict, c.claim, c.figure, tone(c.verdict)) for c in report.claims))
    return Section("The answer", "headline", (
        Subheading("The articles' claims, measured"),
        verdicts,
        TableBlock(findings.machines_summary_table(report)),
        Subheading("Speedups over pure-Python loops, machine by machine"),
        *(Paragraph(line) for line in report.headlines),
        Paragraph(f"Built from {len(report.sources)} results file(s): {', '.join(report.sources)}, by "
                  f"`python -m bench report {' '.join(report.inputs)}`. Every number "
                  "below is computed from those files; Environment and method says how. Tables too long for a "
                  "page are beside this report in full as CSV: " + ", ".join(a.name for a in attachments) + ".",
                  small=True),
        Subheading("Words used here"),
        Bullets((*GLOSSARY, flags.legend()), small=True),
    ), lead=True)


def _ladder(report: Report) -> Section:
    blocks: list = [Paragraph(
        "Each rung changes one thing from the rung below (its \"changes\" column). The charts give each rung's "
        "time and its multiplier over loops; the tables its time and multiplier over the rung below, with 95% "
        "intervals (Method says how), a row coloured by its worst case. Every rung's full row is in ladders.csv.")]
    # every config's chart, then every config's table: charts read together, a page holds three
    blocks += [FigureBlock("ladder", group, ladder_title(group[0])) for group in report.ladder_groups]
    blocks += [TableBlock(t.ladder_compact_table(group), keep_together=True) for group in report.ladder_groups]
    if report.throughput:
        for config, groups in report.throughput.items():
            blocks.append(FigureBlock("throughput", groups,
                                      f"{config} training throughput (images / s) by batch size"))
    return Section("The speedup ladder", "ladder", tuple(blocks))


def _claims(report: Report) -> Section:
    return Section("The articles' claims", "claims", (
        Paragraph("Each claim verbatim, its verdict and what decides it; the evidence is on the first page, and "
                  "everything measured for each claim in claims.csv."),
        TableBlock(t.claims_table(report.claims, measured=False)),
    ))


def _machines(report: Report) -> Section:
    blocks: list = [
        Paragraph("The same rung of the same config on each machine: each machine's time per step over the "
                  "reference machine's, rung by rung in the chart, by config in the table (each rung's ratio with "
                  "its 95% interval in machines.csv)."),
        FigureBlock("machines", (report.across_machines, report.across), "The same rung on each machine"),
        TableBlock(pivots.machines_pivot_table(report.across_machines, report.across), keep_together=True),
    ]
    if report.machines_apart:
        blocks.append(Paragraph(f"Not compared here: {', '.join(map(str, report.machines_apart))}: no rung in "
                                "common with another machine."))
    return Section("Machines side by side", "machines", tuple(blocks))


def _data_parallel(report: Report) -> Section:
    """Threads or processes: where the results hold the data-parallel rung beside the one-process step."""
    found = report.data_parallel
    said = []
    for c in found:
        ratio, interval = c.processes_over_threads
        if interval and interval.low <= 1 <= interval.high:
            said.append(f"{c.config} on {c.machine}: neither")
        else:
            said.append(f"{c.config} on {c.machine}: {'processes' if ratio > 1 else 'threads'}")
    return Section("Threads or processes", "data-parallel", (
        Paragraph("The cores of one machine as threads of one process (torch-cpu), or as processes of one thread "
                  "each, the batch split between them and the gradients averaged by an all-reduce (torch-ddp: "
                  "DistributedDataParallel over gloo, started by torchrun). Which wins, config by config: "
                  f"{'; '.join(said)}. Why: a process per core runs its share of the step without the threads' "
                  "synchronization inside every layer, but each step all-reduces every gradient; the fewer FLOPs "
                  "a rank does per byte it all-reduces, the more that weighs (the last column)."),
        TableBlock(Table("Threads or processes, config by config", dps.COLUMNS, dps.rows(found), note=dps.NOTE),
                   keep_together=True),
    ))


def _stages(report: Report) -> Section:
    blocks: list = [Paragraph(
        "One instrumented ResNet-50 step per case, after its timed rounds, split at its stages: stem, the four "
        "bottleneck stages and head, each forward and backward, then the SGD update. A compiled step "
        "(torch-cuda-compile) has no stage boundaries (hooks would break its graph). The charts show each "
        "machine's largest images; every step and part, in seconds, is in stages.csv.")]
    for machine, found in report.breakdowns.items():
        largest = max(b.key.resolution for b in found)
        blocks.append(FigureBlock("breakdown", [b for b in found if b.key.resolution == largest],
                                  f"Where the time of one ResNet-50 step goes on {machine} ({largest} px)"))
    if not report.breakdowns:
        blocks.append(Paragraph("No stage breakdown in the results (results files before schema version 4 have "
                                "none)."))
    return Section("Where the time goes", "stages", tuple(blocks))


def _scaling(report: Report) -> Section:
    blocks: list = [Paragraph(
        "A width-N MLP (mlp-width-N: input = hidden = N, batch 32) does about N² multiply-adds a step, so time "
        "grows as width^k with k near 2 whether or not the code is vectorized: vectorization changes the constant, "
        "not the exponent. k is fitted where a line's FLOP rate has levelled off (below that, fixed per-call costs "
        "flatten the curve).")]
    if report.sweeps:
        blocks.append(FigureBlock("scaling", report.sweeps,
                                  "mlp-width-N (batch 32, input = hidden = N): median time per step against width"))
        blocks.append(TableBlock(pivots.scaling_pivot_table(report.sweeps, report.flops_fits), keep_together=True))
    else:
        blocks.append(Paragraph("No mlp-width-N sweep in the results."))
    return Section("Scaling with width", "scaling", tuple(blocks))


def _efficiency(report: Report) -> Section:
    blocks: list = [Paragraph(
        "Each case's GFLOP/s (recorded FLOPs per step / median time) over the best matrix product the same "
        "machine reached in the same run, in the case's precision and threads. The chart shows the width sweep "
        "at its octaves; every case is in efficiency.csv.")]
    if efficiency_machines(report.efficiencies):
        blocks.append(FigureBlock("efficiency", report.efficiencies,
                                  "Efficiency: achieved GFLOP/s over the same machine's measured GEMM peak in the "
                                  "case's precision"))
    else:
        blocks.append(Paragraph("No case could be set against a measured peak."))
    blocks.append(TableBlock(m.peaks_table(report.peaks)))
    return Section("Efficiency against peak", "efficiency", tuple(blocks))


def _environment(report: Report) -> Section:
    return Section("Environment and method", "environment", (
        TableBlock(m.environment_table(report.environments, leave_out=findings.SUMMARY_FIELDS)),
        Subheading("Method"),
        Bullets(tuple(report.method), small=True),
    ))


def _problems(report: Report) -> Section:
    return Section("Noisy, failed and skipped cases", "problems", (
        TableBlock(pivots.noisy_pivot_table(report.cases)),
        TableBlock(pivots.problems_pivot_table(report.cases)),
    ))
