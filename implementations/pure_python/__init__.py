"""The ``loops`` backend: pure Python, scalar loops over flat ``array('d')`` buffers (feature
maps, convolution weights) and lists of rows (the dense layers' tensors), float64.

No NumPy and no C extension beyond the standard library runs in its timed code. NumPy appears only
at the boundary (``tensor.from_numpy`` / ``tensor.to_numpy``), outside the timed step.
"""

NAME = "loops"
DTYPES = ("float64",)  # Python floats are doubles
SINGLE_THREADED = True  # the interpreter runs the loops on one thread
