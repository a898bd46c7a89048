"""Fused pairwise products + upper-triangle extraction.

The condensed vector (``scipy.spatial.distance.pdist`` order) is written tile
by tile: the products of a range of rows with a range of later rows, of
which only the entries above the diagonal are copied out.  The N x N matrix
never exists.

Two layouts, one per size of problem:

- Blocks (``condensed_into``): ``rows`` rows against up to ``columns``
  later rows, one after another into one reused buffer, each product one
  BLAS call on all of BLAS's threads.  For large products, where BLAS's
  threads and its packing of the operands pay.
- Square tiles (``tiles_into``): ``side`` x ``side`` tiles of at most
  ``TILE_WORK`` multiply-adds (a tile's rows stay in the L2 cache, and a
  small problem still has tiles enough to share among threads), spread over
  Numba's threads by a ``prange``.  For small products, computed without
  BLAS (``tile_products_into``): OpenBLAS's products of such small tiles
  spent more on packing them than on the multiply-adds (how much depended on
  its kernel: docs/development.md has the figures), and no BLAS thread is
  woken or left spinning after the call.
  ``one_thread_tiles_into`` runs the same tiles on the calling thread alone,
  for any size: what ``fastrsa.jit.rsm_into`` runs, inside a user's
  ``prange`` as well.

Cosines are taken from rows that are not at unit length (kind ``COSINES``):
each product is divided by its two rows' lengths as it is copied out, as
SciPy's ``pdist`` does.  That keeps ties: the cosine of a pair is one function
of its product and its two lengths, so integer rows with equal exact products
and lengths get equal cosines (a product of unit rows would round each pair
its own way).  And no normalised copy is written before the tiles, which would
overwrite memory the other threads read in the last call's tiles and so first
take every cache line back from their cores.

A tile's product of two rows is the same function of the two rows wherever
the pair sits and whichever thread computes it: the result is the same bit
for bit whatever the number of threads, and bitwise-equal rows get
bitwise-equal products.  (The blocks' BLAS products may round a pair by
where it sits in the block, so the pairs of bitwise-equal rows are made
equal afterwards in both layouts: ``_kernels/duplicates.py``.)

Assumes checked input: C-contiguous float32 or float64 rows, ``out`` of length
N(N-1)/2 and the same dtype.
"""

import functools

import numba
import numpy as np
from numba import prange

from ._jit import kernel, parallel_kernel, product_kernel, serial_and_parallel
from .._tuning import ROWS, TILE_WORK  # (compiled in: see _tuning.py)


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
def _copy_pairs(products, r0, r1, c0, c1, n, out):
    """The entries above the diagonal of the tile ``products`` (rows r0:r1,
    columns c0:c1 of n items) to their places in ``out``."""
    for i in range(r0, r1):
        base = condensed_index(i, 0, n)
        for j in range(max(c0, i + 1), c1):
            out[base + j] = products[i - r0, j - c0]


@kernel
def cosine_of(product, norm_i, norm_j):
    """The cosine of a pair from its product and its rows' lengths, clipped
    to [-1, 1], in float64: one function of the three, so equal products
    and lengths give equal cosines, whichever row comes first."""
    return max(-1.0, min(1.0, product / (norm_i * norm_j)))


@kernel
def integer_correlation_of(product, sums, d, n, i, j):
    """The correlation of rows i and j of small integers from their exact
    integer sums (see ``_integer_correlation_pairs``)."""
    centred = d * np.float64(product) - sums[i] * sums[j]
    correlation = min(1.0, np.sqrt(centred * centred / (sums[n + i] * sums[n + j])))
    return -correlation if centred < 0.0 else correlation


@kernel
def squared_difference(X, i, j):
    """|x_i - x_j|^2 summed from the differences."""
    value = 0.0
    for k in range(X.shape[1]):
        difference = X[i, k] - X[j, k]
        value += difference * difference
    return value


@kernel
def squared_distance_of(X, squared_norms, product, i, j):
    """|x_i - x_j|^2 from the rows' product and squared lengths, recomputed
    from the differences where that formula cancels (distance small next to
    the norms), so it keeps full relative precision."""
    norms = squared_norms[i] + squared_norms[j]
    value = norms - 2.0 * product
    return squared_difference(X, i, j) if value < 1e-3 * norms else value


@kernel
def _cosine_pairs(products, norms, r0, r1, c0, c1, n, out, distances):
    """As ``_copy_pairs``, each product divided by its two rows' ``norms``
    and clipped to [-1, 1], in float64 (then rounded to ``out``'s dtype), as
    SciPy's ``pdist(X, "cosine")`` computes it, or 1 less that with
    ``distances`` (pdist's value itself): the cosine is the same function of
    (product, both norms) in every pair, whichever row comes first, so pairs
    with equal products and norms get equal cosines."""
    for i in range(r0, r1):
        base = condensed_index(i, 0, n)
        norm = norms[i]
        if distances:  # (two loops without a branch inside, so each vectorises)
            for j in range(max(c0, i + 1), c1):
                out[base + j] = 1.0 - cosine_of(products[i - r0, j - c0], norm, norms[j])
        else:
            for j in range(max(c0, i + 1), c1):
                out[base + j] = cosine_of(products[i - r0, j - c0], norm, norms[j])


@kernel
def _integer_correlation_pairs(products, sums, d, r0, r1, c0, c1, n, out, distances):
    """As ``_copy_pairs``, for the correlations of rows of small integers
    (products, sums and squares all exact): d times the centred product,
    P = d x.y - s_x s_y, and d^2 times the centred squared lengths, A, are
    exact integers, and the correlation is sign(P) sqrt(P^2 / (A_x A_y)),
    one correctly rounded division and square root of exact integers: pairs
    whose correlations are equal in exact arithmetic get equal values, however
    their rows differ.  ``sums`` holds every row's s, then every row's A."""
    for i in range(r0, r1):
        base = condensed_index(i, 0, n)
        for j in range(max(c0, i + 1), c1):
            correlation = integer_correlation_of(products[i - r0, j - c0], sums, d, n, i, j)
            out[base + j] = 1.0 - correlation if distances else correlation


@kernel
def _distance_pairs(X, squared_norms, products, r0, r1, c0, c1, out):
    """As ``_copy_pairs``, for squared distances from the tile's products
    (``squared_distance_of``)."""
    n = X.shape[0]
    for i in range(r0, r1):
        base = condensed_index(i, 0, n)
        for j in range(max(c0, i + 1), c1):
            # (squared_distance_of, written out: the loop then vectorises)
            norms = squared_norms[i] + squared_norms[j]
            value = norms - 2.0 * products[i - r0, j - c0]
            out[base + j] = squared_difference(X, i, j) if value < 1e-3 * norms else value


# What the tiles and blocks write for each pair i < j (their ``kind``
# argument), and what they need of each row (``row_values``):
PRODUCTS = 0  # x_i . x_j (no row values)
COSINES = 1  # x_i . x_j / (|x_i| |x_j|), clipped to [-1, 1], from each row's length
SQUARED_DISTANCES = 2  # |x_i - x_j|^2, from each row's squared length
COSINE_DISTANCES = 3  # 1 - the cosine, as pdist(X, "cosine"), from each row's length
# The correlations of rows of small integers (and 1 less them), from exact
# integer sums: each row's sum s and d |x|^2 - s^2 (row values: all the sums,
# then all the second terms).
INTEGER_CORRELATIONS = 4
INTEGER_CORRELATION_DISTANCES = 5
NO_ROW_VALUES = np.empty(0)

PAGE = 4096  # bytes


@parallel_kernel
def fault_in(out):
    """Write a zero into every 4 KiB page of ``out``, a new array that is
    about to be overwritten, on all threads.  The block kernels write their
    output from the calling thread only (between BLAS calls, which use every
    core), so the operating system would map its fresh pages one thread at a
    time.  Where the host has taken the memory back, mapping it costs far
    more than writing it, and faulting it in on all threads first, then
    filling it, is faster (docs/performance.md, on the first touch)."""
    step = PAGE // out.itemsize
    for page in prange((out.size + step - 1) // step):
        out[page * step] = 0


@kernel
def dot_condensed_into(X, out, rows, columns):
    """``out[pair(i, j)] = X[i] . X[j]`` for every i < j, in blocks."""
    condensed_into(X, NO_ROW_VALUES, PRODUCTS, out, rows, columns)


@kernel
def _write_pairs(X, row_values, kind, products, r0, r1, c0, c1, out):
    """The pairs of ``kind`` of the tile or block ``products`` (rows r0:r1,
    columns c0:c1 of X) into ``out``."""
    n = X.shape[0]
    if kind == SQUARED_DISTANCES:
        _distance_pairs(X, row_values, products, r0, r1, c0, c1, out)
    elif kind == COSINES or kind == COSINE_DISTANCES:
        _cosine_pairs(products, row_values, r0, r1, c0, c1, n, out, kind == COSINE_DISTANCES)
    elif kind == INTEGER_CORRELATIONS or kind == INTEGER_CORRELATION_DISTANCES:
        _integer_correlation_pairs(
            products, row_values, X.shape[1], r0, r1, c0, c1, n, out, kind == INTEGER_CORRELATION_DISTANCES
        )
    else:
        _copy_pairs(products, r0, r1, c0, c1, n, out)


@kernel
def condensed_into(X, row_values, kind, out, rows, columns):
    """The pairs of X (``kind``: PRODUCTS, COSINES, COSINE_DISTANCES or
    SQUARED_DISTANCES, with ``row_values`` as those say) into ``out``, in
    blocks."""
    n = X.shape[0]
    buffer = np.empty(min(rows, n) * min(columns, n), X.dtype)
    for r0 in range(0, n - 1, rows):
        r1 = min(r0 + rows, n)
        for c0 in range(r0, n, columns):
            c1 = min(c0 + columns, n)
            _write_pairs(X, row_values, kind, _block_product(X, X, r0, r1, c0, c1, buffer), r0, r1, c0, c1, out)


@kernel
def sqeuclidean_condensed_into(X, squared_norms, out, rows, columns):
    """``out[pair(i, j)] = |X[i] - X[j]|^2`` for every i < j, in blocks
    (``squared_norms`` the rows' |x|^2, float64 X and out)."""
    condensed_into(X, squared_norms, SQUARED_DISTANCES, out, rows, columns)


@functools.lru_cache(maxsize=1024)
def tile_side(n, d):
    """Side of the square tiles for n rows of d features: the largest
    multiple of 8 whose tile is at most ``TILE_WORK`` multiply-adds, or 0
    where even 8 x 8 would not be.  Never more than n rounded up to 8, nor
    ``ROWS``.  (Multiples of 8 suit ``tile_products_into``'s four-by-two
    register blocks.)"""
    return int(_side_of(n, d))


@kernel
def _side_of(n, d):
    """``tile_side``, callable from compiled code."""
    side = 8 * int((TILE_WORK / d) ** 0.5 / 8)
    while side and side * side * d > TILE_WORK:
        side -= 8
    return min(side, ROWS, -(-n // 8) * 8)


@kernel
def _tile_bounds(tile, per_side, side, n):
    """Rows r0:r1 and columns c0:c1 of tile number ``tile``, counting the
    tiles on and above the diagonal row by row, ``per_side`` tiles a side."""
    row = 0
    rest = tile
    while rest >= per_side - row:
        rest -= per_side - row
        row += 1
    r0 = row * side
    c0 = (row + rest) * side
    return r0, min(r0 + side, n), c0, min(c0 + side, n)


@kernel
def tile_count(n, side):
    """Tiles on and above the diagonal for n rows in tiles of ``side``."""
    per_side = -(-n // side)
    return per_side * (per_side + 1) // 2


@product_kernel
def tile_products_into(X, r0, r1, c0, c1, products):
    """``products[i - r0, j - c0] = X[i] . X[j]`` for rows r0:r1 and columns
    c0:c1 of X (on a diagonal tile, r0 == c0, only from the diagonal up, as
    ``_write_pairs`` reads them), four rows by two columns at a time: each
    row's values are loaded once for two columns and each column's once for
    four rows, the eight sums in vector registers.  Rows and columns past
    the tile's edge repeat its last (their sums land on entries already
    written, with the same value).  The sums are accumulated in X's dtype,
    as BLAS does, and every product is the same function of its two rows
    wherever it sits (``product_kernel``): bitwise-equal rows give
    bitwise-equal products, and X[i] . X[j] equals X[j] . X[i].  No BLAS:
    on this machine OpenBLAS's products of tiles this small cost its
    packing of them more than the multiply-adds, and that cost depends on
    its kernel (docs/performance.md, "Small calls")."""
    d = X.shape[1]
    zero = X.dtype.type(0)
    last_row, last_column = r1 - 1, c1 - 1
    for i0 in range(r0, r1, 4):
        i1, i2, i3 = min(i0 + 1, last_row), min(i0 + 2, last_row), min(i0 + 3, last_row)
        a0, a1, a2, a3 = X[i0], X[i1], X[i2], X[i3]
        for j0 in range(i0 if r0 == c0 else c0, c1, 2):
            j1 = min(j0 + 1, last_column)
            b0, b1 = X[j0], X[j1]
            p0 = p1 = p2 = p3 = q0 = q1 = q2 = q3 = zero
            for k in range(d):
                u, v = b0[k], b1[k]
                x0, x1, x2, x3 = a0[k], a1[k], a2[k], a3[k]
                p0 += x0 * u
                p1 += x1 * u
                p2 += x2 * u
                p3 += x3 * u
                q0 += x0 * v
                q1 += x1 * v
                q2 += x2 * v
                q3 += x3 * v
            j0_, j1_ = j0 - c0, j1 - c0
            products[i0 - r0, j0_], products[i1 - r0, j0_], products[i2 - r0, j0_], products[i3 - r0, j0_] = p0, p1, p2, p3
            products[i0 - r0, j1_], products[i1 - r0, j1_], products[i2 - r0, j1_], products[i3 - r0, j1_] = q0, q1, q2, q3


@kernel
def _tile(X, row_values, kind, out, side, tile):
    """Tile number ``tile`` of X's pairs, of ``kind``, into ``out``."""
    n = X.shape[0]
    r0, r1, c0, c1 = _tile_bounds(tile, -(-n // side), side, n)
    products = np.empty((r1 - r0, c1 - c0), X.dtype)
    tile_products_into(X, r0, r1, c0, c1, products)
    _write_pairs(X, row_values, kind, products, r0, r1, c0, c1, out)


@kernel
def _tile_cost(tile, count_x, n, d_x, side_x, d_y, side_y):
    """Multiply-adds of tile ``tile`` of the list: X's tiles, then Y's."""
    d, side = (d_x, side_x) if tile < count_x else (d_y, side_y)
    r0, r1, c0, c1 = _tile_bounds(tile if tile < count_x else tile - count_x, -(-n // side), side, n)
    return (r1 - r0) * (c1 - c0) * d


def _tiles(X, values_x, kind_x, out_x, side_x, Y, values_y, kind_y, out_y, side_y, threads):
    """The tiles of X, then those of Y (none where Y has no rows), in one
    parallel loop: Numba's threads are woken once for both spaces, and the
    tiles are cut into one run per thread of about equal cost (a 768-d tile
    costs more than a 300-d one).  Which thread runs a tile does not change
    its bits."""
    n = X.shape[0]
    count_x = tile_count(n, side_x)
    count = count_x + (tile_count(n, side_y) if Y.shape[0] else 0)
    runs = min(threads, count)
    total = 0
    for tile in range(count):
        total += _tile_cost(tile, count_x, n, X.shape[1], side_x, Y.shape[1], side_y)
    bounds = np.empty(runs + 1, np.int64)
    bounds[0] = 0
    run = 1
    done = 0
    for tile in range(count):
        done += _tile_cost(tile, count_x, n, X.shape[1], side_x, Y.shape[1], side_y)
        while run < runs and done * runs >= run * total:
            bounds[run] = tile + 1
            run += 1
    bounds[runs] = count
    for r in prange(runs):
        for tile in range(bounds[r], bounds[r + 1]):
            if tile < count_x:
                _tile(X, values_x, kind_x, out_x, side_x, tile)
            else:
                _tile(Y, values_y, kind_y, out_y, side_y, tile - count_x)


_tiles_serial, _tiles_parallel = serial_and_parallel(_tiles)


@kernel
def one_thread_side(n, d):
    """The side of the tiles ``one_thread_tiles_into`` cuts n rows of d
    features into: ``tile_side``'s, or 8 where that is 0 (many features)."""
    return max(_side_of(n, d), 8)


@kernel
def one_thread_tiles_into(X, row_values, kind, out):
    """The pairs of X (``kind`` and ``row_values`` as for ``tiles_into``) into
    ``out`` on the calling thread alone, in tiles of ``one_thread_side``: no
    parallel region and no BLAS, so a ``prange`` body may call it without
    nesting any thread pool in Numba's.  Each pair's product is the same
    function of its two rows in any tile (``tile_products_into``), so the
    bits are those of ``tiles_into``."""
    n = X.shape[0]
    side = one_thread_side(n, X.shape[1])
    for tile in range(tile_count(n, side)):
        _tile(X, row_values, kind, out, side, tile)


def tiles_of_two_into(X, values_x, kind_x, out_x, side_x, Y, values_y, kind_y, out_y, side_y):
    """The pairs of X (``kind_x``, see PRODUCTS) into ``out_x`` in square tiles
    of ``side_x`` rows (see ``tile_side``), and those of Y into ``out_y``
    (none where Y has no rows), in one parallel launch; each space's pairs get
    exactly what one space at a time gets.  One tile runs serially."""
    # Numba's largest thread count: cheaper to read than get_num_threads, and
    # the tiles' bits do not depend on it.
    threads = numba.config.NUMBA_NUM_THREADS
    single = tile_count(X.shape[0], side_x) == 1 and Y.shape[0] == 0
    (_tiles_serial if single else _tiles_parallel)(
        X, values_x, kind_x, out_x, side_x, Y, values_y, kind_y, out_y, side_y, threads
    )


def tiles_into(X, row_values, kind, out, side):
    """The pairs of X (``kind``: PRODUCTS, COSINES, COSINE_DISTANCES or SQUARED_DISTANCES, with
    ``row_values`` as those say) into ``out``, in square tiles of ``side``
    rows: ``tiles_of_two_into`` for one space.  The tiled counterpart of
    ``dot_condensed_into`` and ``sqeuclidean_condensed_into``."""
    tiles_of_two_into(X, row_values, kind, out, side, X[:0], NO_ROW_VALUES, PRODUCTS, out[:0], side)


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
