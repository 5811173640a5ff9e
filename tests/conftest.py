import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def cuda_skip_reason():
    import torch

    return None if torch.cuda.is_available() else "no CUDA GPU on this machine"


def backend_param(backend: str):
    """A pytest param for a backend, skipped with the backend's own reason where it cannot run here
    (no GPU for torch-cuda, numba not installed for numba)."""
    from implementations import get_backend, is_cuda_backend  # noqa: PLC0415

    marks = [pytest.mark.cuda] if is_cuda_backend(backend) else []
    reason = get_backend(backend).unavailable()
    if reason:
        marks.append(pytest.mark.skip(reason=reason))
    return pytest.param(backend, marks=marks)


def numba_skip_reason() -> str | None:
    """Why the numba backend cannot run here (numba not installed), or None."""
    from implementations import get_backend  # noqa: PLC0415

    return get_backend("numba").unavailable()


def pytest_collection_modifyitems(config, items):
    """Tests marked ``loops_resnet`` (the loops backend's whole-step ResNet faults and its full
    ResNet-50 step, about 4 minutes) run only when asked for by name (``-m loops_resnet``);
    otherwise they skip, saying so."""
    if "loops_resnet" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="loops ResNet whole-step tests take minutes: run them with -m loops_resnet")
    for item in items:
        if "loops_resnet" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def numba_on_one_thread():
    """Tests that call numba layers directly (outside the harness's ``thread_limit``) run its
    one-thread kernels, not the parallel twins numba's default of all cores would pick: the twins
    give the same numbers bit for bit (tests/test_numba_backend.py), and compiling them for every
    dtype would cost each clean clone's tests about 15 s more."""
    try:
        import numba  # noqa: PLC0415
    except ImportError:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(previous)
