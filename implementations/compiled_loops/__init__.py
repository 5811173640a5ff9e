"""The ``numba`` backend: the loops of ``pure_python``, written once more as scalar loops and compiled.

This package's ``__init__`` does not import numba (``backend`` does), so that the backend can be
registered, and skipped with the reason, where numba is not installed.
"""

NAME = "numba"
DTYPES = ("float32", "float64")
SINGLE_THREADED = False  # the matrix products and convolutions split their outer loops over cores (jit.kernel)


def unavailable() -> str | None:
    """None where numba imports here; else one line saying why the numba cases cannot run."""
    try:
        import numba  # noqa: F401, PLC0415
    except ImportError as exc:
        return f"numba is not installed ({exc}); install the extra: pip install -e '.[numba]' (nox sessions do)"
    return None
