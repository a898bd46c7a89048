"""Single-pass Pearson correlation of two vectors.

The vectors are cut into fixed chunks of ``CHUNK`` elements (small enough to
stay in cache).  Each chunk's means and centred sums of squares and products
are taken in float64 by a two-pass loop over the cached chunk, so memory is
read once; the chunks are then merged serially, in index order, with Chan et
al.'s pairwise update.  The chunking depends only on the length, so the result
is the same bit for bit whatever the number of threads.

``safe_moments`` takes the sums again from the vectors times a power of two
where their sums of squares leave the range in which ``pearson_from_moments``
can take their product.
"""

import numpy as np
from numba import prange

from ._jit import kernel, serial_and_parallel
from .scale import peak, unit_scale
from .._tuning import MOMENTS_PARALLEL_MIN as PARALLEL_MIN  # (compiled in: see _tuning.py)

CHUNK = 4096


def _chunk_moments(a, b, scale_a, scale_b):
    n = a.size
    chunks = (n + CHUNK - 1) // CHUNK
    moments = np.empty((chunks, 5))
    for c in prange(chunks):
        start = c * CHUNK
        stop = min(start + CHUNK, n)
        sum_a, sum_b = _chunk_sums(a, scale_a, start, stop), _chunk_sums(b, scale_b, start, stop)
        mean_a = sum_a / (stop - start)
        mean_b = sum_b / (stop - start)
        ss_a, ss_b, cross = _chunk_squares(a, b, scale_a, scale_b, mean_a, mean_b, start, stop)
        moments[c, 0] = mean_a
        moments[c, 1] = mean_b
        moments[c, 2] = ss_a
        moments[c, 3] = ss_b
        moments[c, 4] = cross
    return moments


# A chunk's sums are interleaved partial sums, added in a fixed order at the
# end: several additions in flight instead of each waiting on the last, and
# the same bits whatever the thread count.


@kernel
def _chunk_sums(a, scale, start, stop):
    """The sum of ``a[start:stop] * scale``, in four partial sums."""
    s0 = s1 = s2 = s3 = 0.0
    i = start
    while i + 3 < stop:
        s0 += a[i] * scale
        s1 += a[i + 1] * scale
        s2 += a[i + 2] * scale
        s3 += a[i + 3] * scale
        i += 4
    while i < stop:
        s0 += a[i] * scale
        i += 1
    return (s0 + s1) + (s2 + s3)


@kernel
def _chunk_squares(a, b, scale_a, scale_b, mean_a, mean_b, start, stop):
    """The centred sums of squares of ``a`` and ``b`` (times their scales)
    over start:stop and their centred cross product, in partial sums of
    every other value (six additions in flight)."""
    aa0 = aa1 = bb0 = bb1 = ab0 = ab1 = 0.0
    i = start
    while i + 1 < stop:
        da0, db0 = a[i] * scale_a - mean_a, b[i] * scale_b - mean_b
        da1, db1 = a[i + 1] * scale_a - mean_a, b[i + 1] * scale_b - mean_b
        aa0 += da0 * da0
        aa1 += da1 * da1
        bb0 += db0 * db0
        bb1 += db1 * db1
        ab0 += da0 * db0
        ab1 += da1 * db1
        i += 2
    if i < stop:
        da0, db0 = a[i] * scale_a - mean_a, b[i] * scale_b - mean_b
        aa0 += da0 * da0
        bb0 += db0 * db0
        ab0 += da0 * db0
    return aa0 + aa1, bb0 + bb1, ab0 + ab1


_chunk_moments_serial, _chunk_moments_parallel = serial_and_parallel(_chunk_moments)


@kernel
def moments(a, b):
    """Means, centred sums of squares and the centred cross product of a, b.

    Returns ``(mean_a, mean_b, ss_a, ss_b, cross)``, all float64.
    """
    return _scaled_moments(a, b, 1.0, 1.0)


@kernel
def _scaled_moments(a, b, scale_a, scale_b):
    """``moments`` of a * scale_a and b * scale_b."""
    if a.size < PARALLEL_MIN:
        parts = _chunk_moments_serial(a, b, scale_a, scale_b)
    else:
        parts = _chunk_moments_parallel(a, b, scale_a, scale_b)
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


# Sums of squares in this range have a product that is a normal float64.
SAFE_SQUARES = (2.0**-500, 2.0**500)


@kernel
def _in_range(sum_of_squares):
    return SAFE_SQUARES[0] < sum_of_squares < SAFE_SQUARES[1]


@kernel
def safe_moments(a, b):
    """``moments`` of a * scale_a and b * scale_b, and the two scales:
    powers of two, 1.0 where a vector's sum of squares is in ``SAFE_SQUARES``
    (a NaN sum is not), else the factor that brings its largest magnitude
    into [0.5, 1).  Scaling is exact and changes no correlation, so the
    moments then give the correlation of vectors whose sums of squares would
    overflow, or lose digits to underflow, in float64 (1e155 or 1e-160, say).

    Returns ``(mean_a, mean_b, ss_a, ss_b, cross, scale_a, scale_b)``.
    """
    mean_a, mean_b, ss_a, ss_b, cross = moments(a, b)
    if _in_range(ss_a) and _in_range(ss_b):
        return mean_a, mean_b, ss_a, ss_b, cross, 1.0, 1.0
    scale_a = 1.0 if _in_range(ss_a) else unit_scale(peak(a))
    scale_b = 1.0 if _in_range(ss_b) else unit_scale(peak(b))
    mean_a, mean_b, ss_a, ss_b, cross = _scaled_moments(a, b, scale_a, scale_b)
    return mean_a, mean_b, ss_a, ss_b, cross, scale_a, scale_b


@kernel
def pearson_from_moments(ss_a, ss_b, cross):
    """The correlation, clipped to [-1, 1] against rounding."""
    r = cross / np.sqrt(ss_a * ss_b)
    return max(-1.0, min(1.0, r))


@kernel
def pearson(a, b):
    """Pearson correlation of two equally long vectors with non-zero
    variance, of any finite magnitude."""
    _, _, ss_a, ss_b, cross, _, _ = safe_moments(a, b)
    return pearson_from_moments(ss_a, ss_b, cross)
