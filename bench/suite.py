"""The cases a run measures: the selected configs of a profile, each on every chosen backend in
each of its dtypes and thread counts. The configs are ``bench.configs``', the profiles
``bench.profiles``', what a case needs in memory ``bench.memory``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from implementations import BACKENDS, backend_dtypes, backend_names, get_backend, is_cuda_backend
from implementations.registry import LOOP_BASELINE, role_of, spans_processes

from .configs import ModelConfig, get_config
from .errors import UsageError
from .keys import CaseKey
from .machine import available_cores
from .profiles import Profile


@dataclass(frozen=True)
class Case:
    """One timed unit: a config on a backend at a dtype and thread count (per process, over
    ``world_size`` processes for a backend whose step spans processes)."""

    config: ModelConfig
    backend: str
    dtype: str
    threads: int
    world_size: int = 1

    @property
    def key(self) -> CaseKey:
        """What the case is, as its rows record it (``bench.keys.CaseKey``)."""
        c = self.config
        return CaseKey(c.model, c.name, self.backend, self.dtype, self.threads, c.batch_size, c.resolution or 0,
                       self.world_size)

    @property
    def label(self) -> str:
        """``mlp-mnist@32 numpy float32 2t``: the one label of a case, everywhere (``CaseKey.label``)."""
        return self.key.label


def thread_counts(backend: str, cores: int) -> list[int]:
    """Pure-Python loops run on one thread; numba and the vectorized backends at one thread and at all cores.

    The GPU rungs run at all cores only: their host threads launch kernels and barely matter.
    """
    if get_backend(backend).single_threaded:
        return [1]
    if is_cuda_backend(backend):
        return [cores]
    return sorted({1, cores})


def select_configs(profile: Profile, models: list[str] | None) -> list[ModelConfig]:
    """``models`` may name models (all of the profile's configs of that model) or configs.

    A config the profile runs without loops (``Profile.without_loops``), without a backend it runs
    on other configs only (``Profile.only_on``), or with a backend at one thread only
    (``Profile.one_thread``), keeps that restriction.
    """
    if not models:
        return [_in_profile(profile, name) for name in profile.configs]
    from implementations import MODELS  # noqa: PLC0415

    chosen: list[str] = []
    for item in models:
        if item in MODELS:
            names = [n for n in profile.configs if get_config(n).model == item]
        else:
            get_config(item)  # raises for an unknown name
            names = [item]
        chosen.extend(n for n in names if n not in chosen)
    if not chosen:
        raise UsageError(f"--models {' '.join(models)} selects no config of profile {profile.name}")
    return [_in_profile(profile, name) for name in chosen]


def _in_profile(profile: Profile, name: str) -> ModelConfig:
    config = get_config(name)
    if name in profile.without_loops:
        config = replace(config, without_roles=(*config.without_roles, LOOP_BASELINE))
    elsewhere = tuple(backend for backend, names in profile.only_on if name not in names)
    if elsewhere:
        config = replace(config, without=(*config.without, *elsewhere))
    one_thread = tuple(backend for config_name, backend in profile.one_thread if config_name == name)
    if one_thread:
        config = replace(config, one_thread=(*config.one_thread, *one_thread))
    return config


def check_backends(backends: list[str] | None) -> list[str]:
    for backend in backends or []:
        if backend not in backend_names():
            raise UsageError(f"unknown backend {backend!r}; accepted: {', '.join(backend_names())}")
    return list(backends) if backends else list(BACKENDS)


def refuse_if_none_can_run(backends: list[str]) -> None:
    """UsageError naming why, where no backend of ``backends`` can run here (run and verify alike:
    every case skipped is not a run, nor a verification)."""
    reasons = [get_backend(b).unavailable() for b in backends]
    if all(reasons):
        can = [b for b in backend_names() if not get_backend(b).unavailable()]
        raise UsageError(f"{', '.join(backends)} cannot run here: {'; '.join(dict.fromkeys(reasons))}; "
                         f"backends that can: {', '.join(can)}")


def process_counts(backend: str, cores: int, world_sizes: list[int] | None) -> list[tuple[int, int]]:
    """(processes, threads per process) of ``backend``'s cases: one process at ``thread_counts``,
    or for a backend whose step spans processes each of ``world_sizes`` (default: one per core),
    the cores shared out between them (at least one thread each); on GPUs, a process per GPU
    (default: one, which measures DDP's own cost over the single-process step)."""
    if not spans_processes(backend):
        return [(1, threads) for threads in thread_counts(backend, cores)]
    if is_cuda_backend(backend):  # a process per GPU, each with every host thread (as thread_counts)
        return [(size, cores) for size in (world_sizes or [1])]
    return [(size, max(1, cores // size)) for size in (world_sizes or [cores])]


def expand_cases(configs: list[ModelConfig], backends: list[str], cores: int | None = None,
                 world_sizes: list[int] | None = None) -> list[Case]:
    """Every case of ``configs`` on ``backends``, on a machine of ``cores`` cores (None: this one's):
    each backend's dtypes and thread counts (``thread_counts``; ``process_counts`` for a step across
    ``world_sizes`` processes), less what the config leaves out (``without``, ``without_roles``,
    ``one_thread``) and what its model rules out at its size (``ModelConfig.limits``)."""
    cores = cores or available_cores()
    cases = []
    for config in configs:
        limits = config.limits  # what its model says a step of this size can be measured as
        for backend in backends:
            role = role_of(backend)
            if backend in config.without or role in config.without_roles:
                continue
            if role == LOOP_BASELINE and not limits.loop_baseline:
                continue
            for dtype in backend_dtypes(backend):
                if limits.dtypes is not None and dtype not in limits.dtypes:
                    continue
                spans = [(1, 1)] if backend in config.one_thread else process_counts(backend, cores, world_sizes)
                for world_size, threads in spans:
                    cases.append(Case(config, backend, dtype, threads, world_size))
    return cases
