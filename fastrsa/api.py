"""The public functions: validate, dispatch, call a kernel, wrap the result."""

import numpy as np

from . import _gram, _memory, _missing, _threads, _validate
from ._kernels.correlate import pearson_from_moments, safe_moments
from ._kernels.duplicates import representatives, self_cosines, unify_copies
from ._kernels.kendall import kendall_from_ranks
from ._kernels.normalize import norms_into, normalize_rows_into, power_of_two_rows_into, small_integer_rows
from ._kernels.rank import (
    PARTS,
    average_ranks_into,
    doubled_dtype,
    doubled_ranks_into,
    rank_scratch,
    spearman_moments_into,
    spearman_moments_of_doubled,
)
from ._kernels.scale import peak
from ._kernels.tiles import (
    COLUMNS,
    COSINE_DISTANCES,
    COSINES,
    INTEGER_CORRELATION_DISTANCES,
    INTEGER_CORRELATIONS,
    ROWS,
    SQUARED_DISTANCES,
    condensed_into,
    count_pairs_higher,
    fault_in,
    tile_side,
    tiles_into,
    tiles_of_two_into,
)


def normalize_rows(X):
    """Scale every row of ``X`` to unit Euclidean length.

    Parameters
    ----------
    X : array_like, shape (n_items, n_features)
        Finite numbers with no all-zero row.  Any integer or float dtype.

    Returns
    -------
    numpy.ndarray
        A new array; float32 input stays float32, anything else is float64.

    Examples
    --------
    >>> import fastrsa
    >>> fastrsa.normalize_rows([[3, 4], [0, 2], [1, 0]])
    array([[0.6, 0.8],
           [0. , 1. ],
           [1. , 0. ]])
    """
    X = _validate.items(X, "X", "cosine")
    out = np.empty_like(X)
    normalize_rows_into(X, out, False)
    return out


def _rank_bytes(size, itemsize, in_place, method):
    """Memory a rank method adds to two vectors of ``size`` values: the shared
    scratch, float64 ranks unless they overwrite float64 vectors (one vector
    of them for Spearman, two for Kendall's tau), and for Kendall's tau the
    three integer vectors of its counting (while the sorting scratch is
    already free)."""
    integer = doubled_dtype(size).itemsize
    scratch = size * (itemsize + integer)
    if method != "spearman":
        scratch = max(scratch, 3 * integer * size)
    rank_vectors = 1 if method == "spearman" else 2
    return scratch + (0 if in_place and itemsize == 8 else rank_vectors * size * 8)


def _pairs_dtype(X, metric, method=None):
    """The dtype of the condensed vector of checked rows: float64 for the
    Euclidean metrics, and for rsa's Pearson score (float32 similarities
    that crowd near their mean, as in anisotropic spaces, keep too few
    digits of their spread for its 1e-5); X's dtype otherwise."""
    if metric in ("euclidean", "sqeuclidean") or method == "pearson":
        return np.dtype(np.float64)
    return X.dtype


def _pairs_bytes(X, metric, method=None):
    """Memory for the condensed vector of X and the arrays that make it:
    the rows the tiles take (centred, say) and, once the pairs are written,
    the rows scaled to find copies (``_pairs_of_copies``)."""
    n, d = X.shape
    itemsize = _pairs_dtype(X, metric, method).itemsize
    return n * (n - 1) // 2 * itemsize + 2 * n * d * itemsize


# Products of up to this many multiply-adds (N^2 D) run in square tiles that
# keep BLAS on one thread, spread over Numba's threads; larger ones in row
# blocks on all of BLAS's threads (see _kernels/tiles.py).
SMALL_PRODUCT = 1 << 25


def _tile_side(n, d):
    """Side of the square tiles for n rows of d features, or 0 for blocks."""
    return tile_side(n, d) if n * n * d <= SMALL_PRODUCT else 0


def _unit_rows(X, metric):
    """Checked rows at unit length (centred first for correlation)."""
    unit = np.empty_like(X)
    normalize_rows_into(X, unit, metric == "correlation")
    return unit


def _empty_pairs(n, dtype):
    return np.empty(n * (n - 1) // 2, dtype)


def _new_block_output(X, dtype):
    """A new condensed vector for the block kernels, its pages already
    mapped by all threads (``fault_in``)."""
    out = _empty_pairs(X.shape[0], dtype)
    fault_in(out)
    return out


# Rows whose largest magnitude times their length reaches this could
# overflow the sum that centres them.
_CENTRING_LIMIT = 1e300


def _tile_rows(X, metric, distances):
    """``((rows, row values, kind), k)``: what the tiles and blocks take for
    checked rows, and the power of two their values are off by.  For cosine
    and correlation the rows themselves (centred for correlation, in X's
    dtype) and their lengths, each pair's product divided by its two lengths
    as SciPy's ``pdist`` does (kind COSINES, or COSINE_DISTANCES for pdist's
    1 - cosine with ``distances``), k = 0; for the Euclidean metrics the rows
    in float64 times 2**k and their squared lengths (k = 0 but for rows of
    extreme magnitude: ``_with_squared_norms``).

    No normalised copy: a product of unit rows rounds each pair its own way,
    and pairs that tie (equal products and lengths, as binary or count
    features give) would not tie any more.  Rows whose products could
    overflow or underflow (see ``norms_into``) are first scaled by a power of
    two each, exactly; 1-d rows are normalised to exactly +-1."""
    if metric not in _validate.SIMILARITY_METRICS:
        rows, squared_norms, exponent = _with_squared_norms(X)
        return (rows, squared_norms, SQUARED_DISTANCES), exponent
    return _similarity_rows(X, metric, COSINE_DISTANCES if distances else COSINES), 0


def _similarity_rows(X, metric, kind):
    """``_tile_rows`` for cosine and correlation."""
    if metric == "correlation" and X.shape[1] == 2:
        # Centred 2-d rows are +-(x0 - x1)/2 (1, -1): their correlations are
        # exactly +-1, the signs of the differences'.  (Correlation refuses
        # 1-d rows: they are constant.)
        X, metric = np.where(X[:, :1] > X[:, 1:], 1.0, -1.0).astype(X.dtype), "cosine"
    if X.shape[1] == 1:  # exactly +-1
        return _unit_rows(X, metric), np.ones(X.shape[0]), kind
    if metric == "correlation" and small_integer_rows(X, _SMALL_INTEGERS):
        return X, _integer_correlation_terms(X), INTEGER_CORRELATION_DISTANCES if kind == COSINE_DISTANCES else INTEGER_CORRELATIONS
    rows = X
    if metric == "correlation":
        if max(float(X.max()), -float(X.min())) * X.shape[1] >= _CENTRING_LIMIT:
            rows = np.empty_like(X)
            power_of_two_rows_into(X, rows)
        rows = _centred(rows)
    norms = np.empty(X.shape[0])
    if not norms_into(rows, norms):
        scaled = np.empty_like(rows)
        power_of_two_rows_into(rows, scaled)
        rows = scaled
        norms_into(rows, norms)
    return rows, norms, kind


# Rows of integers whose length times largest magnitude is at most this
# (binary and count features) correlate from exact integer sums; their
# products stay exact in float32 too where the features are few.
_SMALL_INTEGERS = 1 << 12


def _integer_correlation_terms(X):
    """Each row's sum s, then each row's d |x|^2 - s^2 (float64, exact for
    ``small_integer_rows``): the row values of INTEGER_CORRELATIONS."""
    rows = X.astype(np.float64, copy=False)
    sums = rows.sum(axis=1)
    return np.concatenate([sums, X.shape[1] * np.einsum("ij,ij->i", rows, rows) - sums * sums])


def _centred(X):
    """X's rows less their means, as SciPy's correlation distance centres
    them (in float64, NumPy's mean), in X's dtype."""
    rows = X.astype(np.float64, copy=False)
    return (rows - rows.mean(axis=1, keepdims=True)).astype(X.dtype, copy=False)


def _peaks_at_one(rows):
    """Each row times the power of two that brings its largest value into
    [1, 2): rows that are power-of-two multiples of each other (x and 2x)
    become bitwise equal.  Their cosines with any row are equal in SciPy,
    whose per-pair loops scale exactly, so they are copies here too."""
    scaled = np.empty_like(rows)
    power_of_two_rows_into(rows, scaled)
    return scaled


def _pairs_of_copies(rows, kind, out):
    """Give the pairs of bitwise-equal rows bitwise-equal values in ``out``
    (see ``_kernels/duplicates.py``), for cosines also of rows that are
    power-of-two multiples of each other (``_peaks_at_one``), which the
    products of BLAS tiles round apart: a pair of two copies of a row takes
    the row's cosine with itself, computed as SciPy would (its sum of squares
    over its length squared, clipped to 1), exactly 1 for the correlations
    of small integers, or distance 0."""
    cosines = kind in (COSINES, COSINE_DISTANCES)
    found = representatives(_peaks_at_one(rows) if cosines else rows)
    if found is None:
        return 0
    representative, copies = found
    self_values = np.zeros(rows.shape[0])
    if kind == INTEGER_CORRELATIONS:  # exact: a row correlates 1 with its copy
        self_values[:] = 1.0
    if cosines:
        copied = np.unique(representative[copies])
        self_values[copied] = self_cosines(rows, copied)
        if kind == COSINE_DISTANCES:
            self_values = 1.0 - self_values
    unify_copies(out, representative, copies, self_values)
    copies_of = np.bincount(representative)
    return int((copies_of * (copies_of - 1) // 2).sum())  # pairs of two copies of one row


def _finish_pairs(rows, kind, metric, out, name):
    """What every condensed vector gets once its tiles or blocks are
    written: copies' pairs made equal, square roots for euclidean.  Squared
    distances that underflowed (rows so far apart in magnitude that no
    float64 scale holds both their distances: 1e-6 and 1e308 rows, say)
    are refused, naming ``name`` and the range, where ranks would see
    false ties."""
    copy_pairs = _pairs_of_copies(rows, kind, out)
    if kind == SQUARED_DISTANCES and np.count_nonzero(out < _TINY) > copy_pairs:
        raise ValueError(
            f"{name}'s {metric} distances span more than float64's range can hold (from below {_TINY:.3g} to "
            f"{out.max():.3g} at the scale they were computed at): its rows' magnitudes run from "
            f"{np.abs(rows).max(axis=1).min():.3g} to {peak(rows):.3g} (times a power of two); bring them "
            f"closer, e.g. drop or rescale the outlying rows"
        )
    if metric == "euclidean":
        np.sqrt(out, out=out)
    return out


_TINY = float(np.finfo(np.float64).tiny)


# Squared distances are taken from the rows as they are while the largest
# squared row length lies in this range: the kernels' sums (up to four times
# it) cannot overflow, and rows of ordinary magnitude keep every digit.
_PLAIN_SQUARED_NORMS = (2.0**-200, 2.0**1018)


def _distance_exponent(largest, d):
    """The k for which rows of d features whose largest magnitude is
    ``largest`` have, times 2**k, squared lengths below 2**1016: as large as
    the kernels allow, which keeps the most digits for the smallest rows."""
    if largest == 0.0:
        return 0
    _, exponent = np.frexp(largest)  # largest < 2**exponent
    return (1016 - int(np.ceil(np.log2(d)))) // 2 - int(exponent)


def _with_squared_norms(X):
    """``(rows, squared lengths, k)``: checked rows in float64 times 2**k, and
    each one's squared length.  k is 0 unless the squared lengths would
    overflow or lose digits to underflow (rows of 1e155, or 1e-160); the
    squared distances of the rows are then those of X times 2**(2k), exactly
    (a power of two changes no digit)."""
    rows = X.astype(np.float64, copy=False)
    with np.errstate(over="ignore"):  # (an overflow shows as inf, and rescales)
        squared_norms = np.einsum("ij,ij->i", rows, rows)
    largest = squared_norms.max()
    if _PLAIN_SQUARED_NORMS[0] <= largest <= _PLAIN_SQUARED_NORMS[1]:
        return rows, squared_norms, 0
    exponent = _distance_exponent(peak(rows), rows.shape[1])
    rows = np.ldexp(rows, exponent, out=None if rows is X else rows)  # (never the caller's array)
    return rows, np.einsum("ij,ij->i", rows, rows), exponent


def _condensed_values(X, metric, distances, out=None, true_scale=False, name="X"):
    """Condensed similarities (cosine and correlation) or, with
    ``distances``, pdist's dissimilarities (every metric) of checked rows,
    into ``out`` if given (of the dtype ``_pairs_dtype`` says).  Distances of
    rows of extreme magnitude come times a power of two that no score sees,
    unless ``true_scale``.  Errors call the rows ``name``."""
    (rows, row_values, kind), exponent = _tile_rows(X, metric, distances)
    dtype = _pairs_dtype(X, metric)
    side = _tile_side(*X.shape)
    if side:
        out = _empty_pairs(X.shape[0], dtype) if out is None else out
        tiles_into(rows, row_values, kind, out, side)
    else:
        out = _new_block_output(X, dtype) if out is None else out
        condensed_into(rows, row_values, kind, out, ROWS, COLUMNS)
    _finish_pairs(rows, kind, metric, out, name)
    if true_scale and exponent:
        with np.errstate(over="ignore"):
            np.ldexp(out, -exponent if metric == "euclidean" else -2 * exponent, out=out)
        if np.isinf(out).any():
            raise ValueError(
                f"{name}'s {metric} distances reach past float64's range (above {np.finfo(np.float64).max:.3g}): its values "
                f"run up to {peak(X):.3g}; scale X down (a common factor changes no RSA score)"
                + (", or use metric='euclidean'" if metric == "sqeuclidean" else "")
            )
    return out


def rsm(X, metric="cosine"):
    """Condensed representational similarity matrix: every pair's similarity.

    Parameters
    ----------
    X : array_like, shape (n_items, n_features)
        At least 3 items; finite numbers of any integer or float dtype.
    metric : {"cosine", "correlation"}
        Cosine similarity of the rows, or Pearson correlation between rows
        (the cosine of the row-centred rows).

    Returns
    -------
    numpy.ndarray, shape (n_items * (n_items - 1) // 2,)
        The upper triangle without the diagonal, in
        ``scipy.spatial.distance.pdist`` order: (0, 1), (0, 2), ..., (1, 2), ...
        float32 for float32 input, float64 otherwise.  The N x N matrix is
        never built.

    Examples
    --------
    >>> import fastrsa
    >>> fastrsa.rsm([[1, 0], [0, 1], [1, 1]]).round(4)
    array([0.    , 0.7071, 0.7071])
    """
    metric = _validate.choice(metric, "metric", _validate.SIMILARITY_METRICS)
    X = _validate.items(X, "X", metric)
    _memory.require(_pairs_bytes(X, metric), f"rsm of {X.shape[0]:,} items", _FEWER_PAIRS)
    with _threads.threads_for(_threads.pair_work(*X.shape)):
        return _condensed_values(X, metric, distances=False)


_FEWER_PAIRS = "use fewer items, or float32 input (half the memory for cosine and correlation)"
# How errors name the two condensed vectors rsa correlates.
PAIR_NAMES = ("the similarities of X", "the similarities of Y")


def rdm(X, metric="cosine"):
    """Condensed representational dissimilarity matrix, as ``pdist(X, metric)``.

    Parameters
    ----------
    X : array_like, shape (n_items, n_features)
        At least 3 items; finite numbers of any integer or float dtype.
    metric : {"cosine", "correlation", "euclidean", "sqeuclidean"}
        ``1 - rsm(X, metric)`` for cosine and correlation; Euclidean or
        squared Euclidean distance between rows otherwise.

    Returns
    -------
    numpy.ndarray, shape (n_items * (n_items - 1) // 2,)
        Dissimilarities in ``pdist`` order.  Cosine and correlation keep
        float32 for float32 input; the Euclidean metrics are always float64.

    Examples
    --------
    >>> import fastrsa
    >>> fastrsa.rdm([[0, 0], [3, 4], [6, 8]], metric="euclidean")
    array([ 5., 10.,  5.])
    """
    metric = _validate.choice(metric, "metric", _validate.DISTANCE_METRICS)
    X = _validate.items(X, "X", metric)
    _memory.require(_pairs_bytes(X, metric), f"rdm of {X.shape[0]:,} items", _FEWER_PAIRS)
    with _threads.threads_for(_threads.pair_work(*X.shape)):
        return _condensed_values(X, metric, distances=True, true_scale=True)


def _checked_moments(a, b, names=("a", "b"), floor=0.0):
    """``((ss_a, ss_b, cross), (scale_a, scale_b))`` of two checked vectors,
    after checking that each varies: the sums of a * scale_a and b * scale_b,
    powers of two that are 1.0 unless the vector's sums of squares would
    leave float64's range (see ``safe_moments``).  The check looks at the
    values even for the rank methods: values equal up to rounding would
    otherwise rank as noise.  Rounding is measured against the vectors'
    means, or ``floor`` where that is larger (see ``rounding_floor``)."""
    mean_a, mean_b, ss_a, ss_b, cross, scale_a, scale_b = safe_moments(a, b)
    _validate.varies(ss_a, a.size, max(abs(mean_a), floor * scale_a), a.dtype, names[0])
    _validate.varies(ss_b, b.size, max(abs(mean_b), floor * scale_b), b.dtype, names[1])
    return (ss_a, ss_b, cross), (scale_a, scale_b)


def rounding_floor(metric):
    """The least scale at which the pairs rsa correlates for ``metric`` are
    rounded: pdist's 1 - cosine is rounded at the scale of 1 whatever its
    mean (all cosines near 1 give distances near 0, all of them rounding
    noise); distances at their own scale."""
    return 1.0 if metric in _validate.SIMILARITY_METRICS else 0.0


def _rank_inputs(a, b):
    """Two checked vectors in one dtype for ranking, and the shared scratch."""
    if a.dtype != b.dtype:
        a, b = a.astype(np.float64, copy=False), b.astype(np.float64, copy=False)
    return a, b, rank_scratch(a.size, a.dtype)


def _rank_vector(values, own):
    """Where the float64 ranks of ``values`` go: over them when ``own`` (the
    caller's scratch) and float64, or a new vector."""
    return values if own and values.dtype == np.float64 else np.empty(values.size)


def _ranked(a, b, own=False):
    """The float64 average ranks of two checked vectors.  With ``own=True``
    the vectors are the caller's scratch, and float64 ones are overwritten."""
    a, b, scratch = _rank_inputs(a, b)
    ranks = []
    for values in (a, b):
        ranked = _rank_vector(values, own)
        average_ranks_into(values, ranked, *scratch, PARTS)
        ranks.append(ranked)
    return ranks


def _spearman_moments(a, b, own=False, keep_ranks=False):
    """``((ss_a, ss_b, cross), ranks_a, ranks_b)`` for two checked vectors:
    the centred sums of squares and products of their average ranks (b's
    ranks are summed as they are found, not stored, unless ``keep_ranks``;
    ``ranks_b`` is then None).  ``own`` as for ``_ranked``."""
    a, b, scratch = _rank_inputs(a, b)
    ranks_a = _rank_vector(a, own)
    ranks_b = _rank_vector(b, own) if keep_ranks else np.empty(0)
    sums = spearman_moments_into(a, b, ranks_a, ranks_b, *scratch, PARTS)
    return sums, ranks_a, ranks_b if keep_ranks else None


def _correlate(a, b, method, names=("a", "b"), own=False, floor=0.0):
    """Pearson, Spearman or Kendall correlation of two checked vectors
    (``own`` as for ``_ranked``, ``floor`` for ``_checked_moments``)."""
    (ss_a, ss_b, cross), _ = _checked_moments(a, b, names, floor)
    if method == "spearman":
        (ss_a, ss_b, cross), _, _ = _spearman_moments(a, b, own)
    elif method in _validate.RANK_METHODS:
        ranks = _ranked(a, b, own)
        return float(kendall_from_ranks(ranks[0], ranks[1], method == "kendall"))
    return float(pearson_from_moments(ss_a, ss_b, cross))


def compare(a, b, method="pearson", nan_policy="raise"):
    """Correlate two condensed similarity (or dissimilarity) vectors.

    Parameters
    ----------
    a, b : array_like, shape (n_pairs,)
        Equally long vectors of finite numbers, each with non-zero variance;
        or objects holding one RDM each (rsatoolbox's ``RDMs``).  Two pandas
        Series are matched by index, as X and Y in :func:`rsa`.  With
        ``nan_policy="omit"``, NaN marks a missing value.
    method : {"pearson", "spearman", "kendall", "tau-a"}
        Pearson correlation; Spearman's (Pearson of average ranks, ties
        ranked as ``scipy.stats.rankdata``); Kendall's tau-b (as
        ``scipy.stats.kendalltau``); or Kendall's tau-a (as rsatoolbox's
        ``compare(..., method="tau-a")``: ties count as neither concordant nor
        discordant, and the denominator is every pair).
    nan_policy : {"raise", "omit"}
        ``"raise"``: NaN is refused like inf.  ``"omit"``: the pairs where a
        or b is NaN are left out, and an :class:`fastrsa.OmittedWarning`
        says how many; at least 2 must be left, and inf is still refused.

    Returns
    -------
    float

    Examples
    --------
    >>> import fastrsa
    >>> fastrsa.compare([1, 2, 3, 4], [1, 3, 2, 4])
    0.8
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     fastrsa.compare([1, 2, 3, 9, 4], [1, 3, 2, float("nan"), 4], nan_policy="omit")
    0.8
    >>> print(caught[0].message)
    omitted 1 of 5 pairs where a or b is NaN
    """
    method = _validate.choice(method, "method", _validate.METHODS)
    nan_policy = _missing.policy(nan_policy)
    a, b, missing = _missing.vectors(a, b, nan_policy)
    names = ("a", "b")
    if missing is not None:
        a, b, names = _missing.kept_pairs(a, b, missing)
    if method in _validate.RANK_METHODS:
        _memory.require(
            _rank_bytes(a.size, max(a.itemsize, b.itemsize), in_place=False, method=method),
            f"ranking two vectors of {a.size:,} values",
            "use method='pearson', which needs no extra memory",
        )
    with _threads.threads_for(a.size * (1 + (_threads.RANK_WORK if method in _validate.RANK_METHODS else 0))):
        return _correlate(a, b, method, names)


def _prefer_gram(n, d1, d2):
    """Whether the Gram identity costs fewer flops than visiting every pair."""
    return _gram.flops(n, d1, d2) < n * (n - 1) // 2 * (d1 + d2)


def rsa(X, Y, method="pearson", metric="cosine", nan_policy="raise"):
    """Representational similarity analysis of two spaces over the same items.

    Correlates the condensed similarity vectors of ``X`` and ``Y``.  For
    Pearson with cosine or correlation similarities the score is computed
    from the Gram matrices XᵀX, YᵀY and XᵀY without visiting any pair
    whenever that is cheaper, or the pairs would not fit in memory (see
    docs/algorithms.md); the result is the same.

    Raises :class:`fastrsa.InsufficientMemoryError` (a ``MemoryError``) before
    allocating when the pairs a path needs exceed the available memory.

    Parameters
    ----------
    X : array_like, shape (n_items, n_features_x)
    Y : array_like, shape (n_items, n_features_y)
        The same items in the same order; the numbers of features may differ.
        Where both carry row labels (pandas DataFrames, or
        :class:`fastrsa.Embeddings`), rows are matched by label instead: Y's
        are put in X's order, and labels that differ are refused (see
        docs/index.md, "Input rules").  Tensors are taken too (detached,
        bfloat16 as float32).
    method : {"pearson", "spearman", "kendall", "tau-a"}
        As for :func:`compare`.
    metric : {"cosine", "correlation", "euclidean", "sqeuclidean"}
        How items are compared within each space.  Cosine and correlation
        compare similarities, the Euclidean metrics distances; no method's
        score depends on that choice of sign.
    nan_policy : {"raise", "omit"}
        ``"raise"``: NaN is refused like inf.  ``"omit"``: the items (rows)
        with a NaN in X or in Y are left out, and an
        :class:`fastrsa.OmittedWarning` says which; at least 3 must be left,
        and inf is still refused.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np, fastrsa
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 30))
    >>> Y = np.hstack([X, rng.standard_normal((100, 20))])  # same items, 50 features
    >>> round(fastrsa.rsa(X, Y), 4), round(fastrsa.rsa(X, Y, method="spearman"), 4)
    (0.7734, 0.7578)
    """
    method = _validate.choice(method, "method", _validate.METHODS)
    metric = _validate.choice(metric, "metric", _validate.DISTANCE_METRICS)
    nan_policy = _missing.policy(nan_policy)
    X, Y, _ = _missing.spaces(X, Y, metric, nan_policy)
    work = _threads.pair_work(X.shape[0], X.shape[1] + Y.shape[1], ranked=method in _validate.RANK_METHODS)
    with _threads.threads_for(work):
        return _rsa(X, Y, method, metric)


def _rsa(X, Y, method, metric):
    """``rsa`` of two checked spaces."""
    n = X.shape[0]
    if _rsa_by_gram(X, Y, method, metric):
        _memory.require(
            _gram.memory_bytes(X.shape[1], Y.shape[1], n),
            f"rsa over {n:,} items by the Gram matrices of {X.shape[1]:,} and {Y.shape[1]:,} features",
            "use fewer features",
        )
        count, sum_x, sum_y, sum_xx, sum_yy, sum_xy = _gram.pair_moments(X, Y, metric == "correlation")
        ss_x = sum_xx - sum_x * sum_x / count
        ss_y = sum_yy - sum_y * sum_y / count
        # Cosines are at most 1 in magnitude: that is the scale rounding is measured against.
        _validate.varies(ss_x, count, 1.0, np.float64, "the similarities of X")
        _validate.varies(ss_y, count, 1.0, np.float64, "the similarities of Y")
        return float(pearson_from_moments(ss_x, ss_y, sum_xy - sum_x * sum_y / count))
    needed = _rsa_pairs_bytes(X, Y, method, metric)
    if not _memory.fits(needed):  # (fits answers small needs at once; the message costs more)
        _memory.require(
            needed,
            f"rsa(method={method!r}, metric={metric!r}) over {n:,} items",
            "method='pearson' with metric='cosine' or 'correlation' needs no pairs and fits"
            f" (about {_gram.memory_bytes(X.shape[1], Y.shape[1], n) / 2**20:.0f} MiB)",
        )
    if method == "spearman" and _spearman_in_turn_applies(X, Y, metric):
        return _spearman_in_turn(X, Y, metric)
    a, b = _condensed_pair(X, Y, metric, method)
    return _correlate(a, b, method, names=PAIR_NAMES, own=True, floor=rounding_floor(metric))


def _spearman_in_turn_applies(X, Y, metric):
    """Whether rsa's Spearman takes ``_spearman_in_turn``: where the two
    condensed vectors are computed apart anyway (not in one launch of
    tiles, which small calls take) and share a dtype."""
    tiles = _tile_side(*X.shape) and _tile_side(*Y.shape)
    return not tiles and _pairs_dtype(X, metric) == _pairs_dtype(Y, metric)


def _spearman_in_turn(X, Y, metric):
    """Spearman rsa with one condensed vector in memory at a time: X's
    values are ranked and twice their ranks kept as integers, then Y's
    values are written over X's, ranked, and summed with X's ranks on the
    way.  Peak: one vector, the ranking scratch and the integer ranks, 24
    bytes a pair in float64 (two vectors, scratch and no kept ranks took 28),
    and Y's values land in memory already in use: on these machines a large
    fresh allocation costs up to half the time of filling it.  The score is
    ``compare(rsm(X), rsm(Y), "spearman")``'s, bit for bit."""
    values = _condensed(X, metric, name="X")
    _check_varies(values, PAIR_NAMES[0], rounding_floor(metric))
    sorted_values, doubled = rank_scratch(values.size, values.dtype)
    doubled_ranks_x = np.empty(values.size, doubled.dtype)
    doubled_ranks_into(values, doubled_ranks_x, sorted_values, doubled, PARTS)
    values = _condensed(Y, metric, out=values, name="Y")
    _check_varies(values, PAIR_NAMES[1], rounding_floor(metric))
    sums = spearman_moments_of_doubled(doubled_ranks_x, values, sorted_values, doubled, PARTS)
    return float(pearson_from_moments(*sums))


def _check_varies(values, name, floor):
    """``_checked_moments``'s check of one vector (the same sums, bit for bit)."""
    mean, _, sum_of_squares, _, _, scale, _ = safe_moments(values, values)
    _validate.varies(sum_of_squares, values.size, max(abs(mean), floor * scale), values.dtype, name)


def _rsa_pairs_bytes(X, Y, method, metric):
    """Memory rsa needs when it visits the pairs."""
    n = X.shape[0]
    if method == "spearman" and _spearman_in_turn_applies(X, Y, metric):
        # One vector (X's unit rows, then Y's), the scratch, integer ranks.
        pairs = n * (n - 1) // 2
        itemsize = _pairs_dtype(X, metric).itemsize
        integer = doubled_dtype(pairs).itemsize
        return pairs * (2 * itemsize + 2 * integer) + n * max(X.shape[1], Y.shape[1]) * itemsize
    needed = _pairs_bytes(X, metric, method) + _pairs_bytes(Y, metric, method)
    if method in _validate.RANK_METHODS:
        needed += _rank_bytes(n * (n - 1) // 2, max(X.itemsize, Y.itemsize), in_place=True, method=method)
    return needed


def _rsa_by_gram(X, Y, method, metric):
    """Whether rsa takes the Gram identity for checked spaces: Pearson of
    similarities, where it is cheaper or the pairs would not fit."""
    if method != "pearson" or metric not in _validate.SIMILARITY_METRICS:
        return False
    n, d1, d2 = X.shape[0], X.shape[1], Y.shape[1]
    return _prefer_gram(n, d1, d2) or not _memory.fits(_rsa_pairs_bytes(X, Y, method, metric))


def _condensed(X, metric, out=None, name="X"):
    """What rsa correlates for checked rows (into ``out`` if given, of the
    dtype ``_pairs_dtype`` says): pdist's dissimilarities, the values whose
    ties SciPy's rank correlations see; for float32 cosines and correlations
    the similarities negated (ordered as the dissimilarities are): float32
    cannot hold SciPy's float64 ties anyway, and 1 - similarity, rounded near
    1 where most similarities sit near 0, would tie far more pairs."""
    distances = _as_distances(X, metric)
    values = _condensed_values(X, metric, distances, out, name=name)
    return values if distances else np.negative(values, out=values)


def _as_distances(X, metric):
    """Whether ``_condensed`` takes X's dissimilarities (else its negated similarities)."""
    return metric not in _validate.SIMILARITY_METRICS or X.dtype == np.float64


def _condensed_pair(X, Y, metric, method=None):
    """``(_condensed(X, metric), _condensed(Y, metric))`` for two checked
    spaces over the same items, bit for bit, each first converted to the
    dtype ``_pairs_dtype`` gives for ``method``.  Where both spaces take
    tiles, their tiles run in one parallel launch (a small call's threads are
    then woken once, and the two spaces' tiles share them evenly)."""
    if metric in _validate.SIMILARITY_METRICS:
        X, Y = (space.astype(_pairs_dtype(space, metric, method), copy=False) for space in (X, Y))
    side_x, side_y = _tile_side(*X.shape), _tile_side(*Y.shape)
    if not (side_x and side_y):
        return _condensed(X, metric), _condensed(Y, metric, name="Y")
    n = X.shape[0]
    # (Each space's distances times its own power of two: no score sees it.)
    (pairs_x, _), (pairs_y, _) = _tile_rows(X, metric, _as_distances(X, metric)), _tile_rows(Y, metric, _as_distances(Y, metric))
    a, b = _empty_pairs(n, _pairs_dtype(X, metric)), _empty_pairs(n, _pairs_dtype(Y, metric))
    tiles_of_two_into(*pairs_x, a, side_x, *pairs_y, b, side_y)
    (rows_x, _, kind_x), (rows_y, _, kind_y) = pairs_x, pairs_y
    pairs = []
    for rows, kind, values, name, Z in ((rows_x, kind_x, a, "X", X), (rows_y, kind_y, b, "Y", Y)):
        _finish_pairs(rows, kind, metric, values, name)
        pairs.append(values if _as_distances(Z, metric) else np.negative(values, out=values))
    return tuple(pairs)


SPLITS = ("even-odd", "halves", "random")


def _split_columns(d, split, seed):
    """Column indices of the two halves of d dimensions."""
    if split == "even-odd":
        return np.arange(0, d, 2), np.arange(1, d, 2)
    order = np.arange(d) if split == "halves" else np.random.default_rng(seed).permutation(d)
    return order[: d // 2], order[d // 2 :]


def _half_names(d, split):
    """How errors name the two halves of X's d columns."""
    if split == "even-odd":
        return "X[:, 0::2] (the even columns of X)", "X[:, 1::2] (the odd columns of X)"
    if split == "halves":
        return f"X[:, :{d // 2}] (the first half of X's columns)", f"X[:, {d // 2}:] (the second half of X's columns)"
    return "the random half of X's columns", "the other columns of X"


def split_half(X, split="even-odd", method="pearson", metric="cosine", seed=None, nan_policy="raise"):
    """RSA between two halves of the dimensions of one space: how redundant it is.

    Parameters
    ----------
    X : array_like, shape (n_items, n_features)
        At least 3 items and 2 features.
    split : {"even-odd", "halves", "random"}
        Columns 0, 2, 4, ... against 1, 3, 5, ...; the first half of the
        columns against the second; or a random half (seeded by ``seed``)
        against the rest.
    method, metric
        As for :func:`rsa`.
    seed : None, int, numpy.random.Generator or numpy.random.SeedSequence
        For ``split="random"``; checked whatever the split.
    nan_policy : {"raise", "omit"}
        ``"omit"`` leaves out the items (rows) of X with a NaN, as
        :func:`rsa` does.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np, fastrsa
    >>> X = np.random.default_rng(0).standard_normal((200, 10)) @ np.ones((10, 40))
    >>> round(fastrsa.split_half(X), 6)  # every column alike: fully redundant
    1.0
    """
    split = _validate.choice(split, "split", SPLITS)
    method = _validate.choice(method, "method", _validate.METHODS)
    metric = _validate.choice(metric, "metric", _validate.DISTANCE_METRICS)
    rng = _validate.rng(seed)
    nan_policy = _missing.policy(nan_policy)
    (X,), _ = _missing.items((X,), ("X",), "euclidean", nan_policy)
    if X.shape[1] < 2:
        raise ValueError(f"X has {X.shape[1]} column; a split half needs at least 2 features")
    first, second = _split_columns(X.shape[1], split, rng)
    names = _half_names(X.shape[1], split)
    halves = [_validate.items(X[:, columns], name, metric) for columns, name in zip((first, second), names)]
    try:
        return rsa(*halves, method=method, metric=metric)
    except ValueError as error:  # the halves' own names, not rsa's "X" and "Y"
        message = str(error)
        for pair_name, name in zip(PAIR_NAMES, names):
            message = message.replace(pair_name, f"the similarities of {name}")
        raise ValueError(message) from None


def similarity_summary(X, Y, metric="cosine"):
    """How the pairs' similarities differ between two spaces, without storing them.

    Returns
    -------
    dict
        ``mean_sim_a`` and ``mean_sim_b``, the mean similarity over all pairs
        in ``X`` and in ``Y``; ``share_b_higher``, the share of pairs whose
        similarity is higher in ``Y`` than in ``X``.
    """
    metric = _validate.choice(metric, "metric", _validate.SIMILARITY_METRICS)
    X, Y = _validate.spaces(X, Y, metric)
    n = X.shape[0]
    _memory.require(8 * n * (X.shape[1] + Y.shape[1]), f"similarity_summary over {n:,} items", "use fewer items")
    pairs = n * (n - 1) // 2
    units = []
    means = []
    for space in (X, Y):
        unit = np.empty(space.shape, np.float64)
        normalize_rows_into(space, unit, metric == "correlation")
        # The sum over pairs is half of (|sum of rows|^2 - sum of |row|^2).
        total = unit.sum(axis=0)
        means.append(float((total @ total - np.einsum("ij,ij->", unit, unit)) / 2 / pairs))
        units.append(unit)
    higher = count_pairs_higher(units[0], units[1], ROWS, COLUMNS)
    return {"mean_sim_a": means[0], "mean_sim_b": means[1], "share_b_higher": float(higher / pairs)}
