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

from . import _sources, _tuning
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


def _mean_unit_row(X, centre, buffer, read=None):
    total = np.zeros(X.shape[1])
    block = len(buffer)
    for start in range(0, X.shape[0], block):
        total += _unit_rows(X, start, start + block, centre, buffer, read).sum(axis=0)
    return total / X.shape[0]


def pair_moments(X, Y, centre):
    """Sums over the pairs i < j of t and t' (similarities less a constant).

    Returns ``(count, sum_x, sum_y, sum_xx, sum_yy, sum_xy)``: ``count`` is
    N(N-1)/2, and the rest are sums of t_ij, t'_ij, t_ij², t'_ij², t_ij t'_ij.

    When X and Y are both float32, the three Gram products run in float32
    BLAS (the faster rate), on the shifted rows rounded once; every other
    sum, and the sums of the blocks' products, stay in float64.  Only the
    squared Frobenius norms of the Gram matrices come from them, sums of
    squares that do not cancel, so the rounding costs no accuracy the float32
    input had (docs/algorithms.md).
    """
    n = X.shape[0]
    block = min(n, _tuning.GRAM_BLOCK)
    buffer_x = np.empty((block, X.shape[1]))
    buffer_y = np.empty((block, Y.shape[1]))
    # Spaces on disk (``_sources.Rows``) are read a block at a time, into these.
    read_x, read_y = _sources.block_buffer(X, block), _sources.block_buffer(Y, block)
    mean_x = _mean_unit_row(X, centre, buffer_x, read_x)
    mean_y = _mean_unit_row(Y, centre, buffer_y, read_y)
    single = X.dtype == np.float32 and Y.dtype == np.float32
    if single:
        single_x = np.empty(buffer_x.shape, np.float32)
        single_y = np.empty(buffer_y.shape, np.float32)
    gram_xx = np.zeros((X.shape[1], X.shape[1]))
    gram_yy = np.zeros((Y.shape[1], Y.shape[1]))
    gram_xy = np.zeros((X.shape[1], Y.shape[1]))
    sum_u = np.zeros(X.shape[1])
    sum_v = np.zeros(Y.shape[1])
    # u_i, v_i weighted by a_i = m·u_i and b_i = m'·v_i: columns (a, b).
    weighted_u = np.zeros((X.shape[1], 2))
    weighted_v = np.zeros((Y.shape[1], 2))
    products = np.zeros(3)  # sum a², sum b², sum a b
    # Sums of the diagonal terms t_ii = 2 a_i + |u_i|², which the pairs exclude.
    diagonal = np.zeros(5)  # sum d, sum e, sum d², sum e², sum d e
    for start in range(0, n, block):
        u = _unit_rows(X, start, start + block, centre, buffer_x, read_x)
        v = _unit_rows(Y, start, start + block, centre, buffer_y, read_y)
        u -= mean_x
        v -= mean_y
        if single:
            gram_u, gram_v = single_x[: len(u)], single_y[: len(v)]
            gram_u[...] = u
            gram_v[...] = v
        else:
            gram_u, gram_v = u, v
        gram_xx += gram_u.T @ gram_u
        gram_yy += gram_v.T @ gram_v
        gram_xy += gram_u.T @ gram_v
        sum_u += u.sum(axis=0)
        sum_v += v.sum(axis=0)
        ab = np.stack((u @ mean_x, v @ mean_y), axis=1)
        a, b = ab[:, 0], ab[:, 1]
        weighted_u += u.T @ ab
        weighted_v += v.T @ ab
        products += (a @ a, b @ b, a @ b)
        d = 2.0 * a + np.einsum("ij,ij->i", u, u)
        e = 2.0 * b + np.einsum("ij,ij->i", v, v)
        diagonal += (d.sum(), e.sum(), d @ d, e @ e, d @ e)

    # Sums over all (i, j), diagonal included, of t_ij = a_i + a_j + u_i·u_j.
    # The terms in a_i are taken from a_i itself, not from m·G·m: a_i is
    # second order in the spread of the rows, and its sums would otherwise
    # cancel in the Gram matrices.
    sum_aa, sum_bb, sum_ab = products
    alpha = sum_u @ mean_x  # sum of a_i
    beta = sum_v @ mean_y  # sum of b_i
    full_x, full_y = _full_sum(n, alpha, sum_u), _full_sum(n, beta, sum_v)
    full_xx = _full_squares(n, sum_aa, alpha, weighted_u[:, 0], sum_u, np.sum(gram_xx**2))
    full_yy = _full_squares(n, sum_bb, beta, weighted_v[:, 1], sum_v, np.sum(gram_yy**2))
    full_xy = _full_cross(n, sum_ab, alpha, beta, weighted_v[:, 0], sum_v, weighted_u[:, 1], sum_u, np.sum(gram_xy**2))
    sum_d, sum_e, sum_dd, sum_ee, sum_de = diagonal
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
        self.gathered = np.empty(X.shape if self.gather_u else Y.shape, self.U.dtype)

    def __call__(self, p):
        """``(count, sum_x, sum_y, sum_xx, sum_yy, sum_xy)`` for Y[p]."""
        inverse = np.empty_like(p)
        inverse[p] = np.arange(p.size)
        if self.gather_u:
            np.take(self.U, inverse, axis=0, out=self.gathered)
            cross = self.gathered.T @ self.V
        else:
            np.take(self.V, p, axis=0, out=self.gathered)
            cross = self.U.T @ self.gathered
        b_p, e_p = self.b[p], self.e[p]
        full_xy = _full_cross(
            self.n, self.a @ b_p, self.alpha, self.beta,
            self.V64.T @ self.a[inverse], self.sum_v,  # (V_pᵀa = Vᵀ a[p⁻¹])
            self.U64.T @ b_p, self.sum_u, np.sum(cross.astype(np.float64) ** 2),
        )
        return (*self.fixed, (full_xy - self.d @ e_p) / 2)


def permuted_memory_bytes(n, d1, d2, float32=False):
    """Peak memory of ``PermutedMoments``: U and V in float64 and, for
    float32 spaces, their float32 copies; the gathered rows of the smaller
    space; the four per-row vectors and a permutation's gathered b, e and
    inverse and a[p⁻¹]; and a Gram product and its square at a time (D1²,
    D2² or D1·D2 float64, twice)."""
    small = min(d1, d2)
    single = 4 * n * (d1 + d2 + small) if float32 else 8 * n * small
    return 8 * n * (d1 + d2) + single + 8 * n * (4 + 4) + 16 * max(d1 * d1, d2 * d2, d1 * d2)


def permuted_flops(n, d1, d2):
    """Multiply-adds of one permutation of ``PermutedMoments``: the cross product."""
    return n * d1 * d2 + 2 * n * (d1 + d2)


def flops(n, d1, d2):
    """Multiply-adds of the Gram path (the three products dominate)."""
    return n * (d1 * d1 + d2 * d2 + d1 * d2)


_ROW_VECTORS = 8  # float64 vectors of one row of each space that pair_moments holds at once, at most


def memory_bytes(d1, d2, n, float32=False, spaces=()):
    """Peak memory of ``pair_moments`` over n items: the three Gram matrices
    in float64, the largest of them once more (each block's product, and its
    square at the end, is a new matrix before it is added up), one block of
    unit rows of each space in float64 (``buffer_x``, ``buffer_y``),
    where both spaces are float32 (``float32``) their float32 copies, and
    the vectors of one row each (the mean rows, column sums and their
    temporaries: ``_ROW_VECTORS`` of D1 + D2); for the spaces on disk among
    ``spaces``, the block each is read into (``_sources.block_bytes``)."""
    rows = min(n, _tuning.GRAM_BLOCK)
    single = 4 * rows * (d1 + d2) if float32 else 0
    read = sum(_sources.block_bytes(space, rows) for space in spaces)
    return 8 * (d1 * d1 + d2 * d2 + d1 * d2 + max(d1 * d1, d2 * d2, d1 * d2) + (rows + _ROW_VECTORS) * (d1 + d2)) + single + read


def stage(n, d1, d2, float32=False, spaces=()):
    """The plan's stage of the Gram path (docs/performance.md): its
    products' multiply-adds, two passes over the rows that write a unit
    copy of one block, and ``memory_bytes`` (``spaces``: the two spaces,
    for those on disk)."""
    path = f"Gram identity: XᵀX, YᵀY, XᵀY over blocks of {min(n, _tuning.GRAM_BLOCK):,} unit rows, no pairs"
    path += _sources.streamed(spaces)
    return Stage("score", path, memory_bytes(d1, d2, n, float32, spaces), flops(n, d1, d2), 4 * n * (d1 + d2) * 8)
