"""Inference for RSA: the Mantel permutation test and bootstrap intervals.

Both resample items, never pairs: a permutation relabels the items of Y (its
RSM's rows and columns together), a bootstrap resample draws items with
replacement.  The random draws come from NumPy's ``default_rng(seed)`` in
batches whose stream does not depend on the batch size, and each draw's
statistic is computed by one thread in a fixed order, so one seed gives the
same p-value, null and interval bit for bit whatever the thread count.
docs/statistics.md explains each test and its assumptions.
"""

import operator
import numba
import numpy as np

from . import _gram, _memory, _missing, _threads, _validate, api
from ._kernels.correlate import pearson_from_moments
from ._kernels.resample import (
    bootstrap_pearson,
    bootstrap_spearman,
    pair_items,
    permutations_from_uniforms,
    permuted_cross_products,
    permuted_cross_products_blocked,
    permuted_cross_products_square,
    permuted_masked_pearson,
    permuted_masked_spearman,
    square_matrix,
)
from ._kernels.scale import unit_scale
from ._results import BootstrapResult, PermutationResult

ALTERNATIVES = ("two-sided", "greater", "less")
RESAMPLE_METHODS = ("pearson", "spearman")
# A null statistic within this distance of the observed one counts as "at
# least as extreme": the same value summed in another order may differ in
# the last bits (scipy.stats.permutation_test does the same).
TIE_TOLERANCE = 1e-12
# Up to this size Y's permuted matrix is kept square (n^2 float64), whose
# rows make the permutations' gathers two to three times faster; past it,
# condensed (n^2/2).
SQUARE_BYTES = 1 << 28
# From this many items the square matrix outgrows the L2 cache, and the
# permutations run blocked (b's rows outer, a block of permutations inner).
BLOCKED_ITEMS = 200
_PERMUTATIONS_PER_BLOCK = 64  # their inverses, 4n bytes each, stay in L2
_DRAWS_PER_BATCH = 1 << 20  # items drawn per batch: bounds the batch's memory
# Bytes per item of a batch while it is drawn, and once drawn: a
# permutation's uint32 index and the float64 uniform that drew it; a
# resample's int64 draws, their offsets and bincount's output, from which its
# float64 counts are made.
_PERMUTATION_ITEM_BYTES = (4 + 8, 4)
_RESAMPLE_ITEM_BYTES = (8 * 4, 8)
# The most permutations or resamples a call takes: their distribution alone,
# 8 bytes each, fills 8 TiB at this count, more memory than machines have.
# Below it, a count whose arrays do not fit raises InsufficientMemoryError.
MAX_RESAMPLES = 1 << 40
# A pair's gather from the condensed vector costs about this many BLAS
# multiply-adds; it decides between the two Pearson permutation paths.
_GATHER_COST = 16


def _positive_int(value, name):
    try:
        number = operator.index(value)
    except TypeError:
        number = None
    if number is None or isinstance(value, bool) or not 1 <= number <= MAX_RESAMPLES:
        raise ValueError(
            f"{name}={value!r} is not allowed; use a positive integer up to 2**40 = {MAX_RESAMPLES:,}"
            f" (more would not fit in any machine's memory)"
        )
    return number


def _confidence(value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not 0 < value < 1:
        raise ValueError(f"confidence={value!r} is not allowed; use a number strictly between 0 and 1, like 0.95")
    return float(value)


def _items_of(size):
    """n for a condensed vector of n(n - 1)/2 values."""
    n = int(round((1 + np.sqrt(1 + 8 * size)) / 2))
    if n * (n - 1) // 2 != size:
        raise ValueError(
            f"a and b have {size} values, which is not n(n - 1)/2 for any n: the Mantel test needs "
            f"condensed vectors of all pairs of n items, in pdist order (as rsm/rdm return)"
        )
    return n


def _statistic_and_centred(a, b, method, names, own, floor=0.0):
    """``compare(a, b, method)`` bit for bit, and the float64 vectors the
    permutations correlate: the values, or for Spearman their ranks, less
    their mean; values times the powers of two of their moments (1.0 unless
    their sums of squares would leave float64's range), which the
    permutations' correlations do not see.  Ranks once for both.  With
    ``own=True`` a and b are the caller's scratch and float64 ones are
    overwritten; ``floor`` as for ``api._checked_moments``."""
    (ss_a, ss_b, cross), scales = api._checked_moments(a, b, names, floor)
    if method == "spearman":
        (ss_a, ss_b, cross), a, b = api._spearman_moments(a, b, own, keep_ranks=True)
    else:
        a, b = (_scaled(values.astype(np.float64, copy=not own), scale) for values, scale in zip((a, b), scales))
    a -= a.mean()
    b -= b.mean()
    return float(pearson_from_moments(ss_a, ss_b, cross)), a, b


def _scaled(values, scale):
    """float64 ``values`` of ours times a power of two, in place."""
    if scale != 1.0:
        values *= scale
    return values


def _batches(n, count, draw):
    """``count`` draws of n items each, ``draw(size)`` returning ``size`` rows."""
    batch = max(1, _DRAWS_PER_BATCH // n)
    for start in range(0, count, batch):
        yield draw(min(batch, count - start))


def _permutations(n, count, rng):
    """``count`` uniform random permutations of range(n), as uint32 rows: a
    Fisher-Yates shuffle per row driven by ``rng.random`` (n - 1 uniforms a
    row, drawn in order, so the rows do not depend on the batch size).  Five
    times faster than ``rng.permuted`` for small n; unsigned, so the kernels
    skip Numba's negative-index check on every gather."""

    def draw(size):
        out = np.empty((size, n), np.uint32)
        permutations_from_uniforms(rng.random((size, n - 1)), out)
        return out

    return _batches(n, count, draw)


def _pvalue(null, observed, alternative):
    # A NaN in the null is a permutation without a statistic (missing pairs
    # left it too few, or constant ones): the p-value is over the others.
    null = null[~np.isnan(null)]
    if alternative == "greater":
        extreme = null >= observed - TIE_TOLERANCE
    elif alternative == "less":
        extreme = null <= observed + TIE_TOLERANCE
    else:
        extreme = np.abs(null) >= abs(observed) - TIE_TOLERANCE
    return (np.count_nonzero(extreme) + 1) / (null.size + 1)


def _condensed_null(a, b, permutations, rng):
    """The observed statistic and the null of centred a and b, permuting
    the items of b."""
    norm = np.sqrt((a @ a) * (b @ b))
    n = _items_of(a.size)
    kernel = permuted_cross_products
    if n * n * 8 <= SQUARE_BYTES and _memory.fits(n * n * 8 + _null_bytes(n, permutations, "two-sided")):
        kernel, b = permuted_cross_products_square, square_matrix(b, n)
    if kernel is permuted_cross_products_square and n >= BLOCKED_ITEMS:
        kernel = _blocked
    observed = np.empty(1)
    kernel(a, b, np.arange(n, dtype=np.uint32)[None], observed)
    null = np.empty(permutations)
    done = 0
    for batch in _permutations(n, permutations, rng):
        kernel(a, b, batch, null[done : done + len(batch)])
        done += len(batch)
    null /= norm  # in place: a second array as long would double the null's memory
    return observed[0] / norm, null


def _blocked(a, square_b, batch, out):
    """``permuted_cross_products_blocked`` with blocks small enough to give
    every thread work (the block does not change the result)."""
    threads = numba.get_num_threads()
    block = max(1, min(_PERMUTATIONS_PER_BLOCK, -(-len(batch) // threads)))
    permuted_cross_products_blocked(a, square_b, batch, block, out)


def _gram_pearson(X, Y, centre):
    count, sum_x, sum_y, sum_xx, sum_yy, sum_xy = _gram.pair_moments(X, Y, centre)
    ss_x = sum_xx - sum_x * sum_x / count
    ss_y = sum_yy - sum_y * sum_y / count
    return (sum_xy - sum_x * sum_y / count) / np.sqrt(ss_x * ss_y)


def _gram_null(X, Y, centre, permutations, rng):
    """The observed statistic and the null by the Gram identity, O(N D1 D2)
    per permutation and no pairs in memory."""
    null = np.empty(permutations)
    done = 0
    for batch in _permutations(X.shape[0], permutations, rng):
        for p in batch:
            null[done] = _gram_pearson(X, Y[p], centre)
            done += 1
    return _gram_pearson(X, Y, centre), null


def _result(statistic, observed, null, alternative, method, keep_null, **omitted):
    return PermutationResult(
        statistic=statistic,
        pvalue=float(_pvalue(null, observed, alternative)),
        permutations=null.size,
        alternative=alternative,
        method=method,
        null=null if keep_null else None,
        **omitted,
    )


def _check_resampling(method, count, count_name):
    method = _validate.choice(method, "method", RESAMPLE_METHODS)
    return method, _positive_int(count, count_name)


def _batch_bytes(n, count, item_bytes):
    """Peak memory of ``count`` draws of n items in batches (``_batches``),
    ``item_bytes`` as ``_PERMUTATION_ITEM_BYTES``: a batch as it is drawn,
    beside the one before it, which the loop over them holds until then."""
    drawing, drawn = item_bytes
    rows = min(count, max(1, _DRAWS_PER_BATCH // n))
    return n * max(rows * drawing, rows * drawn + min(count - rows, rows) * drawing)


def _null_bytes(n, permutations, alternative):
    """The peak of a permutation test's draws: the null distribution in
    float64 with the batches of permutations, or after them with its
    p-value's temporaries (the mask of the extreme ones and, two-sided,
    their magnitudes)."""
    batch = _batch_bytes(n, permutations, _PERMUTATION_ITEM_BYTES)
    return permutations * 8 + max(batch, permutations * (1 + (8 if alternative == "two-sided" else 0)))


def _require_null(needed, null, what):
    """``_memory.require`` for a test whose null takes ``null`` of the
    ``needed`` bytes."""
    _memory.require(needed, what, "use fewer permutations" if 2 * null > needed else "use fewer items")


def _require_pairs(n, permutations, alternative, what):
    """Two float64 condensed vectors with, first, the ranking's scratch, and
    then Y's square matrix where it is used (see ``_condensed_null``) and
    the permutations' draws."""
    pairs = n * (n - 1) // 2
    square = n * n * 8 if n * n * 8 <= SQUARE_BYTES else 0
    null = _null_bytes(n, permutations, alternative)
    _require_null(pairs * 2 * 8 + max(pairs * 12, square + null), null, what)


def mantel(
    a, b, method="pearson", permutations=9999, alternative="two-sided", seed=None, keep_null=False, nan_policy="raise"
):
    """Mantel test of two condensed similarity (or dissimilarity) vectors.

    Permutes the items behind ``b`` (rows and columns of its square matrix
    together) and correlates again, as ``skbio.stats.distance.mantel``.

    Parameters
    ----------
    a, b : array_like, shape (n * (n - 1) // 2,)
        All pairs of the same n >= 3 items in ``pdist`` order: ``rsm``/``rdm``
        output, or a model RDM you built.
    method : {"pearson", "spearman"}
    permutations : int
        How many permutations: 1 to 2**40 (``fastrsa.stats.MAX_RESAMPLES``).
        The null takes 8 bytes a permutation (17 while a two-sided p-value
        is counted); where the call's arrays do not fit in memory it raises
        :class:`fastrsa.InsufficientMemoryError` before anything runs.
    alternative : {"two-sided", "greater", "less"}
        Two-sided counts permuted statistics at least as large in magnitude.
    seed : None, int, numpy.random.Generator or numpy.random.SeedSequence
        A non-negative int or a SeedSequence gives the same p-value and
        null, bit for bit; anything else is refused before any work.
    keep_null : bool
        Keep the permuted statistics in ``result.null``.
    nan_policy : {"raise", "omit"}
        ``"omit"``: NaN marks a missing pair.  The statistic is
        ``compare(a, b, method, nan_policy="omit")``; a permutation moves
        b's items with their missing pairs, and each permuted statistic is
        the correlation over the pairs valid in both (see
        docs/statistics.md).  ``result.omitted_pairs`` and an
        :class:`fastrsa.OmittedWarning` say how many pairs the observed
        statistic left out.

    Returns
    -------
    PermutationResult
        ``statistic``, ``pvalue`` = (k + 1) / (permutations + 1) and, with
        ``keep_null``, ``null_distribution``, as SciPy's; unpacks as
        ``statistic, pvalue = result``.

    Examples
    --------
    >>> import numpy as np, fastrsa
    >>> X = np.random.default_rng(0).standard_normal((30, 5))
    >>> result = fastrsa.mantel(fastrsa.rdm(X), fastrsa.rdm(X + 0.1), permutations=999, seed=1)
    >>> round(result.statistic, 4), result.pvalue
    (0.9875, 0.001)
    """
    method, permutations = _check_resampling(method, permutations, "permutations")
    alternative = _validate.choice(alternative, "alternative", ALTERNATIVES)
    rng = _validate.rng(seed)
    nan_policy = _missing.policy(nan_policy)
    a, b, missing = _missing.vectors(a, b, nan_policy)
    n = _items_of(a.size)
    if n < 3:
        raise ValueError(f"a and b cover {n} items; the Mantel test needs at least 3")
    if missing is not None:
        return _mantel_omitting(a, b, missing, method, permutations, alternative, rng, keep_null)
    _require_pairs(n, permutations, alternative, f"mantel over {n:,} items with {permutations:,} permutations")
    with _threads.threads_for(_resampling_work(n, 0, method, permutations)):
        statistic, a, b = _statistic_and_centred(a, b, method, ("a", "b"), own=False)
        observed, null = _condensed_null(a, b, permutations, rng)
    return _result(statistic, observed, null, alternative, method, keep_null)


def _resampling_work(n, features, method, draws):
    """The work of a resampling call (see ``_threads``): the pairs built and
    ranked once, then visited once a draw."""
    return _threads.pair_work(n, features + draws, ranked=method == "spearman")


def _mantel_omitting(a, b, missing, method, permutations, alternative, rng, keep_null):
    """``mantel`` of checked a and b with missing pairs (``missing``: a or b
    NaN).  The statistic is ``compare(a, b, method, nan_policy="omit")``, bit
    for bit.  A permutation relabels b's items with their NaN, and its
    statistic is the correlation over the pairs valid in both a and the
    permuted b, recomputed whole (Spearman ranks afresh): the pairs, their
    count and their means change from one permutation to the next."""
    n, pairs = _items_of(a.size), a.size
    threads = numba.get_num_threads() if method == "spearman" else 0
    # Two float64 vectors, for Spearman per thread four vectors of scratch
    # and the two sort orders, and the null with its batches of draws.
    null = _null_bytes(n, permutations, alternative)
    _memory.require(
        pairs * (16 + 48 * threads) + null,
        f"mantel over {n:,} items with missing pairs and {permutations:,} permutations",
        "use fewer permutations" if null > pairs * (16 + 48 * threads)
        else "use fewer items" + (", or fewer Numba threads (numba.set_num_threads)" if threads else ""),
    )
    omitted = int(np.count_nonzero(missing))
    kept_a, kept_b, names = _missing.kept_pairs(a, b, missing)
    statistic = api._correlate(kept_a, kept_b, method, names)
    del kept_a, kept_b
    a, b = a.astype(np.float64), b.astype(np.float64)  # copies of ours
    if method == "pearson":
        # Each times the power of two that brings its largest magnitude near
        # 1 (exact: no score sees it), so that the kernel's sums of squares of
        # 1e300 or 1e-300 values stay in float64's range; then centred by the
        # means over the pairs valid in both: the kernel sums raw moments, and
        # the pairs of the observed statistic then have mean zero (centring by
        # each vector's own mean could leave them far from it).
        valid = ~missing
        for values in (a, b):
            values *= unit_scale(float(np.abs(values[valid]).max()))
            values -= values[valid].mean()

        def kernel(draws, out):
            permuted_masked_pearson(a, b, draws, out)

    else:
        scratch = np.empty((threads, 4, pairs))

        def kernel(draws, out):
            permuted_masked_spearman(a, b, draws, scratch[: min(threads, len(draws))], out)

    observed = np.empty(1)
    kernel(np.arange(n, dtype=np.uint32)[None], observed)
    null = np.empty(permutations)
    done = 0
    for draws in _permutations(n, permutations, rng):
        kernel(draws, null[done : done + len(draws)])
        done += len(draws)
    return _result(statistic, observed[0], null, alternative, method, keep_null, omitted_pairs=omitted)


def permutation_test(
    X,
    Y,
    method="pearson",
    metric="cosine",
    permutations=9999,
    alternative="two-sided",
    seed=None,
    keep_null=False,
    nan_policy="raise",
):
    """Mantel permutation test of ``rsa(X, Y)``: permute the items of Y.

    For Pearson with cosine or correlation, each permutation costs either a
    pass over the pairs or, where cheaper (many items, few features), the
    Gram identity's O(N D1 D2); Spearman ranks once, then permutes ranks.

    Parameters
    ----------
    X, Y, method, metric
        As for :func:`fastrsa.rsa`; ``method`` is "pearson" or "spearman".
    permutations, alternative, seed, keep_null
        As for :func:`mantel`.
    nan_policy : {"raise", "omit"}
        ``"omit"`` leaves out the items (rows) with a NaN in X or Y, as
        :func:`fastrsa.rsa` does, and tests the rest: the same result, bit
        for bit, as the call on the rows left; ``result.omitted_items``
        holds the indices of those left out.

    Returns
    -------
    PermutationResult
        As for :func:`mantel`; ``statistic`` equals
        ``rsa(X, Y, method, metric, nan_policy)``.

    Examples
    --------
    >>> import numpy as np, fastrsa
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 10))
    >>> Y = X @ rng.standard_normal((10, 20))
    >>> result = fastrsa.permutation_test(X, Y, permutations=999, seed=1)
    >>> result.pvalue
    0.001
    """
    method, permutations = _check_resampling(method, permutations, "permutations")
    alternative = _validate.choice(alternative, "alternative", ALTERNATIVES)
    metric = _validate.choice(metric, "metric", _validate.DISTANCE_METRICS)
    rng = _validate.rng(seed)
    nan_policy = _missing.policy(nan_policy)
    X, Y, omitted = _missing.spaces(X, Y, metric, nan_policy)
    with _threads.threads_for(_resampling_work(X.shape[0], X.shape[1] + Y.shape[1], method, permutations)):
        return _permutation_test(X, Y, method, metric, permutations, alternative, rng, keep_null, omitted)


def _permutation_test(X, Y, method, metric, permutations, alternative, rng, keep_null, omitted):
    """``permutation_test`` of two checked spaces (``omitted``: the items nan_policy left out)."""
    n, d1, d2 = X.shape[0], X.shape[1], Y.shape[1]
    if method == "pearson" and metric in _validate.SIMILARITY_METRICS:
        if _gram.flops(n, d1, d2) < _GATHER_COST * n * (n - 1) // 2:
            # The Gram path's memory and a permuted copy of Y, with the draws.
            null = _null_bytes(n, permutations, alternative)
            needed = _gram.memory_bytes(d1, d2, n) + n * d2 * Y.itemsize + null
            _require_null(needed, null, f"permutation_test over {n:,} items with {permutations:,} permutations")
            statistic = api.rsa(X, Y, method, metric)
            observed, null = _gram_null(X, Y, metric == "correlation", permutations, rng)
            return _result(statistic, observed, null, alternative, method, keep_null, omitted_items=omitted)
    _require_pairs(n, permutations, alternative, f"permutation_test over {n:,} items with {permutations:,} permutations")
    a, b = api._condensed_pair(X, Y, metric, method)
    statistic, a, b = _statistic_and_centred(a, b, method, api.PAIR_NAMES, True, api.rounding_floor(metric))
    observed, null = _condensed_null(a, b, permutations, rng)
    if api._rsa_by_gram(X, Y, method, metric):
        # rsa's own score, bit for bit, where it takes the Gram identity rather
        # than these vectors; called last, so that its BLAS threads cannot slow
        # the permutations.
        statistic = api.rsa(X, Y, method, metric)
    return _result(statistic, observed, null, alternative, method, keep_null, omitted_items=omitted)


def _resample_counts(n, count, rng):
    """How often each item is drawn, ``count`` resamples of n draws each."""

    def draw(size):
        rows = rng.integers(0, n, size=(size, n))
        flat = rows + n * np.arange(size)[:, None]
        return np.bincount(flat.ravel(), minlength=size * n).reshape(size, n).astype(np.float64)

    return _batches(n, count, draw)


def _spearman_layout(a, b):
    """What the Spearman bootstrap reads, sorted once: each vector's values
    in order with the two items of the pair at every position, and where a's
    t-th pair sits in b's order.  Every resample then streams through these
    in order, with one random access per pair."""
    n = _items_of(a.size)
    items = pair_items(n)
    order_a, order_b = np.argsort(a, kind="stable"), np.argsort(b, kind="stable")
    b_position = np.empty(a.size, np.uint32 if a.size < 2**32 else np.uint64)
    b_position[order_b] = np.arange(a.size, dtype=b_position.dtype)
    return a[order_a], items[order_a], b[order_b], items[order_b], b_position[order_a]


def _bootstrap(a, b, layout, counts):
    """One statistic per row of ``counts``; NaN where a resample's pairs do
    not vary (too few distinct items drawn).  ``layout`` is None for
    Pearson (a, b centred), or ``_spearman_layout(a, b)``."""
    out = np.empty(len(counts))
    workers = min(numba.get_num_threads(), len(counts))
    if layout is None:
        bootstrap_pearson(a, b, counts, np.empty((workers, a.size)), out)
    else:
        bootstrap_spearman(*layout, counts, np.empty((workers, 2, a.size)), out)
    return out


_REDRAWS = 100


def bootstrap_ci(X, Y, method="pearson", metric="cosine", n_boot=1000, confidence=0.95, seed=None, nan_policy="raise"):
    """Percentile bootstrap interval of ``rsa(X, Y)``, resampling items.

    Each resample draws n items with replacement (the same draws for X and
    Y).  A pair of two different items counts as often as it occurs; the
    pairs of an item with its own copy are left out, as in rsatoolbox's
    bootstrap over patterns.  Ranks (Spearman) are recomputed for every
    resample from one sort of each vector.  A resample with fewer than two
    varying pairs is drawn again.

    Parameters
    ----------
    X, Y, method, metric
        As for :func:`fastrsa.rsa`; ``method`` is "pearson" or "spearman".
    n_boot : int
        How many resamples: 1 to 2**40 (``fastrsa.stats.MAX_RESAMPLES``).
        The distribution takes 8 bytes a resample (17 at its peak); where
        the call's arrays do not fit in memory it raises
        :class:`fastrsa.InsufficientMemoryError` before anything runs.
    confidence : float
        Between 0 and 1: the interval runs from the (1 - confidence)/2 to the
        (1 + confidence)/2 quantile of the resampled statistics.
    seed : None, int, numpy.random.Generator or numpy.random.SeedSequence
        As for :func:`mantel`: the same seed gives the same interval, bit
        for bit.
    nan_policy : {"raise", "omit"}
        ``"omit"`` leaves out the items (rows) with a NaN in X or Y, as
        :func:`fastrsa.rsa` does, and resamples the rest: the same result,
        bit for bit, as the call on the rows left; ``result.omitted_items``
        holds the indices of those left out.

    Returns
    -------
    BootstrapResult
        ``statistic``, ``confidence_interval`` (``.low``, ``.high``),
        ``bootstrap_distribution`` and ``standard_error``, as SciPy's.

    Examples
    --------
    >>> import numpy as np, fastrsa
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 10))
    >>> Y = X + rng.standard_normal((60, 10))
    >>> result = fastrsa.bootstrap_ci(X, Y, n_boot=500, seed=1)
    >>> bool(result.low < result.statistic < result.high)
    True
    """
    method, n_boot = _check_resampling(method, n_boot, "n_boot")
    confidence = _confidence(confidence)
    metric = _validate.choice(metric, "metric", _validate.DISTANCE_METRICS)
    rng = _validate.rng(seed)
    nan_policy = _missing.policy(nan_policy)
    X, Y, omitted = _missing.spaces(X, Y, metric, nan_policy)
    with _threads.threads_for(_resampling_work(X.shape[0], X.shape[1] + Y.shape[1], method, n_boot)):
        return _bootstrap_ci(X, Y, method, metric, n_boot, confidence, rng, omitted)


def _bootstrap_ci(X, Y, method, metric, n_boot, confidence, rng, omitted):
    """``bootstrap_ci`` of two checked spaces (``omitted``: the items nan_policy left out)."""
    n = X.shape[0]
    pairs = n * (n - 1) // 2
    # Kept throughout: the two float64 vectors, and for Spearman their sorted
    # layout (values, pair items, positions: 36 bytes a pair), built beside
    # the sort orders and pair items it comes from (80 bytes a pair in all).
    # Then the statistics, 8 bytes a resample, and a batch of resamples'
    # counts, drawn or used with scratch per thread: the pair weights
    # (Pearson) or two rank vectors (Spearman).  Afterwards as much again
    # while the batches' statistics are joined or the quantiles sort a copy,
    # and the mask of those drawn again.
    spearman = method == "spearman"
    kept = pairs * (16 + (36 if spearman else 0))
    per_thread = pairs * 8 * (2 if spearman else 1)
    rows = min(n_boot, max(1, _DRAWS_PER_BATCH // n))
    workers = min(numba.get_num_threads(), rows)  # as _bootstrap
    batch = max(_batch_bytes(n, n_boot, _RESAMPLE_ITEM_BYTES), rows * n * 8 + per_thread * workers)
    _memory.require(
        max(pairs * 80 if spearman else 0, kept + n_boot * 8 + max(batch, n_boot * 9)),
        f"bootstrap_ci over {n:,} items with {n_boot:,} resamples",
        "use fewer resamples (n_boot)" if n_boot * 17 > kept + batch
        else "use fewer items, or fewer Numba threads (numba.set_num_threads)",
    )
    a, b = api._condensed_pair(X, Y, metric, method)
    by_gram = api._rsa_by_gram(X, Y, method, metric)
    statistic, scales = None, (1.0, 1.0)
    floor = api.rounding_floor(metric)
    if method == "pearson" and not by_gram:  # api._correlate's score, and the scales of its sums
        moments, scales = api._checked_moments(a, b, api.PAIR_NAMES, floor)
        statistic = float(pearson_from_moments(*moments))
    elif not by_gram:
        statistic = api._correlate(a, b, method, api.PAIR_NAMES, floor=floor)
    # Fresh arrays of ours: converted without a copy where already float64.
    a, b = a.astype(np.float64, copy=False), b.astype(np.float64, copy=False)
    if method == "pearson":  # at a scale whose sums of squares float64 holds
        # Not centred first: each resample's two-pass sums centre on its own
        # weighted mean, and a mean over all pairs, where one value dominates
        # (rows of 1e217 beside rows of 1e25), would round the others away.
        a, b = _scaled(a, scales[0]), _scaled(b, scales[1])
        layout = None
    else:  # sorted once, uncentred: the order and ties rsa ranks
        layout = _spearman_layout(a, b)
    resamples = _resample_counts(n, n_boot, rng)
    distribution = np.concatenate([_bootstrap(a, b, layout, counts) for counts in resamples])
    for attempt in range(_REDRAWS + 1):
        degenerate = np.flatnonzero(np.isnan(distribution))
        if degenerate.size == 0:
            break
        if attempt == _REDRAWS:
            raise ValueError(
                f"X and Y have {n} items: too few for a bootstrap, whose resamples keep drawing fewer than "
                f"two varying pairs; use more items"
            )
        for counts in _resample_counts(n, degenerate.size, rng):
            distribution[degenerate[: len(counts)]] = _bootstrap(a, b, layout, counts)
            degenerate = degenerate[len(counts) :]
    if by_gram:  # rsa's own score, bit for bit; last, so its BLAS threads cannot slow the resamples
        statistic = api.rsa(X, Y, method, metric)
    low, high = np.quantile(distribution, [(1 - confidence) / 2, (1 + confidence) / 2])
    return BootstrapResult(
        statistic=statistic,
        low=float(low),
        high=float(high),
        confidence=confidence,
        method=method,
        distribution=distribution,
        omitted_items=omitted,
    )
