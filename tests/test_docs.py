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
    assert {"README.md", "docs/schema.md", "docs/findings.md", "docs/gpu.md"} <= set(marked)
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
