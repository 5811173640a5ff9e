"""``python -m bench``: run, verify, report, check, noise, export, docs, list. The CLI is a public interface.

Exit codes: 0 success; 1 a case failed verification (run, verify) or a regression (check);
2 unusable input (one line on stderr saying what is wrong and what is accepted); 3 (check) no
regression found but the machine was too contended to judge some case; 130 interrupted.

This module dispatches: the arguments are ``bench.cli_parser``'s, ``run`` and ``verify`` have
modules of their own, the other commands are a few lines each over the module that does the work.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from .cli_parser import build_parser
from .errors import UsageError


def _cmd_run(args) -> int:
    from .run_command import run  # noqa: PLC0415

    return run(args)


def _cmd_verify(args) -> int:
    from .verify_command import verify_cases  # noqa: PLC0415

    return verify_cases(args)


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
    args = build_parser().parse_args(argv)
    # SIGTERM (a CI job cancelled, `kill`) ends a command as Ctrl-C does: what it started (a
    # data-parallel case's processes) is ended on the way out, and what it recorded is kept
    previous = signal.signal(signal.SIGTERM, _interrupt) if threading.current_thread() is threading.main_thread() else None
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
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame):
    raise KeyboardInterrupt
