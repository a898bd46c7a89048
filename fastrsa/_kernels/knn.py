"""Each row's k nearest rows by cosine similarity, tile by tile.

The rows (unique rows: ``fastrsa._knn`` folds bitwise copies into one) are
cut into blocks.  A tile is the product of one block with another, one BLAS
call into a per-thread buffer, and it serves both blocks: each pair's cosine
is offered to the row's list and to the column's, so every pair is computed
once, from one product, and its two rows see the same value.  The N x N
matrix never exists: each row keeps its best candidates so far (k + 1 of
them: a unique row's list holds its own items too) in a binary heap whose
root is the worst of them, and a candidate is compared with the root before
anything is moved.

Nearer means a higher cosine, or an equal cosine and a lower index: a total
order, so the lists are the same whatever order the candidates come in, and
the result does not depend on the threads or on the schedule of the tiles.

A pair's cosine is its product over its rows' lengths in float64, clipped
to [-1, 1] (``tiles.cosine_of``, as ``fastrsa.rsm`` computes it), then
rounded to the rows' dtype: float32 rows are multiplied in float32 and
ranked by float32 cosines, float64 rows in float64.  Most candidates are
turned down before that division: ``product * (1/|x_u|) * (1/|x_v|)`` is
within a few float64 roundings of the cosine, and a candidate below the
root's cosine by more than ``MARGIN`` (far more than those roundings and
float32's rounding of the cosine) cannot reach the list.  A tile's row is
screened ``CHUNK`` columns at a time by a branch-free loop that vectorises
(``_passes``); only runs with a candidate for either list are walked pair
by pair.

Parallel over tiles in rounds (``fastrsa._knn.schedule``): the tiles of
one round touch disjoint blocks, so each list is written by one thread at a
time and there is no race; each thread has its own product buffer.  The BLAS products run
on one thread each (the caller holds ``_threads.blas_on_one_thread``), so
OpenBLAS's threads are never nested in Numba's.

Assumes checked input: C-contiguous float32 or float64 rows whose products
neither overflow nor underflow, with their lengths (``_pairs._similarity_rows``),
and lists prepared by the caller (``fastrsa._knn._neighbours``).
"""

import numpy as np
from numba import prange

from ._jit import kernel, serial_and_parallel
from .tiles import cosine_of

# A candidate whose approximate cosine is this far below the root's cannot
# be nearer than the root: float32 rounds a cosine in [-1, 1] by at most
# 2**-25, the approximate cosine is off by a few float64 roundings.
MARGIN = 2.0**-20
# Columns a tile's row is screened in at a time (``_passes``): short runs,
# so that most runs have no candidate once the lists have filled, long
# enough for the screen's vector loop.
CHUNK = 32


@kernel
def _worse(s1, j1, s2, j2):
    """Whether candidate (s1, j1) is farther than (s2, j2): a lower cosine,
    or an equal one and a higher index."""
    return s1 < s2 or (s1 == s2 and j1 > j2)


@kernel
def _sift_down(sims, idx, u, s, j, size):
    """Place candidate (s, j) at the root of row u's heap of ``size``
    entries, moving the worse children up: the root stays the worst."""
    pos = 0
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        right = child + 1
        if right < size and _worse(sims[u, right], idx[u, right], sims[u, child], idx[u, child]):
            child = right
        if not _worse(sims[u, child], idx[u, child], s, j):
            break
        sims[u, pos] = sims[u, child]
        idx[u, pos] = idx[u, child]
        pos = child
    sims[u, pos] = s
    idx[u, pos] = j


@kernel
def _offer(sims, idx, gates, u, s, starts, members, v):
    """Offer the items of unique row v (``members[starts[v]:starts[v + 1]]``,
    ascending), all at cosine s, to row u's list; its gate follows its root."""
    size = sims.shape[1]
    changed = False
    for t in range(starts[v], starts[v + 1]):
        j = members[t]
        if not _worse(sims[u, 0], idx[u, 0], s, j):
            break  # (the later items have higher indices: farther still)
        _sift_down(sims, idx, u, s, j, size)
        changed = True
    if changed:
        gates[u] = np.float64(sims[u, 0]) - MARGIN


@kernel
def _rounded(value, sims):
    """``value`` rounded to the dtype of ``sims`` (held as float64)."""
    if sims.itemsize == 4:
        return np.float64(np.float32(value))
    return value


@kernel
def _passes(row, start, stop, reciprocal_u, gate_u, reciprocals, gates):
    """Whether any column start:stop of a tile's row could reach its row's
    list or its column's: a count of the approximate cosines at or above
    either gate, without a branch, so the loop vectorises (once the lists
    have filled, most runs of columns have none).  Unsigned indices spare
    Numba's negative-index check on every load, which otherwise keeps the
    loop from being vectorised."""
    count = 0
    w, end, one = np.uint64(start), np.uint64(stop), np.uint64(1)
    while w < end:
        approximate = np.float64(row[w]) * reciprocal_u * reciprocals[w]
        count += np.int64(approximate >= gate_u) + np.int64(approximate >= gates[w])
        w += one
    return count > 0


@kernel
def _tile(U, norms, reciprocals, self_values, starts, members, sims, idx, gates, r0, r1, c0, c1, buffer):
    """Tile rows r0:r1 by columns c0:c1 (c0 >= r0; a diagonal tile where
    equal): every pair u < v in it offered both ways, and on the diagonal
    each row's own items at its ``self_values``."""
    products = buffer[: (r1 - r0) * (c1 - c0)].reshape((r1 - r0, c1 - c0))
    np.dot(U[r0:r1], U[c0:c1].T, products)
    diagonal = r0 == c0
    column_reciprocals, column_gates = reciprocals[c0:c1], gates[c0:c1]  # (views: the gates stay current)
    for u in range(r0, r1):
        if diagonal:
            _offer(sims, idx, gates, u, _rounded(self_values[u], sims), starts, members, u)
        norm_u = norms[u]
        reciprocal_u = reciprocals[u]
        gate_u = gates[u]
        row = products[u - r0]
        for w0 in range(u + 1 if diagonal else c0, c1, CHUNK):
            w1 = min(w0 + CHUNK, c1)
            if not _passes(row, w0 - c0, w1 - c0, reciprocal_u, gate_u, column_reciprocals, column_gates):
                continue
            for v in range(w0, w1):
                product = np.float64(row[v - c0])
                approximate = product * reciprocal_u * reciprocals[v]
                to_u = approximate >= gate_u
                to_v = approximate >= gates[v]
                if to_u or to_v:
                    s = _rounded(cosine_of(product, norm_u, norms[v]), sims)
                    if to_u:
                        _offer(sims, idx, gates, u, s, starts, members, v)
                        gate_u = gates[u]
                    if to_v:
                        _offer(sims, idx, gates, v, s, starts, members, u)


def _round(U, norms, reciprocals, self_values, starts, members, sims, idx, gates,
           block, first, second, begin, end, buffers):
    """The tiles ``begin:end`` of the schedule (blocks ``first[t]`` by
    ``second[t]``), thread r taking every ``threads``-th from ``begin + r``
    into its own buffer ``buffers[r]``."""
    threads = buffers.shape[0]
    m = U.shape[0]
    for r in prange(threads):
        for t in range(begin + r, end, threads):
            r0, c0 = first[t] * block, second[t] * block
            r1, c1 = min(r0 + block, m), min(c0 + block, m)
            _tile(U, norms, reciprocals, self_values, starts, members, sims, idx, gates, r0, r1, c0, c1, buffers[r])


round_serial, round_parallel = serial_and_parallel(_round)


def _sort_lists(sims, idx):
    """Each row's heap sorted nearest first (heapsort: the root, the worst,
    goes to the end each step)."""
    size = sims.shape[1]
    for u in prange(sims.shape[0]):
        for end in range(size - 1, 0, -1):
            s, j = sims[u, end], idx[u, end]
            sims[u, end], idx[u, end] = sims[u, 0], idx[u, 0]
            _sift_down(sims, idx, u, s, j, end)


sort_lists_serial, sort_lists_parallel = serial_and_parallel(_sort_lists)

