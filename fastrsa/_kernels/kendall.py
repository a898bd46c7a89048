"""Kendall's tau from average ranks, in O(M log M): Knight's algorithm.

Both vectors arrive as average ranks (``rank.average_ranks_into``, parallel).
Twice an average rank is an integer, and ``slot = (2 * rank - 1) // 2`` is a
position inside the tie's own run of sorted positions, so distinct values
get distinct slots in [0, M) in value order.  Two stable counting sorts over
the slots puts b's slots in a's order; sorting each tie of a by b leaves one
inversion for every discordant pair, counted by a merge sort whose runs merge
in parallel.  Ties are counted from the slot histograms.  Every count is an
exact integer, so the result does not depend on the number of threads.

Memory besides the ranks: three int32 vectors of M (int64 past 2**31): slot
counts, the b sequence and the merge buffer.

Assumes checked input: two equally long float64 rank vectors.
"""

import numpy as np
from numba import prange

from ._jit import kernel, parallel_kernel
from .._tuning import KENDALL_RUN as RUN  # (compiled in: see _tuning.py)


@kernel
def _slot(rank):
    return (np.int64(2.0 * rank) - 1) // 2


@kernel
def _tied_pairs(ranks, counts):
    """Sum of t(t - 1)/2 over the ties of ``ranks``; leaves in ``counts`` the
    first sorted position of each slot's tie."""
    counts[:] = 0
    for i in range(ranks.size):
        counts[_slot(ranks[i])] += 1
    ties = 0
    position = 0
    for s in range(counts.size):
        t = np.int64(counts[s])
        ties += t * (t - 1) // 2
        counts[s] = position
        position += t
    return ties


@kernel
def _insertion_runs(values, start, stop):
    """Sort values[start:stop] by insertion; return the inversions removed."""
    inversions = 0
    for i in range(start + 1, stop):
        value = values[i]
        j = i - 1
        while j >= start and values[j] > value:
            values[j + 1] = values[j]
            j -= 1
        inversions += i - 1 - j
        values[j + 1] = value
    return inversions


@kernel
def _merge(source, target, start, middle, stop):
    """Merge the sorted source[start:middle] and source[middle:stop] into
    target; return the pairs (left > right) the merge puts in order.  The
    loop has no data-dependent branch (random data would mispredict half),
    and unsigned indices spare Numba's negative-index checks."""
    one = np.uint64(1)
    i, j, k = np.uint64(start), np.uint64(middle), np.uint64(start)
    middle, stop = np.uint64(middle), np.uint64(stop)
    inversions = np.uint64(0)
    while i < middle and j < stop:
        left = source[i]
        right = source[j]
        take_right = np.uint64(right < left)
        target[k] = right if take_right else left
        inversions += (middle - i) * take_right
        j += take_right
        i += one - take_right
        k += one
    while i < middle:
        target[k] = source[i]
        i += one
        k += one
    while j < stop:
        target[k] = source[j]
        j += one
        k += one
    return np.int64(inversions)


@parallel_kernel
def _count_inversions(values, buffer):
    """Pairs k < l with values[k] > values[l]; sorts ``values`` (into it or
    into ``buffer``)."""
    n = values.size
    runs = (n + RUN - 1) // RUN
    counts = np.zeros(runs, np.int64)
    for r in prange(runs):
        counts[r] = _insertion_runs(values, r * RUN, min((r + 1) * RUN, n))
    total = counts.sum()
    source, target = values, buffer
    width = RUN
    while width < n:
        merges = (n + 2 * width - 1) // (2 * width)
        counts = np.zeros(merges, np.int64)
        for m in prange(merges):
            start = m * 2 * width
            counts[m] = _merge(source, target, start, min(start + width, n), min(start + 2 * width, n))
        total += counts.sum()
        source, target = target, source
        width *= 2
    return total


@kernel
def _pair_counts(ranks_a, ranks_b, counts, sequence, buffer):
    """(ties in a, ties in b, joint ties, discordant pairs), as scipy names
    them; ``counts``, ``sequence`` and ``buffer`` are integer scratch of M."""
    ties_b = _tied_pairs(ranks_b, counts)
    ties_a = _tied_pairs(ranks_a, counts)
    # b's slots, the items in a's order (a stable counting sort) ...
    for i in range(ranks_a.size):
        s = _slot(ranks_a[i])
        sequence[counts[s]] = _slot(ranks_b[i])
        counts[s] += 1
    # ... then each tie in a sorted by b, counting joint ties as equal
    # neighbours.  A tie ends where counts[s] now points.
    joint = 0
    start = 0
    for s in range(counts.size):
        stop = np.int64(counts[s])
        if stop - start > 1:
            sequence[start:stop] = np.sort(sequence[start:stop])
            run = 1
            for k in range(start + 1, stop):
                if sequence[k] == sequence[k - 1]:
                    run += 1
                else:
                    joint += run * (run - 1) // 2
                    run = 1
            joint += run * (run - 1) // 2
        start = max(start, stop)
    return ties_a, ties_b, joint, _count_inversions(sequence, buffer)


_COUNTING_VECTORS = 3  # kendall_from_ranks's integer vectors


def counting_dtype(size):
    """The integer dtype of ``kendall_from_ranks``'s counting for ``size`` values."""
    return np.dtype(np.int32 if size < 2**31 else np.int64)


def counting_bytes(size):
    """Memory ``kendall_from_ranks`` allocates for ``size`` values."""
    return _COUNTING_VECTORS * size * counting_dtype(size).itemsize


@kernel
def kendall_from_ranks(ranks_a, ranks_b, variant_b):
    """Kendall's tau-b (``variant_b``) or tau-a of two vectors given by their
    average ranks, as ``scipy.stats.kendalltau`` and rsatoolbox's tau-a; NaN
    when a vector is constant."""
    n = ranks_a.size
    if n < 2**31:  # counting_dtype
        ties_a, ties_b, joint, discordant = _pair_counts(
            ranks_a, ranks_b, np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n, np.int32)
        )
    else:
        ties_a, ties_b, joint, discordant = _pair_counts(
            ranks_a, ranks_b, np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
        )
    total = n * (n - 1) // 2
    concordant_minus_discordant = total - ties_a - ties_b + joint - 2 * discordant
    if variant_b:
        tau = concordant_minus_discordant / np.sqrt(np.float64(total - ties_a)) / np.sqrt(np.float64(total - ties_b))
    else:
        tau = concordant_minus_discordant / np.float64(total)
    return max(-1.0, min(1.0, tau))
