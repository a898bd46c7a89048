"""Pearson RSA of cosine similarities without forming a single pair.

With unit rows x_i of X and y_i of Y, the sums over pairs that Pearson needs
are quadratic forms of the small Gram matrices XᵀX, YᵀY and XᵀY.  To keep
them well conditioned when similarities crowd around a large mean (as they
do in anisotropic spaces), the rows are first shifted by their mean m:
u_i = x_i - m, so x_i·x_j = |m|² + a_i + a_j + u_i·u_j with a_i = m·u_i.
The constant |m|² changes no variance or covariance; the rest is summed
exactly.  docs/algorithms.md derives every line.

Cost: two streaming passes over the rows, O(N (D1² + D2² + D1·D2)) flops in
BLAS and O(D1² + D2² + D1·D2 + B·(D1 + D2)) float64 memory, B = ``_tuning.GRAM_BLOCK``.
"""

import numpy as np

from . import _sources, _tasks, _tuning, _validate
from ._kernels.normalize import normalize_rows_into
from ._plan import Stage



def _unit_rows(X, start, stop, centre, out, read=None):
    """float64 unit-length copies of rows start:stop of X, written into the
    first rows of ``out`` (one buffer for every block: a fresh 25 MB block
    would be faulted in anew each time).  A space on disk is read into
    ``read`` first (``_sources.block``)."""
    unit = out[: min(stop, X.shape[0]) - start]
    normalize_rows_into(_sources.block(X, start, stop, read), unit, centre)
    return unit


def task_ranges(n):
    """The tasks' row ranges ``[(r0, r1), ...]``, fixed by n alone: about
    ``_tuning.GRAM_TASKS`` equal ranges, none shorter than
    ``_tuning.GRAM_TASK_ROWS`` rows (a task's products then run at BLAS's
    rate), each read in blocks of ``_tuning.GRAM_BLOCK`` rows."""
    rows = max(_tuning.GRAM_TASK_ROWS, -(-n // _tuning.GRAM_TASKS))
    return [(start, min(start + rows, n)) for start in range(0, n, rows)]


def _blocks(r0, r1, block):
    return [(start, min(start + block, r1)) for start in range(r0, r1, block)]


def mean_task(X, Y, centre, block, r0, r1):
    """Pass 1's task: the sums of the unit rows r0:r1 of X and of Y, read
    ``block`` rows at a time, each block's sum added in order (float64,
    D1 + D2 values).  (Every size that fixes the order of a sum is an
    argument: a worker's tunables are its own.)"""
    return _means(X, Y, centre, block, r0, r1)[0]


def checked_mean_task(X, Y, centre, block, metric, r0, r1):
    """``mean_task`` of two spaces on disk whose values are checked for
    ``metric`` as this pass reads them: each block is checked before it is
    normalised (``_validate.block_findings``), and once one is refused the
    task only checks the rest.  Returns ``(sums, X's findings, Y's)``, the
    findings in row order, the sums of no use where any is refused."""
    return _means(X, Y, centre, block, r0, r1, metric)


def _means(X, Y, centre, block, r0, r1, metric=None):
    rows = min(r1 - r0, block)
    buffer_x, buffer_y = _tasks.buffer("gram x", (rows, X.shape[1])), _tasks.buffer("gram y", (rows, Y.shape[1]))
    read_x, read_y = _sources.block_buffer(X, rows, "gram read x"), _sources.block_buffer(Y, rows, "gram read y")
    total = np.zeros(X.shape[1] + Y.shape[1])
    findings = ([], [])
    for start, stop in _blocks(r0, r1, block):
        values = [_sources.block(Z, start, stop, read) for Z, read in ((X, read_x), (Y, read_y))]
        if metric is not None:
            for Z, block_values, found in zip((X, Y), values, findings):
                found.append(_validate.block_findings(block_values, Z, metric, start))
            if any(message or row is not None for found in findings for message, row in found):
                continue  # (no kernel runs on values a check refused)
        for part, block_values, buffer in ((slice(None, X.shape[1]), values[0], buffer_x), (slice(X.shape[1], None), values[1], buffer_y)):
            unit = buffer[: len(block_values)]
            normalize_rows_into(block_values, unit, centre)
            total[part] += unit.sum(axis=0)
    return total, *findings


class Sums:
    """A task's partial sums of ``pair_moments`` (all float64): the three
    Gram matrices of the shifted unit rows, the rows' sums, their sums
    weighted by a and b, and the sums of a², b², ab and of the diagonal
    terms.  Added in task order (``add``)."""

    __slots__ = ("gram_xx", "gram_yy", "gram_xy", "sum_u", "sum_v", "weighted_u", "weighted_v", "products", "diagonal")

    def __init__(self, d1, d2):
        self.gram_xx, self.gram_yy, self.gram_xy = np.zeros((d1, d1)), np.zeros((d2, d2)), np.zeros((d1, d2))
        self.sum_u, self.sum_v = np.zeros(d1), np.zeros(d2)
        # u_i, v_i weighted by a_i = m·u_i and b_i = m'·v_i: columns (a, b).
        self.weighted_u, self.weighted_v = np.zeros((d1, 2)), np.zeros((d2, 2))
        self.products = np.zeros(3)  # sum a², sum b², sum a b
        # Sums of the diagonal terms t_ii = 2 a_i + |u_i|², which the pairs exclude.
        self.diagonal = np.zeros(5)  # sum d, sum e, sum d², sum e², sum d e

    def add(self, other):
        for name in self.__slots__:
            getattr(self, name).__iadd__(getattr(other, name))
        return self

    def __reduce__(self):
        return _sums_from, tuple(getattr(self, name) for name in self.__slots__)


def _sums_from(*arrays):
    sums = Sums.__new__(Sums)
    for name, array in zip(Sums.__slots__, arrays):
        setattr(sums, name, array)
    return sums


def moments_task(X, Y, centre, mean_x, mean_y, block, r0, r1):
    """Pass 2's task: the ``Sums`` of rows r0:r1, ``block`` rows at a time,
    the blocks' added in order.

    When X and Y are both float32, the three Gram products run in float32
    BLAS (the faster rate), on the shifted rows rounded once; every other
    sum, and the sums of the blocks' products, stay in float64.  Only the
    squared Frobenius norms of the Gram matrices come from them, sums of
    squares that do not cancel, so the rounding costs no accuracy the float32
    input had (docs/algorithms.md)."""
    d1, d2 = X.shape[1], Y.shape[1]
    rows = min(r1 - r0, block)
    buffer_x, buffer_y = _tasks.buffer("gram x", (rows, d1)), _tasks.buffer("gram y", (rows, d2))
    # Spaces on disk (``_sources.Rows``) are read a block at a time, into these.
    read_x, read_y = _sources.block_buffer(X, rows, "gram read x"), _sources.block_buffer(Y, rows, "gram read y")
    single = X.dtype == np.float32 and Y.dtype == np.float32
    if single:
        single_x, single_y = _tasks.buffer("gram single x", buffer_x.shape, np.float32), _tasks.buffer("gram single y", buffer_y.shape, np.float32)
    s = Sums(d1, d2)
    for start, stop in _blocks(r0, r1, block):
        u = _unit_rows(X, start, stop, centre, buffer_x, read_x)
        v = _unit_rows(Y, start, stop, centre, buffer_y, read_y)
        u -= mean_x
        v -= mean_y
        if single:
            gram_u, gram_v = single_x[: len(u)], single_y[: len(v)]
            gram_u[...] = u
            gram_v[...] = v
        else:
            gram_u, gram_v = u, v
        s.gram_xx += gram_u.T @ gram_u
        s.gram_yy += gram_v.T @ gram_v
        s.gram_xy += gram_u.T @ gram_v
        s.sum_u += u.sum(axis=0)
        s.sum_v += v.sum(axis=0)
        ab = np.stack((u @ mean_x, v @ mean_y), axis=1)
        a, b = ab[:, 0], ab[:, 1]
        s.weighted_u += u.T @ ab
        s.weighted_v += v.T @ ab
        s.products += (a @ a, b @ b, a @ b)
        d = 2.0 * a + np.einsum("ij,ij->i", u, u)
        e = 2.0 * b + np.einsum("ij,ij->i", v, v)
        s.diagonal += (d.sum(), e.sum(), d @ d, e @ e, d @ e)
    return s


def _chunk_mean_task(centre, block, X, Y, r0, r1):
    """``mean_task`` of a task's own chunks of X and Y (rows r0:r1 of them)."""
    return mean_task(X, Y, centre, block, r0, r1)


def _chunk_moments_task(centre, mean_x, mean_y, block, X, Y, r0, r1):
    """``moments_task`` of a task's own chunks of X and Y."""
    return moments_task(X, Y, centre, mean_x, mean_y, block, r0, r1)


def _added(results):
    """The partial results added in the order they come (task order)."""
    total = None
    for part in results:
        total = part if total is None else total + part if isinstance(total, np.ndarray) else total.add(part)
    return total


def pair_moments(X, Y, centre, executor=None, pending=None):
    """Sums over the pairs i < j of t and t' (similarities less a constant).

    Returns ``(count, sum_x, sum_y, sum_xx, sum_yy, sum_xy)``: ``count`` is
    N(N-1)/2, and the rest are sums of t_ij, t'_ij, t_ij², t'_ij², t_ij t'_ij.

    Two passes of tasks over the same row ranges (``task_ranges``), each
    task on one thread (``_tasks``; a cluster's with ``executor``): the
    rows' sums (their means m, m'), then each range's ``Sums``, added in
    task order -- the same bits whoever runs them.  ``pending``: the
    metric whose checks two spaces on disk (``_sources.Rows``) still owe,
    made as the first pass reads them (None: both checked already).
    """
    n, d1 = X.shape[0], X.shape[1]
    executor = executor or _tasks.Local()
    ranges, block = task_ranges(n), _tuning.GRAM_BLOCK
    chunks = getattr(X, "chunks", None) if not isinstance(X, np.ndarray) else None
    if chunks is not None:  # (dask arrays on a cluster, ``_dask.Chunked``: a chunk of each space a task)
        items = [(x, y, 0, r1 - r0) for x, y, (r0, r1) in zip(X.chunks, Y.chunks, ranges)]
        totals = _added(executor.map_serial(_chunk_mean_task, (centre, block), items))
        mean_x, mean_y = totals[:d1] / n, totals[d1:] / n
        s = _added(executor.map_serial(_chunk_moments_task, (centre, mean_x, mean_y, block), items))
    elif pending is not None:  # (spaces on disk whose values this pass checks)
        names = X, Y
        X, Y = executor.share(X), executor.share(Y)
        totals, found_x, found_y = None, [], []
        for part, x, y in executor.map_serial(checked_mean_task, (X, Y, centre, block, pending), ranges):
            totals = part if totals is None else totals + part
            found_x += x
            found_y += y
        _validate.refuse_findings(found_x, names[0], pending)  # (X's errors before Y's, as the checks raise them)
        _validate.refuse_findings(found_y, names[1], pending)
        mean_x, mean_y = totals[:d1] / n, totals[d1:] / n
        s = _added(executor.map_serial(moments_task, (X, Y, centre, mean_x, mean_y, block), ranges))
    else:
        X, Y = executor.share(X), executor.share(Y)
        totals = _added(executor.map_serial(mean_task, (X, Y, centre, block), ranges))
        mean_x, mean_y = totals[:d1] / n, totals[d1:] / n
        s = _added(executor.map_serial(moments_task, (X, Y, centre, mean_x, mean_y, block), ranges))

    # Sums over all (i, j), diagonal included, of t_ij = a_i + a_j + u_i·u_j.
    # The terms in a_i are taken from a_i itself, not from m·G·m: a_i is
    # second order in the spread of the rows, and its sums would otherwise
    # cancel in the Gram matrices.
    sum_aa, sum_bb, sum_ab = s.products
    alpha = s.sum_u @ mean_x  # sum of a_i
    beta = s.sum_v @ mean_y  # sum of b_i
    full_x, full_y = _full_sum(n, alpha, s.sum_u), _full_sum(n, beta, s.sum_v)
    full_xx = _full_squares(n, sum_aa, alpha, s.weighted_u[:, 0], s.sum_u, np.sum(s.gram_xx**2))
    full_yy = _full_squares(n, sum_bb, beta, s.weighted_v[:, 1], s.sum_v, np.sum(s.gram_yy**2))
    full_xy = _full_cross(n, sum_ab, alpha, beta, s.weighted_v[:, 0], s.sum_v, s.weighted_u[:, 1], s.sum_u, np.sum(s.gram_xy**2))
    sum_d, sum_e, sum_dd, sum_ee, sum_de = s.diagonal
    return (
        n * (n - 1) / 2,
        (full_x - sum_d) / 2,
        (full_y - sum_e) / 2,
        (full_xx - sum_dd) / 2,
        (full_yy - sum_ee) / 2,
        (full_xy - sum_de) / 2,
    )


# The sums over all (i, j), diagonal included, of pair_moments (and of
# PermutedMoments, which shares them): t_ij = a_i + a_j + u_i·u_j, with
# ``weighted`` the rows' sum weighted by a (Σ a_i u_i) and ``square`` the
# Gram matrix's squared Frobenius norm.


def _full_sum(n, alpha, sum_u):
    """Σ t_ij = 2 n α + |Σ u|²."""
    return 2 * n * alpha + sum_u @ sum_u


def _full_squares(n, sum_aa, alpha, weighted, sum_u, square):
    """Σ t_ij² = 2 n Σa² + 2 α² + 4 (Σ a_i u_i)·Σu + |UᵀU|²_F."""
    return 2 * n * sum_aa + 2 * alpha**2 + 4 * weighted @ sum_u + square


def _full_cross(n, sum_ab, alpha, beta, v_by_a, sum_v, u_by_b, sum_u, square):
    """Σ t_ij t'_ij = 2 n Σab + 2 α β + 2 (Σ a_i v_i)·Σv + 2 (Σ b_i u_i)·Σu + |UᵀV|²_F."""
    return 2 * n * sum_ab + 2 * alpha * beta + 2 * v_by_a @ sum_v + 2 * u_by_b @ sum_u + square


class PermutedMoments:
    """``pair_moments(X, Y[p], centre)`` for many permutations p of Y's rows.

    Under a permutation only the terms that pair X's rows with Y's change:
    UᵀV_p, Σ a_i b_p(i), Uᵀb_p, V_pᵀa and Σ d_i e_p(i) (``pair_moments``'s
    names); XᵀX's and YᵀY's terms, the sums and the means are the same for
    every p.  So the shifted unit rows U and V are made once (the means are
    over all rows, which no permutation changes) and the invariant terms
    summed once; a permutation then costs the one product (U[p⁻¹])ᵀV,
    N·D1·D2 multiply-adds, with the smaller space's rows gathered
    (UᵀV_p = Σ u_i v_p(i)ᵀ = Σ_j u_p⁻¹(j) v_jᵀ).  float32 spaces take that
    product in float32, as ``pair_moments`` does.  The sums are those of
    ``pair_moments`` taken in another order: equal to about 1e-15, not bit
    for bit.  Memory: ``permuted_memory_bytes``."""

    def __init__(self, X, Y, centre):
        n = X.shape[0]
        block = min(n, _tuning.GRAM_BLOCK)
        buffer_x, buffer_y = np.empty((block, X.shape[1])), np.empty((block, Y.shape[1]))
        read_x, read_y = _sources.block_buffer(X, block), _sources.block_buffer(Y, block)
        U, V = np.empty(X.shape), np.empty(Y.shape)  # 8 N (D1 + D2) bytes
        for start in range(0, n, block):
            U[start : start + block] = _unit_rows(X, start, start + block, centre, buffer_x, read_x)
            V[start : start + block] = _unit_rows(Y, start, start + block, centre, buffer_y, read_y)
        del buffer_x, buffer_y
        mean_x, mean_y = U.mean(axis=0), V.mean(axis=0)
        U -= mean_x
        V -= mean_y
        self.a, self.b = U @ mean_x, V @ mean_y
        self.d = 2.0 * self.a + np.einsum("ij,ij->i", U, U)
        self.e = 2.0 * self.b + np.einsum("ij,ij->i", V, V)
        single = X.dtype == np.float32 and Y.dtype == np.float32
        self.single = single
        sum_u, sum_v = U.sum(axis=0), V.sum(axis=0)
        alpha, beta = sum_u @ mean_x, sum_v @ mean_y
        gram_u, gram_v = (U.astype(np.float32), V.astype(np.float32)) if single else (U, V)
        full_x, full_y = _full_sum(n, alpha, sum_u), _full_sum(n, beta, sum_v)
        square_x = np.sum((gram_u.T @ gram_u).astype(np.float64) ** 2)
        square_y = np.sum((gram_v.T @ gram_v).astype(np.float64) ** 2)
        full_xx = _full_squares(n, self.a @ self.a, alpha, U.T @ self.a, sum_u, square_x)
        full_yy = _full_squares(n, self.b @ self.b, beta, V.T @ self.b, sum_v, square_y)
        self.n, self.alpha, self.beta, self.sum_u, self.sum_v = n, alpha, beta, sum_u, sum_v
        self.fixed = (n * (n - 1) / 2, (full_x - self.d.sum()) / 2, (full_y - self.e.sum()) / 2,
                      (full_xx - self.d @ self.d) / 2, (full_yy - self.e @ self.e) / 2)
        # The rows gathered per permutation: the smaller space's (U by p⁻¹, or V by p).
        self.gather_u = X.shape[1] <= Y.shape[1]
        self.U, self.V = (gram_u, gram_v) if single else (U, V)
        self.U64, self.V64 = U, V

    def buffer(self):
        """The rows a permutation gathers, one buffer per caller (batches run side by side)."""
        return np.empty(self.U.shape if self.gather_u else self.V.shape, self.U.dtype)

    def __call__(self, p, gathered):
        """``(count, sum_x, sum_y, sum_xx, sum_yy, sum_xy)`` for Y[p], the
        rows gathered into ``gathered`` (``buffer``)."""
        inverse = np.empty_like(p)
        inverse[p] = np.arange(p.size)
        if self.gather_u:
            np.take(self.U, inverse, axis=0, out=gathered)
            cross = gathered.T @ self.V
        else:
            np.take(self.V, p, axis=0, out=gathered)
            cross = self.U.T @ gathered
        b_p, e_p = self.b[p], self.e[p]
        full_xy = _full_cross(
            self.n, self.a @ b_p, self.alpha, self.beta,
            self.V64.T @ self.a[inverse], self.sum_v,  # (V_pᵀa = Vᵀ a[p⁻¹])
            self.U64.T @ b_p, self.sum_u, np.sum(cross.astype(np.float64) ** 2),
        )
        return (*self.fixed, (full_xy - self.d @ e_p) / 2)


def permuted_memory_bytes(n, d1, d2, float32=False, running=1):
    """Peak memory of ``PermutedMoments``: U and V in float64 and, for
    float32 spaces, their float32 copies; the four per-row vectors; and for
    each of ``running`` batches at once, the gathered rows of the smaller
    space (``buffer``), a permutation's gathered b, e and inverse and
    a[p⁻¹], and a Gram product and its square at a time (D1², D2² or D1·D2
    float64, twice)."""
    small = min(d1, d2)
    single = 4 * n * (d1 + d2) if float32 else 0
    gathered = (4 if float32 else 8) * n * small
    each = gathered + 8 * n * 4 + 16 * max(d1 * d1, d2 * d2, d1 * d2)
    return 8 * n * (d1 + d2) + single + 8 * n * 4 + running * each


def permuted_flops(n, d1, d2):
    """Multiply-adds of one permutation of ``PermutedMoments``: the cross product."""
    return n * d1 * d2 + 2 * n * (d1 + d2)


def flops(n, d1, d2):
    """Multiply-adds of the Gram path (the three products dominate)."""
    return n * (d1 * d1 + d2 * d2 + d1 * d2)


_ROW_VECTORS = 8  # float64 vectors of one row of each space a task holds at once, at most


def task_memory_bytes(d1, d2, n, float32=False, spaces=()):
    """Peak memory of one task of ``pair_moments`` (``moments_task``) over n
    items: its ``Sums`` (the three Gram matrices in float64), the largest
    of them once more (each block's product is a new matrix before it is
    added), one block of unit rows of each space in float64, where both
    spaces are float32 (``float32``) their float32 copies, and the vectors
    of one row each (``_ROW_VECTORS`` of D1 + D2); for the spaces on disk
    among ``spaces``, the block each is read into (``_sources.block_bytes``)."""
    ranges = task_ranges(n)
    rows = min(ranges[0][1] - ranges[0][0], _tuning.GRAM_BLOCK)
    single = 4 * rows * (d1 + d2) if float32 else 0
    read = sum(_sources.block_bytes(space, rows) for space in spaces)
    grams = d1 * d1 + d2 * d2 + d1 * d2
    return 8 * (grams + max(d1 * d1, d2 * d2, d1 * d2) + (rows + _ROW_VECTORS) * (d1 + d2)) + single + read


def result_bytes(d1, d2):
    """Memory of a task's ``Sums``: the three Gram matrices and a few vectors of D1 + D2."""
    return 8 * (d1 * d1 + d2 * d2 + d1 * d2 + 3 * (d1 + d2) + 8)


def memory_bytes(d1, d2, n, float32=False, spaces=(), threads=None):
    """Peak memory of ``pair_moments`` here (``_tasks.Local``): a task at
    ``task_memory_bytes`` on each of ``threads`` threads (None: Numba's),
    and the results of the rest of its window of tasks, finished but not
    yet added (``result_bytes`` each; the first is kept as the total)."""
    local = _tasks.Local(threads)
    tasks = len(task_ranges(n))
    running = min(tasks, local.threads) if tasks > 1 else 1
    waiting = min(tasks, local.window) - running if tasks > 1 else 0
    return running * task_memory_bytes(d1, d2, n, float32, spaces) + max(waiting, 0) * result_bytes(d1, d2)


def stage(n, d1, d2, float32=False, spaces=(), pending=None):
    """The plan's stage of the Gram path (docs/performance.md): its
    products' multiply-adds, two passes over the rows that write a unit
    copy of one block, and ``memory_bytes`` (``spaces``: the two spaces,
    for those on disk; ``pending``: the metric their values are checked
    for in the first pass, as ``pair_moments`` takes it)."""
    path = f"Gram identity: XᵀX, YᵀY, XᵀY over blocks of {min(n, _tuning.GRAM_BLOCK):,} unit rows, no pairs"
    path += _sources.streamed(spaces)
    if pending is not None:
        path += " (their values checked as the first pass reads them)"
    return Stage("score", path, memory_bytes(d1, d2, n, float32, spaces), flops(n, d1, d2), 4 * n * (d1 + d2) * 8)


# Many spaces at once (``fastrsa.rsa_matrix``): the same identity over K
# spaces.  Each space's shifted unit rows are made once per block, its own
# terms summed once, and each pair of spaces asked for adds only its cross
# terms: the product U_kᵀU_l and the sums that pair a_k with space l.


def spaces_mean_task(spaces, centre, block, r0, r1):
    """Pass 1's task over K spaces: the sums of the unit rows r0:r1 of
    every space, one after another (float64, D_1 + ... + D_K values), each
    block's added in order."""
    widths = [X.shape[1] for X in spaces]
    rows = min(r1 - r0, block)
    buffers = [np.empty((rows, d)) for d in widths]
    reads = [_sources.block_buffer(X, rows) for X in spaces]
    ends = np.cumsum([0, *widths])
    total = np.zeros(ends[-1])
    for start, stop in _blocks(r0, r1, block):
        for k, X in enumerate(spaces):
            total[ends[k] : ends[k + 1]] += _unit_rows(X, start, stop, centre, buffers[k], reads[k]).sum(axis=0)
    return total


class SpacesSums:
    """A task's partial sums of ``spaces_moments`` (all float64), added in
    task order (``add``): ``grams[p]``, U_kᵀU_l for the p-th (k, l) of the
    products asked for; per space its rows' sum and its rows weighted by
    every space's a (``weighted[k]``, D_k x K: column l is Σ a_l,i u_k,i);
    and K x K: Σ a_k a_l, Σ d_k d_l, with the K sums Σ d_k of the diagonal
    terms d_k,i = 2 a_k,i + |u_k,i|²."""

    __slots__ = ("grams", "sums", "weighted", "products", "diagonal", "diagonal_products")

    def __init__(self, widths, products):
        k = len(widths)
        self.grams = [np.zeros((widths[a], widths[b])) for a, b in products]
        self.sums = [np.zeros(d) for d in widths]
        self.weighted = [np.zeros((d, k)) for d in widths]
        self.products, self.diagonal, self.diagonal_products = np.zeros((k, k)), np.zeros(k), np.zeros((k, k))

    def _arrays(self):
        return [*self.grams, *self.sums, *self.weighted, self.products, self.diagonal, self.diagonal_products]

    def add(self, other):
        for mine, theirs in zip(self._arrays(), other._arrays()):
            mine += theirs
        return self

    def __reduce__(self):
        return _spaces_sums_from, tuple(getattr(self, name) for name in self.__slots__)


def _spaces_sums_from(*fields):
    sums = SpacesSums.__new__(SpacesSums)
    for name, value in zip(SpacesSums.__slots__, fields):
        setattr(sums, name, value)
    return sums


def spaces_moments_task(spaces, centre, means, products, block, r0, r1):
    """Pass 2's task over K spaces: the ``SpacesSums`` of rows r0:r1,
    ``block`` rows at a time.  Where the spaces are float32 their products
    run in float32 BLAS on the shifted rows rounded once, as ``moments_task``'s do;
    any other in float64.  (A float32 space's own product runs in float32
    only where every space is float32: rsa of a float32 and a float64
    space takes all three products in float64, and each such cell equals
    that; a cell of two float32 spaces in a collection with a float64 one
    then runs in float64 too, and differs from rsa of its pair at float32's
    rounding.)"""
    widths = [X.shape[1] for X in spaces]
    rows = min(r1 - r0, block)
    buffers = [np.empty((rows, d)) for d in widths]  # 8 rows D_k bytes each
    reads = [_sources.block_buffer(X, rows) for X in spaces]
    single = [all(X.dtype == np.float32 for X in spaces)] * len(spaces)
    singles = [np.empty((rows, d), np.float32) if one else None for d, one in zip(widths, single)]  # 4 rows D_k each
    s = SpacesSums(widths, products)
    for start, stop in _blocks(r0, r1, block):
        units, rounded = [], []
        for k, X in enumerate(spaces):
            u = _unit_rows(X, start, stop, centre, buffers[k], reads[k])
            u -= means[k]
            units.append(u)
            if single[k]:
                rounded.append(singles[k][: len(u)])
                rounded[k][...] = u
            else:
                rounded.append(None)
        a = np.stack([u @ m for u, m in zip(units, means)], axis=1)  # rows x K
        d = 2.0 * a + np.stack([np.einsum("ij,ij->i", u, u) for u in units], axis=1)
        for p, (k, l) in enumerate(products):
            both = single[k] and single[l]
            s.grams[p] += (rounded[k].T @ rounded[l]) if both else units[k].T @ units[l]
        for k, u in enumerate(units):
            s.sums[k] += u.sum(axis=0)
            s.weighted[k] += u.T @ a
        s.products += a.T @ a
        s.diagonal += d.sum(axis=0)
        s.diagonal_products += d.T @ d
    return s


def spaces_products(cells):
    """The Gram products ``spaces_moments`` needs for ``cells`` (pairs of
    space indices): each space's own, then each cell's cross product."""
    own = sorted({k for cell in cells for k in cell})
    return [(k, k) for k in own] + [tuple(cell) for cell in cells if cell[0] != cell[1]]


def spaces_moments(spaces, centre, cells, executor=None):
    """``pair_moments(spaces[k], spaces[l], centre)`` for every (k, l) of
    ``cells``, each space's share computed once: a dict (k, l) -> the six
    sums.  Two passes of tasks over ``task_ranges`` as ``pair_moments``'s,
    reduced in task order.  The sums are those of ``pair_moments`` taken in
    another order (products of many spaces at once): equal to about 1e-15."""
    n = spaces[0].shape[0]
    executor = executor or _tasks.Local()
    ranges, block = task_ranges(n), _tuning.GRAM_BLOCK
    products = spaces_products(cells)
    shared = executor.share(tuple(spaces))
    totals = _added(executor.map_serial(spaces_mean_task, (shared, centre, block), ranges))
    ends = np.cumsum([0, *(X.shape[1] for X in spaces)])
    means = [totals[ends[k] : ends[k + 1]] / n for k in range(len(spaces))]
    s = _added(executor.map_serial(spaces_moments_task, (shared, centre, means, products, block), ranges))
    squares = {product: np.sum(gram**2) for product, gram in zip(products, s.grams)}
    alphas = [total @ mean for total, mean in zip(s.sums, means)]

    def own(k):
        full = _full_sum(n, alphas[k], s.sums[k])
        full_squares = _full_squares(n, s.products[k, k], alphas[k], s.weighted[k][:, k], s.sums[k], squares[(k, k)])
        return (full - s.diagonal[k]) / 2, (full_squares - s.diagonal_products[k, k]) / 2

    moments = {}
    for k, l in cells:
        (sum_x, sum_xx), (sum_y, sum_yy) = own(k), own(l)
        full_xy = _full_cross(
            n, s.products[k, l], alphas[k], alphas[l], s.weighted[l][:, k], s.sums[l], s.weighted[k][:, l], s.sums[k],
            squares[(k, l) if k != l else (k, k)],
        )
        moments[(k, l)] = (n * (n - 1) / 2, sum_x, sum_y, sum_xx, sum_yy, (full_xy - s.diagonal_products[k, l]) / 2)
    return moments


def spaces_task_memory_bytes(widths, n, float32, cells, spaces=()):
    """Peak memory of one task of ``spaces_moments``: its ``SpacesSums``
    (every product asked for, float64), the largest product once more (a
    block's product is a new matrix before it is added), one block of unit
    rows of every space in float64 and, where every space is float32
    (``float32``), in float32, the block's a and d (K columns each, twice:
    the stack and its parts), the K x K sums and the weighted sums; and the
    blocks the spaces on disk are read into."""
    ranges = task_ranges(n)
    rows = min(ranges[0][1] - ranges[0][0], _tuning.GRAM_BLOCK)
    sizes = [widths[k] * widths[l] for k, l in spaces_products(cells)]
    k = len(widths)
    single = 4 * rows * sum(widths) if float32 else 0
    read = sum(_sources.block_bytes(space, rows) for space in spaces)
    sums = sum(sizes) + (k + 1) * sum(widths) + 3 * k * k
    return 8 * (sums + max(sizes) + rows * (sum(widths) + 4 * k)) + single + read


def spaces_result_bytes(widths, cells):
    """Memory of a task's ``SpacesSums``."""
    k = len(widths)
    return 8 * (sum(widths[a] * widths[b] for a, b in spaces_products(cells)) + (k + 1) * sum(widths) + 3 * k * k)


def spaces_memory_bytes(widths, n, float32, cells, spaces=(), threads=None):
    """Peak memory of ``spaces_moments`` here: a task on each thread and the
    finished results of the rest of the window (as ``memory_bytes``)."""
    local = _tasks.Local(threads)
    tasks = len(task_ranges(n))
    running = min(tasks, local.threads) if tasks > 1 else 1
    waiting = min(tasks, local.window) - running if tasks > 1 else 0
    return running * spaces_task_memory_bytes(widths, n, float32, cells, spaces) + max(waiting, 0) * spaces_result_bytes(widths, cells)


def spaces_flops(n, widths, cells):
    """Multiply-adds of ``spaces_moments``: its products."""
    return n * sum(widths[k] * widths[l] for k, l in spaces_products(cells))
