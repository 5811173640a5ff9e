"""One benchmark per vecbench case: one training step (forward, loss, backward, SGD update),
verified first as ``bench run`` verifies it, then timed by pytest-benchmark."""

from __future__ import annotations

import pytest

from bench.case_preparation import LatestVerifier, prepare
from bench.machine import available_cores
from bench.profiles import SLOW_STEP
from bench.run_rows import CaseOutcome, RunStamp
from bench.threads import thread_limit


@pytest.fixture(scope="session")
def run(request):
    """The profile and a stamp for the cases' rows (nothing is written: pytest-benchmark keeps the
    numbers), and each config's float64 reference, built once, one config at a time as bench run does."""
    profile, _ = request.config.vecbench_selection
    return profile, RunStamp.here(profile.name), LatestVerifier()


def test_training_step(benchmark, vecbench_case, run):
    profile, stamp, verifier_of = run
    case = vecbench_case
    ready = prepare(case, stamp.case_row(case), verifier_of, profile.budget, available_cores())
    if isinstance(ready, CaseOutcome):  # skipped here, or failed verification: never timed
        if ready.status == "skipped":
            pytest.skip(ready.error)
        pytest.fail(f"{case.label}: {ready.error}", pytrace=False)
    base = ready.base
    benchmark.group = f"{case.config.key}"
    benchmark.extra_info.update(config=case.config.name, batch_size=case.config.batch_size, backend=case.backend,
                                dtype=case.dtype, threads=case.threads, precision=base.precision,
                                verified_max_rel_error=base.verified_max_rel_error, tolerance=base.tolerance)
    with thread_limit(case.threads):
        if ready.step > SLOW_STEP:  # a step of a quarter second or more: as few rounds as bench run takes
            benchmark.pedantic(ready.target, rounds=max(1, ready.rounds * (ready.repeats - ready.done)), iterations=1)
        else:
            benchmark(ready.target)
