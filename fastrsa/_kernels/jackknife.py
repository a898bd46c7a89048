"""The jackknife over items, for the BCa interval: statistic i is the
correlation of the pairs left once item i leaves, with its n - 1 pairs.

Pearson (``item_sums``, ``pearson_leaving_each_out``): the sums the pairs
left need are the totals over all pairs less item i's own sums over its
pairs, so one O(pairs) pass gives every item's five sums (of a, b, a², b²,
ab).  The values are first scaled by a power of two (exact) and centred on
their mean over all pairs, so the totals hold no large mean to cancel: a
statistic is then about as accurate as its sums, a few ε times √n (the
items' sums run over n - 1 values), unless the pairs left keep only a small
share of the spread, where the subtraction of two nearly equal sums of
squares loses about -log2(share) bits: such items are flagged
(``LOST_SHARE``) for the caller to compute afresh.

Spearman (``spearman_leaving_each_out``): leaving an item out moves the rank
of every other pair, by the number of the item's pairs below it and half of
those tied with it, so each item left out is one pass over the pairs in each
vector's sorted order with those pairs skipped: the ranks of the pairs kept
counted afresh (a tie of k kept pairs after C smaller ones ranks
C + (k + 1)/2, which is the old average rank less the item's pairs below and
half of those tied, the same half-integer), then their Pearson correlation,
whose means are (m + 1)/2 exactly.  n x pairs visits in all, each item on
one thread.

Every statistic is summed on one thread in a fixed order, so none depends on
the thread count.  Assumes checked input (as ``resample``): condensed vectors
in ``pdist`` order, n >= 4.
"""

import math

import numpy as np
from numba import prange

from ._jit import kernel, parallel_kernel
from .resample import _weighted_ranks, pair_offsets

# Blocks of the passes over the pairs, each about 1/64 of them: more than
# any machine's threads.  They fix no order of a sum (each item's sums run
# over its pairs in pdist order whatever the blocks).
_BLOCKS = 64
# An item whose pairs left keep less than this share of a vector's spread
# (its sum of squares about the mean) is flagged: its statistic from the
# totals keeps fewer than about 52 - 20 bits.
LOST_SHARE = 2.0**-20


@parallel_kernel
def scaled_mean(values, scale):
    """The mean of ``values * scale``, summed in ``_BLOCKS`` fixed blocks
    (whatever the thread count), the blocks' sums added in order."""
    m = values.size
    sums = np.zeros(_BLOCKS)
    for block in prange(_BLOCKS):
        total = 0.0
        for k in range(block * m // _BLOCKS, (block + 1) * m // _BLOCKS):
            total += values[k] * scale
        sums[block] = total
    total = 0.0
    for block in range(_BLOCKS):
        total += sums[block]
    return total / m


@kernel
def item_sums(a, b, n, scale_a, scale_b, mean_a, mean_b, sums):
    """``sums[:, i]``: the sums of da, db, da², db², da db over item i's
    n - 1 pairs, da = a * scale_a - mean_a (and db alike): first its pairs
    with the items after it (its row of the condensed vector), then those
    with the items before it, in pdist order.  Two passes over the pairs:
    the rows, then the columns (each block of columns reading every row's
    run of them)."""
    offsets = pair_offsets(n)
    _row_sums(a, b, n, scale_a, scale_b, mean_a, mean_b, offsets, sums)
    _column_sums(a, b, n, scale_a, scale_b, mean_a, mean_b, offsets, sums)


@parallel_kernel
def _row_sums(a, b, n, scale_a, scale_b, mean_a, mean_b, offsets, sums):
    """``item_sums``' first pass, in blocks of rows of about equal counts of
    pairs (rows i and after hold about (n - i)²/2)."""
    for block in prange(_BLOCKS):
        first = n - int(round(n * math.sqrt(1.0 - block / _BLOCKS)))
        last = n - int(round(n * math.sqrt(1.0 - (block + 1) / _BLOCKS)))
        for i in range(first, last):
            s0 = s1 = s2 = s3 = s4 = 0.0
            for p in range(offsets[i] + i + 1, offsets[i] + n):
                da = a[p] * scale_a - mean_a
                db = b[p] * scale_b - mean_b
                s0 += da
                s1 += db
                s2 += da * da
                s3 += db * db
                s4 += da * db
            sums[0, i], sums[1, i], sums[2, i], sums[3, i], sums[4, i] = s0, s1, s2, s3, s4


@parallel_kernel
def _column_sums(a, b, n, scale_a, scale_b, mean_a, mean_b, offsets, sums):
    """``item_sums``' second pass, added to the first's, in blocks of
    columns of about equal counts of pairs (columns before j hold about
    j²/2)."""
    for block in prange(_BLOCKS):
        first = int(round(n * math.sqrt(block / _BLOCKS)))
        last = int(round(n * math.sqrt((block + 1) / _BLOCKS)))
        for i in range(last - 1):
            for j in range(max(first, i + 1), last):
                p = offsets[i] + j
                da = a[p] * scale_a - mean_a
                db = b[p] * scale_b - mean_b
                sums[0, j] += da
                sums[1, j] += db
                sums[2, j] += da * da
                sums[3, j] += db * db
                sums[4, j] += da * db


@kernel
def _pearson(ss_a, ss_b, cross):
    """cross / sqrt(ss_a ss_b) clipped to [-1, 1]; NaN where a sum of squares is not positive."""
    if not (ss_a > 0.0 and ss_b > 0.0):
        return np.nan
    return max(-1.0, min(1.0, cross / math.sqrt(ss_a * ss_b)))


@kernel
def pearson_leaving_each_out(sums, n, out, flagged):
    """``out[i]``: Pearson over the pairs without item i, from the items'
    sums (``item_sums``, or any sums over each item's pairs of values with
    about zero mean): the totals over all pairs are half the sums of the
    items'.  ``flagged[i]``: the pairs left keep less than ``LOST_SHARE``
    of a vector's spread (``out[i]`` lost bits; compute it afresh)."""
    pairs = n * (n - 1) / 2.0
    kept = pairs - (n - 1)
    totals = np.zeros(5)
    for q in range(5):
        for i in range(n):
            totals[q] += sums[q, i]
        totals[q] *= 0.5
    spread_a = totals[2] - totals[0] * totals[0] / pairs
    spread_b = totals[3] - totals[1] * totals[1] / pairs
    for i in range(n):
        sum_a, sum_b = totals[0] - sums[0, i], totals[1] - sums[1, i]
        ss_a = (totals[2] - sums[2, i]) - sum_a * sum_a / kept
        ss_b = (totals[3] - sums[3, i]) - sum_b * sum_b / kept
        cross = (totals[4] - sums[4, i]) - sum_a * sum_b / kept
        flagged[i] = not (ss_a > LOST_SHARE * spread_a and ss_b > LOST_SHARE * spread_b)
        out[i] = _pearson(ss_a, ss_b, cross)


@kernel
def _rank_pearson_without(sorted_a, items_a, left, ranks_b, b_position, mean):
    """Pearson of the ranks of the pairs without item ``left``: a's counted
    here in a's order, b's read from ``ranks_b`` (in b's order, at
    ``b_position``); both means are ``mean``."""
    m = sorted_a.size
    ss_a = ss_b = cross = 0.0
    below = 0.0
    k = 0
    while k < m:
        stop = k + 1
        while stop < m and sorted_a[stop] == sorted_a[k]:
            stop += 1
        tied = 0.0
        for t in range(k, stop):
            if items_a[t, 0] != left and items_a[t, 1] != left:
                tied += 1.0
        da = below + 0.5 * (tied + 1.0) - mean
        for t in range(k, stop):
            if items_a[t, 0] != left and items_a[t, 1] != left:
                db = ranks_b[b_position[t]] - mean
                ss_a += da * da
                ss_b += db * db
                cross += da * db
        below += tied
        k = stop
    return _pearson(ss_a, ss_b, cross)


@parallel_kernel
def spearman_leaving_each_out(sorted_a, items_a, sorted_b, items_b, b_position, scratch, out):
    """``out[i]``: Spearman over the pairs without item i, for every item,
    from the one sort of each vector (``stats._spearman_layout``: values in
    order, the items of the pair at each position, where a's t-th pair sits
    in b's order).  ``scratch``: one row of m per worker, b's ranks; the
    items are split into that many even parts."""
    n = out.size
    workers = scratch.shape[0]
    mean = 0.5 * (sorted_a.size - (n - 1) + 1.0)
    for w in prange(workers):
        # The pairs without item ``left`` are a resample that draws every
        # other item once and ``left`` never: their ranks are its weighted ranks.
        counts = np.ones(n)
        for left in range(w * n // workers, (w + 1) * n // workers):
            counts[left] = 0.0
            _weighted_ranks(sorted_b, items_b, counts, scratch[w])
            counts[left] = 1.0
            out[left] = _rank_pearson_without(sorted_a, items_a, left, scratch[w], b_position, mean)
