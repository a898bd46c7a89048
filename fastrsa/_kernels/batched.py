"""Many small RSAs in one launch: the condensed vectors of a batch of small
spaces (B items of shape N x D), then their scores, in parallel over the batch.

Each item is computed whole by one thread, in fixed-size scratch that thread
keeps for all its items (the items split evenly over the threads), so a batch of thousands costs one dispatch instead of thousands of
calls, and an item's result does not depend on the thread that ran it.

An item's similarities are the products of its rows as rsa's tiles take
them (``tiles.tile_products_into``, no BLAS; each row first scaled by a
power of two: exact, no cosine changes, and no product of rows of any
finite magnitude overflows), each pair's product divided by its two rows'
lengths as SciPy's ``pdist`` does (``tiles.cosine_of``), then the pairs of
bitwise-equal rows made equal (``duplicates.unify_copies``), as rsa's tiles
make them: ties as SciPy sees them.
Distances are summed from the differences in float64, as ``pdist`` sums
them, every row of an item scaled by one power of two (which no score sees).

Assumes checked input: a C-contiguous float32 or float64 array (B, N, D),
N >= 3, no NaN or inf, and rows cosine (or correlation) can take.
"""

import math

import numpy as np
from numba import prange

from ._jit import kernel, parallel_kernel
from .duplicates import self_cosines, unify_copies
from .normalize import power_of_two_row_into, squares_of
from .resample import _average_ranks as average_ranks_of  # (scipy's rankdata, by a stable sort)
from .tiles import condensed_index, cosine_of, tile_products_into

# What an item's vector holds (``kind``).
COSINES, CORRELATIONS, EUCLIDEAN, SQEUCLIDEAN = 0, 1, 2, 3


@kernel
def _rows_into(X, kind, rows):
    """The item's rows as its pairs take them, into ``rows``: for cosines in
    X's dtype, each scaled by a power of two (exact: no cosine changes, and
    no product of rows of any finite magnitude overflows), centred first for
    correlation (in float64, as SciPy centres them, then rounded to X's dtype
    as rsa's rows are); for distances in float64, all scaled by one power of
    two (the item's peak into [1, 2): every distance scales alike, which no
    score sees)."""
    n, d = X.shape
    for i in range(n):
        if kind == CORRELATIONS:
            total = 0.0
            for k in range(d):
                total += np.float64(X[i, k])
            mean = total / d
            for k in range(d):
                rows[i, k] = np.float64(X[i, k]) - mean
        else:
            for k in range(d):
                rows[i, k] = X[i, k]
    if kind == COSINES or kind == CORRELATIONS:
        for i in range(n):
            power_of_two_row_into(rows, i, rows[i])
        return
    peak = 0.0
    for i in range(n):
        for k in range(d):
            peak = max(peak, abs(rows[i, k]))
    if peak > 0.0:
        _, exponent = math.frexp(peak)
        first = (1 - exponent) // 2
        factor, rest = math.ldexp(1.0, first), math.ldexp(1.0, 1 - exponent - first)
        for i in range(n):
            for k in range(d):
                rows[i, k] = rows[i, k] * factor * rest


@kernel
def _same_row(rows, i, j):
    for k in range(rows.shape[1]):
        if rows[i, k] != rows[j, k]:
            return False
    return True


@kernel
def _unify_copies_of(rows, representative, out):
    """Give the pairs of bitwise-equal rows (after their power-of-two
    scaling: rows that are power-of-two multiples of each other, as rsa
    takes them) bitwise-equal cosines in ``out`` (``unify_copies``)."""
    n = rows.shape[0]
    copies = 0
    for j in range(n):
        representative[j] = j
        for i in range(j):
            if representative[i] == i and _same_row(rows, i, j):
                representative[j] = i
                copies += 1
                break
    if copies == 0:
        return
    which = np.empty(copies, np.int64)
    c = 0
    for j in range(n):
        if representative[j] != j:
            which[c] = j
            c += 1
    self_values = np.zeros(n)
    firsts = np.unique(representative[which])
    self_values[firsts] = self_cosines(rows, firsts)
    unify_copies(out, representative, which, self_values)


@kernel
def item_pairs_into(X, kind, rows, rows64, transposed, products, norms, representative, out):
    """The condensed vector of one item X (N x D) into ``out`` (float64,
    N(N-1)/2): cosines or correlations (similarities), or Euclidean or
    squared Euclidean distances.  Scratch: ``rows`` (N x D, X's dtype),
    ``rows64`` (D x N, float64), ``products`` (N x N, X's dtype), ``norms``
    (N), ``representative`` (N integers).

    Similarities: the products of the rows with themselves
    (``tile_products_into``, from the diagonal up), each pair's
    product divided by its rows' lengths (``cosine_of``), then the pairs of
    bitwise-equal rows made equal, as rsa's tiles do.  Distances: summed
    from the differences by rank-one updates (for row i, every later row's
    running sum is updated feature by feature, a loop over j that runs the
    features of each pair in index order), in float64 as SciPy's ``pdist``."""
    n, d = X.shape
    if kind == COSINES or kind == CORRELATIONS:
        _rows_into(X, kind, rows)
        for i in range(n):
            norms[i] = np.sqrt(squares_of(rows[i]))
        tile_products_into(rows, 0, n, 0, n, products)
        for i in range(n - 1):
            base = condensed_index(i, 0, n)
            for j in range(i + 1, n):
                out[base + j] = cosine_of(np.float64(products[i, j]), norms[i], norms[j])
        _unify_copies_of(rows, representative, out)
        return
    _rows_into(X, kind, rows64)
    for i in range(n):
        for k in range(d):
            transposed[k, i] = rows64[i, k]
    for i in range(n - 1):
        base = condensed_index(i, 0, n)
        for j in range(i + 1, n):
            out[base + j] = 0.0
        for k in range(d):
            value = rows64[i, k]
            for j in range(i + 1, n):
                difference = value - transposed[k, j]
                out[base + j] += difference * difference
        if kind == EUCLIDEAN:
            for j in range(i + 1, n):
                out[base + j] = np.sqrt(out[base + j])


@kernel
def pearson_of(a, b):
    """``(ss_a, ss_b, cross)``: the centred sums of two float64 vectors, two passes."""
    size = a.size
    sum_a = 0.0
    sum_b = 0.0
    for i in range(size):
        sum_a += a[i]
        sum_b += b[i]
    mean_a, mean_b = sum_a / size, sum_b / size
    ss_a = 0.0
    ss_b = 0.0
    cross = 0.0
    for i in range(size):
        da = a[i] - mean_a
        db = b[i] - mean_b
        ss_a += da * da
        ss_b += db * db
        cross += da * db
    return ss_a, ss_b, cross


@kernel
def spread_of(values):
    """``(mean, centred sum of squares)`` of a float64 vector, two passes."""
    total = 0.0
    for i in range(values.size):
        total += values[i]
    mean = total / values.size
    squares = 0.0
    for i in range(values.size):
        squares += (values[i] - mean) * (values[i] - mean)
    return mean, squares


@parallel_kernel
def batch_vectors_into(Xs, kind, ranked, out, spread, threads):
    """The condensed vector of every item of ``Xs`` (B x N x D) into the rows
    of ``out`` (B x N(N-1)/2, float64), replaced by its average ranks when
    ``ranked``, and each vector's ``spread_of`` (before ranking) into the rows
    of ``spread`` (B x 2): in parallel over the items, each thread with its
    own scratch: ``threads`` even parts of the items, one a thread
    (Numba's thread count; no item's result depends on it)."""
    count, n, d = Xs.shape
    parts = max(1, min(threads, count))
    for t in prange(parts):
        similarity = kind == COSINES or kind == CORRELATIONS
        rows, products = np.empty((n, d), Xs.dtype), np.empty((n, n), Xs.dtype)
        rows64 = np.empty((0 if similarity else n, d))
        transposed = np.empty((0 if similarity else d, n))
        norms, representative = np.empty(n), np.empty(n, np.int64)
        values = np.empty(out.shape[1])
        for b in range(t * count // parts, (t + 1) * count // parts):
            target = values if ranked else out[b]
            item_pairs_into(Xs[b], kind, rows, rows64, transposed, products, norms, representative, target)
            mean, squares = spread_of(target)
            spread[b, 0] = mean
            spread[b, 1] = squares
            if ranked:
                average_ranks_of(values, out[b])


@parallel_kernel
def batch_spreads_into(values, out):
    """``spread_of`` each row of ``values`` (float64) into the rows of ``out`` (B x 2)."""
    for r in prange(values.shape[0]):
        mean, squares = spread_of(values[r])
        out[r, 0] = mean
        out[r, 1] = squares


@parallel_kernel
def batch_ranks_into(values, out):
    """The average ranks of each row of ``values`` into the rows of ``out`` (float64)."""
    for r in prange(values.shape[0]):
        average_ranks_of(values[r], out[r])


@parallel_kernel
def batch_moments_into(a, b, out):
    """``(ss_a, ss_b, cross)`` of each row of ``a`` with the same row of ``b``
    (or with b's only row, where it has one) into the rows of ``out`` (B x 3)."""
    count = a.shape[0]
    for r in prange(count):
        other = b[0] if b.shape[0] == 1 else b[r]
        ss_a, ss_b, cross = pearson_of(a[r], other)
        out[r, 0] = ss_a
        out[r, 1] = ss_b
        out[r, 2] = cross


# What ``problems_into`` finds in an item (``found[b, 0]``).
FINE, NOT_FINITE, UNUSABLE_ROW = 0, 1, 2


@parallel_kernel
def problems_into(Xs, similarity, centred, found):
    """The first problem of each item of ``Xs`` into the rows of ``found``
    (B x 3: what, row, column): a value that is NaN or inf, else (for
    ``similarity`` metrics) a row cosine cannot take (all zeros) or, with
    ``centred``, correlation (constant); ``FINE`` where there is none.  One
    pass over the values, in parallel over the items (the checks of
    ``_validate.items``, without a boolean copy of the batch)."""
    count, n, d = Xs.shape
    for b in prange(count):
        found[b, 0] = FINE
        found[b, 1] = 0
        found[b, 2] = 0
        for i in range(n):
            low = np.float64(Xs[b, i, 0])
            high = low
            for k in range(d):
                value = np.float64(Xs[b, i, k])
                if not np.isfinite(value):
                    found[b, 0] = NOT_FINITE
                    found[b, 1] = i
                    found[b, 2] = k
                    break
                low = min(low, value)
                high = max(high, value)
            if found[b, 0] != FINE:
                break
            if similarity and ((centred and low == high) or (not centred and low == 0.0 and high == 0.0)):
                found[b, 0] = UNUSABLE_ROW
                found[b, 1] = i
                break
