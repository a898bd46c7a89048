"""Mutual k-nearest-neighbour alignment of two spaces (Huh et al. 2024, "The
Platonic Representation Hypothesis"), and the neighbour lists it compares.

``neighbours`` finds each item's k nearest items by cosine similarity tile
by tile (``_kernels/knn.py``): O(N k) memory for the lists and one block x
block buffer per thread, never the N x N matrix.  ``mutual_knn`` compares
the lists of two spaces item by item.  ``memory_bytes``, beside the
allocations, is what a call adds at its peak.

The similarities are those of ``fastrsa.rsm``: each pair's product over its
rows' lengths in float64, clipped to [-1, 1], rounded to the rows' dtype
(float32 rows are multiplied in float32 and ranked by float32 cosines).
Ties are broken by index, the lower first; bitwise-equal rows (and rows that
are power-of-two multiples of each other, whose cosines are equal in exact
arithmetic) are folded into one row before the tiles, as rsm folds them
(``_kernels/duplicates.py``), so every copy has bitwise the same similarity
with every other item, and their ties are decided by index alone.
"""

import operator

import numba
import numpy as np

from . import _memory, _sources, _threads, _tuning, _validate
from ._kernels.knn import round_parallel, round_serial, sort_lists_parallel, sort_lists_serial
from ._kernels.tiles import COSINES
from ._pairs import _similarity_rows, copies_of

# Unique rows per block of the tiles: a tile's product (BLOCK x BLOCK
# values, one per thread) stays in the L2 cache while its pairs are
# offered, and the product of two blocks is large enough for BLAS's rate on
# one thread.  Changes no list (the order of the candidates does not
# matter) but for pairs that tie to rounding (a product's last bit may
# depend on its tile); tests set it small to cross tile edges.
BLOCK = 512


def mutual_knn(X, Y, k=10):
    """Mutual k-nearest-neighbour alignment of two spaces over the same items.

    For each item, its k nearest neighbours by cosine similarity in ``X``
    (the item itself left out) and in ``Y``; the score is the mean over
    items of the share of those k that the two lists have in common
    (Huh et al. 2024, "The Platonic Representation Hypothesis").

    Parameters
    ----------
    X : array_like, shape (n_items, n_features_x)
        At least 3 items; finite numbers of any integer or float dtype, no
        all-zero row.  float32 stays float32 for the similarities.
    Y : array_like, shape (n_items, n_features_y)
        The same items in the same order (labelled rows, pandas or
        Embeddings, are matched by label); the features may differ.
    k : int, default 10
        Neighbours per item, from 1 to n_items - 1.

    Returns
    -------
    float
        In [0, 1]: 1 where every item has the same k neighbours in both
        spaces, about k / (n_items - 1) for unrelated spaces.

    Notes
    -----
    Neighbours are ranked by the similarities of ``fastrsa.rsm``, equal
    similarities by index (the lower is nearer), so the result is
    deterministic; bitwise-equal rows have bitwise-equal similarities with
    every other item (see ``neighbours``).  Memory is O(n_items k) beside
    the inputs (``memory_bytes``); the n_items x n_items matrix is never
    built.

    Examples
    --------
    >>> from fastrsa import mutual_knn
    >>> X = [[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]]
    >>> Y = [[1, 0], [0.9, 0.1], [0.7, 0.3], [0, 1]]
    >>> mutual_knn(X, Y, k=1)
    0.75
    """
    k = _integer_k(k)
    X, Y = _validate.spaces(X, Y, "cosine")
    n = X.shape[0]
    _k_in_range(k, n)
    itemsize = max(X.itemsize, Y.itemsize)
    needed = memory_bytes(n, X.shape[1], Y.shape[1], k, itemsize) + _loaded_bytes(X) + _loaded_bytes(Y)
    _memory.require(needed, f"mutual_knn over {n:,} items with k={k}", "use fewer items, or a smaller k")
    X, Y = _sources.whole(X), _sources.whole(Y)
    return float(_shared(_neighbours(X, k), _neighbours(Y, k)) / (n * k))


def neighbours(X, k):
    """Each item's k nearest neighbours by cosine similarity, nearest first.

    Parameters
    ----------
    X : array_like, shape (n_items, n_features)
        At least 3 items; finite numbers of any integer or float dtype, no
        all-zero row.
    k : int
        Neighbours per item, from 1 to n_items - 1.

    Returns
    -------
    numpy.ndarray of int64, shape (n_items, k)
        Row i holds the indices of item i's k nearest other items, by
        decreasing cosine similarity (as ``fastrsa.rsm`` computes it: in
        float32 for float32 input); equal similarities in increasing order
        of index.  Copies of a row (bitwise equal, or equal times a power of
        two) have bitwise-equal similarities with every other item, and
        with each other the row's similarity with itself (1, or just below
        by rounding): they are each other's nearest neighbours, unless
        another row's similarity rounds to 1 as well.

    Examples
    --------
    >>> from fastrsa._knn import neighbours
    >>> neighbours([[1, 0], [1, 1], [0, 1], [1, 0]], k=2)
    array([[3, 1],
           [0, 2],
           [1, 0],
           [0, 1]])
    """
    k = _integer_k(k)
    X = _validate.items(X, "X", "cosine")
    n = X.shape[0]
    _k_in_range(k, n)
    needed = neighbours_bytes(n, X.shape[1], k, X.itemsize) + _loaded_bytes(X)
    _memory.require(needed, f"neighbours of {n:,} items with k={k}", "use fewer items, or a smaller k")
    return _neighbours(_sources.whole(X), k)


def _integer_k(k):
    """``k`` as an int, or a ValueError naming it and what is accepted."""
    try:
        value = None if isinstance(k, (bool, np.bool_)) else operator.index(k)
    except TypeError:
        value = None
    if value is None:
        raise ValueError(f"k={k!r} is not allowed; use an integer from 1 to n_items - 1 (neighbours per item)")
    return value


def _k_in_range(k, n):
    if not 1 <= k <= n - 1:
        raise ValueError(
            f"k={k} is not allowed for {n} items; use an integer from 1 to n_items - 1 = {n - 1} "
            f"(neighbours per item, the item itself left out)"
        )


def _loaded_bytes(X):
    """Memory of reading a space on disk into memory (0 for an array)."""
    return X.shape[0] * X.shape[1] * X.itemsize if isinstance(X, _sources.Rows) else 0


def _threads_now():
    return numba.get_num_threads()


def neighbours_bytes(n, d, k, itemsize=8, threads=None):
    """Memory ``_neighbours`` adds at its peak for n checked rows of d
    features of ``itemsize`` bytes, at most: two copies of the rows (rows
    scaled by powers of two where their products could overflow, and the
    unique rows where some rows are copies), a dozen int64 or float64 values
    per row (lengths, hashes, representatives, the members of each unique
    row), the lists (k + 1 candidates a row: a cosine and an int64 index),
    and then the larger of the tiles' buffers (``BLOCK``**2 values per
    thread) and the lists gathered per item with their masks and the
    result."""
    threads = _threads_now() if threads is None else threads
    lists = n * (k + 1) * (itemsize + 8)
    tiles = threads * BLOCK * BLOCK * itemsize
    expanded = n * (k + 1) * (8 + 2) + n * k * 8
    return 2 * n * d * itemsize + 12 * 8 * n + lists + max(tiles, expanded)


def memory_bytes(n, d1, d2, k, itemsize=8, threads=None):
    """Memory ``mutual_knn`` adds at its peak for n items of d1 and d2
    features (``itemsize`` bytes a value, the larger of the two spaces'):
    X's neighbours (n k int64) held while Y's are found, and Y's search
    (``neighbours_bytes``), or at the end both lists with their merged
    copy (2 n k int64) and its mask.  O(n (d1 + d2 + k)): no n x n term.
    Spaces on disk are read into memory first, n d values each more."""
    listed = n * k * 8
    search = max(neighbours_bytes(n, d, k, itemsize, threads) for d in (d1, d2))
    overlap = 2 * listed + 2 * listed + 2 * n * k
    return max(listed + search, overlap)


def schedule(blocks):
    """``(first, second, rounds)``: the tiles of ``blocks`` blocks, each
    unordered pair of blocks (first <= second) once, in rounds
    ``rounds[i]:rounds[i + 1]`` whose tiles touch disjoint blocks (so the
    lists they write are disjoint).  The diagonal tiles first, in one
    round; then the other pairs by the circle method (a round-robin
    tournament: one block fixed, the others rotating, a dummy block where
    their count is odd), a round per rotation."""
    first, second, rounds = list(range(blocks)), list(range(blocks)), [0, blocks]
    teams = blocks + blocks % 2
    for turn in range(teams - 1):
        others = [((turn + i) % (teams - 1), (turn - i) % (teams - 1)) for i in range(1, teams // 2)]
        for a, b in [(teams - 1, turn)] + others:
            if max(a, b) < blocks:  # (not the dummy)
                first.append(min(a, b))
                second.append(max(a, b))
        if len(first) > rounds[-1]:
            rounds.append(len(first))
    return np.array(first, np.int64), np.array(second, np.int64), np.array(rounds, np.int64)


def _unique_rows(rows, norms):
    """``(U, norms, self_values, starts, members, unique)``: the rows with
    each set of copies (``_pairs.copies_of``) folded into its first, their
    lengths, each unique row's similarity with a copy of itself (-2, below
    every cosine, where it has none: its one item is the row itself),
    the items of unique row u ``members[starts[u]:starts[u + 1]]``
    ascending, and each item's unique row (None where no row is a copy)."""
    n = rows.shape[0]
    found = copies_of(rows, COSINES, norms)
    if found is None:
        return rows, norms, np.full(n, -2.0), np.arange(n + 1), np.arange(n), None
    representative, _, self_values = found
    firsts = np.flatnonzero(representative == np.arange(n))
    number = np.empty(n, np.int64)
    number[firsts] = np.arange(firsts.size)
    unique = number[representative]
    counts = np.bincount(unique, minlength=firsts.size)
    starts = np.concatenate([[0], np.cumsum(counts)])
    members = np.argsort(unique, kind="stable")
    self_u = np.where(counts > 1, self_values[firsts], -2.0)
    return np.ascontiguousarray(rows[firsts]), norms[firsts], self_u, starts, members, unique


def _neighbours(X, k):
    """``neighbours`` of checked rows in memory (``k`` checked too)."""
    rows, norms, _ = _similarity_rows(X, "cosine", COSINES)
    U, norms, self_values, starts, members, unique = _unique_rows(rows, norms)
    m, d = U.shape
    n, size = X.shape[0], k + 1  # (each unique row's list holds its own items too: k + 1 keeps k others)
    sims = np.full((m, size), -np.inf, U.dtype)
    idx = np.full((m, size), n, np.int64)
    gates = np.full(m, -np.inf)
    reciprocals = 1.0 / norms
    block = int(BLOCK)
    first, second, rounds = schedule(-(-m // block))
    with _threads.blas_on_one_thread() as blas_held:
        parallel = blas_held and m * m * d // 2 >= _tuning.SERIAL_WORK and _threads_now() > 1
        threads = _threads_now() if parallel else 1
        run, finish = (round_parallel, sort_lists_parallel) if parallel else (round_serial, sort_lists_serial)
        buffers = np.empty((threads, min(block, m) ** 2), U.dtype)
        for begin, end in zip(rounds[:-1], rounds[1:]):
            run(U, norms, reciprocals, self_values, starts, members, sims, idx, gates,
                block, first, second, begin, end, buffers)
    del buffers
    finish(sims, idx)
    # Each item's list: its unique row's, less the item itself (or, where
    # the item is not among the k + 1, less the last).
    lists = idx if unique is None else idx[unique]
    keep = lists != np.arange(n)[:, None]
    keep[keep.all(axis=1), -1] = False
    return lists[keep].reshape(n, k)


def _shared(a, b):
    """How many (item, neighbour) pairs two neighbour lists of the same
    items have in common: each item's two lists merged and sorted, an
    index shared where it appears twice in a row (neither list repeats one)."""
    merged = np.concatenate([a, b], axis=1)
    merged.sort(axis=1)
    return int(np.count_nonzero(merged[:, 1:] == merged[:, :-1]))
