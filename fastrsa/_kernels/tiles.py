"""Fused pairwise products + upper-triangle extraction.

The condensed vector (``scipy.spatial.distance.pdist`` order) is written block
by block: a block is the product of ``rows`` rows with up to ``columns`` later
rows, one BLAS call that runs on all of BLAS's threads, and only its entries
above the diagonal are copied out.  The N x N matrix never exists: the only
buffer is one block, ``rows x columns`` values, reused.

The kernels themselves are serial.  Calling BLAS from inside a Numba parallel
loop nests two thread pools on the same cores (OpenBLAS's and Numba's), and
their spinning threads then wait on each other: a 50-item RSM took 11 ms that
way against 0.09 ms this way.

Assumes checked input: C-contiguous float32 or float64 rows, ``out`` of length
N(N-1)/2 and the same dtype.
"""

import numpy as np

from ._jit import kernel

ROWS = 256  # rows of a block: the kernels' rows, columns arguments
COLUMNS = 4096


@kernel
def condensed_index(i, j, n):
    """Position of the pair (i, j), i < j, in a condensed vector over n items."""
    return i * n - i * (i + 1) // 2 + j - i - 1


@kernel
def _block_product(X, Y, r0, r1, c0, c1, buffer):
    """``X[r0:r1] @ Y[c0:c1].T`` written into the front of ``buffer``."""
    products = buffer[: (r1 - r0) * (c1 - c0)].reshape((r1 - r0, c1 - c0))
    np.dot(X[r0:r1], Y[c0:c1].T, products)
    return products


@kernel
def dot_condensed_into(X, out, rows, columns):
    """``out[pair(i, j)] = X[i] . X[j]`` for every i < j."""
    n = X.shape[0]
    buffer = np.empty(min(rows, n) * min(columns, n), X.dtype)
    for r0 in range(0, n - 1, rows):
        r1 = min(r0 + rows, n)
        for c0 in range(r0, n, columns):
            c1 = min(c0 + columns, n)
            products = _block_product(X, X, r0, r1, c0, c1, buffer)
            for i in range(r0, r1):
                base = condensed_index(i, 0, n)
                for j in range(max(c0, i + 1), c1):
                    out[base + j] = products[i - r0, j - c0]


@kernel
def sqeuclidean_condensed_into(X, squared_norms, out, rows, columns):
    """``out[pair(i, j)] = |X[i] - X[j]|^2`` for every i < j.

    Uses |x|^2 + |y|^2 - 2 x.y from BLAS blocks, and recomputes from the
    differences the pairs where that formula cancels (distance small next to
    the norms), so every element keeps full relative precision.
    """
    n, d = X.shape
    buffer = np.empty(min(rows, n) * min(columns, n), X.dtype)
    for r0 in range(0, n - 1, rows):
        r1 = min(r0 + rows, n)
        for c0 in range(r0, n, columns):
            c1 = min(c0 + columns, n)
            products = _block_product(X, X, r0, r1, c0, c1, buffer)
            for i in range(r0, r1):
                base = condensed_index(i, 0, n)
                for j in range(max(c0, i + 1), c1):
                    norms = squared_norms[i] + squared_norms[j]
                    value = norms - 2.0 * products[i - r0, j - c0]
                    if value < 1e-3 * norms:
                        value = 0.0
                        for k in range(d):
                            difference = X[i, k] - X[j, k]
                            value += difference * difference
                    out[base + j] = value


@kernel
def count_pairs_higher(X, Y, rows, columns):
    """How many pairs i < j have ``Y[i] . Y[j] > X[i] . X[j]``, block by
    block, without storing any pair."""
    n = X.shape[0]
    buffer_x = np.empty(min(rows, n) * min(columns, n), X.dtype)
    buffer_y = np.empty(min(rows, n) * min(columns, n), Y.dtype)
    count = 0
    for r0 in range(0, n - 1, rows):
        r1 = min(r0 + rows, n)
        for c0 in range(r0, n, columns):
            c1 = min(c0 + columns, n)
            products_x = _block_product(X, X, r0, r1, c0, c1, buffer_x)
            products_y = _block_product(Y, Y, r0, r1, c0, c1, buffer_y)
            for i in range(r0, r1):
                for j in range(max(c0, i + 1), c1):
                    if products_y[i - r0, j - c0] > products_x[i - r0, j - c0]:
                        count += 1
    return count
