"""Row normalisation: each row scaled to unit Euclidean length.

Assumes checked input: a C-contiguous float32 or float64 matrix without NaN or
inf, and (after centring, if asked for) no all-zero row.
"""

import math

import numpy as np
from numba import prange

from ._jit import kernel, product_kernel, serial_and_parallel
from .scale import peak, unit_scale
from .._tuning import NORMALIZE_PARALLEL_MIN as PARALLEL_MIN  # (compiled in: see _tuning.py)


# Outside this range of squared norms, sums of squares could overflow or
# lose precision to underflow: such rows are scaled by a power of two first.
_SAFE_SQUARES = (1e-250, 1e250)


@kernel
def _sum_of_squares(row, shift):
    """Sum of (row - shift)**2 in float64: ``_scaled_sum_of_squares`` of the
    row as it is."""
    return _scaled_sum_of_squares(row, 1.0, shift)


@kernel
def _scaled_sum_of_squares(row, scale, shift):
    """Sum of (row * scale - shift)**2 in float64, in four interleaved partial
    sums (a fixed order, so the result is reproducible) to keep the adder busy.
    Unsigned indices spare Numba's negative-index check on every load, which
    otherwise keeps the loop from being vectorised."""
    d = np.uint64(row.size)
    one, two, three, four = np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4)
    s0 = s1 = s2 = s3 = 0.0
    k = np.uint64(0)
    while k + three < d:
        v0 = np.float64(row[k]) * scale - shift
        v1 = np.float64(row[k + one]) * scale - shift
        v2 = np.float64(row[k + two]) * scale - shift
        v3 = np.float64(row[k + three]) * scale - shift
        s0 += v0 * v0
        s1 += v1 * v1
        s2 += v2 * v2
        s3 += v3 * v3
        k += four
    while k < d:
        v = np.float64(row[k]) * scale - shift
        s0 += v * v
        k += one
    return (s0 + s1) + (s2 + s3)


@kernel
def _scale_row(row, scale, shift, factor, out):
    """``out = (row * scale - shift) * factor``, unsigned indices as above."""
    d = np.uint64(row.size)
    k = np.uint64(0)
    while k < d:
        out[k] = (np.float64(row[k]) * scale - shift) * factor
        k += np.uint64(1)


@kernel
def _row_mean(row, scale):
    """The mean of row * scale, summed in float64 in index order."""
    total = 0.0
    for k in range(row.size):
        total += np.float64(row[k]) * scale
    return total / row.size


@kernel
def row_affine(X, i, centre):
    """``(scale, shift, factor)`` of row i of X: its unit row (centred if
    asked for) is ``(X[i] * scale - shift) * factor``, in float64.  A row
    whose squares (or, centred, its sum or differences) would overflow or
    lose digits to underflow takes the power of two that brings its largest
    value into [0.5, 1) as its scale: exact, so the unit row is, bit for bit,
    the one an ordinary scale gives wherever that stays in float64's range
    (the row's scale cancels in it)."""
    shift = _row_mean(X[i], 1.0) if centre else 0.0
    squares = _sum_of_squares(X[i], shift)
    if _SAFE_SQUARES[0] < squares < _SAFE_SQUARES[1]:
        return 1.0, shift, 1.0 / np.sqrt(squares)
    scale = unit_scale(peak(X[i]))
    shift = _row_mean(X[i], scale) if centre else 0.0
    return scale, shift, 1.0 / np.sqrt(_scaled_sum_of_squares(X[i], scale, shift))


@kernel
def _normalize_row(X, i, out, centre):
    """Row i of X, centred if asked for, at unit length into row i of out."""
    if X.shape[1] == 1:
        # Exactly +-1, so one-dimensional rows keep their exact ties (a
        # product with the reciprocal of the norm might not give 1).
        value = np.float64(X[i, 0]) - (_row_mean(X[i], 1.0) if centre else 0.0)
        out[i, 0] = value / abs(value)
        return
    scale, shift, factor = row_affine(X, i, centre)
    _scale_row(X[i], scale, shift, factor, out[i])


def _normalize_rows(X, out, centre):
    for i in prange(X.shape[0]):
        _normalize_row(X, np.int64(i), out, centre)


_normalize_serial, _normalize_parallel = serial_and_parallel(_normalize_rows)


@kernel
def normalize_rows_into(X, out, centre):
    """Write the rows of ``X``, optionally centred, at unit length into ``out``.

    Sums are taken in float64 whatever the dtype.  A row whose sum of squares
    is near the ends of float64's range (or whose mean overflows) is first
    multiplied by the power of two that brings its largest magnitude into
    [0.5, 1), so neither huge nor tiny values overflow or underflow; the
    result is the one the row at an ordinary scale would give.
    """
    if X.size < PARALLEL_MIN:
        _normalize_serial(X, out, centre)
    else:
        _normalize_parallel(X, out, centre)


# Rows whose sums of squares lie inside these bounds have products that
# neither overflow nor lose precision to underflow in their own dtype (float32,
# float64): their cosines may be taken from the products of the rows as they are.
_RAW_PRODUCT_SQUARES_32 = (1e-30, 1e30)
_RAW_PRODUCT_SQUARES_64 = _SAFE_SQUARES


@product_kernel
def squares_of(row):
    """The float64 sum of the squares of ``row``'s values, in vector lanes
    as the tiles sum their products (``tiles.tile_products_into``): the
    same function of the row wherever it is called, NaN or inf where the
    row holds one (or the sum overflows), exact for small integers."""
    total = 0.0
    for k in range(row.size):
        value = np.float64(row[k])
        total += value * value
    return total


@kernel
def every_row_has_length(X):
    """Whether every row of X has a finite, non-zero sum of squares
    (``squares_of``): then no value is NaN or inf and no row is all zeros."""
    for i in range(X.shape[0]):
        if not 0.0 < squares_of(X[i]) < np.inf:
            return False
    return True


@kernel
def norms_into(X, out):
    """The Euclidean length of each row of ``X`` into ``out`` (float64, from
    the float64 sum of squares, ``squares_of``).  Returns False, with
    ``out`` unfinished, at the first row whose products could overflow or
    underflow in X's dtype: such rows must be scaled first
    (``power_of_two_rows_into``)."""
    low, high = _RAW_PRODUCT_SQUARES_32 if X.itemsize == 4 else _RAW_PRODUCT_SQUARES_64
    for i in range(X.shape[0]):
        squares = squares_of(X[i])
        if not low < squares < high:
            return False
        out[i] = np.sqrt(squares)
    return True


@kernel
def power_of_two_rows_into(X, out):
    """Each row of ``X`` times the power of two that brings its largest
    magnitude into [1, 2), into ``out``: exact (no digit is lost, no cosine or
    correlation changes, ties stay ties), and every sum of squares and product
    of the rows is then far from overflow and underflow.  Rows must not be all
    zeros."""
    for i in range(X.shape[0]):
        power_of_two_row_into(X, i, out[i])


@kernel
def power_of_two_row_into(X, i, out):
    """Row i of ``power_of_two_rows_into``, into the row ``out``."""
    peak = 0.0
    for k in range(X.shape[1]):
        peak = max(peak, abs(np.float64(X[i, k])))
    _, exponent = math.frexp(peak)  # peak in [2**(exponent - 1), 2**exponent)
    # The factor 2**(1 - exponent) in two powers of two, each a normal
    # float64 (one alone would not be for rows of 1e-310 or 1e308).
    first = (1 - exponent) // 2
    factor, rest = math.ldexp(1.0, first), math.ldexp(1.0, 1 - exponent - first)
    for k in range(X.shape[1]):
        out[k] = np.float64(X[i, k]) * factor * rest


@kernel
def small_integer_rows(X, limit):
    """Whether every value of X is an integer and each row's length times
    its largest magnitude is at most ``limit``: then products, sums and
    squares of the rows, and the centred terms built from them, are exact."""
    d = X.shape[1]
    for i in range(X.shape[0]):
        peak = 0.0
        for k in range(d):
            value = np.float64(X[i, k])
            if value != np.floor(value):
                return False
            peak = max(peak, abs(value))
        if peak * d > limit:
            return False
    return True
