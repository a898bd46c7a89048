"""Single-pass Pearson correlation of two vectors.

The vectors are cut into fixed chunks of ``CHUNK`` elements (small enough to
stay in cache).  Each chunk's means and centred sums of squares and products
are taken in float64 by a two-pass loop over the cached chunk, so memory is
read once; the chunks are then merged serially, in index order, with Chan et
al.'s pairwise update.  The chunking depends only on the length, so the result
is the same bit for bit whatever the number of threads.
"""

import numpy as np
from numba import prange

from ._jit import kernel, serial_and_parallel

CHUNK = 4096
PARALLEL_MIN = 4 * CHUNK  # elements; fewer are summed serially


def _chunk_moments(a, b):
    n = a.size
    chunks = (n + CHUNK - 1) // CHUNK
    moments = np.empty((chunks, 5))
    for c in prange(chunks):
        start = c * CHUNK
        stop = min(start + CHUNK, n)
        sum_a = 0.0
        sum_b = 0.0
        for i in range(start, stop):
            sum_a += a[i]
            sum_b += b[i]
        mean_a = sum_a / (stop - start)
        mean_b = sum_b / (stop - start)
        ss_a = 0.0
        ss_b = 0.0
        cross = 0.0
        for i in range(start, stop):
            da = a[i] - mean_a
            db = b[i] - mean_b
            ss_a += da * da
            ss_b += db * db
            cross += da * db
        moments[c, 0] = mean_a
        moments[c, 1] = mean_b
        moments[c, 2] = ss_a
        moments[c, 3] = ss_b
        moments[c, 4] = cross
    return moments


_chunk_moments_serial, _chunk_moments_parallel = serial_and_parallel(_chunk_moments)


@kernel
def moments(a, b):
    """Means, centred sums of squares and the centred cross product of a, b.

    Returns ``(mean_a, mean_b, ss_a, ss_b, cross)``, all float64.
    """
    parts = _chunk_moments_serial(a, b) if a.size < PARALLEL_MIN else _chunk_moments_parallel(a, b)
    n = a.size
    mean_a, mean_b, ss_a, ss_b, cross = parts[0, 0], parts[0, 1], parts[0, 2], parts[0, 3], parts[0, 4]
    count = min(CHUNK, n)
    for c in range(1, parts.shape[0]):
        size = min(CHUNK, n - c * CHUNK)
        total = count + size
        delta_a = parts[c, 0] - mean_a
        delta_b = parts[c, 1] - mean_b
        weight = count * size / total
        mean_a += delta_a * size / total
        mean_b += delta_b * size / total
        ss_a += parts[c, 2] + delta_a * delta_a * weight
        ss_b += parts[c, 3] + delta_b * delta_b * weight
        cross += parts[c, 4] + delta_a * delta_b * weight
        count = total
    return mean_a, mean_b, ss_a, ss_b, cross


@kernel
def pearson_from_moments(ss_a, ss_b, cross):
    """The correlation, clipped to [-1, 1] against rounding."""
    r = cross / np.sqrt(ss_a * ss_b)
    return max(-1.0, min(1.0, r))


@kernel
def pearson(a, b):
    """Pearson correlation of two equally long vectors with non-zero variance."""
    _, _, ss_a, ss_b, cross = moments(a, b)
    return pearson_from_moments(ss_a, ss_b, cross)
