"""The bootstrap of Pearson RSA by a weighted Gram identity: no pair is formed.

A resample draws item i c_i times (a row of the bootstrap's counts, summing
to N).  Its pairs are those of two different items, each counted c_i·c_j
times; an item's pairs with its own copies are left out.  With the rows
shifted as in ``_gram`` (u_i = x_i - m, m the mean unit row of all items,
a_i = m·u_i, t_ij = a_i + a_j + u_i·u_j the similarity less ‖m‖²), every
sum the resample's Pearson needs is a weighted Gram quantity, C = diag(c):

- the weight: ((Σ c)² - Σ c²)/2;
- Σ c_i c_j t_ij over all (i, j): 2 (Σ c)(Σ c a) + ‖Uᵀc‖²;
- Σ c_i c_j t_ij²: 2 (Σ c)(Σ c a²) + 2 (Σ c a)² + 4 (Σ c a u)·(Uᵀc) + ‖UᵀCU‖²_F;
- Σ c_i c_j t_ij t'_ij: 2 (Σ c)(Σ c a b) + 2 (Σ c a)(Σ c b) + 2 (Σ c a v)·(Vᵀc)
  + 2 (Σ c b u)·(Uᵀc) + ‖UᵀCV‖²_F;

and the pairs' sums are half of these less the diagonal, Σ c_i² t_ii (and
its squares and products), t_ii = 2 a_i + ‖u_i‖².  docs/algorithms.md
derives every line.  The shift is the same for every resample, so the
shifted rows are made once; a resample's weighted mean lies within its
sampling spread of the shift's, and its sums stay well conditioned.

Only the items a resample draws (about 1 - 1/e of them) enter its products:
their rows [u_i, v_i, 1, a_i, b_i] times √c_i, stacked in blocks of
``_tuning.GRAM_BLOCK``, go through one symmetric product (SYRK) per block,
whose blocks are UᵀCU, VᵀCV and UᵀCV and whose last three columns are
every first-order sum (Uᵀc, Σ c a u, Σ c a, ...).  Every product runs in
float64 BLAS, also for float32 input, so the result equals the pairs'
weighted Pearson to about 1e-13.  OpenBLAS splits a SYRK's output among
its threads, never a sum, and the other sums are NumPy's own loops in a
fixed order: neither Numba's nor BLAS's thread count changes a bit.  (A
general product, XᵀCY on its own, or the counts of a batch times U, is
split otherwise by OpenBLAS, and its last bits move with BLAS's threads.)

Cost per resample: about N_eff·(D1² + D2² + D1·D2) multiply-adds (``flops``)
and O((D1 + D2)² + B·(D1 + D2)) memory beside the N·(D1 + D2 + 8) values
kept throughout (``memory_bytes``).
"""

import numpy as np

from . import _gram, _tuning
from ._kernels.normalize import normalize_rows_into

_EPS = np.finfo(np.float64).eps


def items_drawn(n):
    """The expected number of distinct items a resample of n draws holds:
    n (1 - (1 - 1/n)^n), about (1 - 1/e) n."""
    return n * -np.expm1(n * np.log1p(-1.0 / n)) if n > 1 else float(n)


class Resampler:
    """The shifted rows of two checked spaces, made once, and the Pearson
    statistic of any batch of resamples' counts (``statistics``)."""

    def __init__(self, X, Y, centre):
        n, d1, d2 = X.shape[0], X.shape[1], Y.shape[1]
        self.d1, self.d2 = d1, d2
        block = min(n, _tuning.GRAM_BLOCK)
        # Each item's row [u_i, v_i, 1, a_i, b_i], and its diagonal terms
        # d_i = t_ii, e_i = t'_ii with d², e², d e (summed with weights c²).
        self.rows = np.empty((n, d1 + d2 + 3))
        self.diagonal = np.empty((n, 5))
        self.rows[:, d1 + d2] = 1.0
        unit = np.empty((block, max(d1, d2)))
        for space, first, last, column in ((X, 0, d1, 0), (Y, d1, d1 + d2, 1)):
            shifted = self.rows[:, first:last]
            for start in range(0, n, block):
                rows = unit[: min(n - start, block), : last - first]
                normalize_rows_into(space[start : start + block], rows, centre)
                shifted[start : start + block] = rows
            mean = shifted.mean(axis=0)
            shifted -= mean
            along = np.einsum("ij,j->i", shifted, mean)  # (NumPy's loop, not BLAS: a fixed order)
            self.rows[:, d1 + d2 + 1 + column] = along
            self.diagonal[:, column] = np.einsum("ij,ij->i", shifted, shifted) + 2.0 * along
        del unit
        d, e = self.diagonal[:, 0], self.diagonal[:, 1]
        self.diagonal[:, 2], self.diagonal[:, 3], self.diagonal[:, 4] = d * d, e * e, d * e
        self.block_rows = block

    def statistics(self, counts):
        """The Pearson correlation of each resample's pairs, one per row of
        ``counts`` (float64 item counts); NaN where its pairs do not vary
        (fewer than three distinct items drawn, or values equal up to
        rounding).  The products' scratch is the call's own: batches may
        run side by side on threads (``_tasks.Local``)."""
        width = self.rows.shape[1]
        block, gram = np.empty((self.block_rows, width)), np.empty((width, width))  # (scratch_bytes)
        return np.array([self._pearson(row, block, gram) for row in counts], dtype=np.float64)

    def _pearson(self, counts, block, gram):
        """One resample's correlation (``statistics``)."""
        kept = np.flatnonzero(counts)
        if kept.size < 3:  # one pair at most: its value does not vary
            return np.nan
        drawn = counts[kept]
        gram = self._gram(kept, np.sqrt(drawn), block, gram)
        squared = drawn * drawn
        sum_d, sum_e, sum_dd, sum_ee, sum_de = np.einsum("i,ij->j", squared, self.diagonal[kept])
        total, total_squared = counts.sum(), squared.sum()  # (exact: integers)
        x, y = slice(0, self.d1), slice(self.d1, self.d1 + self.d2)
        one, a, b = self.d1 + self.d2, self.d1 + self.d2 + 1, self.d1 + self.d2 + 2
        sum_u, sum_v = gram[x, one], gram[y, one]
        alpha, beta = gram[one, a], gram[one, b]
        full_x = 2 * total * alpha + _dot(sum_u, sum_u)
        full_y = 2 * total * beta + _dot(sum_v, sum_v)
        full_xx = 2 * total * gram[a, a] + 2 * alpha**2 + 4 * _dot(gram[x, a], sum_u) + _dot(gram[x, x], gram[x, x])
        full_yy = 2 * total * gram[b, b] + 2 * beta**2 + 4 * _dot(gram[y, b], sum_v) + _dot(gram[y, y], gram[y, y])
        full_xy = (
            2 * total * gram[a, b]
            + 2 * alpha * beta
            + 2 * _dot(gram[y, a], sum_v)
            + 2 * _dot(gram[x, b], sum_u)
            + _dot(gram[x, y], gram[x, y])
        )
        weight = (total * total - total_squared) / 2
        sum_x, sum_y = (full_x - sum_d) / 2, (full_y - sum_e) / 2
        ss_x = (full_xx - sum_dd) / 2 - sum_x * sum_x / weight
        ss_y = (full_yy - sum_ee) / 2 - sum_y * sum_y / weight
        cross = (full_xy - sum_de) / 2 - sum_x * sum_y / weight
        # Similarities are at most 1 in magnitude, and so the rounding of
        # these sums a few eps of the weight: a spread below that is noise
        # (as _validate.varies decides for rsa).
        limit = (16 * _EPS) ** 2 * weight
        if not (ss_x > limit and ss_y > limit):
            return np.nan
        return max(-1.0, min(1.0, cross / np.sqrt(ss_x * ss_y)))

    def _gram(self, kept, roots, buffer, gram):
        """Σ c_i r_i r_iᵀ over the items ``kept`` (r_i = [u_i, v_i, 1, a_i,
        b_i]), as the SYRK of the rows √c_i r_i, block by block (each
        gathered into ``buffer``), written into ``gram``."""
        gram[...] = 0.0
        block = len(buffer)
        for start in range(0, kept.size, block):
            items = kept[start : start + block]
            rows = np.take(self.rows, items, axis=0, out=buffer[: items.size])
            rows *= roots[start : start + block, None]
            gram += rows.T @ rows  # (SYRK: half the flops of a general product)
        return gram


def _dot(x, y):
    """Σ x y over all entries, NumPy's loop in a fixed order (a BLAS dot
    splits long sums among its threads)."""
    axes = "ij"[: x.ndim]
    return float(np.einsum(f"{axes},{axes}->", x, y))


def flops(n, d1, d2):
    """Multiply-adds of one resample: the weighted Gram products over the
    items it draws (``items_drawn``), with the three columns of its
    first-order sums."""
    drawn = int(round(items_drawn(n)))
    return _gram.flops(drawn, d1, d2) + 3 * drawn * (d1 + d2)


def bytes_moved(n, d1, d2):
    """Bytes one resample moves: the drawn rows gathered, scaled and read
    by the product, and its Gram matrix added up once a block."""
    drawn = int(round(items_drawn(n)))
    blocks = -(-drawn // _tuning.GRAM_BLOCK)
    return 8 * (3 * drawn * (d1 + d2 + 3) + 2 * blocks * (d1 + d2 + 3) ** 2)


def memory_bytes(n, d1, d2):
    """``(held, making, working)``: the memory of a ``Resampler`` over n
    items.  Held throughout: each item's row of D1 + D2 + 3 values and its
    five diagonal terms, in float64.  While it is made, beside them: a block
    of unit rows and two vectors of N (the products with the mean row, and
    the squared norms).  Working, for each batch of ``statistics`` running
    at once: its scratch, a block of rows and the Gram matrix, and in a
    resample its drawn items (int64), their counts, roots, squares and
    diagonal terms (five a row), and the Gram matrix once more (a block's
    product before it is added up)."""
    block = min(n, _tuning.GRAM_BLOCK)
    width = d1 + d2 + 3
    held = 8 * n * (width + 5)
    making = 8 * (block * max(d1, d2) + 2 * n)
    drawn = min(n, int(items_drawn(n)) + 1)
    working = 8 * (block * width + width * width) + 8 * (9 * drawn + width * width)
    return held, making, working
