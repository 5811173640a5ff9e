"""The arguments of ``python -m bench``: one subcommand each, what it accepts and its defaults."""

from __future__ import annotations

import argparse

REPORTS_DIR = "reports"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not the usage block: the message names what is accepted
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """Every command's arguments; ``--help`` of each says what it accepts (docs/commands.md)."""
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
    spread = run.add_argument_group("data parallelism (a backend whose step spans processes: torch-ddp)")
    spread.add_argument("--world-size", type=int, nargs="+", metavar="N", help="processes one step is spread "
                        "across, each case at each N; the cores are shared out between them (default: one per core)")
    spread.add_argument("--nnodes", type=int, default=1, metavar="N", help="machines the processes run on, each "
                        "starting world size / N of them with torchrun (default: 1); run the same command on each")
    spread.add_argument("--node-rank", type=int, default=0, metavar="K", help="this machine's rank among them: 0 "
                        "verifies, times and records; the others serve their processes (default: 0)")
    spread.add_argument("--rdzv-endpoint", metavar="HOST:PORT", help="node 0's address and a free port on it, where "
                        "the processes meet; the run's n-th data-parallel case meets at PORT + n (needed with --nnodes "
                        "above 1; default: this machine, a free port)")

    ver = sub.add_parser("verify", help="compare every backend with torch float64 autograd; print max relative errors")
    ver.add_argument("--profile", default="quick", help=f"whose configs to verify: {', '.join(PROFILES)} (default: quick)")
    ver.add_argument("--models", nargs="+", metavar="MODEL_OR_CONFIG")
    ver.add_argument("--backends", nargs="+", metavar="BACKEND")
    ver.add_argument("--world-size", type=int, nargs="+", metavar="N", help="processes a data-parallel backend's "
                     "step is spread across, each N a case (default: one per core)")

    rep = sub.add_parser("report", help="build the report (index.html, report.pdf, report.md and its long tables as CSV) from results files")
    rep.add_argument("results", nargs="+", metavar="RESULTS", help="parquet files or folders of them")
    rep.add_argument("--out", default=REPORTS_DIR, metavar="DIR", help="output folder (default: reports)")

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
