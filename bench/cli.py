"""``python -m bench``: run, verify, report, check, noise, list. The CLI is a public interface.

Exit codes: 0 success; 1 a case failed verification (run, verify) or a regression (check);
2 unusable input (one line on stderr saying what is wrong and what is accepted); 3 (check) no
regression found but the machine was too contended to judge some case; 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path

from .errors import UsageError

RESULTS_DIR = Path("results")
REPORTS_DIR = Path("reports")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not the usage block: the message names what is accepted
        self.exit(2, f"{self.prog}: error: {message}\n")


def _build_parser() -> argparse.ArgumentParser:
    from .profiles import PROFILES  # noqa: PLC0415

    parser = _Parser(prog="python -m bench", description="vecbench: loops vs vectorized neural-network training")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="verify and time every case of a profile, appending rows to parquet")
    run.add_argument("--profile", default="default", help=f"one of {', '.join(PROFILES)} (default: default)")
    run.add_argument("--models", nargs="+", metavar="MODEL_OR_CONFIG",
                     help="models (mlp, resnet50) or config names (mlp-mnist, mlp-width-64, ...)")
    run.add_argument("--backends", nargs="+", metavar="BACKEND", help="backends, as `python -m bench list` names them (plug-ins "
                     "included; default: the profile's, else all)")
    run.add_argument("--out", metavar="PATH", help="results .parquet file; appended to if it exists "
                     "(default: results/<time>-<host>-<profile>.parquet)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")

    ver = sub.add_parser("verify", help="compare every backend with torch float64 autograd; print max relative errors")
    ver.add_argument("--profile", default="quick", help=f"whose configs to verify: {', '.join(PROFILES)} (default: quick)")
    ver.add_argument("--models", nargs="+", metavar="MODEL_OR_CONFIG")
    ver.add_argument("--backends", nargs="+", metavar="BACKEND")

    rep = sub.add_parser("report", help="build the report (index.html, report.pdf, report.md and its long tables as CSV) from results files")
    rep.add_argument("results", nargs="+", metavar="RESULTS", help="parquet files or folders of them")
    rep.add_argument("--out", default=str(REPORTS_DIR), metavar="DIR", help="output folder (default: reports)")

    chk = sub.add_parser("check", help="is any case slower than its baseline beyond this machine's noise? "
                                       "exit 1 on a regression, 3 when the machine was too contended to say")
    side = chk.add_mutually_exclusive_group(required=True)
    side.add_argument("--baseline", metavar="BASELINE", help="baseline parquet file or folder (one file per machine kind)")
    side.add_argument("--against", metavar="REV", help="git revision to time interleaved with the working tree "
                      "in this job (built in a temporary worktree)")
    chk.add_argument("results", nargs="*", metavar="RESULTS", help="with --baseline: parquet files or folders of the "
                     "current run")
    chk.add_argument("--thresholds", metavar="PATH", help="A/A thresholds: a .json file or a folder of them "
                     "(default: with --against, results/ab; with --baseline, the baseline's folder)")
    chk.add_argument("--allow-other-machine", action="store_true",
                     help="with --baseline: compare even when the machine differs from the baseline's")
    chk.add_argument("--skip-unknown-machine", action="store_true",
                     help="with --baseline: exit 0 with one line when this machine kind has no baseline or A/A "
                          "thresholds (CI on a machine kind not measured yet)")
    chk.add_argument("--profile", default="ci", help="with --against: the profile both sides run (default: ci)")
    chk.add_argument("--models", nargs="+", metavar="MODEL_OR_CONFIG", help="with --against: the models or configs")
    chk.add_argument("--backends", nargs="+", metavar="BACKEND", help="with --against: the backends")
    chk.add_argument("--pairs", type=int, default=5, help="with --against: runs per side, alternating (default: 5, "
                     "what CI runs and the committed A/A study sized)")
    chk.add_argument("--budget", type=float, default=float("inf"), metavar="SECONDS",
                     help="with --against: while a gated quantity has too few uncontended pairs, run one more pair "
                          "if it can end within SECONDS of the start (default: no limit)")
    chk.add_argument("--keep", metavar="DIR", help="with --against: keep both sides' results files in DIR")

    noi = sub.add_parser("noise", help="A/A study of repeated runs: per-case spread, check thresholds, false alarms, "
                                       "interval coverage")
    noi.add_argument("results", nargs="+", metavar="RESULTS", help="results files or folders of repeated runs")
    noi.add_argument("--write", metavar="FILE", help="save the per-case thresholds `bench check` reads (.json)")
    noi.add_argument("--paired", action="store_true", help="RESULTS are folders that `bench check --against REV "
                     "--keep DIR` left with REV the working tree's own commit (an A/A study of CI's check): write the "
                     "paired thresholds")
    noi.add_argument("--ci-pairs", type=int, default=5, help="with --paired: the pairs CI runs (default: 5)")

    exp = sub.add_parser("export", help="write results files as pytest-benchmark JSON (one file per machine, for "
                                        "pytest-benchmark compare) and as CSV (cases.csv)")
    exp.add_argument("results", nargs="+", metavar="RESULTS", help="parquet files or folders of them")
    exp.add_argument("--out", required=True, metavar="DIR", help="folder to write into")

    doc = sub.add_parser("docs", help="write the tables of README.md and docs/ from the committed references "
                                      "(results/reference) and the schema")
    doc.add_argument("--check", action="store_true",
                     help="write nothing; exit 1 if any generated table differs from what the results give")

    sub.add_parser("list", help="print the accepted models, configs, backends and profiles")
    return parser


def _default_out(profile: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return RESULTS_DIR / f"{stamp}-{socket.gethostname()}-{profile}.parquet"


def _refuse_if_none_can_run(backends: list[str]) -> None:
    """UsageError naming why, where no backend of ``backends`` can run here (run and verify alike:
    every case skipped is not a run, nor a verification)."""
    from implementations import backend_names, get_backend  # noqa: PLC0415

    reasons = [get_backend(b).unavailable() for b in backends]
    if all(reasons):
        can = [b for b in backend_names() if not get_backend(b).unavailable()]
        raise UsageError(f"{', '.join(backends)} cannot run here: {'; '.join(dict.fromkeys(reasons))}; "
                         f"backends that can: {', '.join(can)}")


def _cmd_run(args) -> int:
    from . import memory, profiles, suite  # noqa: PLC0415
    from .results import ResultsWriter  # noqa: PLC0415
    from .runner import Runner  # noqa: PLC0415
    from .measurement import measurements  # noqa: PLC0415
    from .summary import (format_blind_spots, format_harness, format_load, format_speedups,  # noqa: PLC0415
                          format_suspects)
    from implementations import get_backend  # noqa: PLC0415

    profile = profiles.get_profile(args.profile)
    configs = suite.select_configs(profile, args.models)
    backends = suite.check_backends(args.backends or list(profile.backends) or None)
    _refuse_if_none_can_run(backends)
    cases = suite.expand_cases(configs, backends)
    if not cases:
        raise UsageError("the selection holds no case to run")
    memory.check_memory([c for c in cases if not get_backend(c.backend).unavailable()])  # the skipped need none
    writer = ResultsWriter(args.out or _default_out(profile.name))
    runner = Runner(writer, profile.budget, profile.name, progress=not args.no_progress)
    try:
        runner.run(cases, peak_sizes=profile.peak_sizes)
    except KeyboardInterrupt:
        print(f"\ninterrupted: {len(runner.outcomes)} finished case(s) are kept in {writer.path}", file=sys.stderr)
        return 130
    frame = writer.frame()
    this_run = frame[frame["run_id"] == runner.run_id]
    print(format_harness(this_run))
    print(format_speedups(this_run))
    for text in (format_suspects(this_run), format_blind_spots(this_run), format_load(measurements(this_run))):
        if text:
            print(text)
    skipped: dict[str, int] = {}
    for outcome in runner.outcomes:
        if outcome.status == "skipped":
            skipped[outcome.error] = skipped.get(outcome.error, 0) + 1
    for reason, count in skipped.items():
        print(f"skipped {count} case(s): {reason}")
    failed = [o for o in runner.outcomes if o.status == "failed"]
    for outcome in failed:
        print(f"FAILED: {outcome.label}: {outcome.error}", file=sys.stderr)
    print(f"results: {writer.path}")
    return 1 if failed else 0


def _cmd_verify(args) -> int:
    from . import profiles, suite, verify  # noqa: PLC0415
    from .formatting import first_names  # noqa: PLC0415
    from . import case_verification  # noqa: PLC0415
    from implementations import get_backend, is_cuda_backend, make_trainer  # noqa: PLC0415

    profile = profiles.get_profile(args.profile)
    configs = suite.select_configs(profile, args.models)
    backends = suite.check_backends(args.backends or list(profile.backends) or None)
    # A backend the selection never runs would leave "verified" with nothing checked: refuse it
    # before any work (the profile may run a backend on some configs only).
    selected = {case.backend for case in suite.expand_cases(configs, backends, cores=1)}
    idle = [b for b in backends if b not in selected]
    if args.backends:  # nothing could be verified: not a pass
        _refuse_if_none_can_run(backends)
    if idle and args.backends:
        raise UsageError(f"--backends {', '.join(idle)}: no case of {'it' if len(idle) == 1 else 'them'} at "
                         f"{', '.join(c.name for c in configs)} in profile {profile.name}; choose other --models "
                         "or another --profile (e.g. default)")
    mismatches = 0
    print(f"{'config':<16} {'backend':<18} {'dtype':<8} {'max rel error':>14} {'tolerance':>10}  verdict")
    for config in configs:
        verifier = verify.Verifier(config)
        reference = verifier.reference
        oracle = verifier.oracle
        print(f"{config.name:<16} reference: {oracle.error or oracle.describe()}")
        for case in suite.expand_cases([config], backends, cores=1):
            reason = get_backend(case.backend).unavailable()
            if reason:
                print(f"{config.name:<16} {case.backend:<18} {case.dtype:<8} {'':>14} {'':>10}  skipped: {reason}")
                continue
            trainer = make_trainer(case.backend, config.model, config.spec, reference.params, case.dtype)
            precision = case_verification.precision_fields(case.backend, config.model, case.dtype,
                                         on_gpu=is_cuda_backend(case.backend))["precision"]
            blind = ()
            try:  # as `bench run` verifies the case
                result = case_verification.run_case(verifier, case.backend, precision, trainer,
                                                    trainer.prepare_batch(reference.x, reference.y))
                checked = case_verification.verify_case(verifier, case.backend, case.dtype, precision, result)
                error, bound, blind, verdict = checked.error, checked.bound, checked.blind_spots, "ok"
            except verify.VerificationError as exc:
                error, bound, verdict = float("nan"), float("nan"), f"MISMATCH: {exc}"
                mismatches += 1
            print(f"{config.name:<16} {case.backend:<18} {case.dtype:<8} {error:>14.3e} {bound:>10.1e}  {verdict}")
            if blind:
                print(f"{'':<16} note: bounds of 1% or more (a 1% fault would pass) on {len(blind)} tensors: "
                      f"{first_names(blind)}")
    return 1 if mismatches else 0


def _cmd_report(args) -> int:
    from .report import build_report  # noqa: PLC0415

    for path in build_report(args.results, args.out):
        print(f"report: {path}")
    return 0


def _cmd_export(args) -> int:
    from .export import export  # noqa: PLC0415

    for path in export(args.results, args.out):
        print(f"export: {path}")
    return 0


def _cmd_docs(args) -> int:
    from . import docs  # noqa: PLC0415

    return docs.run(check=args.check)


def _cmd_check(args) -> int:
    from .regression.against import run_against  # noqa: PLC0415
    from .regression.baseline import run_check  # noqa: PLC0415

    if args.against is not None:
        if args.results:
            raise UsageError("--against times both sides itself; it takes no RESULTS files")
        from . import profiles, suite  # noqa: PLC0415

        profile = profiles.get_profile(args.profile)  # refuse bad names before building anything
        suite.select_configs(profile, args.models)
        suite.check_backends(args.backends)
        run_args = ["run", "--profile", profile.name]
        if args.models:
            run_args += ["--models", *args.models]
        if args.backends:
            run_args += ["--backends", *args.backends]
        return run_against(args.against, run_args[1:], pairs=args.pairs, thresholds=args.thresholds, keep=args.keep,
                           budget=args.budget)
    if not args.results:
        raise UsageError("--baseline needs the RESULTS files or folders of the current run")
    return run_check(args.baseline, args.results, thresholds=args.thresholds,
                     allow_other_machine=args.allow_other_machine, skip_unknown_machine=args.skip_unknown_machine)


def _cmd_noise(args) -> int:
    if args.paired:
        from .regression.paired_study import run_paired_study  # noqa: PLC0415

        return run_paired_study(args.results, ci_pairs=args.ci_pairs, write=args.write)
    from .regression.noise import run_noise  # noqa: PLC0415

    return run_noise(args.results, write=args.write)


def _cmd_list(args) -> int:
    from implementations import MODELS, backend_names  # noqa: PLC0415

    from . import configs, profiles  # noqa: PLC0415

    print("models:   " + ", ".join(MODELS))
    print("configs:  " + ", ".join(configs.config_names()) + " (mlp-width-N for any N >= 1)")
    print("backends: " + ", ".join(backend_names()))
    for name in profiles.PROFILES:
        print(f"profile {name}: " + ", ".join(profiles.get_profile(name).configs))
    return 0


COMMANDS = {"run": _cmd_run, "verify": _cmd_verify, "report": _cmd_report, "check": _cmd_check, "noise": _cmd_noise,
            "docs": _cmd_docs, "export": _cmd_export, "list": _cmd_list}


def main(argv: list[str] | None = None) -> int:
    """Run one command. No traceback reaches a user: bad input is one line and exit 2, Ctrl-C is 130,
    and anything unexpected is one line naming the exception (VECBENCH_DEBUG=1 shows the traceback)."""
    args = _build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"python -m bench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"python -m bench {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001  (the one place that turns a bug into one line, not a traceback)
        if os.environ.get("VECBENCH_DEBUG"):
            raise
        text = " ".join(str(exc).split())[:300]
        print(f"python -m bench {args.command}: error: unexpected {type(exc).__name__}: {text} (what was already "
              "recorded is kept; VECBENCH_DEBUG=1 shows where)", file=sys.stderr)
        return 2
