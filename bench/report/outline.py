"""What the report says, in which order and in which words: ``document(report)`` -> ``Document``.

The one place that orders the sections and writes their prose; the HTML, PDF and Markdown
renderers lay out this document and add nothing to it. Every table appears once, the same in the
three; tables too long to read on a page are shortened here and attached in full as CSV.
"""

from __future__ import annotations

from .document import (Attachment, Bullets, Document, FigureBlock, Paragraph, Section, Subheading, TableBlock,
                       Verdict, Verdicts)
from .figures import efficiency_machines, ladder_title
from .model import Report
from . import findings, tables as t

TITLE = "vecbench: how much faster does vectorized code train neural networks?"
NOISY_SHOWN = 12  # rows of the noisy table on the page; every row in noisy.csv
PROBLEMS_SHOWN = 20
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
)


def tone(verdict: str) -> str:
    """How a verdict is coloured: "fails" for "does not hold", "holds" for the holds, "other" else."""
    if verdict == "does not hold":
        return "fails"
    return "holds" if verdict.startswith("holds") else "other"


def _attached(table, name: str, shown: int) -> TableBlock:
    """``table`` cut to ``shown`` rows, saying where the rest are."""
    return TableBlock(table.head(shown, where=name))


def document(report: Report) -> Document:
    sections = [_headline(report), _ladder(report), _claims(report)]
    if report.across:
        sections.append(_machines(report))
    sections += [_stages(report), _scaling(report), _efficiency(report), _environment(report),
                 _problems(report)]
    attachments = (
        Attachment("ladders.csv", t.ladders_table(report.ladders)),
        Attachment("efficiency.csv", t.efficiency_table(report.all_efficiencies)),
        Attachment("noisy.csv", t.noisy_table(report.cases)),
        Attachment("failed-and-skipped.csv", t.problems_table(report.cases)),
    )
    return Document(TITLE, tuple(sections), attachments)


def _headline(report: Report) -> Section:
    verdicts = Verdicts(tuple(Verdict(c.verdict, c.claim, c.figure, tone(c.verdict)) for c in report.claims))
    return Section("The answer", "headline", (
        Subheading("The articles' claims, measured"),
        verdicts,
        TableBlock(findings.machines_summary_table(report)),
        Subheading("Speedups over pure-Python loops, machine by machine"),
        *(Paragraph(line) for line in report.headlines),
        Paragraph(f"Built from {len(report.sources)} results file(s): {', '.join(report.sources)}. Every number "
                  "below is computed from those files; Environment and method says how. Tables too long for a "
                  "page are beside this report in full as CSV: ladders.csv, efficiency.csv, noisy.csv, "
                  "failed-and-skipped.csv.", small=True),
        Subheading("Words used here"),
        Bullets(GLOSSARY, small=True),
    ), lead=True)


def _ladder(report: Report) -> Section:
    blocks: list = [Paragraph(
        "Each rung changes one thing from the rung below: vectorization (loops to numpy float64, 1 thread), "
        "precision (float64 to float32), threads (1 to all cores), library (numpy to torch), device (CPU to GPU), "
        "then later additions. Multipliers are ratios of median time per step (uncontended rounds) with 95% "
        "hierarchical-bootstrap intervals over repeats, then rounds (none where a side was timed once); rows "
        "highlighted are not measured, failed, skipped, noisy or suspect. Every rung's full row (rounds, "
        "flags, intervals) is in ladders.csv.")]
    for group in report.ladder_groups:
        blocks += [FigureBlock("ladder", group, ladder_title(group[0])),
                   TableBlock(t.ladder_compact_table(group))]
    if report.throughput:
        for config, groups in report.throughput.items():
            blocks.append(FigureBlock("throughput", groups,
                                      f"{config} training throughput (images / s) by batch size"))
        blocks.append(TableBlock(t.throughput_compact_table(report.throughput_lines)))
    return Section("The speedup ladder", "ladder", tuple(blocks))


def _claims(report: Report) -> Section:
    return Section("The articles' claims", "claims", (
        Paragraph("Each claim is quoted verbatim from the seed article; the verdict says whether the measurements "
                  "support it and which figure decides."),
        TableBlock(t.claims_table(report.claims)),
    ))


def _machines(report: Report) -> Section:
    blocks: list = [
        Paragraph("The same rung of the same config on each machine: its time per step, and each machine's time "
                  "over the first machine's with its 95% interval."),
        FigureBlock("machines", (report.across_machines, report.across), "The same rung on each machine"),
        TableBlock(t.machines_table(report.across_machines, report.across), keep_together=True),
    ]
    if report.machines_apart:
        blocks.append(Paragraph(f"Not compared here: {', '.join(map(str, report.machines_apart))}: no rung in "
                                "common with another machine."))
    return Section("Machines side by side", "machines", tuple(blocks))


def _stages(report: Report) -> Section:
    blocks: list = [Paragraph(
        "One ResNet-50 training step split at its stage boundaries, as each backend reported them: the stem "
        "(7×7 convolution, batch norm, max pool), the four bottleneck stages, the head (average pool, fully "
        "connected layer, loss), each forward and backward, then the SGD update. One instrumented step per case, "
        "after its timed rounds (the pure-Python step: the timed step itself). A compiled step "
        "(torch-cuda-compile) has no stage boundaries to report: hooks would break its graph, so it is not "
        "shown.")]
    for machine, found in report.breakdowns.items():
        blocks += [FigureBlock("breakdown", found, f"Where the time of one ResNet-50 step goes on {machine}"),
                   TableBlock(t.breakdown_compact_table(found))]
    if not report.breakdowns:
        blocks.append(Paragraph("No stage breakdown in the results (results files before schema version 4 have "
                                "none)."))
    return Section("Where the time goes", "stages", tuple(blocks))


def _scaling(report: Report) -> Section:
    blocks: list = [Paragraph(
        "Time per step against width N of the mlp-width-N sweep (input = hidden = N, 10 classes, batch 32). A "
        "width-N MLP does about N² multiply-adds per step, so an exponent near 2 is expected whether or not the "
        "code is vectorized; vectorization changes the constant, not the exponent. At small widths the fixed "
        "per-call cost of vectorized backends flattens their curves, so the exponent over the compute-bound "
        "widths (where a line's FLOP rate is at least half its best) is the one that says how the cost grows.")]
    if report.sweeps:
        blocks.append(FigureBlock("scaling", report.sweeps,
                                  "mlp-width-N (batch 32, input = hidden = N): median time per step against width"))
        blocks += [TableBlock(t.scaling_table(lines, machine, report.flops_fits.get(machine)), keep_together=True)
                   for machine, lines in report.sweeps.items()]
    else:
        blocks.append(Paragraph("No mlp-width-N sweep in the results."))
    return Section("Scaling with width", "scaling", tuple(blocks))


def _efficiency(report: Report) -> Section:
    blocks: list = [Paragraph(
        "Achieved GFLOP/s of every successful case (recorded analytic FLOPs per step / median time) against the "
        "best matrix product the same machine reached in the same run (in the precision the case computed in, "
        "and the same threads where measured). The figure shows the width sweep at its octaves; every case's "
        "row is in efficiency.csv.")]
    if efficiency_machines(report.efficiencies):
        blocks.append(FigureBlock("efficiency", report.efficiencies,
                                  "Efficiency: achieved GFLOP/s over the same machine's measured GEMM peak in the "
                                  "case's precision"))
    else:
        blocks.append(Paragraph("No case could be set against a measured peak."))
    blocks.append(TableBlock(t.peaks_table(report.peaks)))
    return Section("Efficiency against peak", "efficiency", tuple(blocks))


def _environment(report: Report) -> Section:
    return Section("Environment and method", "environment", (
        TableBlock(t.environment_table(report.environments)),
        Subheading("Method"),
        Bullets(tuple(report.method), small=True),
    ))


def _problems(report: Report) -> Section:
    return Section("Noisy, failed and skipped cases", "problems", (
        _attached(t.noisy_table(report.cases), "noisy.csv", NOISY_SHOWN),
        _attached(t.problems_table(report.cases), "failed-and-skipped.csv", PROBLEMS_SHOWN),
    ))
