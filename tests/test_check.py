"""``python -m bench check`` and the noise study: ratios, the regression rule, exit codes, power."""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import check, noise
from bench.errors import UsageError
from bench.results import SCHEMA_VERSION, ResultsWriter, to_frame

ROOT = Path(__file__).resolve().parent.parent
CPU, CORES = "Test CPU 9000", 2
START = datetime(2025, 1, 1, tzinfo=timezone.utc)


# -- synthetic results -------------------------------------------------------------------------
def _case_rows(run_id, config, backend, dtype, threads, seconds, *, when=START, cpu=CPU, cores=CORES,
               batch_size=32, status="ok", model="mlp"):
    base = {
        "schema_version": SCHEMA_VERSION, "run_id": run_id, "timestamp": when, "profile": "custom", "model": model,
        "config": config, "backend": backend, "dtype": dtype, "threads": threads, "batch_size": batch_size,
        "resolution": None, "round": None, "iterations": 1, "seconds": math.nan, "flops": 1, "macs": 1,
        "timing_mode": "calibrated", "verification": "before", "verified_max_rel_error": 0.0, "tolerance": 1e-8,
        "loss": 1.0, "status": status, "error": "" if status == "ok" else "boom", "hostname": "host",
        "cpu": cpu, "cores": cores, "gpu": "", "python": "3.12", "numpy": "2", "torch": "2", "blas": "x",
        "platform": "Linux", "git_commit": "abc",
    }
    if status != "ok":
        return [base]
    return [dict(base, round=i, seconds=s) for i, s in enumerate(seconds)]



@pytest.fixture(autouse=True)
def logic_tolerance(request, monkeypatch):
    """The logic tests were written against a 25% tolerance; the power test keeps the real default."""
    if not request.node.name.startswith("test_a_real_slowdown"):
        monkeypatch.setattr(check, "DEFAULT_TOLERANCE", 0.25)

def _run(run_id, cases, *, when=START, **machine):
    """cases: {(config, backend, dtype, threads): seconds per round} -> rows of one run."""
    rows = []
    for (config, backend, dtype, threads), seconds in cases.items():
        rows += _case_rows(run_id, config, backend, dtype, threads, seconds, when=when, **machine)
    return rows


def _write(path: Path, *runs) -> Path:
    to_frame([row for run in runs for row in run]).to_parquet(path, index=False)
    return path


def _jitter(median, rounds=9, spread=0.02, seed=0):
    """``rounds`` (odd) rounds spread evenly over ``median * (1 ± spread)``, in shuffled order."""
    offsets = np.random.default_rng(seed).permutation(np.linspace(-spread, spread, rounds))
    return list(median * (1 + offsets))


def _standard(numpy_f32=1e-3, loops_rounds=None):
    return {
        ("mlp-mnist", "loops", "float64", 1): loops_rounds or _jitter(0.4, seed=1),
        ("mlp-mnist", "numpy", "float32", 1): _jitter(numpy_f32, seed=2),
        ("mlp-mnist", "numpy", "float64", 1): _jitter(2e-3, seed=3),
        ("mlp-mnist", "torch-cpu", "float32", 1): _jitter(5e-4, seed=4),
        ("mlp-mnist", "torch-cpu", "float64", 1): _jitter(1e-3, seed=5),
    }


def _check(tmp_path, base_cases, cur_cases, **kwargs):
    base = _write(tmp_path / "base.parquet", _run("base", base_cases))
    cur = _write(tmp_path / "cur.parquet", _run("cur", cur_cases))
    return check.run_check(base, [cur], **kwargs)


def _verdicts(text: str) -> dict[str, str]:
    """ratio label -> verdict, from the printed table."""
    found = {}
    for line in text.splitlines():
        parts = line.split("  ")
        if " / " in parts[0] and len(parts) > 3:
            found[parts[0].strip()] = line.rsplit("  ", 1)[-1].strip()
    return found


# -- ratios ------------------------------------------------------------------------------------
def test_ratios_equal_medians_computed_independently():
    cases = _standard()
    cases[("mlp-mnist", "numpy", "float32", 2)] = [3e-3, 1e-3, 2e-3, 9e-3]  # even count: mean of the middle two
    cases[("mlp-width-64", "numpy", "float32", 1)] = [1e-4] * 5  # no loops case in this config: no ratio
    ratios = {r.key.label: r.value for r in check.compute_ratios(to_frame(_run("r", cases)))}

    def med(values):
        s = sorted(values)
        n = len(s)
        return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2

    loops = med(cases[("mlp-mnist", "loops", "float64", 1)])
    expected = {f"mlp-mnist loops / {b} {d} {t}t": loops / med(cases[("mlp-mnist", b, d, t)])
                for (c, b, d, t) in cases if c == "mlp-mnist" and b != "loops"}
    for dtype in ("float32", "float64"):
        expected[f"mlp-mnist numpy / torch-cpu {dtype} 1t"] = (med(cases[("mlp-mnist", "numpy", dtype, 1)])
                                                               / med(cases[("mlp-mnist", "torch-cpu", dtype, 1)]))
    assert ratios.keys() == expected.keys()
    for label, value in expected.items():
        assert ratios[label] == pytest.approx(value, rel=1e-12), label
    assert expected["mlp-mnist loops / numpy float32 2t"] == pytest.approx(0.4 / 2.5e-3)


def test_ratios_are_never_formed_across_runs():
    cases = _standard()
    loops_only = {k: v for k, v in cases.items() if k[1] == "loops"}
    rest = {k: v for k, v in cases.items() if k[1] != "loops"}
    frame = to_frame(_run("a", loops_only) + _run("b", rest))
    labels = {r.key.label for r in check.compute_ratios(frame)}
    assert labels == {"mlp-mnist numpy / torch-cpu float32 1t", "mlp-mnist numpy / torch-cpu float64 1t"}


# -- the regression rule -----------------------------------------------------------------------
def test_identical_runs_pass(tmp_path, capsys):
    assert _check(tmp_path, _standard(), _standard()) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == "6 ratios compared, 0 regressions (tolerance 25%)"
    assert set(_verdicts(out).values()) == {"ok"}


def test_clear_drop_is_a_regression_named_in_the_output(tmp_path, capsys):
    assert _check(tmp_path, _standard(), _standard(numpy_f32=2e-3)) == 1
    out = capsys.readouterr().out
    verdicts = _verdicts(out)
    assert verdicts["mlp-mnist loops / numpy float32 1t"] == "REGRESSION"
    # numpy slower against torch-cpu is numpy / torch-cpu *rising*: not a regression of that ratio
    assert verdicts["mlp-mnist numpy / torch-cpu float32 1t"] == "faster"
    assert out.strip().splitlines()[-1] == ("6 ratios compared, 1 regression: "
                                            "mlp-mnist loops / numpy float32 1t (-50.0%)")


def test_small_drop_within_tolerance_passes(tmp_path, capsys):
    assert _check(tmp_path, _standard(), _standard(numpy_f32=1.1e-3)) == 0
    assert _verdicts(capsys.readouterr().out)["mlp-mnist loops / numpy float32 1t"] == "ok"


def test_tolerance_is_settable_per_call(tmp_path, capsys):
    assert _check(tmp_path, _standard(), _standard(numpy_f32=1.1e-3), tolerance=0.05) == 1
    assert "1 regression: mlp-mnist loops / numpy float32 1t (-9.1%)" in capsys.readouterr().out


def test_overlapping_noisy_rounds_are_not_a_regression(tmp_path, capsys):
    # The medians differ by 40% (beyond the tolerance) but the rounds of both runs scatter over the
    # same range, so the bootstrap interval reaches far above -25%: no evidence of a slowdown.
    base = _standard()
    cur = _standard()
    base[("mlp-mnist", "numpy", "float32", 1)] = [0.5e-3, 0.6e-3, 0.7e-3, 1.0e-3, 1.6e-3, 1.7e-3, 1.8e-3]
    cur[("mlp-mnist", "numpy", "float32", 1)] = [0.5e-3, 0.6e-3, 0.7e-3, 1.4e-3, 1.6e-3, 1.7e-3, 1.8e-3]
    assert _check(tmp_path, base, cur) == 0
    out = capsys.readouterr().out
    assert _verdicts(out)["mlp-mnist loops / numpy float32 1t"] == "slower, within noise"
    assert "-28.6%" in out  # the point change alone would have crossed the tolerance


def test_bootstrap_interval_is_reproducible_and_brackets_the_change():
    frame = to_frame(_run("a", _standard()))
    base = {r.key: r for r in check.compute_ratios(frame)}
    cur = {r.key: r for r in check.compute_ratios(to_frame(_run("b", _standard(numpy_f32=1.5e-3))))}
    key = next(k for k in base if k.label == "mlp-mnist loops / numpy float32 1t")
    low, high = check.bootstrap_change(base[key], cur[key])
    assert (low, high) == check.bootstrap_change(base[key], cur[key])
    assert low < cur[key].value / base[key].value - 1 < high
    assert high < 0


@pytest.mark.parametrize("loops_now, verdict, code", [
    ([0.4], "ok (1 round: tolerance only)", 0),
    ([0.2], "REGRESSION (1 round: tolerance only)", 1),
])
def test_a_one_round_side_is_judged_on_the_tolerance_alone(tmp_path, capsys, loops_now, verdict, code):
    base = _standard(loops_rounds=[0.4])
    cur = _standard(loops_rounds=loops_now)
    assert _check(tmp_path, base, cur) == code
    verdicts = _verdicts(capsys.readouterr().out)
    assert verdicts["mlp-mnist loops / numpy float32 1t"] == verdict
    assert verdicts["mlp-mnist numpy / torch-cpu float32 1t"] == "ok"  # nine rounds each: bootstrap as usual


def test_newest_run_of_a_file_is_the_one_checked(tmp_path, capsys):
    base = _write(tmp_path / "base.parquet", _run("base", _standard()))
    slow, fine = _run("slow", _standard(numpy_f32=3e-3)), _run("fine", _standard())
    later = timedelta(hours=1)
    slow_then_fine = _write(tmp_path / "a.parquet", slow, _run("fine", _standard(), when=START + later))
    fine_then_slow = _write(tmp_path / "b.parquet", fine, _run("slow", _standard(numpy_f32=3e-3), when=START + later))
    assert check.run_check(base, [slow_then_fine]) == 0
    assert check.run_check(base, [fine_then_slow]) == 1
    assert "run slow" in capsys.readouterr().out


def test_baseline_folder_of_machines_uses_the_results_machine(tmp_path, capsys):
    folder = tmp_path / "baseline"
    folder.mkdir()
    _write(folder / "this.parquet", _run("this", _standard()))
    _write(folder / "other.parquet", _run("other", _standard(numpy_f32=0.3e-3), cpu="Other CPU", cores=64))
    cur = _write(tmp_path / "cur.parquet", _run("cur", _standard()))
    assert check.run_check(folder, [cur]) == 0
    out = capsys.readouterr().out
    assert "run this" in out and "run other" not in out


def test_cases_failed_or_missing_in_the_results_are_listed_not_passed_over(tmp_path, capsys):
    base = _write(tmp_path / "base.parquet", _run("base", _standard()))
    cases = {k: v for k, v in _standard().items() if k[1] != "torch-cpu"}
    rows = _run("cur", cases) + _case_rows("cur", "mlp-mnist", "torch-cpu", "float32", 1, [], status="failed")
    cur = _write(tmp_path / "cur.parquet", rows)
    assert check.run_check(base, [cur]) == 0
    out = capsys.readouterr().out
    assert "not in the results: 4 baseline ratio(s)" in out
    assert "failed in the results, not compared: mlp-mnist torch-cpu float32 1t: boom" in out
    assert out.strip().splitlines()[-1] == "2 ratios compared, 0 regressions (tolerance 25%)"


def test_a_newest_run_with_nothing_timed_is_refused(tmp_path, good):
    failed = _case_rows("late", "mlp-mnist", "numpy", "float32", 1, [], status="failed", when=START + timedelta(1))
    both = _write(tmp_path / "both.parquet", _run("early", _standard()), failed)
    with pytest.raises(UsageError, match=r"both\.parquet: no successful timed case \(status ok\) in its newest run"):
        check.run_check(good, [both])


# -- unusable input: exit 2 --------------------------------------------------------------------
@pytest.fixture
def good(tmp_path):
    return _write(tmp_path / "good.parquet", _run("good", _standard()))


def test_missing_file(tmp_path, good):
    with pytest.raises(UsageError, match=r"nope\.parquet: no such file or folder"):
        check.run_check(tmp_path / "nope.parquet", [good])


def test_corrupt_file(tmp_path, good):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(UsageError, match=r"bad\.parquet: not a readable parquet file"):
        check.run_check(good, [bad])


def test_foreign_parquet(tmp_path, good):
    foreign = tmp_path / "foreign.parquet"
    pd.DataFrame({"a": [1, 2]}).to_parquet(foreign)
    with pytest.raises(UsageError, match=r"foreign\.parquet: not a vecbench results file \(no schema_version"):
        check.run_check(foreign, [good])


def test_newer_schema(tmp_path, good):
    newer = tmp_path / "newer.parquet"
    to_frame(_run("n", _standard())).assign(schema_version=SCHEMA_VERSION + 1).to_parquet(newer)
    with pytest.raises(UsageError, match=rf"newer\.parquet: written with schema_version {SCHEMA_VERSION + 1}, newer"):
        check.run_check(good, [newer])


def test_no_shared_case(tmp_path, good):
    other = {("mlp-width-64", b, d, t): s for (_, b, d, t), s in _standard().items()}
    elsewhere = _write(tmp_path / "elsewhere.parquet", _run("e", other))
    with pytest.raises(UsageError, match=r"share no case; baseline configs: mlp-mnist; results configs: mlp-width-64"):
        check.run_check(good, [elsewhere])


def test_shared_cases_without_a_ratio(tmp_path, good):
    numpy_only = {k: v for k, v in _standard().items() if k[1] == "numpy"}
    partial = _write(tmp_path / "partial.parquet", _run("p", numpy_only))
    with pytest.raises(UsageError, match=r"share cases but no ratio"):
        check.run_check(good, [partial])


def test_bad_tolerance(good):
    with pytest.raises(UsageError, match=r"--tolerance 25\.0: must be a fraction between 0 and 1"):
        check.run_check(good, [good], tolerance=25.0)


@pytest.mark.parametrize("cpu, cores", [("Other CPU", CORES), (CPU, 64)])
def test_other_machine_needs_the_flag(tmp_path, good, capsys, cpu, cores):
    there = _write(tmp_path / "there.parquet", _run("t", _standard(), cpu=cpu, cores=cores))
    with pytest.raises(UsageError, match=r"ratios move between machines: .* pass --allow-other-machine"):
        check.run_check(good, [there])
    assert check.run_check(good, [there], allow_other_machine=True) == 0
    out = capsys.readouterr().out
    assert "note: baseline from another machine" in out
    assert "6 ratios compared, 0 regressions" in out


def test_hostname_alone_may_differ(tmp_path, good):
    renamed = tmp_path / "renamed.parquet"
    to_frame(_run("r", _standard())).assign(hostname="ci-runner-7").to_parquet(renamed)
    assert check.run_check(good, [renamed]) == 0


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "bench", "check", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_exit_codes(tmp_path, good):
    there = _write(tmp_path / "there.parquet", _run("t", _standard(), cpu="Other CPU"))
    slow = _write(tmp_path / "slow.parquet", _run("s", _standard(numpy_f32=2e-3)))

    refused = _cli("--baseline", good, there)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("python -m bench check: error: baseline ")
    assert "pass --allow-other-machine" in refused.stderr

    missing = _cli("--baseline", tmp_path / "nope.parquet", good)
    assert (missing.returncode, missing.stderr) == (2, f"python -m bench check: error: {tmp_path / 'nope.parquet'}: "
                                                       "no such file or folder\n")

    allowed = _cli("--baseline", good, there, "--allow-other-machine")
    assert allowed.returncode == 0, allowed.stderr

    regressed = _cli("--baseline", good, slow, "--tolerance", "0.3")
    assert regressed.returncode == 1, regressed.stderr
    assert regressed.stdout.strip().splitlines()[-1] == (
        "6 ratios compared, 1 regression: mlp-mnist loops / numpy float32 1t (-50.0%)")


# -- the noise study ---------------------------------------------------------------------------
def _repeated_runs(tmp_path, factors):
    """One file per run; run i's numpy float32 case is ``factors[i]`` times slower."""
    paths = []
    for i, factor in enumerate(factors):
        cases = _standard(numpy_f32=1e-3 * factor)
        paths.append(_write(tmp_path / f"run{i}.parquet", _run(f"run{i}", cases, when=START + timedelta(hours=i))))
    return paths


def test_noise_summary_spread(tmp_path):
    factors = [1.0, 1.1, 0.95, 1.2, 1.05]
    summary = noise.noise_summary(_repeated_runs(tmp_path, factors)).set_index("ratio")
    values = 0.4 / (1e-3 * np.array(factors))
    row = summary.loc["mlp-mnist loops / numpy float32 1t"]
    assert row["runs"] == 5
    assert (row["min"], row["median"], row["max"]) == pytest.approx((values.min(), np.median(values), values.max()))
    assert row["rel_std"] == pytest.approx(np.std(values, ddof=1) / np.mean(values))
    assert row["max_pairwise_drop"] == pytest.approx(1 - 0.95 / 1.2)
    worst = max(1 - values[i] / np.median(np.delete(values, i)) for i in range(5))
    assert row["max_drop_vs_others"] == pytest.approx(worst)
    assert summary.loc["mlp-mnist loops / numpy float64 1t", "max_pairwise_drop"] == pytest.approx(0)
    # noisiest first: the two ratios over the slowed numpy float32 case
    assert set(summary.index[:2]) == {"mlp-mnist loops / numpy float32 1t", "mlp-mnist numpy / torch-cpu float32 1t"}
    assert summary["max_pairwise_drop"].iloc[2] == pytest.approx(0)


def test_recommended_tolerance_flags_no_run_against_any_other(tmp_path, capsys):
    factors = [1.0, 1.1, 0.95, 1.2, 1.05]
    paths = _repeated_runs(tmp_path, factors)
    choice = noise.recommend_tolerance(noise.noise_summary(paths))
    assert choice.empirical == pytest.approx(1 - (0.95 / 1.2) ** 1.5)
    assert choice.value >= choice.empirical
    assert choice.value == pytest.approx(round(choice.value / 0.05) * 0.05)
    for base in paths:
        for cur in paths:
            assert check.run_check(base, [cur], tolerance=choice.value) == 0
    # and the largest drop seen would have been flagged at a tolerance just below it
    assert check.run_check(paths[2], [paths[3]], tolerance=0.05) == 1
    assert noise.run_noise(paths) == 0
    assert "recommended tolerance" in capsys.readouterr().out


def test_noise_study_refuses_too_few_runs_and_mixed_machines(tmp_path):
    paths = _repeated_runs(tmp_path, [1.0, 1.1])
    with pytest.raises(UsageError, match="at least 3 runs"):
        noise.recommend_tolerance(noise.noise_summary(paths))
    other = _write(tmp_path / "other.parquet", _run("o", _standard(), cpu="Other CPU"))
    with pytest.raises(UsageError, match="runs of one machine"):
        noise.noise_summary([*paths, other])


# -- power: a real slowdown is caught ----------------------------------------------------------
class _RedundantTrainer:
    """Wraps a trainer so that every ``step`` also runs the forward and backward pass ``extra`` times."""

    def __init__(self, inner, extra):
        self._inner = inner
        self._extra = extra

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def step(self, batch):
        for _ in range(self._extra):
            self._inner.loss_and_grads(batch)
        return self._inner.step(batch)


def _measure(path, cases):
    from bench.runner import Runner
    from bench.suite import TimingBudget

    # rounds of >= 10 ms span several scheduler slices, so other processes on the shared cores
    # spread over all rounds instead of splitting them into fast and slow ones
    budget = TimingBudget(min_time=0.01, max_time=0.1, min_rounds=7, slow_budget=0.5)
    runner = Runner(ResultsWriter(path), budget, "custom", progress=False)
    runner.run(cases, peak_sizes=(), with_noop=False)
    assert [o.status for o in runner.outcomes] == ["ok"] * len(cases)


def test_a_real_slowdown_of_numpy_is_caught(tmp_path, monkeypatch, capsys):
    import bench.runner
    from bench.suite import expand_cases, get_config

    cases = expand_cases([get_config("mlp-width-64")], ["loops", "numpy"], cores=1)
    baseline, slowed = tmp_path / "baseline.parquet", tmp_path / "slowed.parquet"
    _measure(baseline, cases)

    real = bench.runner.make_trainer

    def redundant(backend, *args, **kwargs):
        trainer = real(backend, *args, **kwargs)
        # 20x the work: beyond the default tolerance (a 90% fall) that the noise study set
        return _RedundantTrainer(trainer, extra=19) if backend == "numpy" else trainer

    monkeypatch.setattr(bench.runner, "make_trainer", redundant)
    _measure(slowed, cases)
    capsys.readouterr()

    assert check.DEFAULT_TOLERANCE >= 0.9  # the real default, not the logic tests' 0.25
    assert check.run_check(baseline, [slowed]) == 1
    out = capsys.readouterr().out
    verdicts = _verdicts(out)
    assert verdicts == {"mlp-width-64 loops / numpy float32 1t": "REGRESSION",
                        "mlp-width-64 loops / numpy float64 1t": "REGRESSION"}, out
    assert check.run_check(slowed, [slowed]) == 0
    assert check.run_check(baseline, [baseline]) == 0
