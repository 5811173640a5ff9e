"""The CLI as a user meets it: one line and exit 2 for bad input, results kept across runs."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench import cli
from bench.results import read_results
from tests.conftest import ROOT


def bench(*args):
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def bench_here(capsys, *args) -> tuple[int, str, str]:
    """``python -m bench ARGS`` in this process (no second torch import): exit code, stdout, stderr.
    The subprocess tests below show the same one-line rule holds for a real process."""
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("args, message", [
    (["run", "--profile", "fast"], "unknown profile 'fast'; accepted: quick, ci, default, full"),
    (["run", "--backends", "julia"], "unknown backend 'julia'; accepted: loops, numba, numpy, torch-cpu, torch-ddp, torch-cuda"),
    (["run", "--models", "vgg16"], "unknown model or config 'vgg16'; models: mlp, resnet50; configs: mlp-tiny"),
    (["run", "--models", "resnet18"], "unknown model or config 'resnet18'; models: mlp, resnet50"),
    (["run", "--models", "mlp-width-0"], "mlp-width-0: a width must be a positive integer"),
    (["run", "--models", "mlp-width-99999999999", "--backends", "numpy"], "needs about"),
    (["run", "--models", "resnet50-224@100000", "--backends", "numpy"], "of memory; this machine has"),
    (["verify", "--models", "mlp-huge"], "unknown model or config 'mlp-huge'"),
    (["report", "does/not/exist.parquet"], "does/not/exist.parquet: no such file or folder"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, capsys):
    code, _, err = bench_here(capsys, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err


def test_unwritable_out_is_refused_before_running(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = bench("run", "--profile", "quick", "--models", "mlp-tiny", "--backends", "numpy",
                 "--out", str(blocker / "r.parquet"))
    assert done.returncode == 2 and "cannot write results there" in done.stderr


def test_corrupt_out_file_is_refused_and_left_as_it_was(tmp_path):
    out = tmp_path / "r.parquet"
    out.write_bytes(b"garbage")
    done = bench("run", "--profile", "quick", "--models", "mlp-tiny", "--backends", "numpy", "--out", str(out))
    assert done.returncode == 2 and "not a readable parquet file" in done.stderr
    assert out.read_bytes() == b"garbage"


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_torch_cuda_alone_without_gpu_exits_2_saying_why(capsys):
    code, _, err = bench_here(capsys, "run", "--profile", "quick", "--backends", "torch-cuda")
    assert code == 2
    assert "torch-cuda cannot run here: no CUDA GPU is available" in err
    assert "backends that can: loops, numba, numpy, torch-cpu" in err


def test_run_twice_into_one_file_appends(tmp_path):
    out = tmp_path / "r.parquet"
    args = ["run", "--profile", "quick", "--models", "mlp-tiny", "--backends", "loops", "numpy", "--out", str(out),
            "--no-progress"]
    first = bench(*args)
    assert first.returncode == 0, first.stderr
    assert "loops / X" in first.stdout and "harness overhead" in first.stdout
    rows = len(read_results([out]))
    second = bench(*args)
    assert second.returncode == 0, second.stderr
    frame = read_results([out])
    assert len(frame) > rows and frame["run_id"].nunique() == 2


def test_a_run_records_the_sweep_width_of_a_sweep_config_only(tmp_path):
    """Readers place a case in the width sweep by its recorded sweep_width (schema 7), so a run
    must write it: N for mlp-width-N, null for a named config."""
    out = tmp_path / "r.parquet"
    done = bench("run", "--profile", "quick", "--models", "mlp-tiny", "mlp-width-8", "--backends", "numpy",
                 "--out", str(out), "--no-progress")
    assert done.returncode == 0, done.stderr
    frame = read_results([out])
    steps = frame[frame.model == "mlp"]
    widths = steps.groupby("config")["sweep_width"].agg(lambda s: set(s.dropna().astype(int)))
    assert widths["mlp-width-8"] == {8} and widths["mlp-tiny"] == set()
    assert steps[steps.config == "mlp-width-8"]["sweep_width"].notna().all()


def test_verify_refuses_a_backend_the_selection_never_runs(capsys):
    """Verifying nothing is not a pass: the quick profile runs numba on two configs only."""
    code, out, err = bench_here(capsys, "verify", "--models", "mlp-mnist", "--backends", "numba", "numpy")
    assert code == 2 and out == ""
    assert err.strip().endswith("--backends numba: no case of it at mlp-mnist in profile quick; choose other "
                                "--models or another --profile (e.g. default)")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_verify_of_backends_that_cannot_run_here_is_refused(capsys):
    code, out, err = bench_here(capsys, "verify", "--models", "mlp-mnist", "--backends", "torch-cuda")
    assert code == 2 and out == ""
    assert "torch-cuda cannot run here: no CUDA GPU is available" in err


def test_verify_prints_each_backends_error_and_passes():
    done = bench("verify", "--models", "mlp-tiny", "mlp-mnist", "--backends", "loops", "numpy", "torch-cpu")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("mlp-") and "reference:" not in line]
    assert len(lines) == 2 * (1 + 2 + 2)
    assert all(line.endswith("ok") for line in lines)
    confirmed = [line for line in done.stdout.splitlines() if "reference: torch float64 = numpy float64 within" in line]
    assert [line.split()[0] for line in confirmed] == ["mlp-tiny", "mlp-mnist"]


def test_bench_run_and_bench_verify_verify_a_case_with_one_function(tmp_path, monkeypatch, capsys):
    """One verification of a case (``bench.case_verification.verify_case``) for both commands: a
    fault planted in it fails the case in ``bench verify`` and in ``bench run`` alike, so neither
    command can drift from the other."""
    from bench import case_verification, verify
    from bench.cli import main

    def planted(*args, **kwargs):
        raise verify.VerificationError("planted mismatch")

    monkeypatch.setattr(case_verification, "verify_case", planted)
    assert main(["verify", "--models", "mlp-tiny", "--backends", "numpy"]) == 1
    assert "MISMATCH: planted mismatch" in capsys.readouterr().out
    out = tmp_path / "r.parquet"
    assert main(["run", "--profile", "quick", "--models", "mlp-tiny", "--backends", "numpy", "--no-progress",
                 "--out", str(out)]) == 1
    frame = read_results([out])
    cases = frame[frame["model"] == "mlp"]
    assert len(cases) and (cases["status"] == "failed").all() and cases["error"].str.contains("planted").all()


def test_the_main_job_never_overwrites_the_committed_report(tmp_path, monkeypatch):
    """``nox -s bench`` and ``nox -s report`` write a user's report under reports/runs/ (ignored by
    git), with the committed references beside the user's run; reports/ itself stays the committed
    reference report. The noxfile's sessions run against a stand-in nox that records commands."""
    import importlib.util
    import types

    class Session:
        posargs: list = []

        def __init__(self):
            self.commands = []

        def install(self, *args):
            pass

        def run(self, *args):
            self.commands.append(list(args))
            if args[3] == "run":  # the run writes its results file
                out = Path(args[args.index("--out") + 1])
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(b"")

        def error(self, message):
            raise AssertionError(message)

    fake = types.ModuleType("nox")
    fake.options = types.SimpleNamespace()
    fake.Session = Session
    fake.session = lambda **kwargs: (lambda function: function)
    command = types.ModuleType("nox.command")
    command.CommandFailed = type("CommandFailed", (Exception,), {})
    monkeypatch.setitem(sys.modules, "nox", fake)
    monkeypatch.setitem(sys.modules, "nox.command", command)
    spec = importlib.util.spec_from_file_location("noxfile_under_test", ROOT / "noxfile.py")
    noxfile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(noxfile)
    monkeypatch.chdir(tmp_path)
    for session_function in (noxfile.bench, noxfile.report):
        session = Session()
        session_function(session)
        reports = [c for c in session.commands if c[3] == "report"]
        assert reports, session.commands
        for c in reports:
            out = Path(c[c.index("--out") + 1])
            assert out.parts[:2] == ("reports", "runs"), c
            assert "results/reference" in c, c
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "/reports/runs/" in ignored
