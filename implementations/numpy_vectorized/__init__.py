"""The ``numpy`` backend: vectorized NumPy, float32 or float64, matrix products through BLAS."""

NAME = "numpy"
DTYPES = ("float32", "float64")
