"""Kernels of the command line's summary of two spaces (``api.similarity_summary``).

Over many items the summary reads the rows as they are, each through its
``normalize.row_affine`` (scale, shift, factor), instead of copies of the
unit rows: at N = 60,000 and 384 features such a copy is 184 MB a space,
whose first touch alone costs more than the score.  Memory: three float64
values a row, and D float64 values a block of ``unit_sums``.
"""

import numpy as np
from numba import prange

from ._jit import inline_kernel, parallel_kernel
from .normalize import row_affine


@parallel_kernel
def affines_into(X, centre, out):
    """``row_affine`` of every row of X into the rows of ``out`` (n x 3 float64)."""
    for i in prange(X.shape[0]):
        scale, shift, factor = row_affine(X, np.int64(i), centre)
        out[i, 0] = scale
        out[i, 1] = shift
        out[i, 2] = factor


@parallel_kernel
def unit_sums(X, affines):
    """``(sum of the unit rows, sum of their squared lengths)``, in float64:
    blocks of ``_SUM_ROWS`` rows in parallel, each summed in row order, then
    the blocks' sums added in block order (the same sums on any thread count)."""
    n, d = X.shape
    blocks = (n + _SUM_ROWS - 1) // _SUM_ROWS
    totals = np.zeros((blocks, d))
    squares = np.zeros(blocks)
    for block in prange(blocks):
        for i in range(block * _SUM_ROWS, min(n, (block + 1) * _SUM_ROWS)):
            scale, shift, factor = affines[i, 0], affines[i, 1], affines[i, 2]
            for k in range(d):
                value = (np.float64(X[i, k]) * scale - shift) * factor
                totals[block, k] += value
                squares[block] += value * value
    total = np.zeros(d)
    square = 0.0
    for block in range(blocks):
        total += totals[block]
        square += squares[block]
    return total, square


_SUM_ROWS = 4096  # rows a block of unit_sums (a block's partial sums: D float64 values)


def memory_bytes(n, d, pairs):
    """What the summary of a space of n rows and d features holds over its
    rows: the affines (3 float64 a row) and ``unit_sums``' partial sums (d +
    1 float64 a block); and for ``pairs`` sampled pairs two int64 indices each."""
    blocks = -(-n // _SUM_ROWS)
    return 3 * 8 * n + 8 * (d + 1) * blocks + 2 * 8 * pairs


@parallel_kernel
def count_sampled_higher(X, Y, affines_x, affines_y, first, second):
    """How many of the pairs ``(first[k], second[k])`` are more similar in Y
    than in X: the dot products of the two unit rows, each made from its row
    and affine as it is read."""
    count = 0
    for k in prange(first.size):
        i, j = first[k], second[k]
        if _unit_dot(Y[i], Y[j], affines_y[i], affines_y[j]) > _unit_dot(X[i], X[j], affines_x[i], affines_x[j]):
            count += 1
    return count


@inline_kernel
def _unit_dot(a, b, affine_a, affine_b):
    """The dot product of the unit rows of rows a and b, in four running
    sums (independent chains, which the CPU overlaps)."""
    scale_a, shift_a = affine_a[0], affine_a[1]
    scale_b, shift_b = affine_b[0], affine_b[1]
    s0 = s1 = s2 = s3 = 0.0
    quarter = a.size // 4
    for f in range(quarter):
        g = 4 * f
        s0 += (np.float64(a[g]) * scale_a - shift_a) * (np.float64(b[g]) * scale_b - shift_b)
        s1 += (np.float64(a[g + 1]) * scale_a - shift_a) * (np.float64(b[g + 1]) * scale_b - shift_b)
        s2 += (np.float64(a[g + 2]) * scale_a - shift_a) * (np.float64(b[g + 2]) * scale_b - shift_b)
        s3 += (np.float64(a[g + 3]) * scale_a - shift_a) * (np.float64(b[g + 3]) * scale_b - shift_b)
    for g in range(4 * quarter, a.size):
        s0 += (np.float64(a[g]) * scale_a - shift_a) * (np.float64(b[g]) * scale_b - shift_b)
    return ((s0 + s1) + (s2 + s3)) * affine_a[2] * affine_b[2]
