"""Statistics of resampled items, on condensed vectors: the Mantel test's
permutations and the bootstrap's resamples.

Both work on two float64 condensed vectors a and b over n items (centred
values, or centred ranks), in ``pdist`` order: pair (i, j), i < j, sits at
``offsets[i] + j`` with ``offsets[i] = i * n - i * (i + 1) // 2 - i - 1``.

Each permutation or resample is one serial loop in a fixed order, and the
loops run in parallel over permutations, so every statistic is the same bit
for bit whatever the number of threads.

Assumes checked input: a and b of length n(n - 1)/2, permutations of
range(n), counts that sum to n.  The ``permuted_masked_*`` kernels take NaN
in a or b for a missing pair (the Mantel test's ``nan_policy="omit"``).
"""

import math

import numpy as np
from numba import prange

from ._jit import kernel, parallel_kernel
from .scale import peak
from .scale import unit_scale as _unit_scale


@kernel
def pair_offsets(n):
    """``offsets[i] + j`` is the condensed position of pair (i, j), i < j."""
    offsets = np.empty(n, np.int64)
    for i in range(n):
        offsets[i] = i * n - i * (i + 1) // 2 - i - 1
    return offsets


@parallel_kernel
def permutations_from_uniforms(uniforms, out):
    """Row k of ``out`` (uint32, n columns) becomes a permutation of
    range(n) by Fisher-Yates, position i swapped with floor(u * (i + 1))
    for the uniforms u of row k (n - 1 of them, in [0, 1))."""
    n = out.shape[1]
    for k in prange(out.shape[0]):
        row = out[k]
        for i in range(n):
            row[i] = i
        for i in range(n - 1, 0, -1):
            j = min(np.int64(uniforms[k, n - 1 - i] * (i + 1)), i)
            row[i], row[j] = row[j], row[i]


@kernel
def square_matrix(b, n):
    """The symmetric n x n matrix of a condensed vector, zero diagonal (as
    ``scipy.spatial.distance.squareform``, without importing scipy.spatial)."""
    square = np.zeros((n, n))
    position = 0
    for i in range(n):
        for j in range(i + 1, n):
            square[i, j] = b[position]
            square[j, i] = b[position]
            position += 1
    return square


@parallel_kernel
def permuted_cross_products(a, b, permutations, out):
    """``out[k]`` = sum over pairs i < j of a[i, j] * b[p(i), p(j)], with p
    the permutation in row k of ``permutations``: the Mantel statistic's
    numerator with the items of b permuted."""
    n = permutations.shape[1]
    offsets = pair_offsets(n)
    for k in prange(permutations.shape[0]):
        p = permutations[k]
        # Four partial sums, so the additions do not wait on each other.
        s0 = s1 = s2 = s3 = 0.0
        position = 0
        for i in range(n):
            pi = p[i]
            j = i + 1
            while j + 3 < n:
                q0, q1, q2, q3 = p[j], p[j + 1], p[j + 2], p[j + 3]
                s0 += a[position] * b[offsets[min(pi, q0)] + max(pi, q0)]
                s1 += a[position + 1] * b[offsets[min(pi, q1)] + max(pi, q1)]
                s2 += a[position + 2] * b[offsets[min(pi, q2)] + max(pi, q2)]
                s3 += a[position + 3] * b[offsets[min(pi, q3)] + max(pi, q3)]
                position += 4
                j += 4
            while j < n:
                q = p[j]
                s0 += a[position] * b[offsets[min(pi, q)] + max(pi, q)]
                position += 1
                j += 1
        out[k] = (s0 + s1) + (s2 + s3)


@parallel_kernel
def permuted_cross_products_square(a, square_b, permutations, out):
    """As ``permuted_cross_products``, with b as its symmetric n x n matrix
    (n^2 float64 instead of n^2/2): row p(i) is contiguous, so the gathers
    stay in one cached row instead of jumping across the condensed vector,
    and no index arithmetic is needed.  Faster than the condensed gathers
    while the matrix fits in the L2 cache (n below about 200); past that,
    ``permuted_cross_products_blocked``.

    Every index is unsigned (uint32 permutations, uint64 counters): Numba
    then skips its negative-index wraparound on each of the gathers."""
    n = np.uint64(permutations.shape[1])
    one, two, three, four = np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4)
    for k in prange(permutations.shape[0]):
        p = permutations[k]
        s0 = s1 = s2 = s3 = 0.0
        position = np.uint64(0)
        for i in range(n):
            row = square_b[p[i]]
            j = np.uint64(i + 1)
            while j + three < n:
                s0 += a[position] * row[p[j]]
                s1 += a[position + one] * row[p[j + one]]
                s2 += a[position + two] * row[p[j + two]]
                s3 += a[position + three] * row[p[j + three]]
                position += four
                j += four
            while j < n:
                s0 += a[position] * row[p[j]]
                position += one
                j += one
        out[k] = (s0 + s1) + (s2 + s3)


@parallel_kernel
def permuted_cross_products_blocked(a, square_b, permutations, block, out):
    """As ``permuted_cross_products_square``, in another order: b's rows in
    the outer loop, ``block`` permutations in the inner one.  For row u of b
    and permutation p, the pairs that meet it are those of item i = p^-1(u)
    with the items j > i: a's i-th run (contiguous) times row u gathered at
    p(j).  Row u stays in the L1 cache for the whole block, and a's runs are
    streamed, so each pair costs three cached loads; the other order gathers
    from a new row of b at every step, which misses the cache once n^2 float64
    outgrow L2.

    Each permutation's sum still runs in one fixed order (rows u = 0, 1, ...),
    so ``block`` and the thread count do not change a bit of ``out``."""
    count, n = permutations.shape
    last = np.uint64(n)
    one, two, three, four = np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4)
    for first in prange((count + block - 1) // block):
        start = first * block
        stop = min(start + block, count)
        inverse = np.empty((stop - start, n), np.uint32)
        for k in range(start, stop):
            for i in range(n):
                inverse[k - start, permutations[k, i]] = i
        sums = np.zeros(stop - start)
        for u in range(n):
            row = square_b[u]
            for k in range(start, stop):
                p = permutations[k]
                i = np.uint64(inverse[k - start, u])
                position = i * last - i * (i + one) // two  # pair (i, i + 1)
                s0 = s1 = s2 = s3 = 0.0
                j = i + one
                while j + three < last:
                    s0 += a[position] * row[p[j]]
                    s1 += a[position + one] * row[p[j + one]]
                    s2 += a[position + two] * row[p[j + two]]
                    s3 += a[position + three] * row[p[j + three]]
                    position += four
                    j += four
                while j < last:
                    s0 += a[position] * row[p[j]]
                    position += one
                    j += one
                sums[k - start] += (s0 + s1) + (s2 + s3)
        out[start:stop] = sums


@kernel
def _pair_weights(counts, weights):
    """The weight of each pair in a resample: how often it occurs, counts[i]
    * counts[j]; an item's pairs with its own copies are left out."""
    n = counts.size
    position = 0
    for i in range(n):
        for j in range(i + 1, n):
            weights[position] = counts[i] * counts[j]
            position += 1


@kernel
def _correlation(ss_a, ss_b, cross):
    """cross / sqrt(ss_a ss_b) clipped to [-1, 1]; NaN when either sum of
    squares is zero (a vector that does not vary)."""
    if not (ss_a > 0.0 and ss_b > 0.0):
        return np.nan
    r = cross / np.sqrt(ss_a * ss_b)
    return max(-1.0, min(1.0, r))


@kernel
def _sum_scale(values, n):
    """The power of two that keeps the weighted sums of ``values`` over a
    resample of n items (total weight below n^2/2) under 2**960, as large as
    that allows: the values of the pairs a resample keeps may lie far below
    the vector's largest (and a scale that brought the largest near 1 would
    take them below float64's range).  Exact: the means come out as the
    unscaled sums would give them, bit for bit, wherever those do not
    overflow."""
    largest = peak(values)
    if largest == 0.0:
        return 1.0
    _, exponent = math.frexp(largest)
    _, weight_bits = math.frexp(float(n) * n)
    return math.ldexp(1.0, max(-1022, min(1023, 960 - weight_bits - exponent)))


@kernel
def _flat(low, high, floor):
    """Whether values from ``low`` to ``high`` are equal up to float64's
    rounding at their scale (at least ``floor``, the metric's rounding
    floor): the rule by which rsa refuses a vector as having zero variance
    (``_validate.varies``), here on the resample's range."""
    return high - low <= 16 * 2.220446049250313e-16 * max(abs(low), abs(high), floor)


@kernel
def _weighted_pearson(a, b, weights, sum_scale_a, sum_scale_b, floor):
    """Weighted Pearson correlation in two passes; NaN when either vector has
    zero weighted variance (or fewer than two weighted pairs).  Zero variance
    is decided on the weighted pairs' range: their values are equal up to
    rounding (``_flat``; pairs of copies of a row whose values differ only by
    rounding, 1e-16 apart, have no variance a correlation could use: their
    sums of squares about the weighted mean would be rounding noise, whose
    correlation means nothing).  The means are summed at ``_sum_scale``."""
    total = sum_a = sum_b = 0.0
    low_a = low_b = np.inf
    high_a = high_b = -np.inf
    for k in range(a.size):
        w = weights[k]
        total += w
        sum_a += w * (a[k] * sum_scale_a)
        sum_b += w * (b[k] * sum_scale_b)
        if w > 0.0:
            low_a, high_a = min(low_a, a[k]), max(high_a, a[k])
            low_b, high_b = min(low_b, b[k]), max(high_b, b[k])
    if total == 0.0 or _flat(low_a, high_a, floor) or _flat(low_b, high_b, floor):  # no pair, or no spread
        return np.nan
    mean_a = sum_a / total / sum_scale_a
    mean_b = sum_b / total / sum_scale_b
    # The deviations times the power of two that brings the resample's
    # largest value near 1 (exact; the correlation does not see it): a
    # resample of values far below the vector's largest would otherwise
    # square to nothing.
    scale_a = _unit_scale(max(abs(low_a), abs(high_a)))
    scale_b = _unit_scale(max(abs(low_b), abs(high_b)))
    ss_a = ss_b = cross = 0.0
    for k in range(a.size):
        w = weights[k]
        if w == 0.0:  # (a pair the resample left out may lie far above its scale)
            continue
        da = (a[k] - mean_a) * scale_a
        db = (b[k] - mean_b) * scale_b
        ss_a += w * da * da
        ss_b += w * db * db
        cross += w * da * db
    return _correlation(ss_a, ss_b, cross)


@kernel
def pair_items(n):
    """The two items of every pair, in ``pdist`` order: shape (M, 2), uint32."""
    items = np.empty((n * (n - 1) // 2, 2), np.uint32)
    position = 0
    for i in range(n):
        for j in range(i + 1, n):
            items[position, 0] = i
            items[position, 1] = j
            position += 1
    return items


@kernel
def _weighted_ranks(sorted_values, items, counts, ranks):
    """Average ranks, in sorted order, of values that occur as often as their
    pair does in a resample (``counts[i] * counts[j]`` for the pair's items
    ``items[t]``): a tie of total weight W after C smaller copies ranks
    C + (W + 1)/2.  Every access is sequential but ``counts`` (n values)."""
    m = sorted_values.size
    below = 0.0
    k = 0
    while k < m:
        stop = k + 1
        while stop < m and sorted_values[stop] == sorted_values[k]:
            stop += 1
        tied = 0.0
        for t in range(k, stop):
            tied += counts[items[t, 0]] * counts[items[t, 1]]
        rank = below + 0.5 * (tied + 1.0)
        for t in range(k, stop):
            ranks[t] = rank
        below += tied
        k = stop


@kernel
def _weighted_rank_pearson(ranks_a, items_a, ranks_b, b_position, counts):
    """Weighted Pearson of the two rank vectors (a's in a's sorted order,
    b's in b's; ``b_position[t]`` is where a's t-th pair sits in b's order).
    Both weighted means are (W + 1)/2, W the total weight, so one pass
    suffices; NaN when either vector does not vary."""
    total = 0.0
    for t in range(ranks_a.size):
        total += counts[items_a[t, 0]] * counts[items_a[t, 1]]
    if total == 0.0:
        return np.nan
    mean = 0.5 * (total + 1.0)
    ss_a = ss_b = cross = 0.0
    for t in range(ranks_a.size):
        w = counts[items_a[t, 0]] * counts[items_a[t, 1]]
        da = ranks_a[t] - mean
        db = ranks_b[b_position[t]] - mean
        ss_a += w * da * da
        ss_b += w * db * db
        cross += w * da * db
    return _correlation(ss_a, ss_b, cross)


@parallel_kernel
def bootstrap_pearson(a, b, counts, weights, out, floor):
    """``out[k]``: weighted Pearson of a and b with the pair weights of the
    item counts in row k of ``counts``.  ``weights`` is scratch, one row of
    M per worker: the resamples are split into that many even parts.
    ``floor``: the metric's rounding floor (``_flat``)."""
    workers = weights.shape[0]
    resamples = counts.shape[0]
    n = counts.shape[1]
    sum_scale_a, sum_scale_b = _sum_scale(a, n), _sum_scale(b, n)
    for t in prange(workers):
        for k in range(t * resamples // workers, (t + 1) * resamples // workers):
            _pair_weights(counts[k], weights[t])
            out[k] = _weighted_pearson(a, b, weights[t], sum_scale_a, sum_scale_b, floor)


@parallel_kernel
def bootstrap_spearman(sorted_a, items_a, sorted_b, items_b, b_position, counts, scratch, out):
    """``out[k]``: Spearman correlation over the resample of row k of
    ``counts``, ranks recomputed for its weights from the one sort of each
    vector: ``sorted_*`` the values in order, ``items_*`` the items of the
    pair at each sorted position, ``b_position`` as in
    ``_weighted_rank_pearson``.  ``scratch`` has shape (workers, 2, M)."""
    workers = scratch.shape[0]
    resamples = counts.shape[0]
    for t in prange(workers):
        ranks_a, ranks_b = scratch[t, 0], scratch[t, 1]
        for k in range(t * resamples // workers, (t + 1) * resamples // workers):
            _weighted_ranks(sorted_a, items_a, counts[k], ranks_a)
            _weighted_ranks(sorted_b, items_b, counts[k], ranks_b)
            out[k] = _weighted_rank_pearson(ranks_a, items_a, ranks_b, b_position, counts[k])


# The Mantel test with missing pairs (NaN in a or b).  A permutation relabels
# b's items with their NaN, so each permuted statistic is the correlation over
# the pairs valid in both a and the permuted b: the count and the means
# change from one permutation to the next.  b is gathered from its condensed
# vector, NaN included.

_EPS = np.finfo(np.float64).eps


@kernel
def _correlation_of_sums(count, sum_a, sum_b, sum_aa, sum_bb, sum_ab):
    """Pearson correlation from the count and the raw sums of the valid
    pairs (of values centred beforehand, so the subtraction loses little);
    NaN for fewer than 2 pairs, or a side whose centred sum of squares is
    within the rounding of its raw one (values that do not vary)."""
    if count < 2:
        return np.nan
    ss_a = sum_aa - sum_a * sum_a / count
    ss_b = sum_bb - sum_b * sum_b / count
    rounding = 4.0 * count * _EPS
    if not (ss_a > rounding * sum_aa and ss_b > rounding * sum_bb):
        return np.nan
    return _correlation(ss_a, ss_b, sum_ab - sum_a * sum_b / count)


@parallel_kernel
def permuted_masked_pearson(a, b, permutations, out):
    """``out[k]``: Pearson correlation of a[i, j] and b[p(i), p(j)] over the
    pairs i < j where neither is NaN, with p the permutation in row k; NaN
    where that is undefined (see ``_correlation_of_sums``).  a and b are
    float64, centred (by their means over the pairs valid in both)."""
    n = permutations.shape[1]
    offsets = pair_offsets(n)
    for k in prange(permutations.shape[0]):
        p = permutations[k]
        count = 0
        sum_a = sum_b = sum_aa = sum_bb = sum_ab = 0.0
        position = 0
        for i in range(n):
            pi = p[i]
            for j in range(i + 1, n):
                x = a[position]
                position += 1
                if np.isnan(x):
                    continue
                q = p[j]
                y = b[offsets[min(pi, q)] + max(pi, q)]
                if np.isnan(y):
                    continue
                count += 1
                sum_a += x
                sum_b += y
                sum_aa += x * x
                sum_bb += y * y
                sum_ab += x * y
        out[k] = _correlation_of_sums(count, sum_a, sum_b, sum_aa, sum_bb, sum_ab)


@kernel
def _average_ranks(values, ranks):
    """``ranks``: the average ranks of ``values`` from 1, as
    ``scipy.stats.rankdata`` (ties share the mean of their positions)."""
    order = np.argsort(values, kind="mergesort")
    m = values.size
    k = 0
    while k < m:
        stop = k + 1
        while stop < m and values[order[stop]] == values[order[k]]:
            stop += 1
        rank = 0.5 * (k + 1 + stop)
        for t in range(k, stop):
            ranks[order[t]] = rank
        k = stop


@parallel_kernel
def permuted_masked_spearman(a, b, permutations, scratch, out):
    """As ``permuted_masked_pearson`` for Spearman: the values valid in both
    are gathered, ranked afresh for each permutation (their set changes) and
    correlated; NaN where fewer than 2 pairs are valid or a side's ranks are
    all tied.  a and b are float64 with NaN; ``scratch`` has shape
    (workers, 4, M): the permutations are split into that many even parts."""
    n = permutations.shape[1]
    offsets = pair_offsets(n)
    workers = scratch.shape[0]
    draws = permutations.shape[0]
    for w in prange(workers):
        values_a, values_b, ranks_a, ranks_b = scratch[w, 0], scratch[w, 1], scratch[w, 2], scratch[w, 3]
        for k in range(w * draws // workers, (w + 1) * draws // workers):
            p = permutations[k]
            count = 0
            position = 0
            for i in range(n):
                pi = p[i]
                for j in range(i + 1, n):
                    x = a[position]
                    position += 1
                    if np.isnan(x):
                        continue
                    q = p[j]
                    y = b[offsets[min(pi, q)] + max(pi, q)]
                    if np.isnan(y):
                        continue
                    values_a[count] = x
                    values_b[count] = y
                    count += 1
            if count < 2:
                out[k] = np.nan
                continue
            _average_ranks(values_a[:count], ranks_a[:count])
            _average_ranks(values_b[:count], ranks_b[:count])
            mean = 0.5 * (count + 1.0)
            ss_a = ss_b = cross = 0.0
            for t in range(count):
                da = ranks_a[t] - mean
                db = ranks_b[t] - mean
                ss_a += da * da
                ss_b += db * db
                cross += da * db
            out[k] = _correlation(ss_a, ss_b, cross)
