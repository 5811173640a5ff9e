"""The cachegrind study of the loops floor (studies/loops_footprint.py): what it reads from valgrind's
output, and what it does without valgrind."""

from __future__ import annotations

import pytest

from studies import loops_footprint

# The head and tail of a real cachegrind output file (valgrind 3.19, --cache-sim=yes).
CACHEGRIND_OUT = """desc: I1 cache:         32768 B, 64 B, 8-way associative
desc: D1 cache:         49152 B, 64 B, 12-way associative
desc: LL cache:         268435456 B, 64 B, direct-mapped
cmd: python -m studies.loops_footprint --child loops 300
events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw
fl=???
fn=0x0000000000001110
0 2 1 1 1 0 0 0 0 0
summary: 866166018 8464978 28537 258260538 6464396 105696 119159573 949331 261993
"""


def test_the_program_totals_and_the_simulated_caches_are_read_by_name():
    counts, caches = loops_footprint.read_counts(CACHEGRIND_OUT)
    assert counts["Ir"] == 866166018 and counts["I1mr"] == 8464978
    assert counts["D1mr"] == 6464396 and counts["D1mw"] == 949331 and counts["DLmw"] == 261993
    assert len(counts) == 9
    assert caches == {"I1": "32768 B, 64 B, 8-way associative", "D1": "49152 B, 64 B, 12-way associative",
                      "LL": "268435456 B, 64 B, direct-mapped"}


@pytest.mark.parametrize("text", ["", "events: Ir I1mr\n", "events: Ir I1mr\nsummary: 5\n", "summary: 1 2\n"])
def test_a_file_without_matching_events_and_summary_is_refused(text):
    with pytest.raises(ValueError, match="not a cachegrind output file"):
        loops_footprint.read_counts(text)


def test_without_valgrind_it_says_so_in_one_line_and_exits_2_measuring_nothing(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(loops_footprint.shutil, "which", lambda name: None)
    monkeypatch.setattr(loops_footprint, "study", lambda repeats: pytest.fail("measured without valgrind"))
    out = tmp_path / "footprint.parquet"
    assert loops_footprint.main(["--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "valgrind is not installed" in captured.err
    assert not out.exists()


def test_a_step_that_fails_under_valgrind_is_named_with_its_last_line_and_nothing_is_written(
        monkeypatch, tmp_path, capsys):
    def fails(*args, **kwargs):
        raise loops_footprint.subprocess.CalledProcessError(
            1, ["valgrind", "python", "-m", "studies.loops_footprint", "--child", "loops", "300"],
            stderr=b"Traceback (most recent call last):\n  ...\nValueError: the step broke\n")

    monkeypatch.setattr(loops_footprint.shutil, "which", lambda name: "/usr/bin/valgrind")
    monkeypatch.setattr(loops_footprint.subprocess, "run", fails)
    out = tmp_path / "footprint.parquet"
    assert loops_footprint.main(["--repeats", "1", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--child loops 300" in err and "ValueError: the step broke" in err
    assert "Traceback" not in err and not out.exists()
