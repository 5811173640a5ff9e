"""The machine and software a run measured on: recorded with every row."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from functools import lru_cache
from pathlib import Path


def available_cores() -> int:
    """Logical cores this process may run on (the affinity mask, not the host's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# For a copy of the tree (the GPU machine gets one, whose .git, if any, is not the tree's): the
# commit the copy was made from, as the one who made it says; recorded with ``-copy`` appended,
# in preference to what git says there.
COMMIT_ENV = "VECBENCH_COMMIT"


def git_commit() -> str:
    """``$VECBENCH_COMMIT-copy`` where that is set; else the checkout's commit, ``-dirty`` appended
    when tracked files differ; ``unknown`` outside git."""
    root = Path(__file__).resolve().parent.parent
    named = os.environ.get(COMMIT_ENV, "").strip()
    if named:
        return f"{named}-copy"
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


# A power study's copy of the tree says here which fault was planted in it (studies/check_power.py
# writes the file; a real checkout has none): recorded with every row, so that its slowed rounds
# are never read as vecbench's speed.
PLANTED_FILE = Path(__file__).resolve().parent.parent / "PLANTED"


def planted_fault() -> str:
    """The fault planted in this tree (``PLANTED_FILE``'s first line), empty where none was."""
    try:
        return PLANTED_FILE.read_text().strip().splitlines()[0].strip()
    except (OSError, IndexError):
        return ""


# The fields py-cpuinfo reads the brand from in /proc/cpuinfo, in its order (``brand_raw``).
_BRAND_FIELDS = ("model name", "cpu", "processor", "uarch")


def brand_from_proc_cpuinfo(text: str) -> str | None:
    """The CPU brand in a /proc/cpuinfo ``text``, as py-cpuinfo reads it on Linux: the value of the
    first line whose field is one of ``_BRAND_FIELDS`` and whose value is not empty and not a number
    (x86's ``processor : 0`` lines are numbers). None where no line has one."""
    for line in text.splitlines():
        if ":" not in line:
            continue
        field, value = (part.strip() for part in line.split(":", 1))
        if field.lower() in _BRAND_FIELDS and value and not value.isdigit():
            return value
    return None


def _cpu_brand() -> str:
    """The CPU's brand, part of the machine kind that baselines are filed by
    (``bench.keys.MachineKey``). Read from /proc/cpuinfo where there is one, as py-cpuinfo
    would read it: py-cpuinfo itself starts a process to ask, which cost every ``bench`` command
    1.2 s on the 2-core AMD machine."""
    try:
        brand = brand_from_proc_cpuinfo(Path("/proc/cpuinfo").read_text(errors="replace"))
    except OSError:
        brand = None
    if brand:
        return brand
    try:
        import cpuinfo  # noqa: PLC0415  (py-cpuinfo: slow, so only where /proc/cpuinfo cannot answer)

        return cpuinfo.get_cpu_info().get("brand_raw") or platform.processor() or "unknown"
    except Exception:  # noqa: BLE001  (cpuinfo shells out; any failure just means we cannot name the CPU)
        return platform.processor() or "unknown"


def _blas() -> str:
    from threadpoolctl import threadpool_info  # noqa: PLC0415

    seen = []
    for pool in threadpool_info():
        label = f"{pool.get('internal_api')} {pool.get('version') or ''}".strip()
        if pool.get("user_api") == "blas" and label not in seen:
            seen.append(label)
    return ", ".join(seen) or "unknown"


@lru_cache(maxsize=1)
def describe_machine() -> dict[str, object]:
    """Columns ``hostname, cpu, cores, gpu, python, numpy, torch, blas, platform, git_commit, planted``."""
    import numpy  # noqa: PLC0415
    import torch  # noqa: PLC0415  (loaded so that its BLAS shows in threadpoolctl too)

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else ""
    return {
        "hostname": socket.gethostname(),
        "cpu": _cpu_brand(),
        "cores": available_cores(),
        "gpu": gpu,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "torch": torch.__version__,
        "blas": _blas(),
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "git_commit": git_commit(),
        "planted": planted_fault(),
    }
