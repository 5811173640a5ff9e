"""The ``numpy`` backend: vectorized NumPy, float32 or float64, matrix products through BLAS."""
