"""vecbench's cases as pytest-benchmark benchmarks, for readers who compare with pytest-benchmark:

    python -m pytest benchmarks/ --benchmark-only [--vecbench-profile quick]
        [--vecbench-models mlp-mnist,resnet50] [--vecbench-backends numpy,torch-cpu]
        [--benchmark-json FILE]

The cases are the ones ``python -m bench run`` would run with the same profile, models and
backends (``bench.suite``), each verified against the float64 reference exactly as ``bench run``
verifies it (``bench.case_preparation.prepare``) before pytest-benchmark times it: a case that
fails verification fails its test and is never timed; one that cannot run here is skipped with the
reason. pytest-benchmark's own timer and statistics decide the numbers; what vecbench's timer adds
is in docs/method.md.
"""

from __future__ import annotations

import pytest

from bench.errors import UsageError
from bench.machine import available_cores
from bench.profiles import get_profile
from bench.suite import check_backends, expand_cases, select_configs


def pytest_addoption(parser):
    group = parser.getgroup("vecbench", "vecbench's cases as benchmarks")
    group.addoption("--vecbench-profile", default="quick",
                    help="the bench run profile whose cases to time (default: quick)")
    group.addoption("--vecbench-models", default="",
                    help="comma-separated models or configs of the profile (default: all of them)")
    group.addoption("--vecbench-backends", default="",
                    help="comma-separated backends (default: every registered one)")


def _names(text: str) -> list[str] | None:
    return [name.strip() for name in text.split(",") if name.strip()] or None


def selected_cases(config) -> tuple:
    """The profile and the cases the command line selects; bad input is one line (pytest's usage
    error), as ``bench run`` says it."""
    try:
        profile = get_profile(config.getoption("vecbench_profile"))
        configs = select_configs(profile, _names(config.getoption("vecbench_models")))
        backends = check_backends(_names(config.getoption("vecbench_backends")))
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    return profile, expand_cases(configs, backends, available_cores())


def pytest_configure(config):
    """Bad input stops pytest before it collects anything: one line and exit 4 (a usage error)."""
    config.vecbench_selection = selected_cases(config)


def pytest_generate_tests(metafunc):
    if "vecbench_case" in metafunc.fixturenames:
        _, cases = metafunc.config.vecbench_selection
        metafunc.parametrize("vecbench_case", cases, ids=[case.label for case in cases])
