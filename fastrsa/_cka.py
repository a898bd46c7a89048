"""Linear CKA (Kornblith et al. 2019) in feature space: no N x N kernel is formed.

With K = X Xᵀ and L = Y Yᵀ over N items, linear CKA is
HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)).  For column-centred data Xc, Yc
(the centring matrix H: HKH = Xc Xcᵀ) the biased HSIC's inner product is
tr(HKH HLH) = ‖YcᵀXc‖²_F, so

    CKA = ‖XcᵀYc‖²_F / (‖XcᵀXc‖_F ‖YcᵀYc‖_F),

three Gram products of D1², D2² and D1·D2 entries, O(N·D1·D2) flops.

The debiased form replaces each HSIC by the unbiased estimator of Song et
al. (2012), as Kornblith's reference code does with ``debiased=True``.  With
K̃ the kernel with a zeroed diagonal, and up to the factor 1/(N(N-3)) that
cancels in the ratio,

    HSIC_u(K, L) = tr(K̃L̃) + 1ᵀK̃1 1ᵀL̃1 / ((N-1)(N-2)) - 2/(N-2) 1ᵀK̃L̃1.

It is unchanged by a shift of X's rows (K_ij changes by terms a_i + a_j,
which it cancels), so X may be centred first, as the reference's
``feature_space_linear_cka`` does (its ``cka`` of Gram matrices does not
centre: the U-centring in ``center_gram(unbiased=True)`` removes the shift).
With centred rows x_i (Σ x_i = 0), s_i = |x_i|² and t_i = |y_i|²:
tr(K̃L̃) = ‖XᵀY‖²_F - Σ s_i t_i, 1ᵀK̃1 = |Σ x_i|² - Σ s_i = -Σ s_i,
(K̃1)_i = x_i·Σx - s_i = -s_i, so 1ᵀK̃L̃1 = Σ s_i t_i, and

    HSIC_u(K, L) = ‖XᵀY‖²_F - N/(N-2) Σ s_i t_i + Σ s_i Σ t_i / ((N-1)(N-2)),

the same Gram products and two row-norm sums (the reference's
``_debiased_dot_product_similarity_helper``).

The debiased self-HSIC.  HSIC_u(K, K) equals Σ_{i≠j} Ã_ij², Ã the
U-centred K (Székely & Rizzo 2014, the form the reference's
``center_gram`` uses), so it is never negative in exact arithmetic; it is
zero when K's off-diagonal entries are additive, K_ij = a_i + a_j: always at
N = 3 (the estimator needs N ≥ 4), and whenever all items but one are equal.
The feature-space formula is then a difference of large terms that leaves
rounding of either sign, which the reference turns into NaN (the square root
of a negative) or into noise.  Here a self-HSIC within ``_ROUNDING`` of the
terms it is the difference of is refused with a ValueError that says why, as
is N < 4 with ``debiased=True`` and a space whose rows are all equal (both
forms: its centred data is zero, CKA 0/0).

Numerics.  Two streaming passes over blocks of ``_tuning.GRAM_BLOCK`` rows
(``_sources.block``: spaces in memory are read in place, spaces on disk a
block at a time): the columns' sums, least and greatest values, then the
products of the centred rows, x_i - mean, taken in float64 and scaled by a
power of two (exact) that brings the largest column spread to [0.5, 1), so
the squares of the products neither overflow nor underflow.  All sums are
float64.  When every space is float32 the Gram products run in float32 BLAS
(the rate ``fastrsa.rsa``'s Gram path runs at), on the centred rows rounded
once to float32, the blocks' products added in float64: a relative rounding
of about float32's epsilon on each squared Frobenius norm, which are sums of
squares that do not cancel, so biased CKA keeps about 1e-6 relative (or
better) of its float64 value.  The debiased terms cancel where the row norms
dominate the Gram products (N small against D): there the rounding grows by
the ratio of the terms to their difference, so when that ratio passes
``_FLOAT32_CANCELLATION`` the products are taken again in float64, and
float32 input keeps the same accuracy.  In float32 the row norms come from
the rounded rows themselves, so that every term describes the same data.

Memory: ``memory_bytes`` and ``matrix_memory_bytes``, beside the allocations
they count (``_moments``).
"""

import operator

import numpy as np

from . import _memory, _sources, _tuning, _validate

# A debiased self-HSIC at most this share of the terms it is the difference
# of is zero up to rounding (about 4,096 float64 epsilons: well above the
# rounding of sums over millions of rows, far below any estimate real data
# give, about N/D of the terms for N items in D dimensions).
_ROUNDING = 2.0**-40
# Float32 products are kept while the debiased terms are at most this many
# times their difference (the float32 rounding of the result grows by it);
# above it, the second pass runs again in float64.
_FLOAT32_CANCELLATION = 4.0


def cka(X, Y, debiased=False):
    """Linear centred kernel alignment of two spaces over the same items.

    Kornblith et al. (2019), "Similarity of Neural Network Representations
    Revisited": HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)) with the linear
    kernels K = X Xᵀ and L = Y Yᵀ, computed from the Gram matrices of the
    column-centred features, ‖XcᵀYc‖²_F / (‖XcᵀXc‖_F ‖YcᵀYc‖_F), without
    forming the N x N kernels.  Invariant to orthogonal transforms and
    isotropic scaling of either space.

    Parameters
    ----------
    X : array_like, shape (n_items, n_features_x)
        Finite numbers of any integer or float dtype; at least 3 items, not
        all equal.  A memmap, or the path of a .npy file, is read a block of
        rows at a time.
    Y : array_like, shape (n_items, n_features_y)
        The same items (rows, in the same order; labelled rows are matched by
        label, as ``rsa`` does); the features may differ.
    debiased : bool
        Use the unbiased HSIC estimator (Song et al. 2012) in the numerator
        and denominator, as the reference's ``debiased=True`` (less biased
        at small N; the result may be negative).  Needs at least 4 items.

    Returns
    -------
    float
        In [0, 1] (debiased: in [-1, 1]), up to rounding; exactly 1.0 where
        ``X is Y``.

    Raises
    ------
    ValueError
        For input ``fastrsa.rsa`` refuses (NaN or inf, shapes, dtypes); for a
        space whose rows are all equal (its centred data is zero); with
        ``debiased=True``, for fewer than 4 items, or for a space whose
        unbiased self-HSIC is zero up to rounding (the debiased CKA is then
        0/0: its kernel's off-diagonal entries are additive, as when all items
        but one are equal), where the reference code returns NaN or
        rounding noise.

    Notes
    -----
    float32 spaces take the Gram products in float32 BLAS where that keeps
    about 1e-6 relative accuracy, and in float64 otherwise (the module's
    docstring derives both forms and says when).  Peak memory:
    ``memory_bytes``, O(D1² + D2² + D1·D2 + block·(D1 + D2)).

    Examples
    --------
    >>> import numpy as np
    >>> from fastrsa._cka import cka
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 10))
    >>> Y = np.hstack([X, rng.standard_normal((200, 10))])  # X's features and 10 more
    >>> round(cka(X, Y), 4), round(cka(X, Y, debiased=True), 4)
    (0.7292, 0.7133)
    """
    debiased = _flag(debiased)
    if debiased:
        _enough_for_debiased(_rows_given(X), "X")
    same = X is Y
    X, Y = _validate.spaces(X, Y, "euclidean")
    n = X.shape[0]
    if debiased:
        _enough_for_debiased(n, "X")
    spaces, names = ([X], ["X"]) if same else ([X, Y], ["X", "Y"])
    cells = _with_own([] if same else [(0, 1)], len(spaces))
    _memory.require(
        _memory_of(n, [S.shape[1] for S in spaces], cells, _all_float32(spaces), debiased, spaces),
        f"cka over {n:,} items of {X.shape[1]:,} and {Y.shape[1]:,} features", "use fewer features",
    )
    return float(_scores(spaces, names, cells, debiased)[(0, 0) if same else (0, 1)])


def cka_matrix(spaces, others=None, debiased=False):
    """Linear CKA of every pair of spaces (a layer sweep), each space's own
    Gram product computed once.

    Parameters
    ----------
    spaces : sequence of array_like, each (n_items, n_features_k)
        K spaces over the same items (as ``cka``'s X and Y).
    others : sequence of array_like, optional
        L more spaces over the same items: the result is then K x L, spaces
        against others.  None: K x K, every space against every other.
    debiased : bool
        As in ``cka``.

    Returns
    -------
    numpy.ndarray
        float64, shape (K, K) or (K, L); cell (k, l) is ``cka(spaces[k],
        others[l])``, bit for bit where the two spaces' widths differ or k < l
        (each cell's products are the same, summed in the same blocks, the
        wider space first, as ``cka`` takes them), to rounding otherwise
        (BLAS may round AᵀB and BᵀA differently), and at float32's rounding
        where ``cka`` of a float32 pair takes its products in float32 and the
        list holds a float64 space.  Without ``others`` the matrix is symmetric
        and its diagonal exactly 1; with them, a cell whose two spaces are the
        same object is exactly 1.

    Notes
    -----
    One pass over blocks of rows reads every space once, centres it once and
    takes each space's own product once and each pair's cross product once:
    Σ_k D_k² + Σ_{k<l} D_k D_l multiply-adds per row, every product held at
    once (``matrix_memory_bytes``).  Errors name the space (``spaces[2]``).

    Examples
    --------
    >>> import numpy as np
    >>> from fastrsa._cka import cka_matrix
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((100, 8))
    >>> layers = [A, A @ rng.standard_normal((8, 8)), rng.standard_normal((100, 8))]
    >>> cka_matrix(layers).round(2)
    array([[1.  , 0.72, 0.06],
           [0.72, 1.  , 0.04],
           [0.06, 0.04, 1.  ]])
    """
    debiased = _flag(debiased)
    raw = _space_list(spaces, "spaces")
    raw_others = None if others is None else _space_list(others, "others")
    if debiased:
        for k, S in enumerate(raw):
            _enough_for_debiased(_rows_given(S), f"spaces[{k}]")
    # One checked space per distinct object: a space passed twice is read,
    # centred and multiplied once, and its cells with itself are exactly 1.
    index_of, checked, names = {}, [], []

    def add(values, name):
        if id(values) not in index_of:
            space = _validate.items(values, name, "euclidean")
            if checked:
                space = _validate.matched_rows(raw[0], values, checked[0], space, names=(names[0], name))
                if space.shape[0] != checked[0].shape[0]:
                    raise ValueError(
                        f"every space must describe the same items (rows): {name}.shape[0] == {space.shape[0]} "
                        f"while {names[0]}.shape[0] == {checked[0].shape[0]}; columns may differ"
                    )
            index_of[id(values)] = len(checked)
            checked.append(space)
            names.append(name)
        return index_of[id(values)]

    rows = [add(S, f"spaces[{k}]") for k, S in enumerate(raw)]
    columns = rows if raw_others is None else [add(S, f"others[{l}]") for l, S in enumerate(raw_others)]
    n = checked[0].shape[0]
    if debiased:
        _enough_for_debiased(n, names[0])
    if raw_others is None:
        wanted = [(k, l) for k in range(len(rows)) for l in range(k + 1, len(rows))]
    else:
        wanted = [(k, l) for k in range(len(rows)) for l in range(len(columns))]
    cells = _with_own({_ordered(rows[k], columns[l]) for k, l in wanted}, len(checked))
    widths = [S.shape[1] for S in checked]
    _memory.require(
        _memory_of(n, widths, cells, _all_float32(checked), debiased, checked),
        f"cka_matrix over {n:,} items of {len(checked):,} spaces ({sum(widths):,} features)",
        "use fewer or smaller spaces, or compute the matrix in parts (others=)",
    )
    score = _scores(checked, names, cells, debiased)
    out = np.empty((len(rows), len(columns)))
    for k, a in enumerate(rows):
        for l, b in enumerate(columns):
            out[k, l] = 1.0 if a == b else score[_ordered(a, b)]
    return out


def _with_own(cells, k):
    """``cells`` and every space's own cell (k, k), sorted: the own
    products normalise every cell and carry the guards."""
    return sorted(set(cells) | {(j, j) for j in range(k)})


def _ordered(a, b):
    return (a, b) if a <= b else (b, a)


def _flag(debiased):
    if not isinstance(debiased, (bool, np.bool_)):
        raise ValueError(f"debiased={debiased!r} is not supported; use False (biased HSIC, the default) or True")
    return bool(debiased)


def _rows_given(values):
    """The rows of a space as given, where its shape says so before any
    conversion (an array, a tensor, a table, Embeddings, a list); None where
    only opening it would (a path), which ``_validate`` then does."""
    values = getattr(values, "vectors", values)
    shape = getattr(values, "shape", None)
    if shape is None and isinstance(values, (list, tuple)):
        shape = (len(values),)
    try:
        return operator.index(shape[0]) if shape is not None and len(shape) == 2 else None
    except TypeError:
        return None


def _enough_for_debiased(n, name):
    if n is not None and n < 4:
        raise ValueError(
            f"{name} has {n} rows; debiased=True needs at least 4 items (rows): the unbiased HSIC estimator "
            f"divides by N(N-3), and at N = 3 every estimate is 0 (CKA 0/0); use debiased=False or more items"
        )


def _space_list(values, name):
    """A sequence of spaces as a list; a single space (2-D array, path) refused."""
    single = _sources.is_path(values) or (isinstance(values, np.ndarray) and values.ndim < 3)
    if single or not hasattr(values, "__iter__"):
        raise ValueError(
            f"{name} must be a sequence of spaces (arrays of shape (n_items, n_features)); got a "
            f"{type(values).__name__} -- for two spaces use cka(X, Y), or pass [X]"
        )
    spaces = list(values)
    if not spaces:
        raise ValueError(f"{name} is empty; pass at least one space")
    return spaces


def _all_float32(spaces):
    return all(S.dtype == np.float32 for S in spaces)


def _scores(spaces, names, cells, debiased):
    """CKA of every (k, l) of ``cells`` (k <= l, every (k, k) among them),
    a dict (k, l) -> float: the two passes, the guards, and
    the float64 rerun of float32's debiased products where they cancel."""
    n = spaces[0].shape[0]
    means, scales = _centring(spaces, names)
    single = _all_float32(spaces)
    moments = _moments(spaces, means, scales, cells, debiased, single)
    estimates = _estimates(n, moments, cells, debiased)
    if single and debiased and _cancellation(estimates, cells) > _FLOAT32_CANCELLATION:
        moments = _moments(spaces, means, scales, cells, debiased, False)
        estimates = _estimates(n, moments, cells, debiased)
    own = {k: estimates[(k, k)] for k in range(len(spaces))}
    for k, (value, terms) in own.items():
        if not value > _ROUNDING * terms:
            raise ValueError(
                f"{names[k]}: its unbiased HSIC with itself is zero up to rounding ({value / terms:.1e} of the "
                f"terms it is the difference of), so debiased CKA is undefined (0/0), where the reference code "
                f"returns NaN or rounding noise; this happens when the kernel's off-diagonal entries are additive "
                f"(K_ij = a_i + a_j), as when all items but one are equal; use debiased=False, or more varied items"
            )
    return {
        (k, l): 1.0 if k == l else estimates[(k, l)][0] / (np.sqrt(own[k][0]) * np.sqrt(own[l][0])) for k, l in cells
    }


def _estimates(n, moments, cells, debiased):
    """(k, l) -> (HSIC estimate up to a constant factor, the sum of the
    magnitudes of the terms it is made of) for every cell."""
    squares, row_sums, row_products = moments
    out = {}
    for k, l in cells:
        square = squares[(k, l)]
        if not debiased:
            out[(k, l)] = (square, square)
            continue
        diagonal = n / (n - 2) * row_products[k, l]
        totals = row_sums[k] * row_sums[l] / ((n - 1) * (n - 2))
        out[(k, l)] = (square - diagonal + totals, square + diagonal + totals)
    return out


def _cancellation(estimates, cells):
    """The most any cell's terms exceed what the CKA divides them by: the
    factor by which the products' rounding grows in the result."""
    worst = 0.0
    for k, l in cells:
        value, terms = estimates[(k, l)]
        own = np.sqrt(max(estimates[(k, k)][0], 0.0)) * np.sqrt(max(estimates[(l, l)][0], 0.0))
        if not own > 0:
            return np.inf
        worst = max(worst, terms / own)
    return worst


def _centring(spaces, names):
    """Pass 1: each space's column means (float64) and the power of two
    that brings its largest column spread into [0.5, 1); a space whose rows
    are all equal, or whose sums overflow float64, refused by name."""
    n = spaces[0].shape[0]
    means, scales = [], []
    for X, name in zip(spaces, names):
        total, low, high = np.zeros(X.shape[1]), np.full(X.shape[1], np.inf), np.full(X.shape[1], -np.inf)
        for _, values in _sources.blocks(X, _tuning.GRAM_BLOCK):
            total += values.sum(axis=0, dtype=np.float64)
            np.minimum(low, values.min(axis=0), out=low)
            np.maximum(high, values.max(axis=0), out=high)
        with np.errstate(over="ignore", invalid="ignore"):
            spread = float(np.max(high - low))
            # A constant column's mean is its value (its centred column exactly 0).
            mean = np.clip(np.where(low == high, low, total / n), low, high)
        if spread == 0:
            raise ValueError(
                f"{name} has all {n} rows equal (every column is constant), so its centred data is all zeros "
                f"and CKA is undefined (0/0); every space must vary across the items"
            )
        if not (np.isfinite(spread) and np.isfinite(total).all()):
            raise ValueError(
                f"{name} has values too large to centre in float64 (largest magnitude "
                f"{max(abs(low.min()), abs(high.max())):.3g}); divide it by a power of two first"
            )
        means.append(mean)
        scales.append(np.ldexp(1.0, -int(np.frexp(spread)[1])))
    return means, scales


def _moments(spaces, means, scales, products, debiased, single):
    """Pass 2: ``(squares, row_sums, row_products)``: ``squares[(k, l)]``,
    the squared Frobenius norm of Xc_kᵀXc_l for each (k, l) of
    ``products``; and with ``debiased`` each space's Σ_i s_i and, K x K,
    Σ_i s_i t_i of the centred rows' squared norms (zeros otherwise).
    ``single``: the products in float32 BLAS, on the centred rows rounded
    to float32 (then the rows the norms are taken of too).

    Allocations (``_memory_of`` counts them): the products' float64 sums,
    one block's product at a time, and per space one block of centred
    float64 rows, its float32 copy where ``single``, and the buffer a space
    on disk is read into; K squared norms a row."""
    n = spaces[0].shape[0]
    rows = min(n, _tuning.GRAM_BLOCK)
    widths = [X.shape[1] for X in spaces]
    # Each product with the wider space first (in its given order where the widths are equal): BLAS may
    # round AᵀB and BᵀA differently, and this way cka(X, Y), cka(Y, X) and the matrix's cell take the same one.
    products = [(a, b) if widths[a] >= widths[b] else (b, a) for a, b in products]
    grams = [np.zeros((widths[a], widths[b])) for a, b in products]
    centred = [np.empty((rows, d)) for d in widths]
    rounded = [np.empty((rows, d), np.float32) if single else None for d in widths]
    reads = [_sources.block_buffer(X, rows) for X in spaces]
    norms = np.empty((rows, len(spaces)))
    row_sums, row_products = np.zeros(len(spaces)), np.zeros((len(spaces), len(spaces)))
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        units = []
        for k, X in enumerate(spaces):
            u = centred[k][: stop - start]
            np.subtract(_sources.block(X, start, stop, reads[k]), means[k], out=u)
            u *= scales[k]
            if single:
                r = rounded[k][: stop - start]
                r[...] = u
                if debiased:
                    u[...] = r
                u = r
            units.append(u)
            if debiased:  # (of the float64 rows: in float32, the rounded ones)
                rows_k = centred[k][: stop - start]
                np.einsum("ij,ij->i", rows_k, rows_k, out=norms[: stop - start, k])
        for gram, (a, b) in zip(grams, products):
            gram += units[a].T @ units[b]
        if debiased:
            s = norms[: stop - start]
            row_sums += s.sum(axis=0)
            row_products += s.T @ s
    squares = {_ordered(*product): float(np.vdot(gram, gram)) for product, gram in zip(products, grams)}
    return squares, row_sums, row_products


def _memory_of(n, widths, cells, float32, debiased, spaces=()):
    """Peak memory of ``_scores`` over spaces of ``widths`` for ``cells``
    (``_moments``'s allocations): the products' float64 sums, the largest
    product of a block once more (float32 where its products are float32;
    float64 where a debiased float32 call may take them again in float64),
    the per-space block buffers (8 bytes a value, 4 more in float32), the
    block's squared row norms, a few vectors per space (pass 1's sums, least
    and greatest values, and its block's sums), and the blocks the spaces on
    disk are read into (``_sources.block_bytes``); and NumPy's buffers
    where it casts float32 values to float64 (8,192 values, twice)."""
    rows = min(n, _tuning.GRAM_BLOCK)
    sizes = [widths[a] * widths[b] for a, b in cells]
    product = (8 if debiased or not float32 else 4) * max(sizes)
    blocks = rows * sum(widths) * (12 if float32 else 8) + 8 * rows * len(widths)
    vectors = 8 * 6 * sum(widths) + 16 * len(widths) ** 2
    read = sum(_sources.block_bytes(space, rows) for space in spaces)
    return 8 * sum(sizes) + product + blocks + vectors + read + 2 * 8 * 8192


def memory_bytes(n, d1, d2, float32=False, debiased=False, spaces=()):
    """Peak memory of ``cka`` over n items of d1 and d2 features (float32:
    both spaces float32): the three Gram products' float64 sums,
    8 (D1² + D2² + D1·D2) bytes, one block's product, and a block of
    ``_tuning.GRAM_BLOCK`` centred rows of each space (``_memory_of``);
    ``spaces``: the two checked spaces, for those on disk."""
    return _memory_of(n, [d1, d2], [(0, 0), (0, 1), (1, 1)], float32, debiased, spaces)


def matrix_memory_bytes(n, widths, other_widths=None, float32=False, debiased=False, spaces=()):
    """Peak memory of ``cka_matrix`` over spaces of ``widths`` (and others
    of ``other_widths``, every space distinct): every space's own product
    and every cross product asked for, held at once, and a block of each
    space (``_memory_of``)."""
    k = len(widths)
    if other_widths is None:
        cells = [(a, b) for a in range(k) for b in range(a, k)]
    else:
        own = [(a, a) for a in range(k + len(other_widths))]
        cells = own + [(a, k + b) for a in range(k) for b in range(len(other_widths))]
        widths = [*widths, *other_widths]
    return _memory_of(n, widths, cells, float32, debiased, spaces)
