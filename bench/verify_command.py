"""``python -m bench verify``: every selected case's steps checked against torch float64, as
``bench run`` checks them (``bench.case_verification``), one verdict line each, nothing timed.

Exit codes: 0 every case verified or was skipped with its reason; 1 a mismatch.
"""

from __future__ import annotations

from implementations import get_backend, is_cuda_backend, make_trainer

from . import case_verification, profiles, suite, verify
from .errors import UsageError
from .formatting import first_names


def verify_cases(args) -> int:
    """``bench verify`` with parsed ``args`` (``bench.cli_parser``); its exit code."""
    profile = profiles.get_profile(args.profile)
    configs = suite.select_configs(profile, args.models)
    backends = suite.check_backends(args.backends or list(profile.backends) or None)
    # A backend the selection never runs would leave "verified" with nothing checked: refuse it
    # before any work (the profile may run a backend on some configs only).
    selected = {case.backend for case in suite.expand_cases(configs, backends, cores=1)}
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
