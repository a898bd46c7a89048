"""Average ranks (ties share the mean of their positions), as
``scipy.stats.rankdata(v, method="average")``, by a parallel radix sort.

Floats become unsigned integer keys whose order is the floats' order (flip
every bit of a negative number, only the sign bit of a positive one; -0.0 is
folded into +0.0 first so the two tie).  A least-significant-digit radix sort,
``DIGIT_BITS`` bits a pass, carries the items' indices along: each pass counts
digits per chunk in parallel, turns the counts into every chunk's write offsets
serially, and scatters in parallel.  A pass whose digit is the same for every
key is skipped.  Ties are then runs of equal keys, and each run's average rank
is written back through the carried indices.

Assumes checked input: a contiguous 1-D float32 or float64 vector without NaN.
"""

import numpy as np
from numba import prange

from ._jit import parallel_kernel

DIGIT_BITS = 11
BUCKETS = 1 << DIGIT_BITS
CHUNK = 1 << 16


@parallel_kernel
def _sort_keys(values, keys, sign):
    """Order-preserving unsigned keys of float32 (uint32) or float64 (uint64)
    values; ``sign`` is the sign bit in the keys' type."""
    raw = values.view(keys.dtype)
    for i in prange(values.size):
        if raw[i] == sign:  # -0.0 takes the key of +0.0
            keys[i] = sign
        elif raw[i] & sign:
            keys[i] = ~raw[i]
        else:
            keys[i] = raw[i] | sign


@parallel_kernel
def _radix_sort(keys, order):
    """Sort ``keys`` stably, carrying ``order`` along.  Both are overwritten;
    the sorted pair is returned (in the input buffers or in new ones)."""
    n = keys.size
    chunks = (n + CHUNK - 1) // CHUNK
    spare_keys = np.empty_like(keys)
    spare_order = np.empty_like(order)
    counts = np.empty((chunks, BUCKETS), np.int64)
    bits = keys.itemsize * 8
    mask = np.uint64(BUCKETS - 1)
    for shift in range(0, bits, DIGIT_BITS):
        step = np.uint64(shift)
        for c in prange(chunks):
            counts[c, :] = 0
            for i in range(c * CHUNK, min(c * CHUNK + CHUNK, n)):
                counts[c, (np.uint64(keys[i]) >> step) & mask] += 1
        # Exclusive prefix sum, digit-major then chunk: the offsets of a stable scatter.
        constant_digit = False
        offset = 0
        for digit in range(BUCKETS):
            digit_total = 0
            for c in range(chunks):
                count = counts[c, digit]
                counts[c, digit] = offset
                offset += count
                digit_total += count
            if digit_total == n:
                constant_digit = True
        if constant_digit:
            continue
        for c in prange(chunks):
            for i in range(c * CHUNK, min(c * CHUNK + CHUNK, n)):
                digit = (np.uint64(keys[i]) >> step) & mask
                position = counts[c, digit]
                counts[c, digit] = position + 1
                spare_keys[position] = keys[i]
                spare_order[position] = order[i]
        keys, spare_keys = spare_keys, keys
        order, spare_order = spare_order, order
    return keys, order


@parallel_kernel
def _spread_average_ranks(sorted_keys, order, ranks):
    """ranks[order[k]] = mean 1-based position of the run of equal keys around k.

    Each chunk owns the runs that start inside it (a run may run past its end).
    """
    n = sorted_keys.size
    chunks = (n + CHUNK - 1) // CHUNK
    for c in prange(chunks):
        start = c * CHUNK
        stop = min(start + CHUNK, n)
        while start < stop and start > 0 and sorted_keys[start] == sorted_keys[start - 1]:
            start += 1
        i = start
        while i < stop:
            j = i + 1
            while j < n and sorted_keys[j] == sorted_keys[i]:
                j += 1
            average = 0.5 * (i + 1 + j)
            for k in range(i, j):
                ranks[order[k]] = average
            i = j


def average_ranks(values):
    """float64 average ranks of a float32 or float64 vector (1 = smallest)."""
    n = values.size
    key_type = np.uint32 if values.dtype == np.float32 else np.uint64
    keys = np.empty(n, key_type)
    _sort_keys(values, keys, key_type(1) << key_type(8 * keys.itemsize - 1))
    order = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
    sorted_keys, order = _radix_sort(keys, order)
    ranks = np.empty(n)
    _spread_average_ranks(sorted_keys, order, ranks)
    return ranks
