"""The report generator, on synthetic results files written in the test."""

from __future__ import annotations

import os
import csv
import re
import shutil
from html import unescape
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.errors import UsageError
from bench.formatting import times
from bench.report import build, build_report
from bench.report import tables
from bench.report.document import FigureBlock
from bench.report.outline import document
from bench.report.claims import load_claims
from bench.report.palette import colour
from bench.stats import WIDENING, fit_power
from bench.keys import MachineKey
from bench.measurement import measurements
from bench.results import SCHEMA_VERSION, to_frame

RESAMPLES = 300  # small for speed; the method is the same as the default 10,000
SCRIPT = "<script>alert(1)</script>"
SWEEP_EXPONENT = 1.7
ROOT = Path(__file__).resolve().parents[1]

MACHINES = {
    "lab-a": dict(hostname="lab-a", cpu="Test CPU A", cores=4, gpu=""),
    "gpu-b": dict(hostname="gpu-b", cpu="Test CPU B", cores=8, gpu="Test GPU"),
}
MLP_SIZES = {"mlp-tiny": ((4, 3, 2), 5), "mlp-mnist": ((784, 128, 10), 32)}


def torch_layout(sizes: tuple[int, ...]) -> str:
    """``parameter_shapes`` of an MLP held as torch holds it: each weight output x input."""
    return "; ".join(f"fc{i}.weight {b}x{a}; fc{i}.bias {b}" for i, (a, b) in enumerate(zip(sizes, sizes[1:]), 1))
# Multiply-adds of one step, counted by hand: forward and weight gradient of every layer (2 products),
# plus the input gradient of every layer but the first (a third).
MLP_MACS = {
    "mlp-tiny": 2 * 5 * 4 * 3 + 3 * 5 * 3 * 2,  # 120 + 90 = 210
    "mlp-mnist": 2 * 32 * 784 * 128 + 3 * 32 * 128 * 10,  # 6,422,528 + 122,880 = 6,545,408
}


def base_row(machine: str, run_id: str = "run-1") -> dict:
    return dict(
        schema_version=SCHEMA_VERSION, run_id=run_id, timestamp=pd.Timestamp("2025-01-02T03:04:05Z"),
        profile="quick", model="mlp", config="mlp-mnist", backend="numpy", dtype="float64", threads=1,
        batch_size=32, resolution=None, round=0, iterations=1, seconds=1.0, flops=1000, macs=0,
        timing_mode="pedantic", verification="before", verified_max_rel_error=1e-12, tolerance=1e-9,
        loss=2.3, status="ok", error="", python="3.12.0", numpy="2.0.0", torch="2.11.0",
        blas="openblas", platform="Linux-x86_64", git_commit="abc123", **MACHINES[machine],
    )


class Results:
    """Builds rows and remembers every ok case's raw seconds for independent checks."""

    def __init__(self, seed: int = 7):
        self.rng = np.random.default_rng(seed)
        self.rows: list[dict] = []
        self.seconds: dict[tuple, np.ndarray] = {}

    def ok(self, machine, config, backend, dtype, threads, median, rounds=7, spread=0.02, batch=None,
           model=None, resolution=None, flops=None, macs=None, sweep_width=None):
        model = model or ("resnet50" if config.startswith("resnet50") else "mlp")
        if batch is None:
            batch = MLP_SIZES.get(config, (None, 32))[1] if model == "mlp" else 1
        if macs is None and config in MLP_MACS and batch == MLP_SIZES[config][1]:
            macs = MLP_MACS[config]
        times = median * np.exp(self.rng.normal(0.0, spread, rounds)) if rounds > 1 else np.array([median])
        for i, t in enumerate(times):
            self.rows.append(base_row(machine) | dict(
                model=model, config=config, backend=backend, dtype=dtype, threads=threads, batch_size=batch,
                resolution=resolution, sweep_width=sweep_width, round=i, seconds=float(t),
                flops=flops or (2 * macs if macs else 10**9),
                macs=macs or 0, parameter_shapes=torch_layout(MLP_SIZES[config][0]) if config in MLP_SIZES else ""))
        self.seconds[(machine, config, backend, dtype, threads, batch)] = times
        return times

    def bad(self, machine, config, backend, dtype, threads, status, error, batch=32):
        self.rows.append(base_row(machine) | dict(
            config=config, backend=backend, dtype=dtype, threads=threads, batch_size=batch, round=None,
            seconds=float("nan"), status=status, error=error))

    def harness(self, machine, threads):
        for dtype, gflops in (("float32", 100.0), ("float64", 50.0)):
            for t in (1, threads):
                for i in range(3):
                    self.rows.append(base_row(machine) | dict(
                        model="peak", config=f"gemm-{dtype}-2048", backend="numpy", dtype=dtype, threads=t,
                        batch_size=1, round=i, flops=2 * 2048**3, seconds=2 * 2048**3 / (gflops * t * 1e9)))
        for i in range(5):
            self.rows.append(base_row(machine) | dict(model="noop", config="noop", backend="none",
                                                      round=i, seconds=2e-7, flops=0))

    def parts(self, machine, config, backend, dtype, threads, batch, resolution, seconds: dict[str, float],
              run_id="run-1", stamp="2025-01-02T03:04:05Z"):
        """One instrumented step's part rows (schema 4), ``seconds`` per part in running order."""
        for part, value in seconds.items():
            self.rows.append(base_row(machine, run_id) | dict(
                model="resnet50", config=config, backend=backend, dtype=dtype, threads=threads, batch_size=batch,
                resolution=resolution, seconds=value, part=part, timing_mode="instrumented",
                timestamp=pd.Timestamp(stamp)))

    def write(self, path: Path, rows=None) -> Path:
        to_frame(rows if rows is not None else self.rows).to_parquet(path, index=False)
        return path


def fill(r: Results) -> None:
    # lab-a: CPU only, 4 threads; a failed rung whose error holds markup; a skipped GPU rung
    for config, loops in (("mlp-tiny", 2e-4), ("mlp-mnist", 0.5)):
        r.ok("lab-a", config, "loops", "float64", 1, loops)
        r.ok("lab-a", config, "numpy", "float64", 1, loops / 40)
        r.ok("lab-a", config, "numpy", "float32", 1, loops / 60)
        r.ok("lab-a", config, "numpy", "float32", 4, loops / 150, spread=0.3 if config == "mlp-mnist" else 0.02)
        r.bad("lab-a", config, "torch-cpu", "float32", 4, "failed", f"verification failed {SCRIPT}",
              batch=MLP_SIZES[config][1])
        r.bad("lab-a", config, "torch-cuda", "float32", 1, "skipped", "no CUDA GPU", batch=MLP_SIZES[config][1])
    # the width sweep: time = c * N ** SWEEP_EXPONENT exactly at the median
    for n in (32, 64, 128, 256, 512, 1024, 2048):
        flops = 6 * 32 * 2 * n * n
        r.ok("lab-a", f"mlp-width-{n}", "loops", "float64", 1, 1e-7 * n**SWEEP_EXPONENT, rounds=3, spread=0.0, flops=flops,
             sweep_width=n)
        r.ok("lab-a", f"mlp-width-{n}", "numpy", "float64", 1, 1e-9 * n**SWEEP_EXPONENT, rounds=5, spread=0.0, flops=flops,
             sweep_width=n)
    r.harness("lab-a", 4)
    # gpu-b: 8 threads, GPU, a later rung, ResNet-50 with a one-round loops case
    for config, loops in (("mlp-mnist", 0.4),):
        r.ok("gpu-b", config, "loops", "float64", 1, loops)
        r.ok("gpu-b", config, "numpy", "float64", 1, loops / 30)
        r.ok("gpu-b", config, "numpy", "float32", 1, loops / 50)
        r.ok("gpu-b", config, "numpy", "float32", 8, loops / 200)
        r.ok("gpu-b", config, "torch-cpu", "float32", 8, loops / 300)
        r.ok("gpu-b", config, "torch-cuda", "float32", 1, loops / 1000)
        r.ok("gpu-b", config, "torch-cuda-amp", "float32", 1, loops / 1500)
    r.ok("gpu-b", "resnet50-224", "loops", "float64", 1, 3000.0, rounds=1, resolution=224)
    for backend, dtype, threads, t in (("numpy", "float64", 1, 40.0), ("numpy", "float32", 1, 25.0),
                                       ("numpy", "float32", 8, 6.0), ("torch-cpu", "float32", 8, 0.5),
                                       ("torch-cuda", "float32", 1, 0.02)):
        for batch in (1, 8, 32):
            r.ok("gpu-b", "resnet50-224", backend, dtype, threads, t * (1 + 0.5 * (batch - 1)),
                 batch=batch, resolution=224, rounds=5)
    r.harness("gpu-b", 8)
    # where the time goes (gpu-b, resnet50-224 batch 1): loops, and numpy measured twice (the newer counts)
    r.parts("gpu-b", "resnet50-224", "loops", "float64", 1, 1, 224, LOOPS_PARTS)
    r.parts("gpu-b", "resnet50-224", "numpy", "float64", 1, 1, 224, {p: 9.0 for p in LOOPS_PARTS}, run_id="run-0",
            stamp="2025-01-01T00:00:00Z")
    r.parts("gpu-b", "resnet50-224", "numpy", "float64", 1, 1, 224, NUMPY_PARTS)
    # compiled loops (last, so that the rows above keep their random draws): slower than numpy at
    # mnist, faster than every vectorized rung at tiny; on gpu-b's ResNet float32 beats float64
    for config, loops in (("mlp-tiny", 2e-4), ("mlp-mnist", 0.5)):
        r.ok("lab-a", config, "numba", "float64", 1, loops / (20 if config == "mlp-mnist" else 1000))
    r.ok("gpu-b", "resnet50-224", "numba", "float64", 1, 60.0, rounds=5, resolution=224)
    r.ok("gpu-b", "resnet50-224", "numba", "float32", 1, 45.0, rounds=5, resolution=224)
    # compiled loops on every core (prange): faster again, a side rung of the ladder
    r.ok("lab-a", "mlp-mnist", "numba", "float32", 4, 0.5 / 50)
    r.ok("gpu-b", "resnet50-224", "numba", "float32", 8, 30.0, rounds=5, resolution=224)


# seconds per part of one step: forward 30, backward 60, update 10 (loops); 20, 40, 40 (numpy)
_STAGES = ("stem", "layer1", "layer2", "layer3", "layer4", "head")
LOOPS_PARTS = {**{f"{s} forward": 5.0 for s in _STAGES}, **{f"{s} backward": 10.0 for s in reversed(_STAGES)},
               "update": 10.0} | {"head backward": 5.0, "layer3 backward": 15.0}
NUMPY_PARTS = {**{f"{s} forward": 0.2 for s in _STAGES[:-1]}, "head forward": 1.0,
               **{f"{s} backward": 0.4 for s in reversed(_STAGES[1:])}, "stem backward": 2.0, "update": 4.0}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    r = Results()
    fill(r)
    folder = tmp_path_factory.mktemp("results")
    # two files: one per machine, read as a folder
    frame = pd.DataFrame(r.rows)
    for host in MACHINES:
        r.write(folder / f"{host}.parquet", [row for row in r.rows if row["hostname"] == host])
    assert len(frame) == len(r.rows)
    return r, folder


@pytest.fixture(scope="module")
def report(data):
    return build([data[1]], resamples=RESAMPLES)


@pytest.fixture(scope="module")
def doc(report):
    return document(report)


def shown(doc, title_start):
    """The one table of the document whose title starts with ``title_start``."""
    (found,) = [t for t in doc.tables() if t.title.startswith(title_start)]
    return found


@pytest.fixture(scope="module")
def built(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return build_report([data[1]], out, resamples=RESAMPLES)


@pytest.fixture(scope="module")
def pdf_texts(built):
    pypdf = pytest.importorskip("pypdf")
    return [p.extract_text() for p in pypdf.PdfReader(built[1]).pages]


def key(machine):
    """The report's machine key for one of MACHINES (CPU, cores, GPU; the hostname is not part of it)."""
    spec = MACHINES[machine]
    return MachineKey(spec["cpu"], spec["cores"], spec["gpu"])


def ladder(report, machine, config):
    return next(l for l in report.ladders if l.machine == key(machine) and l.config == config)


def boot(a, b, resamples=20_000, seed=12345):
    """A flat percentile bootstrap of median(a)/median(b), written here independently: with one repeat
    per case (these rows have none) the report's hierarchical bootstrap is this method."""
    rng = np.random.default_rng(seed)
    ia = rng.integers(0, len(a), size=(resamples, len(a)))
    ib = rng.integers(0, len(b), size=(resamples, len(b)))
    ratios = np.median(np.asarray(a)[ia], axis=1) / np.median(np.asarray(b)[ib], axis=1)
    return np.percentile(ratios, [2.5, 97.5])


def test_every_section_is_in_the_html(built):
    html = built[0].read_text(encoding="utf-8")
    for section in ("headline", "ladder", "claims", "machines", "stages", "scaling", "efficiency", "environment",
                    "problems"):
        assert f'id="{section}"' in html
    assert html.index('id="headline"') < html.index('id="ladder"')
    assert "harness overhead per call" in html
    assert "200 ns per call" in html  # the noop rows' 2e-7 s, in the one time format
    assert "data:image/png" not in html  # figures are inline vector graphics
    figures = re.findall(r'<figure class="figure wide"[^>]*>\s*<svg', html)
    assert len(re.findall(r'<figure class="figure narrow"[^>]*>\s*<svg', html)) >= len(figures)  # a phone's too
    # a ladder per config (mlp-tiny on lab-a, mlp-mnist on both side by side, resnet50-224 on gpu-b),
    # throughput (gpu-b), scaling (lab-a), efficiency (a column per machine), machines side by side,
    # where the time goes (gpu-b)
    assert len(figures) == 3 + 1 + 1 + 1 + 1 + 1


def _words(text: str) -> str:
    """``text`` with its whitespace collapsed: a PDF wraps long titles onto several lines."""
    return " ".join(text.split())


def test_the_three_documents_say_the_same_things(built, doc, pdf_texts):
    """Every section, table and chart title of the one document is in the HTML, the PDF and the
    Markdown, and every row of every table is in the HTML and the Markdown (the PDF's rows wrap
    within their cells, so its tables are held to their titles and first cells)."""
    page = unescape(built[0].read_text(encoding="utf-8"))
    markdown = built[2].read_text(encoding="utf-8")
    pdf = _words(" ".join(pdf_texts))
    titles = [s.title for s in doc.sections] + [t.title for t in doc.tables()]
    titles += [b.title for s in doc.sections for b in s.blocks if isinstance(b, FigureBlock)]
    assert len(doc.tables()) >= 10
    for title in titles:
        assert title in page, title
        assert title in markdown, title
        assert _words(title) in pdf, title
    for table in doc.tables():
        for i, row in enumerate(table.rows):
            flag = table.flags[i] if i < len(table.flags) else ""
            cells = [row[0] + (f" [{flag}]" if flag else ""), *row[1:]]  # the Markdown names a row's flag
            assert "| " + " | ".join(c.replace("|", "\\|").replace("\n", "<br>") for c in cells) + " |" in markdown
            assert all(cell.split("\n")[0] in page for cell in row)
            assert _words(row[0].split("\n")[0])[:20] in pdf
    for section in doc.sections:
        assert f"\n## {section.title}\n" in markdown


def test_the_csv_beside_the_report_holds_every_row(built, report, data):
    """ladders.csv has a row per rung of every ladder; noisy.csv a row per case whose rounds spread
    more than 10% (counted here from the fixture's raw rounds); the page shows the first rows and
    names the file with the rest."""
    files = {p.name: p for p in built}
    assert set(files) >= {"ladders.csv", "efficiency.csv", "noisy.csv", "failed-and-skipped.csv", "report.md"}

    def read(name):
        with files[name].open(newline="", encoding="utf-8") as f:
            return list(csv.reader(f))

    ladders = read("ladders.csv")
    assert ladders[0][:4] == ["machine", "config", "batch", "rung"]
    assert len(ladders) - 1 == sum(len(l.rungs) for l in report.ladders)
    assert {(r[0], r[1]) for r in ladders[1:]} == {(str(l.machine), l.config) for l in report.ladders}

    spread = [np.subtract(*np.percentile(s, [75, 25])) / np.median(s) for s in data[0].seconds.values()]
    noisy = sum(1 for x in spread if x > 0.10)
    assert noisy > 0 and len(read("noisy.csv")) - 1 == noisy


def test_the_first_page_gives_each_machine_in_a_row(data, doc, pdf_texts):
    """One row per machine naming its CPU and GPU, with ResNet-50's best rung over pure-Python and
    over compiled loops, and the GPU over the same machine's CPU: the values recomputed here from
    the fixture's own rounds (gpu-b, resnet50-224 at batch 1)."""
    table = shown(doc, "Each machine in a row")
    assert [row[0].split(",")[0] for row in table.rows] == ["Test CPU A", "Test CPU B"]
    gpu_b = table.rows[1]
    assert "GPU: Test GPU" in gpu_b[0] and "GPU: none" in table.rows[0][0]
    seconds = data[0].seconds
    loops = np.median(seconds[("gpu-b", "resnet50-224", "loops", "float64", 1, 1)])
    cuda = np.median(seconds[("gpu-b", "resnet50-224", "torch-cuda", "float32", 1, 1)])
    cpu = np.median(seconds[("gpu-b", "resnet50-224", "torch-cpu", "float32", 8, 1)])
    numba = np.median(seconds[("gpu-b", "resnet50-224", "numba", "float32", 8, 1)])
    assert gpu_b[3].startswith(f"resnet50-224 (batch 1): {times(loops / cuda)} (torch-cuda float32")
    assert gpu_b[4].startswith(f"resnet50-224 (batch 1): {times(numba / cuda)} [")
    assert gpu_b[5].startswith(f"resnet50-224 (batch 1): {times(cpu / cuda)} [")
    assert "(torch-cuda float32 over torch-cpu float32, all cores)" in gpu_b[5]
    assert table.rows[0][5] == "no GPU"
    assert "Each machine in a row" in pdf_texts[0]  # on the first page


def test_a_rung_no_machine_ran_is_listed_once_and_not_drawn(report, doc, pdf_texts):
    """mlp-tiny ran on lab-a alone, which has no GPU: its GPU rungs are left out of the table and
    the figure and named once under the table; every rung shown ran (ok or failed) somewhere."""
    table = shown(doc, "mlp-tiny")
    names = [row[0] for row in table.rows]
    assert names[0] == "loops float64, 1 thread" and "torch-cuda float32" not in names
    assert "Not run on any machine here: " in table.note and "torch-cuda float32 (skipped: no CUDA GPU)" in table.note
    (group,) = [g for g in report.ladder_groups if g[0].config == "mlp-tiny"]
    for name in names:
        assert any(l.rung(name) is not None and l.rung(name).case is not None
                   and l.rung(name).case.status in ("ok", "failed") for l in group), name
    from bench.report.charts import ladder_figure
    drawn = [label.get_text() for label in ladder_figure(group).axes[0].get_yticklabels()]
    assert drawn == names  # the chart's rungs are the table's: none that no machine ran


def test_the_verdicts_come_first(built, report):
    """Each claim's verdict and deciding figure, one line each, before any speedup or section."""
    html = unescape(built[0].read_text(encoding="utf-8"))
    first_section = html.index('id="ladder"')
    speedups = html.index("Speedups over pure-Python loops")
    by_id = {c.id: c for c in report.claims}
    for claim in report.claims:
        at = html.index(f"<strong>{claim.claim}</strong>")
        assert at < speedups < first_section
        assert claim.verdict in html[at - 120:at]
    # the deciding figure carries its number: loops 3000 s over torch-cuda's median, one round: no interval
    assert "(one round: no interval)" in by_id["resnet50-speedup"].figure
    assert "k = 1.70" in by_id["complexity"].figure
    assert by_id["init"].figure.startswith("not a speed or shape claim")


def test_html_is_self_contained(built):
    html = built[0].read_text(encoding="utf-8")
    # an inline SVG names its XML namespaces by URI; nothing is fetched from them
    html = re.sub(r'xmlns(:\w+)?="http://www\.w3\.org/[^"]*"', "", html)
    for external in ("http://", "https://", 'src="//', "<link", "@import"):
        assert external not in html
    assert re.search(r"url\((?!#)", html) is None  # url(#clip) points inside the document


def test_text_from_results_is_escaped(built):
    html = built[0].read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert SCRIPT not in html and "<script" not in html


def test_ladder_ratios_and_intervals(data, report):
    r, _ = data
    lad = ladder(report, "lab-a", "mlp-mnist")
    loops = r.seconds[("lab-a", "mlp-mnist", "loops", "float64", 1, 32)]
    f64 = r.seconds[("lab-a", "mlp-mnist", "numpy", "float64", 1, 32)]
    f32 = r.seconds[("lab-a", "mlp-mnist", "numpy", "float32", 1, 32)]
    rung = lad.rung("numpy float32, 1 thread")
    assert rung.over_loops.value == pytest.approx(np.median(loops) / np.median(f32))
    assert rung.over_below.value == pytest.approx(np.median(f64) / np.median(f32))
    assert rung.over_below.over == "numpy float64, 1 thread"
    low, high = boot(f64, f32)
    # the same method from another random stream, widened as documented (stats.WIDENING on the log
    # scale around the point value): equal up to the bootstrap's own resampling noise
    point = np.median(f64) / np.median(f32)
    widened = (point * (low / point) ** WIDENING, point * (high / point) ** WIDENING)
    assert (rung.over_below.low, rung.over_below.high) == pytest.approx(widened, rel=0.03)
    # the widened interval holds the point and is wider than the rounds' own spread of the ratio
    s = rung.over_loops
    assert s.low < s.value < s.high
    assert s.low < min(loops) / max(f32) and s.high > max(loops) / min(f32)


def test_the_same_rung_on_two_machines(data, report, doc):
    """mlp-mnist ran on both machines: each rung measured on both is compared, gpu-b over lab-a
    (the first machine), with the ladder's bootstrap; rungs measured on one machine only are not."""
    r, _ = data
    rows = {(a.config, a.rung): a for a in report.across}
    assert {config for config, _ in rows} == {"mlp-mnist"}
    assert set(rows) == {("mlp-mnist", "loops float64, 1 thread"), ("mlp-mnist", "numpy float64, 1 thread"),
                         ("mlp-mnist", "numpy float32, 1 thread"), ("mlp-mnist", "numpy float32, all cores")}
    a = r.seconds[("lab-a", "mlp-mnist", "numpy", "float64", 1, 32)]
    b = r.seconds[("gpu-b", "mlp-mnist", "numpy", "float64", 1, 32)]
    over = rows[("mlp-mnist", "numpy float64, 1 thread")].over_reference[key("gpu-b")]
    assert over.value == pytest.approx(np.median(b) / np.median(a))
    assert over.low < over.value < over.high
    # "all cores" is each machine's own: 4 threads on lab-a, 8 on gpu-b
    cases = rows[("mlp-mnist", "numpy float32, all cores")].cases
    assert cases[key("lab-a")].threads == 4 and cases[key("gpu-b")].threads == 8
    (full,) = [a.table for a in doc.attachments if a.name == "machines.csv"]
    assert full.rows[0][:2] == ["mlp-mnist (32)", "loops float64, 1 thread"]
    # the report's pivot: gpu-b over lab-a at mlp-mnist, the median of the four rungs' ratios and
    # their range, from the rounds themselves
    ratios = sorted(np.median(r.seconds[("gpu-b", "mlp-mnist", b, d, tb, 32)])
                    / np.median(r.seconds[("lab-a", "mlp-mnist", b, d, ta, 32)])
                    for b, d, ta, tb in (("loops", "float64", 1, 1), ("numpy", "float64", 1, 1),
                                         ("numpy", "float32", 1, 1), ("numpy", "float32", 4, 8)))
    pivot = shown(doc, "Each machine's time per step over that of")
    assert pivot.columns == ["config (batch)", str(key("gpu-b"))]
    assert pivot.rows == [["mlp-mnist (32)", f"{times(float(np.median(ratios)))} ({times(ratios[0])} to "
                                             f"{times(ratios[-1])}, 4 rungs)"]]


def test_missing_and_failed_rungs(report):
    lad = ladder(report, "lab-a", "mlp-mnist")
    assert lad.all_cores == 4
    assert lad.rung("torch-cpu float32, all cores").state.startswith("failed: verification failed")
    assert lad.rung("torch-cuda float32").state == "skipped: no CUDA GPU"
    table = tables.ladder_table(lad)
    assert any("noisy" in row[-1] for row in table.rows)  # numpy float32 4 threads has spread 0.3


def test_compiled_loops_are_the_rung_between_pure_python_and_numpy(data, report, doc):
    """loops -> numba (compilation) -> numpy (vectorization and BLAS): the factor over pure Python
    splits in two, and the product of the two rungs' factors is the numpy rung's factor over loops."""
    r, _ = data
    lad = ladder(report, "lab-a", "mlp-mnist")
    names = [rung.spec.name for rung in lad.rungs]
    assert names[:4] == ["loops float64, 1 thread", "numba float64, 1 thread", "numba float32, all cores",
                         "numpy float64, 1 thread"]
    loops = np.median(r.seconds[("lab-a", "mlp-mnist", "loops", "float64", 1, 32)])
    numba = np.median(r.seconds[("lab-a", "mlp-mnist", "numba", "float64", 1, 32)])
    numpy_ = np.median(r.seconds[("lab-a", "mlp-mnist", "numpy", "float64", 1, 32)])
    compiled, vectorized = lad.rung("numba float64, 1 thread"), lad.rung("numpy float64, 1 thread")
    assert compiled.over_loops.value == pytest.approx(loops / numba)
    assert vectorized.over_below.over == "numba float64, 1 thread"
    assert vectorized.over_below.value == pytest.approx(numba / numpy_)
    assert compiled.over_loops.value * vectorized.over_below.value == pytest.approx(vectorized.over_loops.value)
    # the side rung, numba on all cores, is set against numba float64 on one; numpy skips over it
    side = lad.rung("numba float32, all cores")
    assert side.case.threads == 4 and side.over_below.over == "numba float64, 1 thread"
    assert side.over_below.value == pytest.approx(numba / np.median(r.seconds[("lab-a", "mlp-mnist", "numba", "float32", 4, 32)]))
    # both tables name the rung numpy is set against, since it is not the row above
    compact = shown(doc, "mlp-mnist")
    full = tables.ladder_table(lad)
    row = next(row for row in full.rows if row[0] == "numpy float64, 1 thread")
    assert row[3].endswith("(over numba float64, 1 thread)")
    row = next(row for row in compact.rows if row[0] == "numpy float64, 1 thread")
    assert row[2].endswith("(over numba float64 1t)")  # lab-a's column, the rung by its short name
    # at mlp-tiny numba beats every vectorized rung, yet "the best rung" is vectorized: it is a loop baseline
    tiny = ladder(report, "lab-a", "mlp-tiny")
    assert tiny.rung("numba float64, 1 thread").case.median < min(
        r.case.median for r in tiny.rungs if r.measured and not r.spec.loop_baseline)
    assert tiny.best().spec.name == "numpy float32, all cores"


def test_the_resnet_claim_is_answered_for_each_loop_baseline(data, report):
    r, _ = data
    claim = next(c for c in report.claims if c.id == "resnet50-speedup")
    cuda = np.median(r.seconds[("gpu-b", "resnet50-224", "torch-cuda", "float32", 1, 1)])
    fastest_numba = np.median(r.seconds[("gpu-b", "resnet50-224", "numba", "float32", 8, 1)])  # 30 s, not 45 or 60
    compiled = next(line for line in claim.measured if "compiled loops" in line)
    assert times(fastest_numba / cuda) in compiled and "numba float32 8 threads" in compiled
    pure = next(line for line in claim.measured if "pure-Python loops" in line)
    assert times(3000.0 / cuda) in pure
    assert "over compiled loops" in claim.figure and "over pure-Python loops" in claim.figure
    # both far above 100x: the claim does not hold against either baseline
    assert claim.verdict == "does not hold"


def test_one_round_loops_and_later_rungs(data, report):
    r, _ = data
    lad = ladder(report, "gpu-b", "resnet50-224")
    assert lad.batch_size == 1 and lad.resolution == 224
    assert lad.loops.case.one_round and "one round" in lad.loops.case.flags
    best = lad.best()
    assert best.spec.name == "torch-cuda float32"
    cuda = r.seconds[("gpu-b", "resnet50-224", "torch-cuda", "float32", 1, 1)]
    assert best.over_loops.value == pytest.approx(3000.0 / np.median(cuda))
    # one time says nothing about its own spread: no interval, and the table says so
    assert not best.over_loops.has_interval
    table = tables.ladder_table(lad)
    assert any("one round: no interval" in cell for row in table.rows for cell in row)
    mnist = ladder(report, "gpu-b", "mlp-mnist")
    names = [rung.spec.name for rung in mnist.rungs]
    assert names[-1] == "torch-cuda-amp bfloat16 autocast" and names.index("torch-cuda float32") == len(names) - 2
    assert colour("torch-cuda-amp") == colour("torch-cuda-amp") != colour("torch-cuda")


def test_fitted_exponent_matches_the_synthetic_one(report):
    lines = report.sweeps[key("lab-a")]
    assert {l.backend for l in lines} == {"loops", "numpy"}
    for line in lines:
        assert line.fit_all.exponent == pytest.approx(SWEEP_EXPONENT, abs=1e-9)
        assert line.fit_wide.exponent == pytest.approx(SWEEP_EXPONENT, abs=1e-9)
    x = np.array([1, 2, 4, 8, 16.0])
    noisy = 3 * x**2.5 * np.exp(np.random.default_rng(1).normal(0, 0.05, x.size))
    fit = fit_power(x, noisy)
    assert fit.low < 2.5 < fit.high and fit.low < fit.exponent < fit.high


def test_claims_table(report):
    data = load_claims()
    by_id = {c.id: c for c in report.claims}
    assert set(by_id) == {c["id"] for c in data["claims"]}
    assert "40-100x speed improvements over loop-based alternatives when training ResNet-50" in \
        by_id["resnet50-speedup"].quotes[0]
    assert "O(n²) to O(n)" in by_id["complexity"].quotes[0]
    # loops 3000 s vs torch-cuda 0.02 s: 150,000x, far above 100x
    assert by_id["resnet50-speedup"].verdict == "does not hold"
    # numpy's exponent is 1.7 with a zero-width interval: not O(n)
    assert by_id["complexity"].verdict == "does not hold"
    # held as torch holds them, output x input: the article's 4x3 and 3x2 transposed
    assert by_id["shapes-4-3-2"].verdict == "holds up to a transpose"
    assert by_id["mnist-layer"].verdict == "holds" and "100,352" in by_id["mnist-layer"].measured[0]
    assert by_id["init"].verdict == "not measured"


def test_quotes_are_verbatim():
    seeds = Path("/work/shared/seeds")
    if not seeds.is_dir():
        pytest.skip("seed articles not present on this machine")
    data = load_claims()
    for claim in data["claims"]:
        text = (seeds / data["articles"][claim["article"]]["file"]).read_text(encoding="utf-8")
        for quote in claim["quotes"]:
            assert quote in text


def test_efficiency_uses_the_same_run_peak(report):
    effs = report.efficiencies[key("lab-a")]
    e = next(e for e in effs if e.case.config == "mlp-mnist" and e.case.label == "numpy float32 4 threads")
    assert e.peak.gflops == pytest.approx(400.0) and e.matched == "same run, same threads"
    assert e.fraction == pytest.approx(e.gflops / 400.0)
    assert e.gflops == pytest.approx(2 * MLP_MACS["mlp-mnist"] / e.case.median / 1e9)  # the rows' flops


def test_pdf_pages(pdf_texts, report, doc):
    """Sections follow one another down the pages, in the document's order: each section's heading
    is on the pages once, after the one before it, and each page's header names the section that
    page starts in; the verdicts are on the first page, a line each."""
    texts = pdf_texts
    headers = [re.search(r"vecbench report · (.+?)\s*(?:\n|page)", t).group(1) for t in texts]
    titles = [s.title for s in doc.sections]
    assert headers[0] == titles[0] and all(h in titles for h in headers)
    assert [titles.index(h) for h in headers] == sorted(titles.index(h) for h in headers)  # never back
    # a page that opens with a section's heading is headed by that section
    for text, header in zip(texts, headers):
        body = _words(re.sub(r"vecbench report · .+?(?:\n|$)", "", text, count=1))
        opening = [s.title for s in doc.sections[1:] if body.startswith(_words(s.title))]
        assert opening in ([], [header]), (header, body[:60])
    # the headings, each after the one before it in the text of the pages (less their headers)
    body = _words(" ".join(re.sub(r"vecbench report · .+?(?:\n|$)", "", t, count=1) for t in texts))
    at = body.index(_words(doc.title))  # the lead section is headed by the document's title
    for section in doc.sections[1:]:
        at = body.index(_words(section.title), at + 1)
    for claim in report.claims:
        assert claim.claim.split()[0] in texts[0]


@pytest.mark.parametrize("keep_together", [True, False])
def test_a_table_kept_together_moves_to_the_next_page_rather_than_split(tmp_path, keep_together):
    """Near the bottom of a page, a table that fits on one page starts the next one whole; without
    ``keep_together`` it is split and continued under its repeated header."""
    pypdf = pytest.importorskip("pypdf")
    from matplotlib.backends.backend_pdf import PdfPages

    from bench.report import pdf
    from bench.report.tables import Table

    table = Table("Twelve rows", ["a", "b"], [[f"row {i}", str(i)] for i in range(12)])
    path = tmp_path / "t.pdf"
    with PdfPages(path) as pages:
        writer = pdf.Writer(pages)
        writer.start("Test")
        writer.y = pdf.H - pdf.MARGIN - 1.0  # an inch left: room for the heading and a few rows
        writer.table(table, keep_together=keep_together)
        writer.flush()
    texts = [page.extract_text() for page in pypdf.PdfReader(path).pages]
    assert len(texts) == 2
    if keep_together:
        assert "row 0" not in texts[0] and "row 11" in texts[1] and "(continued)" not in texts[1]
    else:
        assert "row 0" in texts[0] and "Twelve rows (continued)" in texts[1]


def test_the_headline_names_the_fastest_resnet_training(data, report):
    """Where ResNet-50 ran at several batch sizes, the headline gives its best images/s (from the
    fixture's own rounds: gpu-b's torch-cuda at batch 32 is the fastest it wrote)."""
    results = data[0]
    rates = {(backend, dtype, threads, batch): batch / float(np.median(times))
             for (machine, config, backend, dtype, threads, batch), times in results.seconds.items()
             if machine == "gpu-b" and config == "resnet50-224" and backend != "loops"}
    (backend, dtype, _, batch), best = max(rates.items(), key=lambda kv: kv[1])
    assert (backend, batch) == ("torch-cuda", 32)
    (line,) = [h for h in report.headlines if "Test GPU" in h]
    # a GPU rung is named without the host's threads; gpu-b measured no GPU peak, so no fraction of one
    assert f"trains fastest with torch-cuda {dtype} at batch 32: {best:.3g} images/s." in line
    assert "peak" not in line


def test_the_peaks_table_has_a_row_per_machine_and_device(doc):
    """Both machines timed the same GEMMs in runs named alike: neither machine's rows hide the other's."""
    peaks = shown(doc, "Measured peak GFLOP/s")
    rows = {row[0]: row for row in peaks.rows}
    assert peaks.columns[2:6] == ["float64", "float32", "tf32", "bfloat16"]
    assert set(rows) == {str(key("lab-a")), str(key("gpu-b"))}
    # each thread count the harness measured appears in its precision's cell
    assert "(1 thread)" in rows[str(key("lab-a"))][3] and "(4 threads)" in rows[str(key("lab-a"))][3]
    assert "(1 thread)" in rows[str(key("gpu-b"))][3] and "(8 threads)" in rows[str(key("gpu-b"))][3]
    assert rows[str(key("gpu-b"))][4:6] == ["-", "-"]


def test_where_the_time_goes(report, doc):
    """The newest breakdown per case, in stages.csv a row per part in the order it ran, its seconds
    and its share of the step computed from the parts given above."""
    (machine,) = report.breakdowns
    assert machine == key("gpu-b")
    assert any(b.kind == "breakdown" and b.title == f"Where the time of one ResNet-50 step goes on {machine} (224 px)"
               for b in doc.figures())
    (table,) = [a.table for a in doc.attachments if a.name == "stages.csv"]
    assert table.columns == ["machine", "config", "batch", "case", "part", "seconds", "share of step"]
    for case, parts in (("loops float64 1 thread", LOOPS_PARTS), ("numpy float64 1 thread", NUMPY_PARTS)):
        rows = [r for r in table.rows if r[3] == case]
        assert [r[4] for r in rows] == list(parts)  # the older numpy run (9 s a part) is not shown
        total = sum(parts.values())
        for row, (part, value) in zip(rows, parts.items()):
            assert row[:3] == [str(machine), "resnet50-224", "1"]
            assert float(row[5]) == pytest.approx(value) and float(row[6]) == pytest.approx(value / total, abs=1e-4)


def test_pdf_has_as_many_pages_as_its_layout(pdf_texts):
    texts = pdf_texts
    numbers = [int(m.group(1)) for t in texts for m in [re.search(r"page (\d+)", t)] if m]
    assert numbers == list(range(1, len(texts) + 1))


def unusable(tmp_path, rows, drop=None):
    frame = to_frame(rows)
    if drop:
        frame = frame.drop(columns=[drop])
    path = tmp_path / "bad.parquet"
    frame.to_parquet(path, index=False)
    return path


def test_a_file_named_twice_counts_once(data, report):
    again = build([data[1], data[1]], resamples=RESAMPLES)
    assert [c.rounds for c in again.cases] == [c.rounds for c in report.cases]


def test_missing_column(tmp_path):
    path = unusable(tmp_path, [base_row("lab-a")], drop="seconds")
    with pytest.raises(UsageError, match=r"bad\.parquet.*lacks required column\(s\) seconds"):
        build_report([path], tmp_path / "out")


def test_newer_schema(tmp_path):
    path = unusable(tmp_path, [base_row("lab-a") | dict(schema_version=SCHEMA_VERSION + 1)])
    with pytest.raises(UsageError, match=r"bad\.parquet.*newer than this vecbench reads"):
        build_report([path], tmp_path / "out")


def test_no_successful_case(tmp_path):
    rows = [base_row("lab-a") | dict(status="failed", error="boom", round=None, seconds=float("nan")),
            base_row("lab-a") | dict(model="peak", config="gemm-float32-2048")]
    path = unusable(tmp_path, rows)
    with pytest.raises(UsageError, match=r"bad\.parquet: no successful case"):
        build_report([path], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_exit_code(tmp_path):
    rows = [base_row("lab-a") | dict(status="failed", error="boom", round=None, seconds=float("nan"))]
    path = unusable(tmp_path, rows)
    done = subprocess.run([sys.executable, "-m", "bench", "report", str(path), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2
    assert "no successful case" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_report_never_imports_backends():
    """The report reads results files, and of the implementations only what backends say of
    themselves (``implementations.registry``: role, device, order, colour, rungs): no backend's code,
    no torch, anywhere in bench/report, and building it loads neither."""
    pattern = re.compile(r"^\s*(import|from)\s+(torch|implementations(?!\.registry\b)|\.\.(runner|suite|verify))\b",
                         re.M)
    for source in (ROOT / "bench" / "report").rglob("*.py"):
        assert not pattern.search(source.read_text(encoding="utf-8")), source
    probe = ("import sys, bench.report.model; loaded = [m for m in sys.modules if m == 'torch' or m == 'numba' "
             "or m.startswith('implementations.torch_autograd.trainer')]; print(loaded)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr


# -- the HTML report in a real browser -----------------------------------------------------------
BROWSER_VIEWPORT = {"width": 1280, "height": 900}
PHONE_VIEWPORT = {"width": 390, "height": 844}  # a phone held upright (CSS pixels)


def _chromium() -> str | None:
    for name in (os.environ.get("VECBENCH_CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="module", params=[BROWSER_VIEWPORT, PHONE_VIEWPORT], ids=["desktop", "phone"])
def page_report(built, request):
    """The generated report opened in Chromium (driven by Playwright) as a reader opens it, on a
    desktop's screen and on a phone's; skips, saying why, where either is absent (`.ci/run`
    installs Chromium). Only what the reader sees counts: a chart drawn for the other width is
    hidden."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
    binary = _chromium()
    if binary is None:
        pytest.skip("no Chromium on this machine (apt-get install -y chromium)")
    html = built[0]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=binary, args=["--no-sandbox"])
        page = browser.new_page(viewport=request.param)
        messages = []
        page.on("console", lambda m: messages.append(m) if m.type == "error" else None)
        page.on("pageerror", lambda e: messages.append(e))
        page.goto(html.as_uri())
        page.wait_for_load_state("load")
        facts = page.evaluate("""() => {
            const body = parseFloat(getComputedStyle(document.body).fontSize);
            const shown = [...document.querySelectorAll('.figure svg')].filter(s => s.closest('.figure').offsetParent !== null);
            const figures = shown.map(s => { const r = s.getBoundingClientRect(); return [r.width, r.height]; });
            let smallest = Infinity, smallestText = '';
            const clipped = [];
            for (const s of shown) {
                const box = s.getBoundingClientRect();
                for (const t of s.querySelectorAll('text')) {
                    if (!t.textContent.trim()) continue;
                    const m = t.getScreenCTM();  // rotated text (a y label) scales by the matrix's norm
                    const size = parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
                    if (size < smallest) { smallest = size; smallestText = t.textContent; }
                    const r = t.getBoundingClientRect();  // text the chart's own box cuts off
                    if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)
                        clipped.push(t.textContent);
                }
            }
            const wide = [...document.querySelectorAll('body *')].filter(e =>
                e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 &&
                !e.closest('.scroll')).map(e => e.tagName + '.' + e.className);
            const links = [...document.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute('href'));
            const broken = links.filter(h => !document.getElementById(h.slice(1)));
            return {body, figures, smallest, smallestText, clipped, wide, links: links.length, broken,
                    scrollWidth: document.documentElement.scrollWidth,
                    clientWidth: document.documentElement.clientWidth};
        }""")
        page.screenshot(path=str(html.parent / f"screenshot-{request.param['width']}.png"), full_page=True)
        browser.close()
    return facts, messages


def test_browser_no_console_errors(page_report):
    _, messages = page_report
    assert messages == []


def test_browser_every_figure_is_drawn_with_a_size(page_report):
    facts, _ = page_report
    assert len(facts["figures"]) >= 6
    assert all(w > 100 and h > 100 for w, h in facts["figures"])


def test_browser_figure_text_is_no_smaller_than_the_body(page_report):
    facts, _ = page_report
    assert facts["smallest"] >= facts["body"] - 0.25, facts["smallestText"]


def test_browser_no_chart_cuts_off_its_text(page_report):
    """No title, label or legend entry runs past its chart's edge (where the SVG would cut it)."""
    facts, _ = page_report
    assert facts["clipped"] == []


def test_browser_nothing_is_wider_than_the_page(page_report):
    facts, _ = page_report
    assert facts["scrollWidth"] <= facts["clientWidth"]
    assert facts["wide"] == []


def test_browser_every_in_page_link_resolves(page_report):
    facts, _ = page_report
    assert facts["links"] >= 7 and facts["broken"] == []


def test_the_headline_sets_the_gpu_against_the_same_machines_cpu(data, report):
    """gpu-b timed mlp-mnist on its CPU and its GPU: the headline gives its fastest GPU rung over its
    fastest CPU rung (from the fixture's own rounds), so a GPU is never set against another machine."""
    import re  # noqa: PLC0415

    results = data[0]
    medians = {(backend, dtype, threads): float(np.median(times))
               for (machine, config, backend, dtype, threads, batch), times in results.seconds.items()
               if machine == "gpu-b" and config == "mlp-mnist" and backend != "loops"}
    gpu = min((k for k in medians if k[0].startswith("torch-cuda")), key=medians.get)
    cpu = min((k for k in medians if not k[0].startswith("torch-cuda")), key=medians.get)
    assert (gpu[0], cpu[0]) == ("torch-cuda-amp", "torch-cpu")
    (line,) = [h for h in report.headlines if "Test GPU" in h]
    found = re.search(r"At mlp-mnist, its fastest GPU rung, (\S+) bfloat16 autocast, is ([\d.,]+)× \(95% CI [^)]*\) faster than "
                      r"its fastest CPU rung, (torch-cpu float32, all cores)\.", line)
    assert found, line
    assert found.group(1) == gpu[0]
    assert float(found.group(2).replace(",", "")) == pytest.approx(medians[cpu] / medians[gpu], rel=0.02)
    (cpu_only,) = [h for h in report.headlines if "Test GPU" not in h]
    assert "fastest GPU rung" not in cpu_only


def test_a_power_studys_planted_results_are_refused(tmp_path):
    """Rows timed on a copy with a fault planted on purpose (``planted``) are not vecbench's speed."""
    rows = [base_row("lab-a") | dict(planted="numpy-1.3x")]
    path = tmp_path / "head-0.parquet"
    to_frame(rows).to_parquet(path, index=False)
    done = subprocess.run([sys.executable, "-m", "bench", "report", str(path), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "fault planted on purpose (numpy-1.3x" in done.stderr
    assert not (tmp_path / "o").exists()


def test_blind_spots_reach_the_run_summary_and_the_reports_method():
    from bench.report.model import verification_note
    from bench.summary import format_blind_spots

    shapes = "fc1.weight 128x784; fc1.bias 128"
    rows = [base_row("lab-a") | dict(blind_spots="layer4.0.bn3.weight, layer4.0.bn3.weight momentum",
                                     parameter_shapes=shapes),
            base_row("lab-a") | dict(backend="torch-cpu", run_id="run-1", parameter_shapes=shapes)]
    frame = to_frame(rows)
    assert format_blind_spots(frame) == ("blind spots: mlp-mnist@32 numpy float64 1t: bounds of 1% or more (a 1% "
                                         "fault would pass) on 2 tensor(s): layer4.0.bn3.weight, "
                                         "layer4.0.bn3.weight momentum")
    note = verification_note(measurements(frame))
    assert "Blind spots" in note and "mlp-mnist@32 numpy float64 1t (2: layer4.0.bn3.weight" in note
    assert "No case here had a bound of 1%" in verification_note(measurements(to_frame(rows[1:])))
    # a case recorded before schema 6 (no shapes, no blind spots): the note cannot say "none"
    old = verification_note(measurements(to_frame([dict(rows[1], parameter_shapes="")])))
    assert "No case here" not in old and "The blind spots of 1 case(s), recorded before results schema 6" in old


def test_the_committed_references_give_the_committed_report_tables(monkeypatch):
    """Every table, headline and note the committed references give is what the report code gave
    before the one-owner redesign (tests/report_tables.py wrote tests/data/report_tables.txt then):
    moving code must not change what a reader sees."""
    from tests.report_tables import report_text

    expected = (ROOT / "tests" / "data" / "report_tables.txt").read_text()
    monkeypatch.chdir(ROOT)  # the sources are named as given
    got = report_text(["results/reference"])
    assert got == expected, "the report's tables changed: python -m tests.report_tables results/reference | diff - " \
                            "tests/data/report_tables.txt"


@pytest.mark.parametrize("kind", ["breakdown", "ladder"])
def test_each_bar_of_a_pdf_chart_is_as_tall_as_its_label(kind, tmp_path):
    """The references' charts drawn on a PDF page: every bar of a stage breakdown (up to 13 a facet)
    and of a ladder (up to 12 rungs) gets at least its label's line (1.1 times the label's font
    size), so that no label overprints the next (a fixed 3-inch breakdown gave 0.11 inch a bar)."""
    from matplotlib.backends.backend_pdf import PdfPages

    from bench.report import build_document, pdf

    doc = build_document([ROOT / "results" / "reference"], resamples=200)
    blocks = [b for b in doc.figures() if b.kind == kind]
    assert blocks
    with PdfPages(tmp_path / "t.pdf") as pages:
        writer = pdf.Writer(pages)
        for block in blocks:
            writer.start("test")
            writer.figure(block)
            labelled = [ax for ax in writer.page.axes if any(t.get_text() for t in ax.get_yticklabels())]
            assert labelled
            for ax in labelled:  # a ladder's panels share the first one's labels
                bars = len(ax.get_yticks())
                label = max(t.get_fontsize() for t in ax.get_yticklabels()) / 72
                assert ax.get_position().height * pdf.H / bars >= 1.1 * label, block.title
            writer.flush()


def test_a_flat_gpu_sweep_is_named_launch_bound_not_compute_bound():
    """On the H100 reference every MLP step takes about the same time at every width: the FLOP rate,
    recomputed here from the file's rows, still grows about 4x an octave at the widest widths, so
    the scaling table gives those lines no compute-bound exponent and says why; a CPU line whose
    rate has levelled off keeps its exponent."""
    from bench.report import build_document

    frame = pd.read_parquet(ROOT / "results" / "reference" / "nvidia-h100-80gb-hbm3.parquet")
    cuda = frame[(frame.backend == "torch-cuda") & (frame.dtype == "float32") & (frame.status == "ok")
                 & frame.config.isin(["mlp-width-512", "mlp-width-2048"])]
    rate = {c: (rows.flops / rows.seconds).median() for c, rows in cuda.groupby("config")}
    assert rate["mlp-width-2048"] / rate["mlp-width-512"] > 4
    doc = build_document([ROOT / "results" / "reference"], resamples=200)
    (full,) = [a.table for a in doc.attachments if a.name == "scaling.csv"]
    row = next(r for r in full.rows if r[0].startswith("NVIDIA H100") and r[1] == "torch-cuda float32")
    assert row[4].startswith("none: the FLOP rate still grows") and "launch-bound" in row[4]
    row = next(r for r in full.rows if r[0].startswith("AMD EPYC") and r[1] == "numpy float64 1 thread")
    assert re.match(r"1\.\d\d \[", row[4])
    # the report's pivot says the same, a column per machine
    pivot = shown(doc, "Fitted exponent k of time ∝ width^k over the compute-bound widths")
    h100 = next(i for i, c in enumerate(pivot.columns) if c.startswith("NVIDIA H100"))
    amd = next(i for i, c in enumerate(pivot.columns) if c.startswith("AMD EPYC"))
    assert next(r for r in pivot.rows if r[0] == "torch-cuda float32")[h100].startswith("launch-bound")
    assert re.match(r"1\.\d\d \[", next(r for r in pivot.rows if r[0] == "numpy float64 1 thread")[amd])


PDF_PAGES_AT_MOST = 12  # the committed references' report: four machines, 22 configs


def test_the_references_report_fits_twelve_pdf_pages(tmp_path):
    """The report of the committed references prints on at most twelve pages, no table split across
    two; every table too long for them is beside it in full, as CSV (each named in the report)."""
    pypdf = pytest.importorskip("pypdf")
    written = build_report([ROOT / "results" / "reference"], tmp_path, resamples=200)
    (pdf_path,) = [p for p in written if p.suffix == ".pdf"]
    assert len(pypdf.PdfReader(pdf_path).pages) <= PDF_PAGES_AT_MOST
    csvs = sorted(p.name for p in written if p.suffix == ".csv")
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(pdf_path).pages)
    assert "(continued)" not in text  # every table whole on its page
    assert len(csvs) >= 8 and all(name in _words(text) for name in csvs)


def _noisy(times) -> bool:
    """IQR over median above 10%, written here from the rounds (the report's rule, stats.NOISY)."""
    q1, q3 = np.percentile(times, [25, 75])
    return (q3 - q1) / np.median(times) > 0.10


def test_a_row_colour_means_one_thing(data, doc, built):
    """Red for failed or suspect, amber for noisy, grey for not run, each its own colour; in a table
    with a column per machine a rung one machine did not run is said in its cell, not coloured."""
    from bench.report import flags

    r, _ = data
    assert len(set(flags.COLOURS.values())) == len(flags.SEVERITY) == 3
    table = shown(doc, "mlp-mnist (batch 32) on 2 machine(s)")
    by_rung = dict(zip((row[0] for row in table.rows), table.flags))
    assert by_rung["torch-cpu float32, all cores"] == flags.WRONG  # lab-a's failed verification
    # lab-a skipped torch-cuda (no GPU); gpu-b's rounds decide the row's colour
    gpu = r.seconds[("gpu-b", "mlp-mnist", "torch-cuda", "float32", 1, 32)]
    assert by_rung["torch-cuda float32"] == (flags.NOISY if _noisy(gpu) else "")
    both = [r.seconds[(m, "mlp-mnist", "numpy", "float32", t, 32)] for m, t in (("lab-a", 4), ("gpu-b", 8))]
    assert _noisy(both[0])  # spread 0.3 in the fixture
    assert by_rung["numpy float32, all cores"] == flags.NOISY
    skipped = shown(doc, "Failed and skipped cases")
    assert {f for row, f in zip(skipped.rows, skipped.flags) if row[3] == "skipped"} == {flags.ABSENT}
    assert {f for row, f in zip(skipped.rows, skipped.flags) if row[3] == "failed"} == {flags.WRONG}
    # the HTML colours each row by its flag's class, one rule a flag
    html = built[0].read_text(encoding="utf-8")
    for flag, shade in flags.COLOURS.items():
        assert f"tr.flag-{flag} td {{ background: {shade}; }}" in html
    assert html.count('class="flag-wrong"') >= 2 and 'class="flag"' not in html
    # the Markdown, without colours, names the flag after the row's first cell
    markdown = (built[0].parent / "report.md").read_text(encoding="utf-8")
    assert "| torch-cpu float32, all cores [wrong] |" in markdown


def test_the_noisy_pivot_counts_each_machines_noisy_cases_by_backend(data, doc):
    """Counted here from the fixture's rounds: every ok case of a machine, and those noisy."""
    r, _ = data
    table = shown(doc, "Noisy cases (IQR / median over rounds above 10%) of each machine")
    assert {row[0] for row in table.rows} == {str(key(m)) for m in {k[0] for k in r.seconds}}  # every machine
    backends = table.columns[1:-1]
    for row in table.rows:
        machine = next(m for m in MACHINES if row[0] == str(key(m)))
        mine = {k: v for k, v in r.seconds.items() if k[0] == machine}
        for backend, cell in zip([*backends, None], row[1:]):
            of = [v for k, v in mine.items() if backend is None or k[2] == backend]
            assert cell == (f"{sum(map(_noisy, of))} of {len(of)}" if of else "-"), (row[0], backend)


def test_a_scaling_panel_holds_at_most_four_lines():
    """The references' width sweeps drawn a machine at a time: no panel has more than four lines, a
    panel holds loop code or vectorized code, never both, and every line is drawn once."""
    from bench.report import build_document
    from bench.keys import case_name
    from bench.report.charts import MAX_SERIES, scaling_figure
    from implementations.registry import LOOP_ROLES, role_of

    (block,) = [b for b in build_document([ROOT / "results" / "reference"], resamples=200).figures()
                if b.kind == "scaling"]
    assert MAX_SERIES == 4
    for machine, lines in block.data.items():
        name = {case_name(l.backend, l.dtype, l.threads, compact=True): l for l in lines}
        drawn = []
        for ax in scaling_figure(machine, lines).axes:
            # an entry is the line's name (wrapped) and its exponent on the last line
            labels = [t.get_text().rsplit("\nk = ", 1)[0].replace("\n", " ") for t in ax.get_legend().get_texts()
                      if not t.get_text().startswith("fit")]
            assert 1 <= len(labels) <= 4, (machine, labels)
            loops = {role_of(name[label].backend) in LOOP_ROLES for label in labels}
            assert len(loops) == 1, labels
            drawn += labels
        assert sorted(drawn) == sorted(name), machine


def test_the_committed_report_is_what_the_committed_references_give(tmp_path, monkeypatch):
    """reports/ holds the report of results/reference as the code writes it today: the Markdown and
    every CSV beside it, byte for byte (the HTML and PDF carry the same document; a test above holds
    the three renderings to it). Regenerate with ``python -m bench report results/reference``."""
    from bench.report import build_document, write_csv
    from bench.report.markdown import render

    monkeypatch.chdir(ROOT)  # the report names its sources as given: the command's relative path
    doc = build_document(["results/reference"])
    committed = ROOT / "reports"
    stale = "reports/ is stale: python -m bench report results/reference"
    assert render(doc) == (committed / "report.md").read_text(encoding="utf-8"), stale
    for attachment in doc.attachments:
        fresh = write_csv(attachment.table, tmp_path / attachment.name).read_bytes()
        assert fresh == (committed / attachment.name).read_bytes(), f"{attachment.name}: {stale}"
    on_disk = {p.name for p in committed.glob("*.csv")}
    assert on_disk == {a.name for a in doc.attachments}, stale  # none left from an older report


def test_a_machine_that_shares_no_rung_with_the_reference_has_no_column_and_is_named():
    """Two GPU machines share only GPU rungs: against a CPU-only reference neither has a ratio, so the
    pivot gives them no column of dashes and its note names them."""
    from bench.report.ladder import Speedup
    from bench.report.machines import RungAcross
    from bench.report.pivots import machines_pivot_table

    cpu, gpu_a, gpu_b = (MachineKey("CPU", 2), MachineKey("X", 16, "G1"), MachineKey("X", 16, "G2"))
    both = RungAcross("mlp-mnist", 32, "numpy float32, 1 thread", "numpy", {cpu: None, gpu_a: None},
                      {gpu_a: Speedup(0.5, 0.4, 0.6, "numpy float32, 1 thread")})
    gpus = RungAcross("mlp-mnist", 32, "torch-cuda float32", "torch-cuda", {gpu_a: None, gpu_b: None}, {})
    table = machines_pivot_table([cpu, gpu_a, gpu_b], [both, gpus])
    assert table.columns == ["config (batch)", str(gpu_a)]
    assert table.rows == [["mlp-mnist (32)", "0.5× (1 rung)"]]
    assert f"No rung in common with {cpu}: {gpu_b}" in table.note
