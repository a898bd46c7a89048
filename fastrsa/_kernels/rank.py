"""Average ranks (ties share the mean of their positions), as
``scipy.stats.rankdata(v, method="average")``, by a two-level bucket sort.

A bucket is a slice of equal width of the values' range: value v goes to
bucket ``floor((v - low) * scale)``, which never decreases as v grows because
every floating-point step is monotonic, so equal values always share a bucket
and sorting each bucket on its own sorts the whole.

1. One parallel pass finds the range; a second counts the ``buckets`` coarse
   buckets (about ``COARSE_SIZE`` values each, at most ``COARSE_BUCKETS``
   buckets) per slice; a serial prefix sum
   turns the counts into write offsets; a third scatters the values, each
   slice into its own part of every bucket.
2. In parallel over coarse buckets, each bucket is ranked in cache on its own:
   spread again over its own range into about ``size / FINE_SIZE`` fine
   buckets, and each value's twice average rank (an integer) is written at
   its place in the bucket: in a fine bucket of a few values each value
   counts the smaller and equal ones, a crowded one is sorted (quicksort)
   and its runs of equal values ranked.
3. Each slice replays its scatter of step 1 and reads its values' ranks back
   in its own order.  Every access of steps 1 and 3 streams; writing each
   rank straight to its item from step 2 would be a random write per value.
   For Spearman's correlation (``spearman_moments_into``) the second
   vector's step 3 sums the centred products with the first's ranks instead
   of storing its own: the means of average ranks are (n + 1)/2 exactly.

A vector of at most ``COARSE_SIZE`` values is one coarse bucket, ranked in
place of step 1.  Values crowded into one coarse bucket (an outlier
stretching the range) are spread again over their own range in step 2, so
the work stays O(n) for any distribution that step 2 can separate, and
O(n log n) at worst.

Memory besides the output: one copy of the values and one int32 vector of
doubled ranks (int64 from 2**30 values), passed in as scratch so that several
vectors can share them, and a copy of one coarse bucket per thread.  The
output may be float64 ranks or, half the size, twice the ranks as integers
(``doubled_ranks_into``), which ``spearman_moments_of_doubled`` reads.

Assumes checked input: a 1-D float32 or float64 vector without NaN.
"""

import numpy as np
from numba import prange

from ._jit import kernel, parallel_kernel, serial_and_parallel
from .._tuning import COARSE_BUCKETS, COARSE_SIZE, COUNTED, FINE_SIZE, INSERTION, PARTS  # (compiled in: see _tuning.py)


CHUNK = 4096  # values per partial sum of the Spearman moments


@kernel
def _insertion_sort(values, index, start, stop):
    """Sort ``values[start:stop]`` ascending, carrying ``index`` along.
    (Unsigned positions, here and in ``_rank_bucket``, spare Numba's
    negative-index check on every access, a large part of these loops'
    time.)"""
    one = np.uint64(1)
    for i in range(np.uint64(start) + one, np.uint64(stop)):
        value = values[i]
        item = index[i]
        j = i  # the hole, moving left while its left neighbour is larger
        while j > start and values[j - one] > value:
            values[j] = values[j - one]
            index[j] = index[j - one]
            j -= one
        values[j] = value
        index[j] = item


@kernel
def _quicksort(values, index, start, stop):
    """Sort ``values[start:stop]`` ascending, carrying ``index`` along, in
    place: median-of-three quicksort (the smaller side first, so the stack
    stays under 64 levels), insertion sort below ``INSERTION``."""
    stack = np.empty((64, 2), np.int64)
    stack[0, 0] = start
    stack[0, 1] = stop
    top = 1
    while top:
        top -= 1
        low = stack[top, 0]
        high = stack[top, 1]
        while high - low > INSERTION:
            a, b, c = values[low], values[(low + high) // 2], values[high - 1]
            pivot = max(min(a, b), min(max(a, b), c))
            i = low
            j = high - 1
            while i <= j:
                while values[i] < pivot:
                    i += 1
                while values[j] > pivot:
                    j -= 1
                if i <= j:
                    values[i], values[j] = values[j], values[i]
                    index[i], index[j] = index[j], index[i]
                    i += 1
                    j -= 1
            # Now values[low:j+1] <= pivot <= values[i:high]; push the larger side.
            if j + 1 - low < high - i:
                stack[top, 0] = i
                stack[top, 1] = high
                high = j + 1
            else:
                stack[top, 0] = low
                stack[top, 1] = j + 1
                low = i
            top += 1
        _insertion_sort(values, index, low, high)


@kernel
def _spread_scale(low, high, buckets):
    """The factor taking ``v - low`` to a bucket number, or 0 where the range
    is too wide or too narrow to divide in floating point (one bucket)."""
    scale = buckets / (high - low) if high > low else 0.0
    if 0.0 < scale < np.inf and high - low < np.inf:
        return scale
    return 0.0


@kernel
def _bucket(value, low, scale, buckets):
    if scale == 0.0:
        return 0  # (value - low) may be inf here, and inf * 0 is NaN
    return min(np.int64((np.float64(value) - low) * scale), buckets - 1)


@kernel
def _rank_fine_buckets(values, index, ends, start, doubled):
    """Twice the average rank of each value of a coarse bucket, spread over
    fine buckets in ``values`` (fine bucket b is ``values[ends[b - 1]:ends[b]]``,
    ``index`` the values' places in the coarse bucket), into
    ``doubled[start + index[k]]``, ``start`` the sorted position of the coarse
    bucket's first value.  Every smaller value sits before a value's fine
    bucket and every copy of it inside, so a value with ``below`` smaller
    values and ``equal`` copies (itself included) in its fine bucket, which
    begins at ``begin``, ranks start + begin + below + (equal + 1)/2.

    In a fine bucket of up to ``COUNTED`` values, each value counts its
    smaller and equal ones: no sort, and no branch that depends on the values
    (sorting the few values of each fine bucket mispredicted a branch for
    about every value, and took most of the ranking's time).  A crowded
    fine bucket is sorted.  One call per coarse bucket: a call per fine
    bucket (four values) cost as much as the sort saved."""
    one = np.uint64(1)
    begin = np.uint64(0)
    for b in range(ends.size):
        end = ends[b]
        size = end - begin
        first = (start + begin) * np.uint64(2) + one  # 2 (values before) + 1
        if size == one:
            doubled[start + np.uint64(index[begin])] = first + one
        elif size <= np.uint64(COUNTED):
            for k in range(begin, end):
                value = values[k]
                below = np.uint64(0)
                equal = np.uint64(0)
                for t in range(begin, end):
                    below += np.uint64(values[t] < value)
                    equal += np.uint64(values[t] == value)
                doubled[start + np.uint64(index[k])] = first + below + below + equal
        elif size:
            _quicksort(values, index, np.int64(begin), np.int64(end))
            i = begin
            while i < end:
                j = i + one
                while j < end and values[j] == values[i]:
                    j += one
                # Sorted positions i..j-1 rank start+i+1 .. start+j: twice their mean.
                twice = start + start + i + one + j
                for k in range(i, j):
                    doubled[start + np.uint64(index[k])] = twice
                i = j
        begin = end


@kernel
def _rank_bucket(values, start, stop, doubled):
    """Write twice the average rank of ``values[start + k]`` into
    ``doubled[start + k]`` for the coarse bucket ``values[start:stop]`` (which
    holds sorted positions start..stop-1): its values are spread over fine
    buckets in a local copy, each ranked on its own.  Every write stays inside
    the bucket, in cache."""
    one = np.uint64(1)
    start, stop = np.uint64(start), np.uint64(stop)
    size = stop - start
    if size == 0:
        return
    low = np.float64(values[start])
    high = low
    for k in range(start, stop):
        low = min(low, np.float64(values[k]))
        high = max(high, np.float64(values[k]))
    if low == high:
        for k in range(start, stop):
            doubled[k] = start + start + size + one
        return
    local_values = np.empty(size, values.dtype)
    local_index = np.empty(size, doubled.dtype)  # positions k within the bucket
    buckets = max(2, size // FINE_SIZE)
    scale = _spread_scale(low, high, buckets)
    counts = np.zeros(buckets + 1, np.uint64)
    for k in range(start, stop):
        counts[np.uint64(_bucket(values[k], low, scale, buckets)) + one] += one
    for b in range(np.uint64(buckets)):
        counts[b + one] += counts[b]
    for k in range(start, stop):
        b = np.uint64(_bucket(values[k], low, scale, buckets))
        position = counts[b]
        counts[b] = position + one
        local_values[position] = values[k]
        local_index[position] = k - start
    _rank_fine_buckets(local_values, local_index, counts[:buckets], start, doubled)


@parallel_kernel
def _value_range(values, parts):
    """(min, max) of a non-empty vector in float64, over ``parts`` slices."""
    n = values.size
    lows = np.empty(parts)
    highs = np.empty(parts)
    for p in prange(parts):
        low = np.float64(values[p * n // parts])
        high = low
        for i in range(p * n // parts, (p + 1) * n // parts):
            low = min(low, np.float64(values[i]))
            high = max(high, np.float64(values[i]))
        lows[p] = low
        highs[p] = high
    return lows.min(), highs.max()


@parallel_kernel
def _offsets(values, low, scale, buckets, parts):
    """Where each of ``parts`` slices writes its values of each coarse bucket
    (``offsets[p, b]``): the buckets one after another, and within a bucket
    the slices in order.  ``offsets[0]`` are the buckets' starts."""
    n = values.size
    offsets = np.zeros((parts, buckets), np.int64)
    for p in prange(parts):
        mine = offsets[p]
        for i in range(np.uint64(p * n // parts), np.uint64((p + 1) * n // parts)):
            mine[np.uint64(_bucket(values[i], low, scale, buckets))] += 1
    offset = 0
    for b in range(buckets):
        for p in range(parts):
            count = offsets[p, b]
            offsets[p, b] = offset
            offset += count
    return offsets


@kernel
def _next_position(value, low, scale, mine):
    """Where ``value`` goes in bucket order: the next free place of its bucket
    among one slice's places ``mine`` (a copy of its row of ``_offsets``),
    which it takes.  Steps 1 and 3 call this for the same values in the same
    order, so both meet the same places."""
    b = np.uint64(_bucket(value, low, scale, mine.size))
    position = np.uint64(mine[b])
    mine[b] = position + np.uint64(1)
    return position


@parallel_kernel
def _distribute(values, low, scale, offsets, sorted_values):
    """Scatter ``values`` into ``sorted_values`` grouped by coarse bucket, at
    ``offsets``; each slice writes its own values in order."""
    n = values.size
    parts = offsets.shape[0]
    for p in prange(parts):
        mine = offsets[p].copy()
        for i in range(np.uint64(p * n // parts), np.uint64((p + 1) * n // parts)):
            sorted_values[_next_position(values[i], low, scale, mine)] = values[i]


@parallel_kernel
def _rank_buckets(sorted_values, starts, doubled):
    n = sorted_values.size
    buckets = starts.size
    for b in prange(buckets):
        _rank_bucket(sorted_values, starts[b], starts[b + 1] if b + 1 < buckets else n, doubled)


@kernel
def coarse_buckets(n):
    """How many coarse buckets step 1 spreads n > ``COARSE_SIZE`` values over."""
    return min(n // COARSE_SIZE, COARSE_BUCKETS)


@kernel
def _sort_and_rank(values, sorted_values, doubled, parts):
    """Steps 1 and 2: twice the average rank of every value, written in
    bucket order into ``doubled``.  Returns ``(low, scale, offsets)``, with
    which ``_next_position`` finds each value's place in that order again."""
    n = values.size
    if n <= COARSE_SIZE:  # one bucket, in the values' own order
        _rank_bucket(values, 0, n, doubled)
        return 0.0, 0.0, np.zeros((1, 1), np.int64)
    buckets = coarse_buckets(n)
    low, high = _value_range(values, parts)
    scale = _spread_scale(low, high, buckets)
    offsets = _offsets(values, low, scale, buckets, parts)
    _distribute(values, low, scale, offsets, sorted_values)
    _rank_buckets(sorted_values, offsets[0], doubled)
    return low, scale, offsets


def _gather_ranks(values, low, scale, offsets, doubled, ranks, half):
    """Step 3: ``ranks[i]``, in the values' own order, from ``doubled`` in
    bucket order, each slice replaying its scatter: every read and write
    streams, where writing each rank straight to its item would be a random
    write per value.  ``half`` is 0.5 for float ranks, or 1 to keep twice
    the ranks, integers, in an integer ``ranks``."""
    n = values.size
    parts = offsets.shape[0]
    for p in prange(parts):
        mine = offsets[p].copy()
        for i in range(np.uint64(p * n // parts), np.uint64((p + 1) * n // parts)):
            ranks[i] = half * doubled[_next_position(values[i], low, scale, mine)]


_gather_ranks_serial, _gather_ranks_parallel = serial_and_parallel(_gather_ranks)


def _rank_moments(values, low, scale, offsets, doubled, ranks_a, half_a, ranks):
    """As ``_gather_ranks`` for a second vector (``ranks`` of length 0: its
    ranks are not kept), summing on the way the centred squares and products
    of its ranks and the first vector's, ``half_a * ranks_a`` (``half_a`` 1.0
    for float ranks, 0.5 for doubled ones).  Both means are (n + 1)/2
    exactly, and ``sums[p]`` holds slice p's three sums, added up chunk by
    chunk (``CHUNK`` values each), so the result depends only on n and parts."""
    n = values.size
    parts = offsets.shape[0]
    keep = ranks.size == n
    mean = 0.5 * (n + 1)
    sums = np.zeros((parts, 3))
    for p in prange(parts):
        mine = offsets[p].copy()
        stop = np.uint64((p + 1) * n // parts)
        for c in range(np.uint64(p * n // parts), stop, np.uint64(CHUNK)):
            ss_a = 0.0
            ss_b = 0.0
            cross = 0.0
            for i in range(c, min(c + np.uint64(CHUNK), stop)):
                rank = 0.5 * doubled[_next_position(values[i], low, scale, mine)]
                if keep:
                    ranks[i] = rank
                da = half_a * ranks_a[i] - mean
                db = rank - mean
                ss_a += da * da
                ss_b += db * db
                cross += da * db
            sums[p, 0] += ss_a
            sums[p, 1] += ss_b
            sums[p, 2] += cross
    return sums


_rank_moments_serial, _rank_moments_parallel = serial_and_parallel(_rank_moments)


@kernel
def _ranks_into(values, ranks, sorted_values, doubled, parts, half):
    """Steps 1 to 3: ``half`` times twice the average ranks into ``ranks``."""
    low, scale, offsets = _sort_and_rank(values, sorted_values, doubled, parts)
    if offsets.shape[0] == 1:
        _gather_ranks_serial(values, low, scale, offsets, doubled, ranks, half)
    else:
        _gather_ranks_parallel(values, low, scale, offsets, doubled, ranks, half)


@kernel
def average_ranks_into(values, ranks, sorted_values, doubled, parts):
    """Write the float64 average ranks of ``values`` (1 = smallest) into
    ``ranks``, which may be ``values`` itself when that is float64.

    ``sorted_values`` (the dtype of ``values``) and ``doubled`` (int32, or
    int64 from 2**30 values) are scratch of the same length, overwritten.
    Step 1 runs in ``parts`` slices (``PARTS``); the result does not depend
    on it.
    """
    _ranks_into(values, ranks, sorted_values, doubled, parts, 0.5)


@kernel
def doubled_ranks_into(values, doubled_ranks, sorted_values, doubled, parts):
    """As ``average_ranks_into``, writing twice the average ranks, exact
    integers, into ``doubled_ranks`` (the dtype of ``doubled``): ranks that
    wait for a second vector in half the memory of float64 ones."""
    _ranks_into(values, doubled_ranks, sorted_values, doubled, parts, 1)


@kernel
def _moments_with_ranks(ranks_a, half_a, b, ranks_b, sorted_values, doubled, parts):
    """``(ss_a, ss_b, cross)`` of a's ranks (``half_a * ranks_a``) and b's,
    ranking b; b's ranks go into ``ranks_b`` unless it has length 0."""
    low, scale, offsets = _sort_and_rank(b, sorted_values, doubled, parts)
    if offsets.shape[0] == 1:
        sums = _rank_moments_serial(b, low, scale, offsets, doubled, ranks_a, half_a, ranks_b)
    else:
        sums = _rank_moments_parallel(b, low, scale, offsets, doubled, ranks_a, half_a, ranks_b)
    ss_a = 0.0
    ss_b = 0.0
    cross = 0.0
    for p in range(sums.shape[0]):
        ss_a += sums[p, 0]
        ss_b += sums[p, 1]
        cross += sums[p, 2]
    return ss_a, ss_b, cross


@kernel
def spearman_moments_into(a, b, ranks_a, ranks_b, sorted_values, doubled, parts):
    """``(ss_a, ss_b, cross)``: the centred sums of squares and products of
    the average ranks of a and b, whose Pearson correlation is Spearman's.
    a's ranks are written into ``ranks_a`` (which may be ``a``), b's into
    ``ranks_b`` (which may be ``b``) unless it has length 0; scratch as for
    ``average_ranks_into``, and the result depends only on the length (and
    ``parts``), not on the number of threads."""
    average_ranks_into(a, ranks_a, sorted_values, doubled, parts)
    return _moments_with_ranks(ranks_a, 1.0, b, ranks_b, sorted_values, doubled, parts)


@kernel
def spearman_moments_of_doubled(doubled_a, b, sorted_values, doubled, parts):
    """As ``spearman_moments_into`` with a's ranks already found, twice
    them in ``doubled_a`` (``doubled_ranks_into``); b's are not kept.  The
    sums are the same, bit for bit."""
    return _moments_with_ranks(doubled_a, 0.5, b, np.empty(0), sorted_values, doubled, parts)


def doubled_dtype(size):
    """The integer dtype of doubled ranks of ``size`` values (2 * size must fit)."""
    return np.dtype(np.int32 if size < 2**30 else np.int64)


def rank_scratch_bytes(size, dtype):
    """Memory of ``rank_scratch(size, dtype)``."""
    return size * (np.dtype(dtype).itemsize + doubled_dtype(size).itemsize)


def rank_scratch(size, dtype):
    """The scratch buffers ``average_ranks_into`` needs for ``size`` values,
    allocated by NumPy (which asks the kernel for huge pages)."""
    return np.empty(size, dtype), np.empty(size, doubled_dtype(size))


def average_ranks(values):
    """float64 average ranks of a float32 or float64 vector (1 = smallest)."""
    ranks = np.empty(values.size)
    average_ranks_into(values, ranks, *rank_scratch(values.size, values.dtype), PARTS)
    return ranks


def _doubled_cross_chunks(a, b, centre):
    """The partial sums of ``doubled_cross``, one per ``CHUNK`` values."""
    n = a.size
    chunks = (n + CHUNK - 1) // CHUNK
    sums = np.empty(chunks)
    for c in prange(chunks):
        start = c * CHUNK
        stop = min(start + CHUNK, n)
        total = 0.0
        for i in range(start, stop):
            total += (np.float64(a[i]) - centre) * (np.float64(b[i]) - centre)
        sums[c] = total
    return sums


_doubled_cross_chunks_serial, _doubled_cross_chunks_parallel = serial_and_parallel(_doubled_cross_chunks)


@kernel
def doubled_cross(doubled_a, doubled_b):
    """The centred sum of products of two vectors of twice the average ranks
    of n values each (``doubled_ranks_into``), whose mean is n + 1 exactly:
    four times the ranks' centred cross product, so Spearman's correlation
    of a and b is ``doubled_cross(a, b) / sqrt(doubled_cross(a, a) *
    doubled_cross(b, b))``.  Each product is an exact integer below 2**53
    (n below about 9.5e7); the sums are float64 over fixed chunks, added in
    order: the same whatever the thread count."""
    centre = doubled_a.size + 1.0
    if doubled_a.size < 4 * CHUNK:
        sums = _doubled_cross_chunks_serial(doubled_a, doubled_b, centre)
    else:
        sums = _doubled_cross_chunks_parallel(doubled_a, doubled_b, centre)
    total = 0.0
    for c in range(sums.size):
        total += sums[c]
    return total
