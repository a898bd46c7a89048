"""Pearson RSA of cosine similarities without forming a single pair.

With unit rows x_i of X and y_i of Y, the sums over pairs that Pearson needs
are quadratic forms of the small Gram matrices XᵀX, YᵀY and XᵀY.  To keep
them well conditioned when similarities crowd around a large mean (as they
do in anisotropic spaces), the rows are first shifted by their mean m:
u_i = x_i - m, so x_i·x_j = |m|² + a_i + a_j + u_i·u_j with a_i = m·u_i.
The constant |m|² changes no variance or covariance; the rest is summed
exactly.  docs/algorithms.md derives every line.

Cost: two streaming passes over the rows, O(N (D1² + D2² + D1·D2)) flops in
BLAS and O(D1² + D2² + D1·D2 + BLOCK·(D1 + D2)) float64 memory.
"""

import numpy as np

from ._kernels.normalize import normalize_rows_into

BLOCK = 4096


def _unit_rows(X, start, stop, centre):
    """float64 unit-length copies of rows start:stop of X."""
    rows = X[start:stop]
    unit = np.empty(rows.shape)
    normalize_rows_into(rows, unit, centre)
    return unit


def _mean_unit_row(X, centre):
    total = np.zeros(X.shape[1])
    for start in range(0, X.shape[0], BLOCK):
        total += _unit_rows(X, start, start + BLOCK, centre).sum(axis=0)
    return total / X.shape[0]


def pair_moments(X, Y, centre):
    """Sums over the pairs i < j of t and t' (similarities less a constant).

    Returns ``(count, sum_x, sum_y, sum_xx, sum_yy, sum_xy)``: ``count`` is
    N(N-1)/2, and the rest are sums of t_ij, t'_ij, t_ij², t'_ij², t_ij t'_ij.
    """
    n = X.shape[0]
    mean_x = _mean_unit_row(X, centre)
    mean_y = _mean_unit_row(Y, centre)
    gram_xx = np.zeros((X.shape[1], X.shape[1]))
    gram_yy = np.zeros((Y.shape[1], Y.shape[1]))
    gram_xy = np.zeros((X.shape[1], Y.shape[1]))
    sum_u = np.zeros(X.shape[1])
    sum_v = np.zeros(Y.shape[1])
    # Sums of the diagonal terms t_ii = 2 a_i + |u_i|², which the pairs exclude.
    diagonal = np.zeros(5)  # sum d, sum e, sum d², sum e², sum d e
    for start in range(0, n, BLOCK):
        u = _unit_rows(X, start, start + BLOCK, centre) - mean_x
        v = _unit_rows(Y, start, start + BLOCK, centre) - mean_y
        gram_xx += u.T @ u
        gram_yy += v.T @ v
        gram_xy += u.T @ v
        sum_u += u.sum(axis=0)
        sum_v += v.sum(axis=0)
        d = 2.0 * (u @ mean_x) + np.einsum("ij,ij->i", u, u)
        e = 2.0 * (v @ mean_y) + np.einsum("ij,ij->i", v, v)
        diagonal += (d.sum(), e.sum(), d @ d, e @ e, d @ e)

    # Sums over all (i, j), diagonal included, of t_ij = a_i + a_j + u_i·u_j.
    alpha = sum_u @ mean_x  # sum of a_i
    beta = sum_v @ mean_y  # sum of b_i
    full_x = 2 * n * alpha + sum_u @ sum_u
    full_y = 2 * n * beta + sum_v @ sum_v
    full_xx = (
        2 * n * (mean_x @ gram_xx @ mean_x) + 2 * alpha**2 + 4 * (gram_xx @ mean_x) @ sum_u + np.sum(gram_xx**2)
    )
    full_yy = (
        2 * n * (mean_y @ gram_yy @ mean_y) + 2 * beta**2 + 4 * (gram_yy @ mean_y) @ sum_v + np.sum(gram_yy**2)
    )
    full_xy = (
        2 * n * (mean_x @ gram_xy @ mean_y)
        + 2 * alpha * beta
        + 2 * (gram_xy.T @ mean_x) @ sum_v
        + 2 * (gram_xy @ mean_y) @ sum_u
        + np.sum(gram_xy**2)
    )
    sum_d, sum_e, sum_dd, sum_ee, sum_de = diagonal
    return (
        n * (n - 1) / 2,
        (full_x - sum_d) / 2,
        (full_y - sum_e) / 2,
        (full_xx - sum_dd) / 2,
        (full_yy - sum_ee) / 2,
        (full_xy - sum_de) / 2,
    )


def flops(n, d1, d2):
    """Multiply-adds of the Gram path (the three products dominate)."""
    return n * (d1 * d1 + d2 * d2 + d1 * d2)


def memory_bytes(d1, d2):
    """Peak memory of the Gram path: the three Gram matrices in float64 and
    one block of unit rows of each space (with a shifted copy)."""
    return 8 * (d1 * d1 + d2 * d2 + d1 * d2 + 2 * BLOCK * (d1 + d2))
