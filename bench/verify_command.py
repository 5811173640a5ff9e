"""``python -m bench verify``: every selected case's steps checked against torch float64, as
``bench run`` checks them (``bench.case_verification``), one verdict line each, nothing timed.

Exit codes: 0 every case verified or was skipped with its reason; 1 a mismatch.
"""

from __future__ import annotations

from implementations import get_backend, is_cuda_backend, make_trainer
from implementations.registry import spans_processes

from . import case_verification, profiles, suite, verify
from .data_parallel_case import unsupported, verified_steps
from .errors import UsageError
from .machine import available_cores
from .formatting import first_names


def verify_cases(args) -> int:
    """``bench verify`` with parsed ``args`` (``bench.cli_parser``); its exit code."""
    profile = profiles.get_profile(args.profile)
    configs = suite.select_configs(profile, args.models)
    backends = suite.check_backends(args.backends or list(profile.backends) or None)
    # A backend the selection never runs would leave "verified" with nothing checked: refuse it
    # before any work (the profile may run a backend on some configs only).
    world_sizes = getattr(args, "world_size", None) or [available_cores()]  # one process per core, as bench run
    if any(n < 1 for n in world_sizes):
        raise UsageError(f"--world-size {' '.join(map(str, world_sizes))}: each must be at least 1")
    selected = {case.backend for case in suite.expand_cases(configs, backends, cores=1, world_sizes=world_sizes)}
    idle = [b for b in backends if b not in selected]
    if args.backends:  # nothing could be verified: not a pass
        suite.refuse_if_none_can_run(backends)
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
        for case in suite.expand_cases([config], backends, cores=1, world_sizes=world_sizes):
            name = case.backend + (f" x{case.world_size}" if case.world_size > 1 else "")
            reason = get_backend(case.backend).unavailable() or (unsupported(case) if spans_processes(case.backend)
                                                                else "")
            if reason:
                print(f"{config.name:<16} {name:<18} {case.dtype:<8} {'':>14} {'':>10}  skipped: {reason}")
                continue
            precision = case_verification.precision_fields(case.backend, config.model, case.dtype,
                                         on_gpu=is_cuda_backend(case.backend))["precision"]
            blind = ()
            try:  # as `bench run` verifies the case
                judge = verifier
                if spans_processes(case.backend):  # its ranks, started and ended here
                    judge, result = verified_steps(case, verifier, precision)
                else:
                    trainer = make_trainer(case.backend, config.model, config.spec, reference.params, case.dtype)
                    result = case_verification.run_case(verifier, case.backend, precision, trainer,
                                                        trainer.prepare_batch(reference.x, reference.y))
                checked = case_verification.verify_case(judge, case.backend, case.dtype, precision, result)
                error, bound, blind, verdict = checked.error, checked.bound, checked.blind_spots, "ok"
            except verify.VerificationError as exc:
                error, bound, verdict = float("nan"), float("nan"), f"MISMATCH: {exc}"
                mismatches += 1
            print(f"{config.name:<16} {name:<18} {case.dtype:<8} {error:>14.3e} {bound:>10.1e}  {verdict}")
            if blind:
                print(f"{'':<16} note: bounds of 1% or more (a 1% fault would pass) on {len(blind)} tensors: "
                      f"{first_names(blind)}")
    return 1 if mismatches else 0
