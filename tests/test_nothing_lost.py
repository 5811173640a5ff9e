"""Nothing recorded is lost, and no traceback reaches a user: concurrent writers, kills, hostile input."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from bench import cli
from bench.results import ResultsWriter, read_results, to_frame
from tests.conftest import ROOT
from tests.test_report import base_row

RUN = ["run", "--profile", "quick", "--models", "mlp-tiny", "--backends", "loops", "numpy", "--no-progress"]


def _as_in_a_terminal() -> None:
    # A job a non-interactive shell starts in the background (`cmd &`, as a CI script or nohup may
    # run the tests) starts with SIGINT ignored, and its children inherit that, as POSIX wants: the
    # run would then finish as if never interrupted. The runs here stand for a run in a terminal.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def bench(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "bench", *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_as_in_a_terminal, **kwargs)


def test_two_runs_started_together_into_one_file_keep_both(tmp_path):
    out = tmp_path / "conc.parquet"
    procs = [bench(*RUN, "--out", out) for _ in range(2)]
    results = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [r[1][-500:] for r in results]
    frame = read_results([out])
    assert frame["run_id"].nunique() == 2
    for _, run in frame.groupby("run_id"):  # each run complete: both backends, every repeat, the harness
        cases = run[run["model"] == "mlp"]
        assert set(cases["backend"]) == {"loops", "numpy"} and set(cases["repeat"]) == set(range(6))
        assert set(run["model"]) == {"mlp", "peak", "noop"}


def _append_many(path: str, tag: str, count: int) -> None:
    writer = ResultsWriter(path)
    for i in range(count):
        writer.append([dict(base_row("lab-a"), run_id=tag, round=i, seconds=1.0 + i)])


def test_writers_in_many_processes_lose_no_row(tmp_path):
    out = tmp_path / "many.parquet"
    code = ("import sys; sys.path.insert(0, {root!r}); from tests.test_nothing_lost import _append_many; "
            "_append_many({out!r}, {tag!r}, 25)")
    procs = [subprocess.Popen([sys.executable, "-c", code.format(root=str(ROOT), out=str(out), tag=f"w{i}")],
                              cwd=ROOT) for i in range(4)]
    assert [p.wait(timeout=600) for p in procs] == [0] * 4
    frame = read_results([out])
    assert frame.groupby("run_id").size().to_dict() == {f"w{i}": 25 for i in range(4)}
    for _, rows in frame.groupby("run_id"):
        assert sorted(rows["round"]) == list(range(25))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_a_killed_run_leaves_every_finished_pass_readable(tmp_path, sig):
    out = tmp_path / "killed.parquet"
    # mlp-wide (a 48 s loops step) keeps the run going long after mlp-tiny's passes are on disk: the
    # signal always lands mid-run, however slowly this process polls on a busy machine
    proc = bench("run", "--profile", "quick", "--models", "mlp-tiny", "mlp-mnist", "mlp-wide", "--backends", "loops",
                 "numpy", "--no-progress", "--out", out)
    deadline = time.time() + 300
    while time.time() < deadline:  # wait until mlp-tiny's passes are on disk, then kill it mid-run
        if out.exists():
            try:
                frame = read_results([out])
            except Exception:  # noqa: BLE001  (the file is replaced atomically; a read can only race its creation)
                frame = None
            if frame is not None and (frame["model"] == "mlp").any():
                break
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before the signal could interrupt it"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    frame = read_results([out])  # readable whatever the signal
    cases = frame[frame["model"] == "mlp"]
    assert len(cases) and (cases["status"] == "ok").all()
    for _, rows in cases.groupby(["config", "backend", "dtype", "threads", "repeat"]):
        assert rows["round"].notna().all() and (rows["seconds"] > 0).all()
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err[-500:]


def bench_here(capsys, *args) -> tuple[int, str]:
    """``python -m bench ARGS`` in this process (the readers' refusals need no timing): code, stderr."""
    from bench import cli

    code = cli.main([str(a) for a in args])
    return code, capsys.readouterr().err


def test_an_empty_results_file_is_refused_by_every_reader(tmp_path, capsys):
    empty = tmp_path / "empty.parquet"
    to_frame([]).to_parquet(empty, index=False)
    for args in (["report", empty, "--out", tmp_path / "r"], ["check", "--baseline", empty, empty],
                 ["noise", empty]):
        code, err = bench_here(capsys, *args)
        assert code == 2 and "holds no rows" in err and len(err.strip().splitlines()) == 1, (args, err)


def test_only_failed_or_harness_rows_are_refused(tmp_path, capsys):
    failed = tmp_path / "failed.parquet"
    to_frame([dict(base_row("lab-a"), status="failed", error="boom", round=None, seconds=float("nan"))]).to_parquet(
        failed, index=False)
    harness = tmp_path / "harness.parquet"
    to_frame([dict(base_row("lab-a"), model="noop", config="noop", backend="none")]).to_parquet(harness, index=False)
    for path in (failed, harness):
        for args in (["report", path, "--out", tmp_path / "r"], ["check", "--baseline", path, path]):
            code, err = bench_here(capsys, *args)
            assert code == 2 and "no successful" in err, (args, err)


# -- hostile input: no traceback, ever -------------------------------------------------------------
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

WORDS = st.sampled_from(["mlp", "mlp-tiny", "mlp-width-0", "mlp-width--3", "mlp-width-99999999999", "resnet18",
                         "resnet50-224@0", "resnet50-224@x", "mlp-tiny@999999999999", "numpy", "loops", "julia",
                         "torch-cuda", "quick", "gpu", "fast", "-1", "0", "nan", "1e309", "", "é", "--", "HEAD",
                         "no-such-rev"])
FLAGS = st.sampled_from(["--profile", "--models", "--backends", "--out", "--baseline", "--thresholds", "--pairs",
                         "--against", "--write", "--keep", "--allow-other-machine", "--skip-unknown-machine"])


def _corrupt(folder: Path, data: bytes, kind: int) -> Path:
    """A results file that is broken in one of several ways."""
    path = folder / f"bad{kind}.parquet"
    if kind == 0:
        path.write_bytes(data)
    elif kind == 1:  # a real results file, truncated
        to_frame([base_row("lab-a")]).to_parquet(path, index=False)
        raw = path.read_bytes()
        path.write_bytes(raw[: max(1, len(raw) * len(data) // 256)])
    elif kind == 2:  # impossible values
        row = dict(base_row("lab-a"), seconds=-1.0, threads=0, batch_size=-5)
        to_frame([row]).to_parquet(path, index=False)
    else:  # wrong types in the right columns
        frame = to_frame([base_row("lab-a")]).astype({"seconds": "string", "threads": "string"})
        frame.to_parquet(path, index=False)
    return path


def _no_verifier(self, *args, **kwargs):
    raise KeyboardInterrupt  # stands for "validation passed, work would start": the CLI answers 130


def _main(argv) -> tuple[int, str]:
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        try:
            code = cli.main([str(a) for a in argv])
        except SystemExit as exc:  # argparse's own exit, with its one line
            code = exc.code
    return code, err.getvalue()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from(["run", "report", "check", "noise", "verify"]),
       words=st.lists(st.one_of(WORDS, FLAGS), max_size=6), data=st.binary(max_size=64),
       kind=st.integers(0, 3), use_file=st.booleans())
def test_generated_arguments_and_files_never_give_a_traceback(tmp_path, monkeypatch, command, words, data, kind,
                                                            use_file):
    from bench import runner, verify
    from bench.regression import against

    # default outputs (reports/, results/) land here, never over the checkout's committed ones
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(runner.Runner, "run", lambda self, *a, **k: [])  # parse and validate; time nothing
    monkeypatch.setattr(against, "run_against", lambda *a, **k: 0)  # --against: validation only, no real runs
    monkeypatch.setattr(verify.Verifier, "__init__", _no_verifier)  # verify: validation only
    argv = [command, *words]
    if use_file:
        argv.append(_corrupt(tmp_path, data, kind))
    code, err = _main(argv)
    assert code in (0, 1, 2, 130), (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    assert len(err.strip().splitlines()) <= 1 or code == 0, (argv, err)
