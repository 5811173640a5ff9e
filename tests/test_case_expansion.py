"""The cases every profile expands into, compared with those the suite expanded before its policy
moved into the models' and backends' descriptions (issue 31).

``tests/data/expanded_cases.json`` was written by :func:`expanded` at commit c6aaf07, where the
suite still decided ResNet-50 at 224 px beyond batch 1 by the config's resolution and the loops
backend by name (``python -c "from tests.test_case_expansion import write; write()"`` rewrites it:
do that only for a change that means to change which cases run, and say so in CHANGELOG.md).
"""

from __future__ import annotations

import json
from pathlib import Path

from bench import configs, profiles, suite
from bench.reference import reference_steps, verify_steps

FIXTURE = Path(__file__).resolve().parent / "data" / "expanded_cases.json"
CORES = (1, 2, 16)  # a one-core machine (no all-cores twins), CI's two cores, the GPU machine's host
# Configs at batch sizes no profile names, through ``NAME@B``: the 224-px rule at and beyond batch 1,
# and the same at other resolutions and models, where it must not apply.
OTHER_CONFIGS = ("resnet50-224@1", "resnet50-224@2", "resnet50-224@8", "resnet50-224@256", "resnet50-32@1",
                 "resnet50-32@64", "mlp-mnist@1", "mlp-mnist@256", "mlp-wide@512", "mlp-width-100@3")


def _describe(cases) -> list[str]:
    """One line per case: its label and how it is timed (``verify_timed_round``: once, verified from
    that step), so that a change to either shows."""
    return [f"{case.label} timed-round={case.backend in case.config.verify_timed_round}" for case in cases]


def expanded() -> dict[str, list[str]]:
    """Every profile's cases (its configs, its backends) on machines of ``CORES`` cores, each
    profile's configs of one model selected by ``--models``, and ``OTHER_CONFIGS`` on every built-in
    backend."""
    out: dict[str, list[str]] = {}
    for name in profiles.PROFILES:
        profile = profiles.get_profile(name)
        backends = suite.check_backends(list(profile.backends) or None)
        for cores in CORES:
            out[f"{name} {cores} cores"] = _describe(
                suite.expand_cases(suite.select_configs(profile, None), backends, cores=cores))
        for model in ("mlp", "resnet50"):
            out[f"{name} --models {model}"] = _describe(
                suite.expand_cases(suite.select_configs(profile, [model]), backends, cores=2))
    others = [configs.get_config(name) for name in OTHER_CONFIGS]
    for cores in CORES:
        out[f"other configs {cores} cores"] = _describe(suite.expand_cases(others, suite.check_backends(None),
                                                                           cores=cores))
    return out


def write() -> None:
    FIXTURE.write_text(json.dumps(expanded(), indent=1) + "\n")


def test_every_profile_expands_into_the_cases_it_expanded_before():
    before = json.loads(FIXTURE.read_text())
    now = expanded()
    assert now.keys() == before.keys()
    for key, cases in before.items():
        assert now[key] == cases, key


def test_resnet50_at_224_beyond_batch_1_runs_no_loops_and_float32_only():
    """The rule the fixture holds, stated on its own: at 224 px and a batch over 1, no case of the
    loop baseline and none in float64; at batch 1, or 32 px, both."""
    def cases_of(name):
        return suite.expand_cases([configs.get_config(name)], suite.check_backends(None), cores=2)

    for name in ("resnet50-224@2", "resnet50-224@32"):
        cases = cases_of(name)
        assert cases and {c.dtype for c in cases} == {"float32"}
        assert "loops" not in {c.backend for c in cases}
    for name in ("resnet50-224@1", "resnet50-32@64"):
        cases = cases_of(name)
        assert "loops" in {c.backend for c in cases} and "float64" in {c.dtype for c in cases}


def test_a_float32_only_config_needs_a_reference_of_one_step_and_the_others_two():
    """The reference runs as many steps as the config's most-verified dtype needs: float32 one
    step for ResNet-50, float64 two; so the float32-only ResNet-50 at 224 beyond batch 1 halves it."""
    assert (verify_steps("resnet50", "float32"), verify_steps("resnet50", "float64")) == (1, 2)
    assert reference_steps(configs.get_config("resnet50-224@32")) == 1
    for name in ("resnet50-224", "resnet50-224@1", "resnet50-32@8", "mlp-mnist@64"):
        assert reference_steps(configs.get_config(name)) == 2, name
