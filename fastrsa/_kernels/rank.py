"""Average ranks (ties share the mean of their positions), as
``scipy.stats.rankdata(v, method="average")``, by a two-level bucket sort.

A bucket is a slice of equal width of the values' range: value v goes to
bucket ``floor((v - low) * scale)``, which never decreases as v grows because
every floating-point step is monotonic, so equal values always share a bucket
and sorting each bucket on its own sorts the whole.

1. One parallel pass finds the range; a second counts the ``buckets`` coarse
   buckets (about ``COARSE_SIZE`` values each) per thread; a serial prefix sum
   turns the counts into write offsets; a third scatters the values with
   their indices, each thread into its own part of every bucket.
2. In parallel over coarse buckets, each bucket is sorted in cache on its own:
   spread again over its own range into about ``size / FINE_SIZE`` fine
   buckets (insertion sort for small ones, quicksort for crowded ones), and
   each run of equal values writes its average rank through the indices.

A vector of at most ``COARSE_SIZE`` values is one coarse bucket.  Values
crowded into one coarse bucket (an outlier stretching the range) are spread
again over their own range in step 2, so the work stays O(n) for any
distribution that step 2 can separate, and O(n log n) at worst.

Memory besides the output: one copy of the values and one int32 index (int64
past 2**31 values), passed in as scratch so that several vectors can share
them, and a copy of one coarse bucket per thread.

Assumes checked input: a 1-D float32 or float64 vector without NaN.
"""

import numpy as np
from numba import prange

from ._jit import kernel, parallel_kernel

COARSE_SIZE = 1 << 14  # values per coarse bucket, on average
PARTS = 64  # slices of step 1: more than any machine's threads, and cheap (PARTS x M/COARSE_SIZE counters)
FINE_SIZE = 4  # values per fine bucket, on average
INSERTION = 24  # fine buckets up to this size are sorted by insertion


@kernel
def _insertion_sort(values, index, start, stop):
    """Sort ``values[start:stop]`` ascending, carrying ``index`` along.
    (Unsigned positions, here and in ``_rank_bucket``, spare Numba's
    negative-index check on every access: a third of the time.)"""
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
def _rank_bucket(values, index, start, stop, ranks):
    """Sort ``values[start:stop]`` (the coarse bucket holding sorted positions
    start..stop-1; ``index`` gives each value's item) and write every item's
    average rank into ``ranks``."""
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
        average = start + 0.5 * (size + 1)
        for k in range(start, stop):
            ranks[index[k]] = average
        return
    local_values = np.empty(size, values.dtype)
    local_index = np.empty(size, index.dtype)
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
        local_index[position] = index[k]
    begin = np.uint64(0)
    for b in range(np.uint64(buckets)):
        end = counts[b]
        if end - begin <= np.uint64(INSERTION):
            _insertion_sort(local_values, local_index, begin, end)
        else:
            _quicksort(local_values, local_index, np.int64(begin), np.int64(end))
        begin = end
    i = np.uint64(0)
    while i < size:
        j = i + one
        while j < size and local_values[j] == local_values[i]:
            j += one
        average = start + 0.5 * (i + one + j)
        for k in range(i, j):
            ranks[np.uint64(local_index[k])] = average
        i = j


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
def _distribute(values, sorted_values, index, starts, parts):
    """Scatter ``values`` with their positions into ``sorted_values`` and
    ``index`` grouped by coarse bucket (``starts.size - 1`` of them); bucket b
    starts at ``starts[b]``.  Each of ``parts`` slices counts and writes its
    own values."""
    n = values.size
    buckets = starts.size - 1
    low, high = _value_range(values, parts)
    scale = _spread_scale(low, high, buckets)
    counts = np.zeros((parts, buckets), np.int64)
    for p in prange(parts):
        mine = counts[p]
        for i in range(np.uint64(p * n // parts), np.uint64((p + 1) * n // parts)):
            mine[np.uint64(_bucket(values[i], low, scale, buckets))] += 1
    offset = 0
    for b in range(buckets):
        starts[b] = offset
        for p in range(parts):
            count = counts[p, b]
            counts[p, b] = offset
            offset += count
    starts[buckets] = n
    for p in prange(parts):
        mine = counts[p]
        for i in range(np.uint64(p * n // parts), np.uint64((p + 1) * n // parts)):
            b = np.uint64(_bucket(values[i], low, scale, buckets))
            position = np.uint64(mine[b])
            mine[b] = position + np.uint64(1)
            sorted_values[position] = values[i]
            index[position] = i


@parallel_kernel
def _rank_buckets(sorted_values, index, starts, ranks):
    for b in prange(starts.size - 1):
        _rank_bucket(sorted_values, index, starts[b], starts[b + 1], ranks)


@kernel
def average_ranks_into(values, ranks, sorted_values, index, parts):
    """Write the float64 average ranks of ``values`` (1 = smallest) into
    ``ranks``, which may be ``values`` itself when that is float64.

    ``sorted_values`` (the dtype of ``values``) and ``index`` (int32, or int64
    past 2**31 values) are scratch of the same length, overwritten.  Step 1
    runs in ``parts`` slices (``PARTS``); the result does not depend on it.
    """
    n = values.size
    if n <= COARSE_SIZE:
        for i in range(n):
            index[i] = i
        _rank_bucket(values, index, 0, n, ranks)
        return
    starts = np.empty(n // COARSE_SIZE + 1, np.int64)
    _distribute(values, sorted_values, index, starts, parts)
    _rank_buckets(sorted_values, index, starts, ranks)


def rank_scratch(size, dtype):
    """The scratch buffers ``average_ranks_into`` needs for ``size`` values,
    allocated by NumPy (which asks the kernel for huge pages)."""
    return np.empty(size, dtype), np.empty(size, np.int32 if size < 2**31 else np.int64)


def average_ranks(values):
    """float64 average ranks of a float32 or float64 vector (1 = smallest)."""
    ranks = np.empty(values.size)
    average_ranks_into(values, ranks, *rank_scratch(values.size, values.dtype), PARTS)
    return ranks
