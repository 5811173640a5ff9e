"""``python -m bench check`` and the A/A study: the per-case rule, exit codes, thresholds, power."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest

from bench import stats
from bench.regression import judge, noise
from bench.regression.against import compare_runs
from bench.regression.baseline import run_check
from bench.regression.verdicts import EXIT_NO_VERDICT, EXIT_OK, EXIT_REGRESSION
from bench.errors import UsageError
from bench.results import SCHEMA_VERSION, to_frame

ROOT = Path(__file__).resolve().parent.parent
CPU, CORES = "Test CPU 9000", 2
START = datetime(2025, 1, 1, tzinfo=timezone.utc)
BACKENDS = (("loops", "float64"), ("numpy", "float32"), ("numpy", "float64"), ("torch-cpu", "float32"),
            ("torch-cpu", "float64"))
MEDIANS = {"loops": 0.4, "numpy": 1e-3, "torch-cpu": 8e-4}


# -- synthetic results -------------------------------------------------------------------------
def _rows(run_id, config, backend, dtype, threads, repeats, *, contended=(), when=START, cpu=CPU, cores=CORES,
          status="ok", model="mlp", batch_size=32):
    """repeats: seconds per round of each repeat; contended: indices of contended repeats."""
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
    rows, index = [], 0
    for r, seconds in enumerate(repeats):
        for s in seconds:
            # a contended repeat: its thread waited half the time for a CPU and got half a core
            rows.append(dict(base, round=index, repeat=r, seconds=s, cpu_seconds=s / 2 if r in contended else s,
                             run_wait=0.5 if r in contended else 0.0, steal=0.0, contended=r in contended,
                             timestamp=when + timedelta(seconds=index)))
            index += 1
    return rows


def _repeats(median, *, seed, repeats=6, rounds=5, factor=1.0, spread=0.02):
    """``repeats`` blocks of ``rounds`` rounds around ``median * factor``: each repeat drifts by up
    to 3%, each round by ``spread``."""
    rng = np.random.default_rng(seed)
    return [list(median * factor * (1 + rng.uniform(-0.03, 0.03)) * (1 + rng.uniform(-spread, spread, rounds)))
            for _ in range(repeats)]


def _run(run_id, *, seed, factors=None, contended=None, when=START, **machine):
    """One run of mlp-mnist on every backend of BACKENDS; factors: backend -> slowdown."""
    rows = []
    for i, (backend, dtype) in enumerate(BACKENDS):
        reps = _repeats(MEDIANS[backend], seed=seed * 100 + i, factor=(factors or {}).get(backend, 1.0))
        rows += _rows(run_id, "mlp-mnist", backend, dtype, 1, reps, when=when,
                      contended=(contended or {}).get(backend, ()), **machine)
    return rows


def _label(backend, dtype, config="mlp-mnist", batch=32, threads=1):
    return f"{config}@{batch} {backend} {dtype} {threads}t"


def _write(path: Path, *runs) -> Path:
    to_frame([row for run in runs for row in run]).to_parquet(path, index=False)
    return path


def _thresholds(path: Path, value=1.2, *, cpu=CPU, cores=CORES, ungated=()) -> Path:
    def entry(backend):
        return {"threshold": 9.0 if backend in ungated else value, "gated": backend not in ungated,
                "reason": "moves 3x between runs" if backend in ungated else ""}

    path.write_text(json.dumps({"machine": {"cpu": cpu, "cores": cores, "gpu": ""},
                                "cases": {_label(b, d): entry(b) for b, d in BACKENDS},
                                "backends": {b: entry(b) for b in MEDIANS}}))
    return path


def _check(tmp_path, base_rows, cur_rows, capsys=None, **threshold_args):
    base = _write(tmp_path / "base.parquet", base_rows)
    cur = _write(tmp_path / "cur.parquet", cur_rows)
    code = run_check(base, [cur], thresholds=_thresholds(tmp_path / "t.json", **threshold_args))
    return code, (capsys.readouterr().out if capsys else "")


def _verdicts(text: str) -> dict[str, str]:
    """case label (or ``backend NAME (N cases)``) -> verdict, from the printed table."""
    found = {}
    for line in text.splitlines():
        if line.startswith(("mlp-", "resnet50-")) or (line.startswith("backend ") and " cases) " in line):
            cells = [c for c in line.split("  ") if c.strip()]
            found[cells[0].strip()] = cells[-1].strip()
    return found


# -- the rule ----------------------------------------------------------------------------------
def test_runs_of_the_same_distribution_pass(tmp_path, capsys):
    code, out = _check(tmp_path, _run("base", seed=1), _run("cur", seed=2), capsys)
    assert code == EXIT_OK
    assert out.strip().splitlines()[-1] == "3 backends and 5 cases compared, 8 gated, 0 regressions"
    assert set(_verdicts(out).values()) == {"ok"}


def test_cases_on_one_side_only_are_named_and_not_compared(tmp_path, capsys):
    """A backend newer than the machine's baseline (numba on the Intel kind) is named, not judged;
    so is a baseline case the results lack."""
    base = [row for row in _run("base", seed=1) if row["backend"] != "numpy"]
    current = [row for row in _run("cur", seed=2) if row["backend"] != "loops"]
    code, out = _check(tmp_path, base, current, capsys)
    assert code == EXIT_OK
    numpy_cases = sorted(_label(b, d) for b, d in BACKENDS if b == "numpy")
    loops_cases = sorted(_label(b, d) for b, d in BACKENDS if b == "loops")
    assert f"no baseline time, not compared: {len(numpy_cases)} case(s): {', '.join(numpy_cases)}" in out
    assert f"not in the results: {len(loops_cases)} baseline case(s): {', '.join(loops_cases)}" in out
    assert not any("numpy" in label for label in _verdicts(out))


@pytest.mark.parametrize("slowed", ["loops", "numpy", "torch-cpu"])
def test_a_one_and_a_half_fold_slower_backend_is_a_regression_named(tmp_path, capsys, slowed):
    code, out = _check(tmp_path, _run("base", seed=1), _run("cur", seed=2, factors={slowed: 1.5}), capsys)
    assert code == EXIT_REGRESSION
    verdicts = _verdicts(out)
    flagged = {label for label, verdict in verdicts.items() if verdict == "REGRESSION"}
    cases = sum(b == slowed for b, _ in BACKENDS)
    assert flagged == {_label(b, d) for b, d in BACKENDS if b == slowed} | {f"backend {slowed} ({cases} cases)"}
    assert "regression" in out.strip().splitlines()[-1] and slowed in out.strip().splitlines()[-1]


def test_a_change_carried_by_a_few_repeats_is_not_significant(tmp_path, capsys):
    base = _run("base", seed=1)
    cur = _run("cur", seed=2)
    # numpy float32: three repeats at 1x, three at 2x; the pooled median moves 50%, the repeats disagree
    slow = [r for r in cur if r["backend"] == "numpy" and r["dtype"] == "float32" and r["repeat"] >= 3]
    for row in slow:  # slower, with its CPU time: computing, not waiting
        row["seconds"] *= 2
        row["cpu_seconds"] *= 2
    code, out = _check(tmp_path, base, cur, capsys)
    verdict = _verdicts(out)[_label("numpy", "float32")]
    p = stats.slower_p_value([1.0, 1.01, 0.99, 2.0, 2.01, 1.99], [1.0, 1.005, 0.995, 1.002, 0.998, 1.001])
    assert p > judge.ALPHA  # the premise: 3 of 6 repeats slower is no evidence at p < 0.01
    assert code == EXIT_OK and verdict.startswith("slower, not significant"), verdict


def test_an_ungated_case_is_reported_but_never_fails(tmp_path, capsys):
    code, out = _check(tmp_path, _run("base", seed=1), _run("cur", seed=2, factors={"torch-cpu": 3.0}), capsys,
                       ungated=("torch-cpu",))
    assert code == EXIT_OK
    assert _verdicts(out)[_label("torch-cpu", "float32")] == "not gated: moves 3x between runs"
    assert _verdicts(out)["backend torch-cpu (2 cases)"] == "not gated: moves 3x between runs"
    assert "3 backends and 5 cases compared, 5 gated, 0 regressions" in out


def test_contention_gives_its_own_exit_code_unless_a_clean_case_regressed(tmp_path, capsys):
    contended = {"numpy": (0, 1, 2, 3)}  # 4 of 6 repeats
    code, out = _check(tmp_path, _run("base", seed=1), _run("cur", seed=2, contended=contended), capsys)
    assert code == EXIT_NO_VERDICT
    assert _verdicts(out)[_label("numpy", "float32")].startswith("contended: 67% of the rounds")
    assert "the machine was contended" in out.strip().splitlines()[-1]
    code, out = _check(tmp_path, _run("base", seed=1),
                       _run("cur", seed=2, contended=contended, factors={"loops": 1.5}), capsys)
    assert code == EXIT_REGRESSION


def test_every_backend_slower_alike_is_the_machine_and_cannot_be_judged(tmp_path, capsys):
    """A 1.4x slower machine (every backend alike) is not called a regression of each: exit 3; a
    backend slowed 1.5x on top of it is still named."""
    machine = {backend: 1.4 for backend in MEDIANS}
    code, out = _check(tmp_path, _run("base", seed=1), _run("cur", seed=2, factors=machine), capsys)
    assert code == EXIT_NO_VERDICT
    backends = {k: v for k, v in _verdicts(out).items() if k.startswith("backend")}
    assert len(backends) == 3
    for verdict in backends.values():
        found = re.fullmatch(r"machine-wide: every backend \+(\d+)% alike; not judged", verdict)
        assert found and 34 <= int(found.group(1)) <= 46, verdict
    assert "every backend was slower alike" in out.strip().splitlines()[-1]
    code, out = _check(tmp_path, _run("base", seed=1), _run("cur", seed=2, factors={**machine, "numpy": 1.4 * 1.5}),
                       capsys)
    assert code == EXIT_REGRESSION
    assert _verdicts(out)["backend numpy (2 cases)"] == "REGRESSION"
    assert _verdicts(out)["backend loops (1 cases)"].startswith("machine-wide")


def test_contended_rounds_are_left_out_of_the_time(tmp_path, capsys):
    cur = _run("cur", seed=2)
    for row in cur:  # one repeat of numpy float32 ran 5x slower while its thread waited for a CPU
        if row["backend"] == "numpy" and row["dtype"] == "float32" and row["repeat"] == 0:
            row["seconds"] *= 5
            row["run_wait"] = 0.8
    code, out = _check(tmp_path, _run("base", seed=1), cur, capsys)
    assert code == EXIT_OK and _verdicts(out)[_label("numpy", "float32")] == "ok"


def test_a_backend_is_judged_by_the_median_over_its_cases(tmp_path, capsys):
    """Each numpy case 1.15x slower: under every case's threshold (1.2), over the backend's (1.1)."""
    base = _run("base", seed=1)
    cur = _run("cur", seed=2, factors={"numpy": 1.15})
    path = _thresholds(tmp_path / "t.json")
    data = json.loads(path.read_text())
    data["backends"]["numpy"]["threshold"] = 1.1
    path.write_text(json.dumps(data))
    code = run_check(_write(tmp_path / "b.parquet", base), [_write(tmp_path / "c.parquet", cur)],
                           thresholds=path)
    verdicts = _verdicts(capsys.readouterr().out)
    assert code == EXIT_REGRESSION and verdicts["backend numpy (2 cases)"] == "REGRESSION"
    assert verdicts[_label("numpy", "float32")] == "ok" and verdicts[_label("numpy", "float64")] == "ok"


def test_the_baseline_pools_every_run_of_the_machine(tmp_path, capsys):
    folder = tmp_path / "baseline"
    folder.mkdir()
    runs = [_run(f"b{i}", seed=10 + i, when=START + timedelta(hours=i)) for i in range(3)]
    for i, rows in enumerate(runs):
        _write(folder / f"run{i}.parquet", rows)
    _thresholds(folder / "thresholds.json")  # found beside the runs
    cur = _write(tmp_path / "cur.parquet", _run("cur", seed=2))
    assert run_check(folder, [cur]) == EXIT_OK
    out = capsys.readouterr().out
    pooled = np.median([r["seconds"] for rows in runs for r in rows if r["backend"] == "loops"])
    line = next(line for line in out.splitlines() if line.startswith(_label("loops", "float64")))
    assert line.split()[4:6] == [f"{pooled * 1e3:.3g}", "ms"]  # the baseline: the median of every run's rounds
    assert all(f"run b{i}" in out for i in range(3))


def test_the_newest_run_of_each_case_is_the_one_checked(tmp_path, capsys):
    old = _run("old", seed=3, factors={"numpy": 2.0}, when=START)
    new = _run("new", seed=2, when=START + timedelta(hours=1))
    code, out = _check(tmp_path, _run("base", seed=1), old + new, capsys)
    assert code == EXIT_OK
    assert "run new" in out and "run old" not in out


def test_the_rank_test_is_exact_for_small_samples():
    # 5 vs 5 with every current value above every baseline value: 1 of C(10, 5) = 252 orderings
    assert stats.slower_p_value([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]) == pytest.approx(1 / 252)
    assert stats.slower_p_value([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(1.0)
    assert stats.slower_p_value([1.0], [2.0, 3.0]) == 1.0  # nothing to rank


# -- intervals ---------------------------------------------------------------------------------
def test_a_single_round_has_no_interval():
    assert stats.ratio_interval([1.0], [0], [1.0, 1.1], [0, 1]) is None
    assert stats.center_interval([1.0], [0]) is None


def test_the_interval_carries_the_spread_between_repeats():
    rng = np.random.default_rng(0)
    rounds = rng.uniform(0.99, 1.01, 40)
    drift = np.repeat([0.9, 1.1, 0.95, 1.05], 10)  # four repeats whose levels differ by up to 20%
    seconds, repeats = rounds * drift, np.repeat(np.arange(4), 10)
    nested = stats.center_interval(seconds, repeats, resamples=2000)
    flat = stats.center_interval(seconds, np.zeros(40, dtype=int), resamples=2000)  # as if one block
    assert nested.high - nested.low > 1.5 * (flat.high - flat.low)
    assert nested == stats.center_interval(seconds, repeats, resamples=2000)  # seeded: reproducible
    assert nested.low < np.median(seconds) < nested.high


# -- unusable input ----------------------------------------------------------------------------
@pytest.fixture
def good(tmp_path):
    return (_write(tmp_path / "good.parquet", _run("g", seed=1)), _thresholds(tmp_path / "t.json"))


def _cli(*args):
    done = subprocess.run([sys.executable, "-m", "bench", "check", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.parquet", "no such file"),
    (lambda d: (d / "corrupt.parquet").write_bytes(b"not parquet") and d / "corrupt.parquet", "not a readable"),
    (lambda d: _foreign(d), "not a vecbench results file"),
    (lambda d: _newer(d), "newer than this vecbench reads"),
])
def test_unusable_results_exit_2_with_one_line(tmp_path, good, make, message):
    code, _, err = _cli("--baseline", make(tmp_path), good[0], "--thresholds", good[1])
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def _foreign(folder):
    import pandas as pd

    path = folder / "foreign.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(path)
    return path


def _newer(folder):
    rows = _run("n", seed=1)
    frame = to_frame(rows)
    frame["schema_version"] = SCHEMA_VERSION + 1
    path = folder / "newer.parquet"
    frame.to_parquet(path, index=False)
    return path


def test_no_shared_case_exits_2(tmp_path, good):
    other = _write(tmp_path / "other.parquet", _rows("o", "mlp-tiny", "numpy", "float32", 1, _repeats(1e-4, seed=1)))
    code, _, err = _cli("--baseline", good[0], other, "--thresholds", good[1])
    assert code == 2 and "share no successful case" in err


def test_another_machine_needs_the_flag_and_thresholds_of_the_results_machine(tmp_path, good):
    other = _write(tmp_path / "other.parquet", _run("o", seed=2, cpu="Other CPU"))
    code, _, err = _cli("--baseline", other, good[0], "--thresholds", good[1])
    assert code == 2 and "--allow-other-machine" in err
    code, out, _ = _cli("--baseline", other, good[0], "--thresholds", good[1], "--allow-other-machine")
    assert code == 0 and "baseline from another machine" in out
    code, _, err = _cli("--baseline", good[0], good[0], "--thresholds", _thresholds(tmp_path / "x.json", cpu="Other"))
    assert code == 2 and "no A/A thresholds for" in err


def test_a_malformed_thresholds_file_exits_2(tmp_path, good):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = _cli("--baseline", good[0], good[0], "--thresholds", bad)
    assert code == 2 and "not a vecbench thresholds file" in err


def test_check_arguments_are_checked_up_front(good):
    code, _, err = _cli("--against", "HEAD", good[0])
    assert code == 2 and "takes no RESULTS" in err
    code, _, err = _cli("--baseline", good[0])
    assert code == 2 and "needs the RESULTS" in err
    code, _, err = _cli("--against", "no-such-revision-xyz", "--models", "mlp-tiny")
    assert code == 2 and "git rev-parse" in err
    code, _, err = _cli("--against", "HEAD", "--models", "resnet18")
    assert code == 2 and "unknown model or config" in err


# -- the A/A study -----------------------------------------------------------------------------
def _aa_runs(folder: Path, factors: dict[int, dict[str, float]], runs: int) -> list[Path]:
    paths = []
    for i in range(runs):
        rows = _run(f"aa{i:02d}", seed=10 + i, factors=factors.get(i), when=START + timedelta(hours=i))
        paths.append(_write(folder / f"run{i:02d}.parquet", rows))
    return paths


def test_the_study_sizes_each_threshold_from_each_run_against_the_pool_of_the_others(tmp_path):
    # torch-cpu moves 1.6x in one run of eight: it cannot be gated; the others move 3% between repeats
    paths = _aa_runs(tmp_path, {3: {"torch-cpu": 1.6}}, runs=8)
    result = noise.study(paths, with_coverage=False)
    table = {key.label: row for key, row in result.cases.iterrows()}
    assert len(table) == 5 and result.runs == 8
    # expectations rebuilt from the generator, not read back: every run's rounds of every case
    rounds = {}
    for i in range(8):
        for j, (backend, dtype) in enumerate(BACKENDS):
            reps = _repeats(MEDIANS[backend], seed=(10 + i) * 100 + j,
                            factor=1.6 if (i == 3 and backend == "torch-cpu") else 1.0)
            rounds.setdefault(_label(backend, dtype), []).append(np.concatenate(reps))
    z = NormalDist().inv_cdf(1 - 0.05 / (5 + 3))  # 5 cases and 3 backends share the false-alarm rate
    for label, per_run in rounds.items():
        logs = [math.log(np.median(per_run[i]) / np.median(np.concatenate(per_run[:i] + per_run[i + 1:])))
                for i in range(8)]
        expected = max(math.exp(z * np.std(logs, ddof=1)), math.exp(max(logs)) ** noise.MARGIN)
        assert table[label]["threshold"] == pytest.approx(expected, rel=1e-9), label
        assert bool(table[label]["gated"]) == (expected <= noise.GATE_LIMIT)
    assert not table[_label("torch-cpu", "float32")]["gated"]
    assert table[_label("numpy", "float32")]["gated"]
    assert set(result.backends.index) == {"loops", "numpy", "torch-cpu"}


def test_the_study_writes_thresholds_the_check_reads(tmp_path, capsys):
    paths = _aa_runs(tmp_path, {}, runs=6)
    out = tmp_path / "t" / "thresholds.json"
    assert noise.run_noise(paths, write=out) == 0
    printed = capsys.readouterr().out
    assert "false alarms of the whole check" in printed and "intervals of one run covering" in printed
    data = json.loads(out.read_text())
    assert data["machine"] == {"cpu": CPU, "cores": CORES, "gpu": ""} and data["runs"] == 6
    assert set(data["cases"]) == {_label(b, d) for b, d in BACKENDS}
    current = _write(tmp_path / "cur.parquet", _run("cur", seed=99, factors={"numpy": 1.5}))
    assert run_check(paths[0], [current], thresholds=out.parent) == EXIT_REGRESSION


def test_the_study_refuses_too_few_runs_and_mixed_machines(tmp_path):
    paths = _aa_runs(tmp_path, {}, runs=2)
    with pytest.raises(UsageError, match="at least 3 runs"):
        noise.study(paths)
    other = _write(tmp_path / "other.parquet", _run("x", seed=5, cpu="Other CPU"))
    with pytest.raises(UsageError, match="one machine kind"):
        noise.study([*_aa_runs(tmp_path, {}, runs=3), other])
    with pytest.raises(UsageError, match="must end in .json"):
        noise.run_noise(paths, write=tmp_path / "t.txt")


# -- bench check --baseline on real runs, one backend made slower ------------------------------------
# The stored-baseline comparison (by hand, not CI's) on real runs, with thresholds of 1.3x set here:
# its rule, not its power on CI's machine. CI's check is judged on the committed A/A and power study
# with the committed thresholds in tests/test_paired.py.
POWER_MODEL = "mlp-width-64"


def _real_run(path: Path, slowdown: dict[str, float] | None = None) -> None:
    """A real run of the quick profile's timing (the same Runner, timer and writer ``bench run`` uses,
    in this process: no imports or peaks to pay for again) of one config on three backends."""
    from bench.results import ResultsWriter
    from bench.runner import Runner
    from bench.configs import get_config
    from bench.profiles import get_profile
    from bench.suite import expand_cases

    # half the quick profile's repeats: every side is pooled over two or three runs
    budget = dataclasses.replace(get_profile("quick").budget, repeats=3)
    runner = Runner(ResultsWriter(path), budget, "quick", progress=False, slowdowns=slowdown)
    runner.run(expand_cases([get_config(POWER_MODEL)], ["loops", "numpy", "torch-cpu"]), with_noop=False)
    assert {o.status for o in runner.outcomes} == {"ok"}


# The machine's speed drifts by up to 2x over minutes (measured on CI: one backend's unchanged code
# 40% faster three runs later), so unchanged and slowed runs alternate and each side is pooled, as
# ``bench check --against`` does: drift then moves both sides alike.
# Twice the work, not 1.5x: a core's speed here flips between two levels 1.5x apart within seconds
# (its SMT sibling's load; one case's repeats read 17.7, 25.2, 26.4 ms), and a test must not fail on
# one unlucky flip. The 1.5x power is a committed study (results/power/, docs/noise-study.md).
POWER_FACTOR = 2.0
POWER_ORDER = ("base", "loops", "numpy", "torch-cpu", "base", "torch-cpu", "numpy", "loops", "base")


@pytest.fixture(scope="module")
def power_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("power")
    # the first run in a process pays for first calls into torch and numpy: not a baseline
    _real_run(folder / "warm.parquet")
    for i, side in enumerate(POWER_ORDER):
        _real_run(folder / f"{side}-{i}.parquet", None if side == "base" else {side: POWER_FACTOR})
    from bench.measurement import measurements
    from bench.results import read_results

    cases = [m for m in measurements(read_results([folder / "base-0.parquet"])) if m.ok]
    machine = cases[0].machine
    (folder / "thresholds.json").write_text(json.dumps({
        "machine": {"cpu": machine.cpu, "cores": machine.cores, "gpu": machine.gpu},
        "cases": {m.key.label: {"threshold": 1.3, "gated": True, "reason": ""} for m in cases},
        "backends": {b: {"threshold": 1.3, "gated": True, "reason": ""} for b in ("loops", "numpy", "torch-cpu")}}))
    return folder


@pytest.mark.parametrize("backend", ["loops", "numpy", "torch-cpu"])
def test_a_real_slowdown_of_one_backend_is_caught(power_runs, backend, capsys):
    """Real quick-budget runs in which one backend does twice the work (the runner's test hook),
    judged against real runs of unchanged code timed between them, with thresholds of 1.3x on
    every backend and case."""
    capsys.readouterr()
    code = compare_runs(sorted(power_runs.glob("base-*.parquet")), sorted(power_runs.glob(f"{backend}-*.parquet")),
                              power_runs / "thresholds.json")
    out = capsys.readouterr().out
    flagged = [label for label, verdict in _verdicts(out).items() if verdict == "REGRESSION"]
    assert code == EXIT_REGRESSION, out
    assert any(f" {backend} " in f" {label} " for label in flagged), out
    # the slowed runs say so in their rows; the unchanged ones do not
    from bench.results import read_results

    assert set(read_results(sorted(power_runs.glob(f"{backend}-*.parquet")))["planted"]) == {
        f"slowdown {backend}:{POWER_FACTOR:g}"}
    assert set(read_results(sorted(power_runs.glob("base-*.parquet")))["planted"]) == {""}


def test_against_a_revision_times_both_sides_in_one_job(tmp_path):
    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode != 0:
        pytest.skip("not a git checkout: --against needs one")
    from bench.machine import describe_machine
    from bench.keys import machine_key

    machine = machine_key(describe_machine())
    thresholds = tmp_path / "t.json"
    thresholds.write_text(json.dumps({"machine": {"cpu": machine.cpu, "cores": machine.cores, "gpu": machine.gpu},
                                      "sigma": {}, "ci_pairs": 3}))
    code, out, err = _cli("--against", "HEAD", "--models", "mlp-tiny", "--backends", "numpy", "--pairs", "3",
                          "--keep", tmp_path / "kept", "--thresholds", thresholds)
    assert code == 0, err  # nothing is gated by an empty study: every quantity is reported, none can fail
    assert "against HEAD" in out and "mlp-tiny@5 numpy float32 1t" in out and "not gated: no A/A spread" in out
    assert "backend numpy (4 cases)" in out and "harness no-op" in out
    assert sorted(p.name for p in (tmp_path / "kept").glob("*.parquet")) == [
        f"{side}-{i}.parquet" for side in ("base", "head") for i in range(3)]
    listed = subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "vecbench-rev-" not in listed  # the temporary worktree is gone


def test_an_unmeasured_machine_kind_is_skipped_only_when_asked(tmp_path, good):
    other = _write(tmp_path / "other.parquet", _run("o", seed=2, cpu="Other CPU"))
    code, out, _ = _cli("--baseline", other, good[0], "--thresholds", good[1], "--skip-unknown-machine")
    assert code == 0 and out.startswith("no baseline for Test CPU 9000, 2 cores")
    missing = _thresholds(tmp_path / "x.json", cpu="Other")
    code, out, _ = _cli("--baseline", good[0], good[0], "--thresholds", missing, "--skip-unknown-machine")
    assert code == 0 and out.startswith("no A/A thresholds for Test CPU 9000")
    code, _, err = _cli("--baseline", good[0], good[0], "--thresholds", missing)
    assert code == 2
