"""benchmarks/: vecbench's cases under pytest-benchmark (``pytest benchmarks/ --benchmark-only``)
time the cases bench run would, each verified first; a case that fails verification is never timed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import case_verification, verify
from bench.machine import available_cores
from bench.profiles import get_profile
from bench.suite import expand_cases, select_configs

ROOT = Path(__file__).resolve().parent.parent


def _run(tmp_path: Path, monkeypatch, *selection: str) -> tuple[int, list[dict]]:
    """pytest on benchmarks/ in this process (so that a test can plant a fault), quickly."""
    monkeypatch.chdir(ROOT)
    out = tmp_path / "benchmarks.json"
    code = pytest.main(["benchmarks/", "--benchmark-only", *selection, f"--benchmark-json={out}", "-q",
                        "-p", "no:cacheprovider", "--benchmark-min-rounds=3", "--benchmark-max-time=0.02",
                        "--benchmark-warmup=off"])
    return int(code), (json.loads(out.read_text())["benchmarks"] if out.exists() else [])


def test_the_benchmarks_are_bench_runs_cases_each_verified(tmp_path, monkeypatch):
    selection = ("--vecbench-models", "mlp-tiny", "--vecbench-backends", "numpy,loops")
    code, timed = _run(tmp_path, monkeypatch, *selection)
    assert code == 0
    cases = expand_cases(select_configs(get_profile("quick"), ["mlp-tiny"]), ["numpy", "loops"], available_cores())
    assert sorted(b["param"] for b in timed) == sorted(c.label for c in cases)
    for b in timed:
        info = b["extra_info"]
        assert 0 <= info["verified_max_rel_error"] <= info["tolerance"], b["param"]
        assert b["stats"]["rounds"] >= 3 and b["stats"]["median"] > 0


def test_a_case_that_fails_verification_fails_and_is_not_timed(tmp_path, monkeypatch, capsys):
    def planted(*args, **kwargs):
        raise verify.VerificationError("planted: every gradient 1% off")

    monkeypatch.setattr(case_verification, "verify_case", planted)
    code, timed = _run(tmp_path, monkeypatch, "--vecbench-models", "mlp-tiny", "--vecbench-backends", "numpy")
    assert code == pytest.ExitCode.TESTS_FAILED and timed == []
    out = capsys.readouterr().out
    assert out.count("planted: every gradient 1% off") >= 4  # each numpy case failed for that reason


def test_an_unknown_backend_is_one_line_and_a_usage_error(tmp_path, monkeypatch, capsys):
    code, timed = _run(tmp_path, monkeypatch, "--vecbench-backends", "abacus")
    assert code == pytest.ExitCode.USAGE_ERROR and timed == []
    err = capsys.readouterr().err
    assert "unknown backend 'abacus'" in err and "Traceback" not in err


def test_the_timer_study_compares_medians_pair_by_pair():
    """studies.timer_difference: per case, pytest-benchmark's median over vecbench's in each pair
    (pairs missing either side do not count), then the median over pairs and its range."""
    from bench.timer_study import summary

    def run(pair, tool, median):
        return {"pair": pair, "tool": tool, "cases": {"c": {"median": median}} if median else {}}

    study = {"pairs": 4, "runs": [run(0, "vecbench", 2.0), run(0, "pytest-benchmark", 1.0),
                                  run(1, "pytest-benchmark", 3.0), run(1, "vecbench", 2.0),
                                  run(2, "vecbench", 4.0), run(2, "pytest-benchmark", 4.0),
                                  run(3, "vecbench", 1.0), run(3, "pytest-benchmark", None)]}
    got = summary(study)["c"]
    assert got["pairs"] == 3  # pair 3 has no pytest-benchmark time
    assert got["median"] == pytest.approx(1.0) and got["low"] == pytest.approx(0.5) and got["high"] == pytest.approx(1.5)
    assert got["vecbench"] == pytest.approx(2.0) and got["pytest-benchmark"] == pytest.approx(3.0)  # medians of 3


def test_a_case_that_cannot_run_here_is_skipped_saying_why(tmp_path, monkeypatch, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU: torch-cuda runs here")
    code, timed = _run(tmp_path, monkeypatch, "--vecbench-models", "mlp-tiny", "--vecbench-backends", "torch-cuda",
                       "-rs")
    assert code == pytest.ExitCode.OK and timed == []
    assert "no CUDA GPU" in capsys.readouterr().out
