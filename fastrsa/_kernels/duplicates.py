"""Bitwise-equal rows get bitwise-equal pairs.

A BLAS product's rounding may depend on where its pair sits in a tile (which
kernel edge, which register block), so two copies of a row can get slightly
different similarities with a third row.  SciPy computes every pair alike,
and rank methods (Spearman, Kendall) depend on exactly which pairs tie: the
copies' ties must survive.  So the rows' bit patterns are hashed, copies are
found (every hash collision is checked element by element), and after the
condensed vector is written each pair that involves a copy takes the value of
the pair of the rows it copies; a pair of two copies of one row takes that
row's own value (``self_values``: its cosine with itself, or distance 0).

Cost: one pass over the rows to hash them, a sort of N hashes, and where
there are copies one pass over the pairs of the copied rows: O(N D + N log N
+ copies x N).  No memory but O(N).  Where the caller has a key per row that
copies share (their lengths, which the tiles need anyway), only rows whose
key another row shares are hashed: O(N log N) when no key repeats.

Assumes checked input: C-contiguous float32 or float64 rows.
"""

import numpy as np

from ._jit import kernel
from .normalize import power_of_two_row_into
from .tiles import condensed_index


@kernel
def row_hashes(words):
    """A 64-bit hash of each row of ``words``: four interleaved FNV-1a
    streams (words k, k + 4, ... each), so the multiplications do not wait
    on one another, mixed at the end.  Rows with equal words get equal
    hashes; the rest collide rarely, and every collision is checked."""
    hashes = np.empty(words.shape[0], np.uint64)
    for i in range(words.shape[0]):
        hashes[i] = _hash(words[i])
    return hashes


def _row_words(X):
    """Each row's bits, as unsigned integers of the dtype's width."""
    return X.view(np.uint32 if X.itemsize == 4 else np.uint64)


@kernel
def _scaled_rows(X, rows):
    """Rows ``rows`` of X, each scaled as ``power_of_two_row_into`` scales it."""
    out = np.empty((rows.size, X.shape[1]), X.dtype)
    for k in range(rows.size):
        power_of_two_row_into(X, rows[k], out[k])
    return out


@kernel
def _hash(words):
    """``row_hashes``'s hash of one row of words."""
    prime = np.uint64(1099511628211)
    d = words.size
    h0 = np.uint64(14695981039346656037)
    h1 = h0 ^ np.uint64(1)
    h2 = h0 ^ np.uint64(2)
    h3 = h0 ^ np.uint64(3)
    k = 0
    while k + 3 < d:
        h0 = (h0 ^ np.uint64(words[k])) * prime
        h1 = (h1 ^ np.uint64(words[k + 1])) * prime
        h2 = (h2 ^ np.uint64(words[k + 2])) * prime
        h3 = (h3 ^ np.uint64(words[k + 3])) * prime
        k += 4
    while k < d:
        h0 = (h0 ^ np.uint64(words[k])) * prime
        k += 1
    return (((h0 * prime) ^ h1) * prime ^ h2) * prime ^ h3


@kernel
def _same_bits(words, i, j):
    for k in range(words.shape[1]):
        if words[i, k] != words[j, k]:
            return False
    return True


@kernel
def _representatives(words, order, hashes):
    """``representative[i]``: the first row of ``words`` equal to row i (i
    itself for a row seen first, or not in ``order``); ``order`` (all rows,
    or those that may have copies) sorts them by ``hashes`` (one a row)."""
    representative = np.arange(words.shape[0])
    count = order.size
    start = 0
    while start < count:
        stop = start + 1
        while stop < count and hashes[order[stop]] == hashes[order[start]]:
            stop += 1
        # Rows with one hash: each takes the first earlier row with its bits.
        for a in range(start, stop):
            i = order[a]
            for b in range(start, stop):
                j = order[b]
                if j < representative[i] and _same_bits(words, i, j):
                    representative[i] = j
        start = stop
    return representative


@kernel
def _equal_hashes(hashes):
    """Whether any two of ``hashes`` are equal (a sorted copy's neighbours)."""
    ordered = np.sort(hashes)
    for k in range(1, ordered.size):
        if ordered[k] == ordered[k - 1]:
            return True
    return False


def representatives(X, scaled=False, keys=None):
    """``(representative, copies)`` for rows with bitwise copies: each row's
    first copy (itself if first), and the rows that are copies of an earlier
    one, ascending; ``None`` where every row is unique.  With ``scaled``,
    rows are compared each scaled by the power of two that brings its
    largest magnitude into [1, 2) (x and 2x are copies), hashed a row at a
    time and compared from scaled copies of the rows whose hashes collide
    only: no scaled copy of X.

    ``keys`` (optional, one value or one row of values per row, computed
    already) must be equal for any two rows that are copies as compared
    here: then only rows whose key another row shares are hashed, and where
    every key is unique nothing is -- in the common case the search costs a
    hash of N keys instead of a pass over X."""
    n = X.shape[0]
    rows = np.arange(n)
    if keys is not None:
        key_hashes = row_hashes(_row_words(np.ascontiguousarray(keys).reshape(n, -1)))
        if not _equal_hashes(key_hashes):
            return None
        rows = _sharing(key_hashes)
    hashes = _hashes_of(X, rows, scaled)
    if not _equal_hashes(hashes):
        return None
    shared = _sharing(hashes)  # (ascending: the first copy stays first)
    rows, hashes = rows[shared], hashes[shared]
    if scaled:  # (scaled copies of the rows whose hashes collide only)
        found = _representatives(_row_words(_scaled_rows(X, rows)), np.argsort(hashes, kind="stable"), hashes)
        representative = np.arange(n)
        representative[rows] = rows[found]
    else:  # (the rows where they lie)
        by_row = np.zeros(n, np.uint64)
        by_row[rows] = hashes
        representative = _representatives(_row_words(X), rows[np.argsort(hashes, kind="stable")], by_row)
    copies = np.flatnonzero(representative != np.arange(n))
    return (representative, copies) if copies.size else None


def _sharing(hashes):
    """Positions of ``hashes`` that another position shares, ascending."""
    _, first, counts = np.unique(hashes, return_inverse=True, return_counts=True)
    return np.flatnonzero(counts[first] > 1)


def _hashes_of(X, rows, scaled):
    """``row_hashes`` of X's rows ``rows``, where they lie; with ``scaled``
    each row first scaled by the power of two that brings its largest
    magnitude into [1, 2) (``power_of_two_row_into``), one row at a time:
    no scaled copy of X is made."""
    row = np.empty(X.shape[1], X.dtype)
    return _hashes_of_rows(X, _row_words(X), rows, scaled, row, _row_words(row))


@kernel
def _hashes_of_rows(X, all_words, rows, scaled, row, words):
    """``_hashes_of``, X's bits ``all_words``, each scaled row into ``row``, whose bits are ``words``."""
    hashes = np.empty(rows.size, np.uint64)
    for k in range(rows.size):
        if scaled:
            power_of_two_row_into(X, rows[k], row)
            hashes[k] = _hash(words)
        else:
            hashes[k] = _hash(all_words[rows[k]])
    return hashes


@kernel
def self_cosines(rows, which):
    """The cosine of each row in ``which`` with itself, computed as SciPy's
    ``pdist(X, "cosine")`` computes it for two copies of one row: the row's
    float64 sum of squares over the square of its square root, clipped to 1.
    The sum is taken as SciPy's compiled loop takes it (two partial sums, of
    the even and the odd positions, added, then a last odd value): rounding
    leaves the cosine a little below 1 for some rows, SciPy's rank
    correlations see those differences, and so the same rows must have them
    here."""
    out = np.empty(which.size)
    d = rows.shape[1]
    for w in range(which.size):
        row = rows[which[w]]
        even = 0.0
        odd = 0.0
        for k in range(0, d - 1, 2):
            even += np.float64(row[k]) * np.float64(row[k])
            odd += np.float64(row[k + 1]) * np.float64(row[k + 1])
        squares = even + odd
        if d % 2:
            squares += np.float64(row[d - 1]) * np.float64(row[d - 1])
        length = np.sqrt(squares)
        out[w] = min(1.0, squares / (length * length))
    return out


@kernel
def _canonical(out, a, b, n, self_values):
    if a == b:
        return self_values[a]
    return out[condensed_index(min(a, b), max(a, b), n)]


@kernel
def unify_copies(out, representative, copies, self_values):
    """Every pair of ``out`` (condensed, n items) that involves a copy takes
    the value of the pair of the rows it copies (those pairs are not
    rewritten, so the order of the writes does not matter); two copies of
    one row take ``self_values`` of that row."""
    n = representative.size
    for i in range(n):
        base = condensed_index(i, 0, n)
        if representative[i] != i:  # a copy: all its later pairs
            for j in range(i + 1, n):
                out[base + j] = _canonical(out, representative[i], representative[j], n, self_values)
        else:  # a first row: its pairs with later copies
            for c in range(np.searchsorted(copies, i + 1), copies.size):
                j = copies[c]
                out[base + j] = _canonical(out, i, representative[j], n, self_values)
