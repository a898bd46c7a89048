"""Row normalisation: each row scaled to unit Euclidean length.

Assumes checked input: a C-contiguous float32 or float64 matrix without NaN or
inf, and (after centring, if asked for) no all-zero row.
"""

import numpy as np
from numba import prange

from ._jit import parallel_kernel


@parallel_kernel
def normalize_rows_into(X, out, centre):
    """Write the rows of ``X``, optionally centred, at unit length into ``out``.

    Sums are taken in float64 whatever the dtype, and each row is divided by
    its largest magnitude first, so neither huge nor tiny values overflow or
    underflow when squared.
    """
    n, d = X.shape
    for i in prange(n):
        shift = 0.0
        if centre:
            for k in range(d):
                shift += np.float64(X[i, k]) / d
        peak = 0.0
        for k in range(d):
            peak = max(peak, abs(np.float64(X[i, k]) - shift))
        squares = 0.0
        for k in range(d):
            v = (np.float64(X[i, k]) - shift) / peak
            squares += v * v
        inverse_norm = 1.0 / np.sqrt(squares)
        for k in range(d):
            out[i, k] = (np.float64(X[i, k]) - shift) / peak * inverse_norm
