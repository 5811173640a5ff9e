"""CI's regression check (``bench.regression``): pairs of runs of the known-good revision and the
working tree, timed alternately in one job, judged by the median over pairs of each quantity's log
change. Synthetic runs (tests/test_check.py's), so that every rule is shown on known numbers; the
real command is run end to end in tests/test_check.py::test_against_a_revision_times_both_sides_in_one_job."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from bench.regression import paired_study
from bench.regression.judge import judge_pairs, paired_exit_code
from bench.regression.pairs import Pairs, pair_changes, read_pairs
from bench.regression.render import paired_summary, paired_table
from bench.regression.thresholds import PairedThresholds, load_paired_thresholds, threshold_for, z_for
from bench.errors import UsageError
from bench.keys import MachineKey
from bench.results import to_frame
from tests.test_check import BACKENDS, CORES, CPU, _label, _run

MACHINE = MachineKey(CPU, CORES, "")
NUMPY = "backend numpy (2 cases)"
SPEEDUP = "speedup numpy over loops at mlp-mnist@32"


def _pairs(n=6, *, head=None, base=None, drift=None, contended=None, seed=0, status=None):
    """``n`` pairs of synthetic mlp-mnist runs. head/base: backend -> slowdown on that side;
    drift: pair index -> a factor on every backend of both sides of that pair (the machine's speed
    moving between pairs); contended: backend -> the repeats contended in the head runs;
    status: (pair, backend, dtype, status) making one head case fail or skip."""
    base_frames, head_frames = [], []
    for i in range(n):
        machine = (drift or {}).get(i, 1.0)
        b_factors = {b: machine * (base or {}).get(b, 1.0) for b, _ in BACKENDS}
        h_factors = {b: machine * (head or {}).get(b, 1.0) for b, _ in BACKENDS}
        base_rows = _run(f"b{i}", seed=seed * 1000 + 2 * i, factors=b_factors)
        head_rows = _run(f"h{i}", seed=seed * 1000 + 2 * i + 1, factors=h_factors, contended=contended)
        if status and status[0] == i:
            head_rows = [dict(r, status=status[3], error="verification failed: dW off by 1%", seconds=math.nan)
                         if (r["backend"], r["dtype"]) == status[1:3] else r for r in head_rows]
        base_frames.append(to_frame(base_rows))
        head_frames.append(to_frame(head_rows))
    return pair_changes(base_frames, head_frames)


def _thresholds(sigma=0.03, pairs=6, **by_name):
    """A study in which every quantity of a synthetic check has ``sigma`` (``by_name`` overrides)."""
    names = [*(_label(b, d) for b, d in BACKENDS), "backend loops (1 case)", NUMPY, "backend torch-cpu (2 cases)",
             SPEEDUP]
    sigmas = {n: sigma for n in names} | by_name
    return PairedThresholds(MACHINE, sigmas, pairs, "test")


def _verdict(verdicts, name):
    return next(v for v in verdicts if v.name == name)


def test_unchanged_code_passes_and_every_quantity_is_judged():
    verdicts = judge_pairs(_pairs(), _thresholds())
    assert paired_exit_code(verdicts) == 0
    assert {v.kind for v in verdicts} == {"case", "backend", "speedup"}
    assert all(v.gated and not v.unjudged and v.pairs == 6 for v in verdicts)
    assert _verdict(verdicts, NUMPY).change == pytest.approx(1.0, abs=0.03)


def test_one_backend_13x_slower_is_a_regression_of_it_alone():
    verdicts = judge_pairs(_pairs(head={"numpy": 1.3}), _thresholds())
    assert paired_exit_code(verdicts) == 1
    regressed = {v.name for v in verdicts if v.regression}
    assert NUMPY in regressed and _label("numpy", "float32") in regressed and SPEEDUP in regressed
    assert not any(n.startswith(("backend loops", "backend torch")) for n in regressed)
    assert _verdict(verdicts, NUMPY).change == pytest.approx(1.3, rel=0.03)
    assert "REGRESSION" in paired_summary(verdicts) or "regression" in paired_summary(verdicts)


def test_the_machine_moving_between_pairs_cancels():
    """Pairs 40% slower and 30% faster than the others (a day's drift, or a neighbour for a few
    minutes) move both sides of a pair alike: no verdict moves."""
    drift = {0: 1.4, 1: 1.4, 2: 0.7, 3: 1.0, 4: 1.2, 5: 0.8}
    verdicts = judge_pairs(_pairs(drift=drift), _thresholds())
    assert paired_exit_code(verdicts) == 0
    assert max(abs(math.log(v.change)) for v in verdicts) < 0.05
    # and a 1.3x slowdown of numpy is still seen through the same drift
    assert NUMPY in {v.name for v in judge_pairs(_pairs(drift=drift, head={"numpy": 1.3}), _thresholds())
                     if v.regression}


def test_a_speedup_that_shrinks_is_a_regression_when_no_time_crossed_its_own_threshold():
    """numpy 1.15x slower and loops 1.15x faster: each within its 1.23x case threshold, but
    numpy's speedup over loops shrank 1.32x beyond the speedup's own."""
    wide = 0.11  # case thresholds about +23% at 6 pairs
    thresholds = _thresholds(sigma=wide, **{SPEEDUP: 0.03})
    verdicts = judge_pairs(_pairs(head={"numpy": 1.15, "loops": 1 / 1.15}), thresholds)
    regressed = {v.name for v in verdicts if v.regression}
    assert regressed == {SPEEDUP}, [(v.name, v.change, v.threshold) for v in verdicts]
    assert _verdict(verdicts, SPEEDUP).change == pytest.approx(1.32, rel=0.04)


def test_a_case_that_ran_on_the_known_good_side_and_fails_here_is_a_regression():
    verdicts = judge_pairs(_pairs(status=(2, "numpy", "float64", "failed")), _thresholds())
    lost = _verdict(verdicts, _label("numpy", "float64"))
    assert lost.regression and "ran on the known-good side, failed here: verification failed" in lost.verdict
    assert paired_exit_code(verdicts) == 1
    skipped = judge_pairs(_pairs(status=(0, "torch-cpu", "float32", "skipped")), _thresholds())
    assert _verdict(skipped, _label("torch-cpu", "float32")).regression


def test_contended_pairs_do_not_count_and_too_few_leave_no_verdict():
    """numpy's head runs contended in most repeats (its thread waited for a CPU): no pair counts
    for its cases, so the backend cannot be judged and the check has no verdict (exit 3)."""
    verdicts = judge_pairs(_pairs(contended={"numpy": (0, 1, 2, 3, 4)}), _thresholds())
    assert _verdict(verdicts, _label("numpy", "float32")).unjudged
    assert _verdict(verdicts, NUMPY).unjudged
    assert paired_exit_code(verdicts) == 3
    assert "NO VERDICT" in paired_summary(verdicts) and NUMPY in paired_summary(verdicts)


def test_a_few_unjudged_cases_leave_the_verdict_standing():
    """One gated case of ten unjudged (at most UNJUDGED_SHARE), every backend judged: the check has
    its verdict, and says which case it could not judge."""
    changes = {f"case {i}": np.zeros(6) for i in range(10)}
    changes["case 0"] = np.array([0.0, np.nan, np.nan, np.nan, np.nan, np.nan])
    changes["backend x (10 cases)"] = np.zeros(6)
    kinds = {n: "backend" if n.startswith("backend") else "case" for n in changes}
    pairs = Pairs(MACHINE, 6, changes, kinds)
    verdicts = judge_pairs(pairs, PairedThresholds(MACHINE, {n: 0.03 for n in changes}, 6, "test"))
    assert paired_exit_code(verdicts) == 0 and "1 gated case(s) not judged" in paired_summary(verdicts)
    changes["case 1"] = changes["case 0"]
    verdicts = judge_pairs(pairs, PairedThresholds(MACHINE, {n: 0.03 for n in changes}, 6, "test"))
    assert paired_exit_code(verdicts) == 3  # two of ten: more than the share allowed


def test_an_off_cpu_slowdown_is_a_slower_step_not_contention():
    """numpy 1.5x slower in wall time only (a lock or a sleep: CPU time unchanged), nothing else
    on the machine (no run-queue wait, no steal): caught, not excused as contended."""
    base = [to_frame(_run(f"b{i}", seed=2 * i)) for i in range(6)]
    head = []
    for i in range(6):
        rows = _run(f"h{i}", seed=2 * i + 1, factors={"numpy": 1.5})
        head.append(to_frame([dict(r, cpu_seconds=r["seconds"] / 1.5) if r["backend"] == "numpy" else r
                              for r in rows]))
    verdicts = judge_pairs(pair_changes(base, head), _thresholds())
    assert _verdict(verdicts, NUMPY).regression and not _verdict(verdicts, NUMPY).unjudged


def test_thresholds_follow_the_pairs_and_the_gated_family():
    assert threshold_for(0.03, 6, 3.0) < threshold_for(0.03, 3, 3.0)  # fewer pairs: wider
    assert threshold_for(0.06, 6, 3.0) > threshold_for(0.03, 6, 3.0)
    assert z_for(100) > z_for(10) > z_for(1)  # more verdicts: each needs more
    # exp(z x 1.25 x 1.2533 x sigma / sqrt(n)) by hand, at z = 3, sigma 0.05, 4 pairs
    assert threshold_for(0.05, 4, 3.0) == pytest.approx(math.exp(3 * 1.25 * 1.2533 * 0.05 / 2))
    # a quantity too noisy for 1.3x at CI's pairs is not gated, and is reported
    study = PairedThresholds(MACHINE, {"quiet": 0.02, "wild": 0.5}, 6, "test")
    assert study.gated_names(6) == ["quiet"]
    changes = {"quiet": np.zeros(6), "wild": np.full(6, math.log(2.0))}
    verdicts = judge_pairs(Pairs(MACHINE, 6, changes, {"quiet": "case", "wild": "case"}), study)
    assert _verdict(verdicts, "wild").verdict == "not gated: A/A spread too wide for 1.3x"
    assert paired_exit_code(verdicts) == 0


def test_the_study_writes_what_the_check_reads_and_another_machine_is_judged_not_passed(tmp_path):
    pairs = _pairs(n=8, seed=3)
    data = paired_study.study(pairs, ci_pairs=6)
    assert data["ci_pairs"] == 6 and data["pairs_in_study"] == 8
    sigma = data["sigma"][_label("numpy", "float32")]
    values = pairs.changes[_label("numpy", "float32")]
    middle = np.median(values)
    by_hand = max(1.4826 * np.median(np.abs(values - middle)), (np.sort(values)[-3] * 0.05 + np.sort(values)[-2] * 0.95
                                                                 - middle) / 1.0364)  # q85 of 8: 5.95 of 0..7
    assert sigma == pytest.approx(by_hand, abs=1e-6)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data))
    found = load_paired_thresholds(path, MACHINE)
    assert found.pairs == 6 and found.sigmas[_label("numpy", "float32")] == pytest.approx(sigma, abs=1e-6)
    other = load_paired_thresholds(tmp_path, MachineKey("Other CPU", 2, ""))
    assert "another machine kind" in other.source and other.sigmas == found.sigmas
    bad = tmp_path / "bad" / "x.json"
    bad.parent.mkdir()
    bad.write_text("{}")
    with pytest.raises(UsageError, match="not a vecbench paired thresholds file"):
        load_paired_thresholds(bad, MACHINE)


def test_a_current_run_that_left_no_file_loses_every_case_of_its_pair(tmp_path):
    for i in range(3):
        to_frame(_run(f"b{i}", seed=2 * i)).to_parquet(tmp_path / f"base-{i}.parquet")
        if i != 1:
            to_frame(_run(f"h{i}", seed=2 * i + 1)).to_parquet(tmp_path / f"head-{i}.parquet")
    pairs = read_pairs(tmp_path)
    assert pairs.pairs == 3 and set(pairs.lost) == {_label(b, d) for b, d in BACKENDS}
    assert all(why == "not run here" for why in pairs.lost.values())


def test_pairs_need_one_run_of_each_side(tmp_path):
    with pytest.raises(UsageError, match="each pair needs one of each"):
        pair_changes([to_frame(_run("b", seed=1))], [])
    with pytest.raises(UsageError, match="no pair of base-N.parquet and head-N.parquet"):
        read_pairs(tmp_path)


# -- power, on the committed study: real runs, the committed thresholds, CI's judge -----------------
# The rule above on real numbers: the A/A pairs and the planted-fault checks under results/ab, read
# as CI reads its own pairs (read_pairs) and judged with the thresholds CI uses (thresholds.json),
# so that loosening a threshold or the rule until a real 1.3x passes fails here.
STUDY = Path(__file__).resolve().parent.parent / "results" / "ab" / "amd-epyc-2core"


def _committed_thresholds(machine: MachineKey) -> PairedThresholds:
    return load_paired_thresholds(STUDY / "thresholds.json", machine)


def _study_frames(folder: str, side: str) -> list:
    from bench.results import read_results

    files = sorted((STUDY / folder).glob(f"{side}-*.parquet"), key=lambda p: int(p.stem.split("-")[1]))
    return [read_results([file]) for file in files]


def _slowed(frame, backends: tuple[str, ...], factor: float = 1.0, plus: float = 0.0):
    """``frame`` with every step round of ``backends`` made ``factor`` times as long plus ``plus``
    seconds, in wall and CPU time alike (a busy slowdown)."""
    frame = frame.copy()
    rows = frame["backend"].isin(backends)
    for column in ("seconds", "cpu_seconds"):
        frame.loc[rows, column] = frame.loc[rows, column] * factor + plus
    return frame


@pytest.fixture(scope="module")
def aa_second_session():
    """The second session's A/A pairs (part of the pooled study that set the committed thresholds:
    in sample; docs/regression-check.md gives their out-of-sample verdict)."""
    return _study_frames("aa-20261206", "base"), _study_frames("aa-20261206", "head")


def test_the_committed_planted_fault_is_caught_by_the_committed_thresholds():
    """The shared hand-written step 1.3x slower, planted in the code of a copy and timed beside
    HEAD in one job (studies/check_power.py): its three backends regress, torch-cpu does not."""
    pairs = read_pairs(next(STUDY.glob("power-handwritten-1.3x-*")))
    verdicts = judge_pairs(pairs, _committed_thresholds(pairs.machine))
    backends = {v.name.split()[1]: v for v in verdicts if v.kind == "backend"}
    assert paired_exit_code(verdicts) == 1
    assert all(backends[b].regression for b in ("loops", "numba", "numpy")), paired_table(verdicts)
    assert not backends["torch-cpu"].regression


def test_unchanged_code_passes_in_every_five_pairs_of_the_second_session(aa_second_session):
    base, head = aa_second_session
    assert len(base) >= 5
    for start in range(len(base) - 4):
        pairs = pair_changes(base[start:start + 5], head[start:start + 5])
        verdicts = judge_pairs(pairs, _committed_thresholds(pairs.machine))
        assert paired_exit_code(verdicts) == 0, paired_summary(verdicts)


@pytest.mark.parametrize("backend", ["loops", "numba", "numpy", "torch-cpu"])
def test_each_backend_13x_slower_in_real_runs_is_caught(aa_second_session, backend):
    base, head = aa_second_session
    pairs = pair_changes(base[:5], [_slowed(frame, (backend,), 1.3) for frame in head[:5]])
    verdicts = judge_pairs(pairs, _committed_thresholds(pairs.machine))
    flagged = {v.name.split()[1] for v in verdicts if v.kind == "backend" and v.regression}
    assert flagged == {backend}, paired_summary(verdicts)


def test_fifty_microseconds_more_per_hand_written_step_in_real_runs_is_caught(aa_second_session):
    base, head = aa_second_session
    handwritten = ("loops", "numba", "numpy")
    pairs = pair_changes(base[:5], [_slowed(frame, handwritten, plus=50e-6) for frame in head[:5]])
    verdicts = judge_pairs(pairs, _committed_thresholds(pairs.machine))
    assert paired_exit_code(verdicts) == 1
    assert any(v.regression and v.kind == "case" and " numpy " in f" {v.name} " for v in verdicts), \
        paired_summary(verdicts)


def test_every_power_fault_plants_into_the_code_and_marks_the_copy(tmp_path, monkeypatch):
    """studies/check_power.py edits a copy's source (never a harness hook), the edit compiles, and
    the copy says which fault it holds, so that its rows record it (the results' ``planted``)."""
    import shutil

    from bench import machine
    from studies import check_power

    root = Path(__file__).resolve().parent.parent
    for fault in check_power.FAULTS:
        tree = tmp_path / fault
        for path in {edit[0] for edit in check_power.FAULTS[fault]}:
            (tree / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(root / path, tree / path)
        check_power.plant(tree, fault)
        for path in {edit[0] for edit in check_power.FAULTS[fault]}:
            source = (tree / path).read_text()
            assert "planted by studies/check_power.py" in source and source != (root / path).read_text()
            compile(source, path, "exec")
        monkeypatch.setattr(machine, "PLANTED_FILE", tree / "PLANTED")
        assert machine.planted_fault() == fault
    monkeypatch.setattr(machine, "PLANTED_FILE", tmp_path / "nothing-planted")
    assert machine.planted_fault() == ""


def test_the_study_judges_each_session_by_the_others_thresholds(tmp_path, capsys):
    """With two jobs, each is judged out of sample by the thresholds of the other: a second session
    whose unchanged code drifted by 1.3x on numpy alone (head side) alarms there, the first does not."""
    def job(folder, n, seed, head=None):
        folder.mkdir()
        for i in range(n):
            to_frame(_run(f"{folder.name}b{i}", seed=seed + 2 * i)).to_parquet(folder / f"base-{i}.parquet")
            factors = {b: (head or {}).get(b, 1.0) for b, _ in BACKENDS}
            to_frame(_run(f"{folder.name}h{i}", seed=seed + 2 * i + 1, factors=factors)).to_parquet(
                folder / f"head-{i}.parquet")
        return folder

    first, second = job(tmp_path / "one", 6, 100), job(tmp_path / "two", 6, 500, head={"numpy": 1.3})
    assert paired_study.run_paired_study([first, second], ci_pairs=5) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "out of sample" in line]
    assert len(lines) == 2
    assert lines[0].startswith("false alarms, out of sample (one judged by the other jobs' thresholds): 0 of 1")
    assert lines[1].startswith("false alarms, out of sample (two judged by the other jobs' thresholds): 1 of 1")
    assert "backend numpy" in lines[1]
