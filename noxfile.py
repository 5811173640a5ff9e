"""nox sessions: ``bench`` (the main job), ``tests``, ``report``, ``check``.

Each session installs the project with the pinned versions in constraints.txt into its own
virtualenv, then calls ``python -m bench ...``: the same commands run without nox on a machine
that cannot install anything (the GPU machine).
"""

from __future__ import annotations

import socket
from datetime import datetime, timezone
from pathlib import Path

import nox
from nox.command import CommandFailed

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests"]

PYTHON = "3.11"  # what CI's machine has; the project supports >= 3.11
RUN_REPORTS = "reports/runs"  # reports of users' runs: ignored by git, never the committed reports/


def _install(session: nox.Session) -> None:
    # numba is an optional extra of the package (the numba backend), installed by every session here
    session.install("-c", "constraints.txt", "-e", ".[test,numba]")


def _stamped(profile: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"results/{stamp}-{socket.gethostname()}-{profile}.parquet"


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run the default profile into results/, then build a report of that run beside the committed
    references in reports/runs/<the run's name>/ (ignored by git: a user's run never overwrites the
    committed reference report in reports/).

    A case that fails verification makes ``bench run`` exit 1; the report is still built (it lists
    the failure) and the session then fails.
    """
    _install(session)
    out = _stamped("default")
    try:
        session.run("python", "-m", "bench", "run", "--profile", "default", "--out", out, *session.posargs)
        failed = None
    except CommandFailed as exc:
        failed = exc
    if Path(out).exists():
        session.run("python", "-m", "bench", "report", "results/reference", out,
                    "--out", f"{RUN_REPORTS}/{Path(out).stem}")
    if failed:
        session.error(f"bench run failed ({failed.reason}); what it measured is in {out} and the report")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole test suite, slow tests included (pass -m 'not slow' to skip them)."""
    _install(session)
    session.run("python", "-m", "pytest", "--durations=15", *session.posargs)  # the slowest, for CI's thirty minutes


@nox.session(python=PYTHON)
def vecbench(session: nox.Session) -> None:
    """Any ``python -m bench`` command in the project's environment: ``nox -s vecbench -- report results``."""
    _install(session)
    if not session.posargs:
        session.error("name a command after --, e.g. nox -s vecbench -- list")
    session.run("python", "-m", "bench", *session.posargs)


@nox.session(python=PYTHON)
def report(session: nox.Session) -> None:
    """Build reports/runs/yours/ from the reference results and your own runs in results/*.parquet
    (``-- --out DIR`` elsewhere; the committed reports/ is ``python -m bench report results/reference``).

    Not from all of results/: the baseline's quick runs and the power study's deliberately slowed
    runs are newer than the references and would stand in for them.
    """
    _install(session)
    own = sorted(str(p) for p in Path("results").glob("*.parquet"))
    out = [] if "--out" in session.posargs else ["--out", f"{RUN_REPORTS}/yours"]
    session.run("python", "-m", "bench", "report", "results/reference", *own, *out, *session.posargs)


@nox.session(python=PYTHON)
def check(session: nox.Session) -> None:
    """CI's regression check: the known-good commit (.ci/known-good) and the working tree timed in
    alternate runs of this job, every case, backend, speedup and the harness judged
    (docs/regression-check.md). Fails on a regression and on no verdict (exit 3); arguments after
    -- go to ``bench check`` (e.g. ``-- --pairs 8``)."""
    _install(session)
    session.run("python", "-m", "bench", "check", "--against", known_good(), *session.posargs)


def known_good() -> str:
    """The commit CI judges against: the first line of .ci/known-good that is not a comment."""
    lines = [line.strip() for line in Path(".ci/known-good").read_text().splitlines()]
    return next(line for line in lines if line and not line.startswith("#"))
