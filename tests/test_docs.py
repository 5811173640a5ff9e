"""The README and docs/ are for readers: short, linked, and free of provenance in their prose.

Commit hashes and timestamps belong to the results files and the report, which record them for every
row; prose that repeats them goes stale with the next run (issue 32). Paths and commands in backticks
may hold a date (a committed folder such as ``results/ab/amd-epyc-2core/aa-20261204/``), and code
blocks may hold anything.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_MAX_LINES = 150

# a word of 7-40 lowercase hex digits with at least one digit and one letter: what git prints for a commit
HASH = re.compile(r"(?<![\w-])(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}(?![\w])")
# a date (2026-11-22) or a compact UTC timestamp (20261204T190613Z, 20261128T1559Z)
WHEN = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{8}T\d{4}(?:\d{2})?Z?\b")
FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
DOC_LINK = re.compile(r"\]\((?:\./)?(docs/[^)#\s]+\.md)(?:#[^)]*)?\)")
LOCAL_LINK = re.compile(r"\]\((?:\./)?([\w./-]+\.md)(?:#[^)]*)?\)")


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, text) of every line outside fenced and indented code blocks."""
    lines, inside_fence, previous_blank, in_indented = [], False, True, False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            inside_fence = not inside_fence
            previous_blank = False
            continue
        if inside_fence:
            continue
        indented = line.startswith(("    ", "\t")) and line.strip() != ""
        if indented and (previous_blank or in_indented):
            in_indented = True
            continue
        if line.strip():
            in_indented = False
        previous_blank = line.strip() == ""
        lines.append((number, line))
    return lines


def provenance_in_prose(text: str) -> list[str]:
    """Commit hashes and dates outside code: each as 'line N: token'. A code span that is nothing but a
    commit (`04d37da`, `04d37da-dirty`) counts too: that is a hash in prose, set in code type."""
    found = []
    for number, line in prose_lines(text):
        for span in CODE_SPAN.finditer(line):
            if re.fullmatch(rf"{HASH.pattern}(?:-dirty|-copy)?", span.group(2).strip()):
                found.append(f"line {number}: `{span.group(2).strip()}`")
        outside = CODE_SPAN.sub(" ", line)
        found += [f"line {number}: {m.group(0)}" for m in HASH.finditer(outside)]
        found += [f"line {number}: {m.group(0)}" for m in WHEN.finditer(outside)]
    return found


def documents() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def test_the_checks_see_a_hash_and_a_date_in_prose_and_not_in_code():
    text = ("At 04d37da the run took 23 min.\n"
            "Measured on 2026-11-22 in `results/ab/amd-epyc-2core/aa-20261204/`.\n"
            "The reference (`0be14a2`) and the float32 step, 1e-8, bfloat16, 20 min 44 s.\n"
            "\n"
            "    python -m bench check --against 7f2b2f18eee4 --keep results/ab/aa-20261206T020608Z\n"
            "```\n"
            "git show c9540e6\n"
            "```\n"
            "Power `power-each-backend-20261206T020608Z` and deadbeef and 1234567.\n")
    assert provenance_in_prose(text) == ["line 1: 04d37da", "line 2: 2026-11-22", "line 3: `0be14a2`"]


@pytest.mark.parametrize("path", documents(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_commit_hash_or_timestamp_in_the_prose(path):
    """Provenance lives in the results files (`git_commit`, `timestamp`) and the report, not in prose."""
    assert provenance_in_prose(path.read_text(encoding="utf-8")) == []


def test_the_readme_is_at_most_150_lines():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move the detail into docs/"


def test_every_docs_file_the_readme_links_exists_and_every_docs_file_is_linked():
    readme = README.read_text(encoding="utf-8")
    linked = set(DOC_LINK.findall(readme))
    assert linked, "README.md links no docs/ file"
    missing = sorted(link for link in linked if not (ROOT / link).is_file())
    assert missing == [], f"README.md links docs that do not exist: {missing}"
    index = DOCS / "README.md"
    from_index = {f"docs/{name}" for name in LOCAL_LINK.findall(index.read_text(encoding="utf-8"))
                  if "/" not in name} if index.is_file() else set()
    unlinked = sorted(p.relative_to(ROOT).as_posix() for p in DOCS.glob("*.md")
                      if p != index and p.relative_to(ROOT).as_posix() not in linked | from_index)
    assert unlinked == [], f"docs not linked from README.md or docs/README.md: {unlinked}"


def test_every_relative_link_in_the_docs_resolves():
    broken = []
    for path in documents():
        for target in LOCAL_LINK.findall(path.read_text(encoding="utf-8")):
            if not (path.parent / target).resolve().is_file():
                broken.append(f"{path.relative_to(ROOT)} -> {target}")
    assert broken == []


# The generated blocks: numbers a reader sees come from the committed results through a command.

def test_every_generated_block_is_what_the_committed_results_give():
    """`python -m bench docs --check` in test form: README.md and docs/ hold, between their markers,
    exactly what the committed references and the schema generate now."""
    from bench import docs

    marked = [p.relative_to(ROOT).as_posix() for p in docs.documents(ROOT) if docs.MARKED.search(p.read_text())]
    assert {"README.md", "docs/schema.md", "docs/findings.md", "docs/gpu.md", "docs/regression-check.md",
            "docs/loops-floor.md"} <= set(marked)
    stale = docs.stale(ROOT)
    assert not stale, f"stale generated blocks in {sorted(p.name for p in stale)}: run python -m bench docs"


def test_bench_docs_check_exits_0_on_the_committed_tree(capsys):
    from bench.cli import main

    assert main(["docs", "--check"]) == 0
    assert "every generated block matches" in capsys.readouterr().out


def _block(path: Path, name: str) -> str:
    text = path.read_text(encoding="utf-8")
    start = text.index(f"<!-- generated: {name} (python -m bench docs) -->")
    return text[start:text.index(f"<!-- end generated: {name} -->", start)]


def test_the_readme_multiplier_is_the_ratio_of_the_committed_medians():
    """The README's AMD mlp-mnist cell, recomputed here from the parquet file with pandas alone:
    the median of loops' uncontended whole-step rounds over numpy float32 on both cores'."""
    import pandas as pd

    frame = pd.read_parquet(ROOT / "results" / "reference" / "amd-epyc-2core-default.parquet")
    ok = frame[(frame.status == "ok") & (frame.config == "mlp-mnist") & (frame.batch_size == 32)
               & (frame.part.fillna("step") == "step") & ~frame.contended.fillna(False).astype(bool)]
    ok = ok[ok.run_id == ok.run_id.iloc[-1]]  # the latest run of the machine counts

    def median(backend, dtype, threads):
        return ok[(ok.backend == backend) & (ok.dtype == dtype) & (ok.threads == threads)].seconds.median()

    ratio = median("loops", "float64", 1) / median("numpy", "float32", 2)
    row = next(line for line in _block(README, "findings").splitlines() if line.startswith("| mlp-mnist (batch 32) |"))
    amd = row.split(" | ")[1]
    assert amd.startswith(f"{ratio:,.0f}×") and "(numpy float32, all cores)" in amd


def test_the_schema_block_lists_every_column_in_order():
    from dataclasses import fields

    from bench.schema import SCHEMA_VERSION, Round

    block = _block(DOCS / "schema.md", "schema")
    names = re.findall(r"^\| `(\w+)` \|", block, flags=re.MULTILINE)
    assert names == [f.name for f in fields(Round)]
    assert f"schema_version {SCHEMA_VERSION}" in block


def test_docs_check_names_a_stale_file_and_rewrites_it(tmp_path, capsys):
    """A hand-edited number is found by --check (exit 1, the file named, nothing written), and
    `bench docs` puts the generated text back; an unknown block is one clear error."""
    from bench import docs
    from bench.errors import UsageError

    (tmp_path / "docs").mkdir()
    (tmp_path / "results").symlink_to(ROOT / "results")
    good = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    edited = good.replace("| `threads` | int64 |", "| `threads` | int32 |")
    assert edited != good
    (tmp_path / "README.md").write_text("no blocks here\n", encoding="utf-8")
    (tmp_path / "docs" / "schema.md").write_text(edited, encoding="utf-8")
    assert docs.run(check=True, root=tmp_path) == 1
    assert "docs/schema.md: generated blocks differ" in capsys.readouterr().out
    assert (tmp_path / "docs" / "schema.md").read_text(encoding="utf-8") == edited
    assert docs.run(check=False, root=tmp_path) == 0
    assert (tmp_path / "docs" / "schema.md").read_text(encoding="utf-8") == good
    assert docs.run(check=True, root=tmp_path) == 0

    (tmp_path / "README.md").write_text("<!-- generated: tables (python -m bench docs) -->\n"
                                        "<!-- end generated: tables -->\n", encoding="utf-8")
    with pytest.raises(UsageError, match="unknown generated block 'tables'"):
        docs.run(check=True, root=tmp_path)


# The study blocks: each recomputed here from the committed files with json, re and pandas alone.
STUDY = ROOT / "results" / "ab" / "amd-epyc-2core"
FLOOR = ROOT / "results" / "floor"


def _rows(path: Path, name: str) -> list[list[str]]:
    """The cells of each body row of the block's table."""
    lines = [line for line in _block(path, name).splitlines() if line.startswith("| ")][2:]
    return [line.strip("| ").split(" | ") for line in lines]


def test_the_aa_block_gates_what_the_rule_gives_from_thresholds_json():
    """CI's row, from thresholds.json by the rule docs/regression-check.md states: z spreads 5% over
    the gated quantities (settled from the widest down), threshold exp(z x 1.25 x 1.2533 x sigma /
    sqrt(pairs)), gated at most 1.3x."""
    import json
    import math
    from statistics import NormalDist

    data = json.loads((STUDY / "thresholds.json").read_text())
    sigma, pairs = {n: s for n, s in data["sigma"].items() if s is not None}, data["ci_pairs"]

    def threshold(s, z):
        return math.exp(z * 1.25 * 1.2533 * s / math.sqrt(pairs))

    gated = list(sigma)
    while True:
        z = NormalDist().inv_cdf(1 - 0.05 / len(gated))
        keep = [n for n in gated if threshold(sigma[n], z) <= 1.3]
        if keep == gated:
            break
        gated = keep
    cases = [n for n in gated if not n.startswith(("backend ", "speedup ", "harness"))]
    ci = _rows(DOCS / "regression-check.md", "aa-study:amd-epyc-2core")[-1]
    assert ci[1] == str(data["pairs_in_study"])
    assert ci[2].startswith(f"{len(gated)} of {len(data['sigma'])} quantities gated at {pairs} pairs")
    loops = threshold(sigma["backend loops (4 cases)"], z)
    assert f"loops {(loops - 1) * 100:+.0f}%" in ci[2] and f"{len(cases)} cases" in ci[2]
    ungated = _block(DOCS / "regression-check.md", "aa-ungated:amd-epyc-2core")
    assert f"{len([n for n in sigma if n not in gated and not n.startswith(('backend', 'speedup', 'harness'))])} cases" \
        in ungated


def test_the_aa_block_carries_each_jobs_out_of_sample_rate_from_study_txt():
    found = re.findall(r"out of sample \((aa-\d+) judged .*?; ([\d.]+%) of 1000 checks",
                       (STUDY / "study.txt").read_text())
    assert len(found) == 2
    rows = {row[0]: row for row in _rows(DOCS / "regression-check.md", "aa-study:amd-epyc-2core")}
    for job, rate in found:
        assert rows[f"`{job}`"][1] == str(len(list((STUDY / job).glob("base-*.parquet"))))
        assert "(out of sample): " in rows[f"`{job}`"][2] and f"{rate} of 1000 drawn checks" in rows[f"`{job}`"][2]


def test_the_power_block_says_each_checks_exit_and_regressions_as_its_printout():
    rows = {row[0]: row for row in _rows(DOCS / "regression-check.md", "power:amd-epyc-2core")}
    folders = sorted(STUDY.glob("power-*"))
    assert len(rows) == len(folders) >= 6
    for folder in folders:
        text = (folder / "check.txt").read_text()
        row = rows[f"`{folder.name}`"]
        regressions = len(re.findall(r"  REGRESSION$", text, flags=re.MULTILINE))
        code = int(re.search(r"^# exit (\d+)", text, flags=re.MULTILINE)[1])
        assert row[4].startswith(f"{code}, ") and f"; {regressions} regressions: " in row[5], (folder.name, row)


def test_a_power_printout_is_what_ci_judges_of_its_committed_pairs():
    """The printout the power block reads is no stale copy: the committed pairs of the newest
    fifty-microsecond check, judged by CI's judge with the committed thresholds, name the same
    regressions."""
    from bench.regression.judge import judge_pairs
    from bench.regression.pairs import read_pairs
    from bench.regression.thresholds import load_paired_thresholds

    folder = sorted(STUDY.glob("power-handwritten-plus-50us-*"))[-1]
    pairs = read_pairs(folder)
    verdicts = judge_pairs(pairs, load_paired_thresholds(STUDY / "thresholds.json", pairs.machine))
    printed = re.findall(r"^(\S.*?)\s+[+-][\d.]+%\s+\S+\s+\d+  REGRESSION$", (folder / "check.txt").read_text(),
                         flags=re.MULTILINE)
    assert sorted(v.name for v in verdicts if v.regression) == sorted(printed)


def test_the_floor_block_is_the_median_of_the_committed_pairs():
    import pandas as pd

    frame = pd.read_parquet(FLOOR / "amd-epyc-2core.parquet")
    mnist = frame[(frame["shape"] == "mlp-mnist") & (frame["batch"] == 32)]
    row = next(r for r in _rows(DOCS / "loops-floor.md", "floor:amd-epyc-2core") if r[0].endswith("step (32)"))
    assert row[1] == f"{mnist['loops_seconds'].median() * 1e3:.0f} ms"
    assert row[3].startswith(f"{mnist['ratio'].median():.2f} [")
    cpu = pd.concat([frame["loops_cpu_seconds"] / frame["loops_seconds"],
                     frame["textbook_cpu_seconds"] / frame["textbook_seconds"]])
    assert f"{cpu.min():.2f} or more in every block" in _block(DOCS / "loops-floor.md", "floor:amd-epyc-2core")
    for path in sorted((FLOOR / "mlp-tiny").glob("*.parquet")):
        tiny = pd.read_parquet(path)
        shown = next(r for r in _rows(DOCS / "loops-floor.md", "floor-runs:mlp-tiny") if r[0] == f"`{path.name}`")
        assert shown[1] == str(len(tiny)) and shown[4].startswith(f"{tiny['ratio'].median():.2f} [")


def test_the_footprint_block_is_the_median_of_the_committed_runs():
    import pandas as pd

    frame = pd.read_parquet(FLOOR / "footprint-amd-epyc-2core.parquet")
    loops = frame[frame["side"] == "loops"]["instructions"].median()
    textbook = frame[frame["side"] == "textbook"]["instructions"].median()
    row = _rows(DOCS / "loops-floor.md", "footprint:amd-epyc-2core")[0]
    assert row == ["instructions", f"{loops:,.0f}", f"{textbook:,.0f}", f"{loops / textbook:.2f}"]


def test_a_study_block_of_a_missing_or_foreign_file_is_one_clear_error(tmp_path):
    from bench import docs
    from bench.errors import UsageError

    sources = docs.Sources(tmp_path)
    with pytest.raises(UsageError, match="no study folder"):
        docs.block("power:no-such-machine", sources)
    (tmp_path / "results" / "ab" / "m" / "power-x-1").mkdir(parents=True)
    (tmp_path / "results" / "ab" / "m" / "power-x-1" / "check.txt").write_text("hello\n")
    with pytest.raises(UsageError, match="not a printout of bench check"):
        docs.block("power:m", sources)
    with pytest.raises(UsageError, match="no such floor study file"):
        docs.block("floor:m", sources)


def test_the_timer_comparison_is_the_study_files():
    """docs/method.md's timer table: a case's ratio recomputed from the committed study with json
    and statistics alone (pytest-benchmark's median over vecbench's in each pair, median over pairs)."""
    import json
    import statistics

    path = sorted((ROOT / "results" / "timers" / "amd-epyc-2core").glob("*.json"))[-1]
    study = json.loads(path.read_text())
    case = "mlp-mnist@32 numpy float64 2t"
    by_pair = {}
    for run in study["runs"]:
        by_pair.setdefault(run["pair"], {})[run["tool"]] = run["cases"][case]["median"]
    ratio = statistics.median(p["pytest-benchmark"] / p["vecbench"] for p in by_pair.values())
    text = (ROOT / "docs" / "method.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith(f"| {case} |"))
    assert f"| {ratio:.2f} (" in row
