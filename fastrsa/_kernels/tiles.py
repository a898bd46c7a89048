"""Fused pairwise products + upper-triangle extraction.

The condensed vector (``scipy.spatial.distance.pdist`` order) is written tile
by tile: each tile is one BLAS product of two blocks of rows, and only its
entries above the diagonal are copied out.  The N x N matrix never exists; a
thread holds one tile (``TILE`` x ``TILE``) at a time.

Assumes checked input: C-contiguous float32 or float64 rows, ``out`` of length
N(N-1)/2 and the same dtype.
"""

import numpy as np
from numba import prange

from ._jit import kernel, parallel_kernel



def tile_size(n):
    """Rows per tile: about an eighth of the items, so both threads get
    several tiles to balance, capped where BLAS is already at full speed."""
    return min(512, max(32, -(-n // 8)))


@kernel
def condensed_index(i, j, n):
    """Position of the pair (i, j), i < j, in a condensed vector over n items."""
    return i * n - i * (i + 1) // 2 + j - i - 1


@kernel
def tile_blocks(t, blocks):
    """The (row block, column block) of the t-th tile on or above the diagonal."""
    row = 0
    while t >= blocks - row:
        t -= blocks - row
        row += 1
    return row, row + t


@kernel
def _tile_bounds(t, n, tile):
    blocks = (n + tile - 1) // tile
    row, col = tile_blocks(np.int64(t), blocks)
    return row * tile, min(row * tile + tile, n), col * tile, min(col * tile + tile, n)


@parallel_kernel
def dot_condensed_into(X, out, tile):
    """``out[pair(i, j)] = X[i] . X[j]`` for every i < j."""
    n = X.shape[0]
    blocks = (n + tile - 1) // tile
    for t in prange(blocks * (blocks + 1) // 2):
        r0, r1, c0, c1 = _tile_bounds(t, n, tile)
        products = np.dot(X[r0:r1], X[c0:c1].T)
        for i in range(r0, r1):
            base = condensed_index(i, 0, n)
            for j in range(max(c0, i + 1), c1):
                out[base + j] = products[i - r0, j - c0]


@parallel_kernel
def sqeuclidean_condensed_into(X, squared_norms, out, tile):
    """``out[pair(i, j)] = |X[i] - X[j]|^2`` for every i < j.

    Uses |x|^2 + |y|^2 - 2 x.y from BLAS tiles, and recomputes from the
    differences the pairs where that formula cancels (distance small next to
    the norms), so every element keeps full relative precision.
    """
    n, d = X.shape
    blocks = (n + tile - 1) // tile
    for t in prange(blocks * (blocks + 1) // 2):
        r0, r1, c0, c1 = _tile_bounds(t, n, tile)
        products = np.dot(X[r0:r1], X[c0:c1].T)
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


@parallel_kernel
def count_pairs_higher(X, Y, tile):
    """How many pairs i < j have ``Y[i] . Y[j] > X[i] . X[j]``, tile by tile,
    without storing any pair."""
    n = X.shape[0]
    blocks = (n + tile - 1) // tile
    tiles = blocks * (blocks + 1) // 2
    counts = np.zeros(tiles, np.int64)
    for t in prange(tiles):
        r0, r1, c0, c1 = _tile_bounds(t, n, tile)
        products_x = np.dot(X[r0:r1], X[c0:c1].T)
        products_y = np.dot(Y[r0:r1], Y[c0:c1].T)
        count = 0
        for i in range(r0, r1):
            for j in range(max(c0, i + 1), c1):
                if products_y[i - r0, j - c0] > products_x[i - r0, j - c0]:
                    count += 1
        counts[t] = count
    return counts.sum()
