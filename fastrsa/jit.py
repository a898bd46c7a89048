"""Kernels to call from your own ``@numba.njit`` code.

Searchlights, layer sweeps and permutation loops that are already compiled
with Numba can call these without returning to Python::

    import numba
    import fastrsa.jit

    @numba.njit
    def layer_scores(layers, target):
        scores = np.empty(len(layers))
        for k, layer in enumerate(layers):
            sims = np.empty(layer.shape[0] * (layer.shape[0] - 1) // 2, layer.dtype)
            fastrsa.jit.rsm_into(layer, sims)
            scores[k] = fastrsa.jit.spearman(sims, target)
        return scores

``rsm_into`` runs on the calling thread alone, so a ``numba.prange`` over
layers or searchlight centres is the way to use several cores, and it nests
no thread pool there: it launches no parallel region of its own and
computes its products in square tiles without BLAS (``_kernels/tiles.py``)
-- a threaded BLAS product would wake OpenBLAS's threads inside Numba's, and
the two pools would spin against each other.  Its results are the same bit for bit in a ``prange`` and out of one.
One large space alone is faster through ``fastrsa.rsm``, whose large
products use all of BLAS's threads.  ``pearson`` and ``spearman`` of 16,384
values or more (the RSMs of 182 items or more) still run parallel kernels of
their own: at such sizes call them outside the ``prange`` body.

They are the same kernels the public API runs, without its checks: pass
C-contiguous float32 or float64 arrays of finite values, at least 3 rows with
no all-zero row for ``rsm_into``, and equally long vectors that vary for
``pearson`` and ``spearman`` — anything else gives undefined results, not an
error.  Validate once in Python (``fastrsa.rsm`` on a first input, say) where
in doubt.  Every function releases the GIL and is cached on disk.
Your own function may be cached too (``@numba.njit(cache=True)``): importing
fastrsa starts Numba's parallel backend, which cached code that reaches a
parallel kernel through serial ones needs and does not start itself.
"""

import numpy as np

from ._kernels._jit import kernel
from ._kernels.correlate import pearson, pearson_from_moments
from ._kernels.normalize import normalize_rows_into, norms_into, power_of_two_rows_into
from ._kernels.rank import PARTS, average_ranks_into, spearman_moments_into
from ._kernels.tiles import COSINES, one_thread_tiles_into

__all__ = ["normalize_rows_into", "rsm_into", "pearson", "spearman", "average_ranks_into"]


@kernel
def rsm_into(X, out):
    """Write the cosine similarities of the rows of ``X`` into ``out``
    (length N(N-1)/2, the dtype of ``X``), in ``pdist`` order, on the calling
    thread: safe in a ``prange`` body (tiles without BLAS, no parallel
    region).  Each pair's product over its two rows' lengths, as
    ``fastrsa.rsm`` and ``pdist`` compute it."""
    n, d = X.shape
    norms = np.empty(n)
    rows = X
    if d == 1:  # exactly +-1
        rows = np.where(X < 0, -1.0, 1.0).astype(X.dtype)
        norms[:] = 1.0
    elif not norms_into(X, norms):  # products could overflow or underflow
        rows = np.empty_like(X)
        power_of_two_rows_into(X, rows)
        norms_into(rows, norms)
    one_thread_tiles_into(rows, norms, COSINES, out)


@kernel
def spearman(a, b):
    """Spearman correlation of two equally long float vectors (ties averaged)."""
    n = a.size
    # float64 scratch holds either dtype's values exactly.
    scratch = np.empty(n), np.empty(n, np.int64)
    ss_a, ss_b, cross = spearman_moments_into(a, b, np.empty(n), np.empty(0), *scratch, PARTS)
    return pearson_from_moments(ss_a, ss_b, cross)
