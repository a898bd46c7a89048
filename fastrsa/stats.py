"""Inference for RSA: the Mantel permutation test and bootstrap intervals.

Both resample items, never pairs: a permutation relabels the items of Y (its
RSM's rows and columns together), a bootstrap resample draws items with
replacement.  The draws come in batches fixed by n and the count, batch k
from its own generator, the k-th child of ``SeedSequence(seed)``
(``batch_sizes``, ``_batch_rng``), and each draw's statistic is computed by
one thread in a fixed order: so one seed gives the same p-value, null and
interval bit for bit whatever the thread count, and a batch is a task that
any thread or a Dask worker can run (``client=``, docs/distributed.md).
docs/statistics.md explains each test and its assumptions.
"""

import functools
import operator
import warnings

import numba
import numpy as np

from . import _correlation, _gram, _memory, _missing, _pairs, _plan, _progress, _sources, _tasks, _threads, _tuning, _validate, _weighted_gram, api
from ._kernels.correlate import pearson_from_moments
from ._kernels.jackknife import item_sums, pearson_leaving_each_out, scaled_mean, spearman_leaving_each_out
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
from ._kernels.rank import rank_scratch_bytes
from ._kernels.scale import peak, unit_scale
from ._metrics import of as metric_of
from ._results import BootstrapResult, ConfidenceInterval, PermutationResult

ALTERNATIVES = ("two-sided", "greater", "less")
RESAMPLE_METHODS = ("pearson", "spearman")
# A null statistic within this distance of the observed one counts as "at
# least as extreme": the same value summed in another order may differ in
# the last bits (scipy.stats.permutation_test does the same).
TIE_TOLERANCE = 1e-12
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
    overwritten; ``floor`` as for ``_correlation.checked_moments``."""
    (ss_a, ss_b, cross), scales = _correlation.checked_moments(a, b, names, floor)
    if method == "spearman":
        (ss_a, ss_b, cross), a, b = _correlation.spearman_moments(a, b, own, keep_ranks=True)
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


# --- Draws in batches, each from its own seed ------------------------------------
#
# The draws of a call are cut into batches fixed by n and the count alone
# (``batch_sizes``), and batch k draws from its own generator, the k-th
# child of the call's SeedSequence (``_batch_rng``).  So a batch is a task:
# it can run on any thread or a cluster's worker, in any order, and draw
# the same permutations or resamples (docs/statistics.md, "Seeds").


def batch_sizes(n, count):
    """``[(index, size), ...]``: ``count`` draws of n items in batches of
    at most ``_tuning.DRAWS_PER_BATCH`` items (bounding a batch's memory),
    about ``_tuning.RESAMPLE_TASKS`` of them, none under
    ``_tuning.DRAWS_PER_TASK`` draws where the count allows."""
    per = max(1, min(_tuning.DRAWS_PER_BATCH // n, max(_tuning.DRAWS_PER_TASK, -(-count // _tuning.RESAMPLE_TASKS))))
    return [(k, min(per, count - start)) for k, start in enumerate(range(0, count, per))]


def _batch_rng(root, index):
    """Batch ``index``'s generator: ``default_rng`` of the index-th child of
    ``root`` (as ``root.spawn`` makes them, without its state)."""
    return np.random.default_rng(np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, index)))


def permutation_batch(n, root, index, size):
    """Batch ``index``'s ``size`` uniform random permutations of range(n),
    as uint32 rows: a Fisher-Yates shuffle per row driven by ``rng.random``
    (n - 1 uniforms a row, in order), from the batch's own generator.
    Faster than ``rng.permuted`` for small n; unsigned, so the kernels skip
    Numba's negative-index check on every gather."""
    out = np.empty((size, n), np.uint32)
    permutations_from_uniforms(_batch_rng(root, index).random((size, n - 1)), out)
    return out


def _permutations(n, count, root):
    """The batches of ``count`` permutations of range(n) (``permutation_batch``), in order."""
    for index, size in batch_sizes(n, count):
        yield permutation_batch(n, root, index, size)


def _pvalue(null, observed, alternative):
    # A NaN in the null is a permutation without a statistic (missing pairs
    # left it too few, or constant ones): the p-value is over the others.
    # (NaN compares false, so it is never counted extreme: no copy of the null.)
    kept = null.size - np.count_nonzero(np.isnan(null))
    if alternative == "greater":
        extreme = null >= observed - TIE_TOLERANCE
    elif alternative == "less":
        extreme = null <= observed + TIE_TOLERANCE
    else:
        extreme = np.abs(null) >= abs(observed) - TIE_TOLERANCE
    return (np.count_nonzero(extreme) + 1) / (kept + 1)


# The kernels of the null over condensed vectors (``Plan.choices["null"]``):
# b condensed; b's square matrix, row by row; the square matrix with the
# permutations blocked (docs/performance.md).
CONDENSED, SQUARE, BLOCKED = "condensed", "square", "blocked"


def _null_kernel(n, permutations, available):
    """Which kernel ``_condensed_null`` takes for n items: the square
    matrix up to ``_tuning.SQUARE_BYTES`` where it fits beside the null,
    blocked from ``_tuning.BLOCKED_ITEMS`` items (``available``: the
    call's ``_plan.Available``)."""
    if _square_bytes(n) > _tuning.SQUARE_BYTES or not available.fit(_square_bytes(n) + _null_bytes(n, permutations, "two-sided")):
        return CONDENSED
    return BLOCKED if n >= _tuning.BLOCKED_ITEMS else SQUARE


def _square_bytes(n):
    """Memory of ``square_matrix`` over n items."""
    return n * n * 8


def _null_stage(n, permutations, kernel):
    """The plan's stage of the null over condensed vectors: one
    multiply-add and 12 bytes through the caches per pair and permutation."""
    paths = {
        CONDENSED: "gathers from b's condensed vector",
        SQUARE: "gathers from b's square matrix, row by row",
        BLOCKED: f"gathers from b's square matrix, {_tuning.PERMUTATIONS_PER_BLOCK} permutations a block",
    }
    pairs = n * (n - 1) // 2
    memory = (_square_bytes(n) if kernel != CONDENSED else 0) + _null_bytes(n, permutations, "two-sided")
    return _plan.Stage("null", f"{permutations:,} permutations of the items of b (Y's pairs), {paths[kernel]}", memory, pairs * permutations, 12 * pairs * permutations)


def _null_task(a, b, kernel_name, root, index, size):
    """A task of the null over condensed vectors: batch ``index``'s cross
    products (not yet divided by the norms)."""
    n = _items_of(a.size)
    out = np.empty(size)
    _KERNELS[kernel_name](a, b, permutation_batch(n, root, index, size), out)
    return out


def _condensed_null(a, b, permutations, root, kernel_name, executor=None, line=_progress.SILENT):
    """The observed statistic and the null of centred a and b, permuting
    the items of b, by the kernel ``_null_kernel`` chose, batch by batch
    (``executor``: where the batches run, ``_tasks``; None: here), each
    batch advancing the progress ``line``."""
    executor = executor or _tasks.Local()
    norm = np.sqrt((a @ a) * (b @ b))
    n = _items_of(a.size)
    if kernel_name != CONDENSED:
        b = square_matrix(b, n)
    observed = np.empty(1)
    _KERNELS[kernel_name](a, b, np.arange(n, dtype=np.uint32)[None], observed)
    null = np.empty(permutations)
    done = 0
    shared = (executor.share(a), executor.share(b), kernel_name, root)
    for part in executor.map_parallel(_null_task, shared, batch_sizes(n, permutations)):
        null[done : done + len(part)] = part
        done += len(part)
        line.advance(len(part))
    null /= norm  # in place: a second array as long would double the null's memory
    return observed[0] / norm, null


def _blocked(a, square_b, batch, out):
    """``permuted_cross_products_blocked`` with blocks small enough to give
    every thread work (the block does not change the result)."""
    threads = numba.get_num_threads()
    block = max(1, min(_tuning.PERMUTATIONS_PER_BLOCK, -(-len(batch) // threads)))
    permuted_cross_products_blocked(a, square_b, batch, block, out)


_KERNELS = {CONDENSED: permuted_cross_products, SQUARE: permuted_cross_products_square, BLOCKED: _blocked}


def _gram_null_task(moments, root, index, size):
    """A task of the Gram null: batch ``index``'s statistics, on one thread."""
    gathered = moments.buffer()
    return np.array([_correlation.pearson_of_moments(*moments(p, gathered)) for p in permutation_batch(moments.n, root, index, size)])


def _gram_null(X, Y, centre, permutations, root, executor=None, line=_progress.SILENT):
    """The observed statistic and the null by the Gram identity, no pairs in
    memory: the terms no permutation changes once (``_gram.PermutedMoments``,
    on one thread), then O(N D1 D2) a permutation, each batch a task on one
    thread (BLAS's too: ``_tasks``).  The spaces' pairs are checked once,
    for the observed statistic (the caller's rsa plan has checked them
    before: a permutation does not change their spread)."""
    executor = executor or _tasks.Local()
    observed = _correlation.gram_pearson(X, Y, centre)
    with _threads.one_thread():
        moments = _gram.PermutedMoments(X, Y, centre)
    shared = (executor.share(moments, whole=True), root)
    null = np.concatenate(list(_progress.advancing(line, executor.map_serial(_gram_null_task, shared, batch_sizes(X.shape[0], permutations)))))
    return observed, null


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


def _batch_rows(n, count):
    """The draws of the largest batch (the first: ``batch_sizes``)."""
    return batch_sizes(n, count)[0][1]


def _batch_bytes(n, count, item_bytes):
    """Peak memory of ``count`` draws of n items in batches (``batch_sizes``),
    ``item_bytes`` as ``_PERMUTATION_ITEM_BYTES``: a batch as it is drawn
    (a task's draws are freed when it returns, before the next is drawn)."""
    drawing, _ = item_bytes
    return n * _batch_rows(n, count) * drawing


def _null_bytes(n, permutations, alternative):
    """The peak of a permutation test's draws: the null distribution in
    float64 with a batch of permutations as it is drawn and its task's
    statistics, or after them with its p-value's temporaries (the mask of
    the extreme ones and, two-sided, their magnitudes)."""
    batch = _batch_bytes(n, permutations, _PERMUTATION_ITEM_BYTES) + 8 * _batch_rows(n, permutations)
    return permutations * 8 + max(batch, permutations * (1 + (8 if alternative == "two-sided" else 0)))


def _null_advice(needed, null):
    """What to change where a test whose null takes ``null`` of the
    ``needed`` bytes does not fit."""
    return "use fewer permutations" if 2 * null > needed else "use fewer items"


def _subset_advice(n, needed, available):
    """Where a call over the pairs of n items needs ``needed`` bytes and
    does not fit: the items of a random subset that would (the pairs' memory
    grows as the square of the items), or None where the memory available
    is not known."""
    room = available()
    if room is None or needed <= 0:
        return None
    room = max(room - _memory._OVERHEAD, 0)
    items = max(3, int(n * (0.8 * room / needed) ** 0.5))  # (its linear terms are a few per cent of it)
    return (
        f"run it on a random subset of about {items:,} of the {n:,} items, which fits (rng.choice({n}, {items}, "
        f"replace=False) as row indices of X and Y)"
    )


def _pairs_advice(n, needed, first, available):
    """``first`` (what to change), then a subset that fits where one is known: the alternatives of a pairs path."""
    return lambda: [first] + [advice for advice in [_subset_advice(n, needed, available)] if advice]


def _pairs_null_bytes(n, permutations, alternative, kernel, method):
    """``(needed, null)``: two float64 condensed vectors with, first, the
    ranking's scratch (Spearman), and then Y's square matrix where the
    null's kernel takes it and the permutations' draws (``null`` of the
    bytes)."""
    pairs = n * (n - 1) // 2
    square = _square_bytes(n) if kernel != CONDENSED else 0
    null = _null_bytes(n, permutations, alternative)
    ranking = rank_scratch_bytes(pairs, np.float64) if method == "spearman" else 0
    return pairs * 2 * 8 + max(ranking, square + null), null


def mantel(
    a, b, method="pearson", permutations=9999, alternative="two-sided", seed=None, keep_null=False, nan_policy="raise",
    progress=None,
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
    progress : {None, True, False}
        As for :func:`permutation_test`: what the test will do and about how
        long, then a progress line over the permutations.

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
    return _plan_mantel(a, b, method, permutations, alternative, seed, keep_null, nan_policy, progress).execute()


@_plan.planner(mantel)
def _plan_mantel(a, b, method, permutations, alternative, seed, keep_null, nan_policy, progress=None):
    method, permutations = _check_resampling(method, permutations, "permutations")
    alternative = _validate.choice(alternative, "alternative", ALTERNATIVES)
    root = _validate.seed_sequence(seed)
    nan_policy = _missing.policy(nan_policy)
    progress = _progress.check(progress)
    a, b, missing = _missing.vectors(a, b, nan_policy)
    n = _items_of(a.size)
    if n < 3:
        raise ValueError(f"a and b cover {n} items; the Mantel test needs at least 3")
    if missing is not None:
        return _plan_mantel_omitting(a, b, missing, method, permutations, alternative, root, keep_null, progress)
    available = _plan.Available()
    kernel = _null_kernel(n, permutations, available)
    needed, null = _pairs_null_bytes(n, permutations, alternative, kernel, method)
    stages = [_correlation.stage(a.size, max(a.itemsize, b.itemsize), method, in_place=False), _null_stage(n, permutations, kernel)]

    def execute():
        with _progress.of_draws(progress, work, what, permutations, stages, _FEWER_PERMUTATIONS) as line:
            statistic, centred_a, centred_b = _statistic_and_centred(a, b, method, ("a", "b"), own=False)
            observed, null = _condensed_null(centred_a, centred_b, permutations, root, kernel, line=line)
        return _result(statistic, observed, null, alternative, method, keep_null)

    what = f"mantel over {n:,} items with {permutations:,} permutations"
    work = _resampling_work(n, 0, method, permutations)
    return _plan.Plan("mantel", stages, needed, what, [_null_advice(needed, null)], work, execute, {"null": kernel}, available)


# How a long permutation test is shortened (its LongCallWarning's advice).
_FEWER_PERMUTATIONS = "pass fewer permutations (999 reach p = 0.001)"


def _resampling_work(n, features, method, draws):
    """The work of a resampling call (see ``_threads``): the pairs built and
    ranked once, then visited once a draw."""
    return _threads.pair_work(n, features + draws, ranked=method == "spearman")


def _plan_mantel_omitting(a, b, missing, method, permutations, alternative, root, keep_null, progress=None):
    """The plan of ``mantel`` of checked a and b with missing pairs (``missing``: a or b
    NaN).  The statistic is ``compare(a, b, method, nan_policy="omit")``, bit
    for bit.  A permutation relabels b's items with their NaN, and its
    statistic is the correlation over the pairs valid in both a and the
    permuted b, recomputed whole (Spearman ranks afresh): the pairs, their
    count and their means change from one permutation to the next."""
    n, pairs = _items_of(a.size), a.size
    work = _resampling_work(n, 0, method, permutations)
    threads = _threads.threads_of(work) if method == "spearman" else 0
    # Two float64 vectors, for Spearman per thread four vectors of scratch
    # and the two sort orders, and the null with its batches of draws.
    null = _null_bytes(n, permutations, alternative)
    working = _MASKED_SPEARMAN_SCRATCH_BYTES * threads if method == "spearman" else _MASKED_PEARSON_TEMPORARIES
    vectors = pairs * (_MASKED_VECTORS_BYTES + working)
    needed = vectors + null
    what = f"mantel over {n:,} items with missing pairs and {permutations:,} permutations"
    advice = "use fewer permutations" if null > vectors else (
        "use fewer items" + (", or fewer Numba threads (numba.set_num_threads)" if threads else "")
    )
    stages = [
        _correlation.stage(int(np.count_nonzero(~missing)), max(a.itemsize, b.itemsize), method, in_place=False),
        _plan.Stage(
            "null",
            f"{permutations:,} permutations of b's items with its missing pairs, each correlation over the pairs valid in both"
            + (", ranked afresh" if method == "spearman" else ""),
            vectors + null,
            pairs * permutations,
            pairs * permutations * (16 if method == "pearson" else 16 + _correlation.RANK_BYTES_MOVED * 2),
        ),
    ]
    def run():
        with _progress.of_draws(progress, work, what, permutations, stages, _FEWER_PERMUTATIONS) as line:
            return _mantel_omitting(a, b, missing, method, permutations, alternative, root, keep_null, threads, line)

    return _plan.Plan("mantel", stages, needed, what, [advice], work, run, {"null": "masked"})


# Bytes a pair of the null with missing pairs: a and b in float64 beside
# the mask of missing pairs; for Pearson, while they are scaled and centred,
# the mask of valid ones and a gather of each vector's valid values with
# their magnitudes; for Spearman per thread four float64 vectors of scratch
# and two sort orders.
_MASKED_VECTORS_BYTES = 2 * 8 + 1
_MASKED_PEARSON_TEMPORARIES = 1 + 2 * 8
_MASKED_SPEARMAN_SCRATCH_BYTES = 4 * 8 + 2 * 8


def _mantel_omitting(a, b, missing, method, permutations, alternative, root, keep_null, threads, line=_progress.SILENT):
    """``mantel`` of checked a and b with missing pairs, as planned
    (``threads``: Numba's, for the Spearman scratch; 0 for Pearson)."""
    n, pairs = _items_of(a.size), a.size
    omitted = int(np.count_nonzero(missing))
    kept_a, kept_b, names = _missing.kept_pairs(a, b, missing)
    statistic = _correlation.correlate(kept_a, kept_b, method, names)
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
    for draws in _permutations(n, permutations, root):
        kernel(draws, null[done : done + len(draws)])
        done += len(draws)
        line.advance(len(draws))
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
    client=None,
    progress=None,
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
    client : dask.distributed.Client, optional
        Run the batches of permutations on that Dask cluster, each batch a
        task (docs/distributed.md): the same result, bit for bit.
    progress : {None, True, False}
        True: say on stderr what the test will do and about how long it
        will take (the plan's cost model), then draw a progress line over
        the permutations (share done, time left).  None: so where stderr is
        a terminal and the call is long; elsewhere a call the cost model
        expects to take over a minute warns (``LongCallWarning``) how long.
        False: silent.  The result is the same either way.

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
    return _plan_permutation_test(X, Y, method, metric, permutations, alternative, seed, keep_null, nan_policy, client, progress).execute()


# The null of permutation_test by the Gram identity (``Plan.choices["null"]``).
GRAM_NULL = "gram"


def _gather_cost(n, kernel):
    """Multiply-adds a pair's gather costs in the null's ``kernel``: from b's
    square matrix, or a condensed vector the cache holds, ``GATHER_COST``;
    from a condensed vector past ``CACHE_BYTES``, a miss: ``MISSED_GATHER_COST``."""
    if kernel == CONDENSED and n * (n - 1) // 2 * 8 > _tuning.CACHE_BYTES:
        return _tuning.MISSED_GATHER_COST
    return _tuning.GATHER_COST


@_plan.planner(permutation_test)
def _plan_permutation_test(X, Y, method, metric, permutations, alternative, seed, keep_null, nan_policy, client, progress=None):
    """The plan of ``permutation_test``: rsa's own plan for the statistic
    (its score, bit for bit), then the null by the Gram identity (Pearson of
    similarities where its O(N D1 D2) a permutation costs less than the
    pairs' gathers, ``_gather_cost`` a pair by the kernel that null would
    take) or over the condensed vectors."""
    method, permutations = _check_resampling(method, permutations, "permutations")
    alternative = _validate.choice(alternative, "alternative", ALTERNATIVES)
    metric = _validate.choice(metric, "metric", _validate.DISTANCE_METRICS)
    root = _validate.seed_sequence(seed)
    nan_policy = _missing.policy(nan_policy)
    client = _tasks.check_client(client)
    progress = _progress.check(progress)
    X, Y, omitted = _missing.spaces(X, Y, metric, nan_policy)
    n, d1, d2 = X.shape[0], X.shape[1], Y.shape[1]
    available = _plan.Available()
    score = api.rsa_plan(X, Y, method, metric, "permutation_test", available)
    tasks = _tasks.Tasks(client, len(batch_sizes(n, permutations)), 0)
    what = f"permutation_test over {n:,} items with {permutations:,} permutations"
    work = _resampling_work(n, d1 + d2, method, permutations)
    null = _null_bytes(n, permutations, alternative)

    def result(statistic, observed, null):
        return _result(statistic, observed, null, alternative, method, keep_null, omitted_items=omitted)

    def line_of(stages):
        return _progress.of_draws(progress, work, what, permutations, stages, _FEWER_PERMUTATIONS)

    kernel = _null_kernel(n, permutations, available)
    gathers = _gather_cost(n, kernel) * n * (n - 1) // 2
    gram_null = _gram.permuted_flops(n, d1, d2) + _tuning.PERMUTATION_CALL_COST
    if method == "pearson" and metric_of(metric).similarity and gram_null < gathers:
        # rsa's Gram path (the observed statistic), then the permutations'
        # shifted unit rows and gathers (spaces on disk read a block at a time), with the draws.
        float32 = X.dtype == Y.dtype == np.float32
        rows = min(n, _tuning.GRAM_BLOCK)
        running = 1 if client else min(numba.get_num_threads(), len(batch_sizes(n, permutations)))  # (batches side by side)
        permuted = _gram.permuted_memory_bytes(n, d1, d2, float32, running) + _sources.block_bytes(X, rows) + _sources.block_bytes(Y, rows)
        needed = max(_gram.memory_bytes(d1, d2, n, float32, (X, Y)), permuted) + null
        read = _sources.streamed((X, Y))
        stages = [
            *score.stages,
            _plan.Stage(
                "null",
                f"{permutations:,} permutations of Y's rows by the Gram identity: the terms no permutation changes"
                f" once, then one product (the smaller space's rows gathered) a permutation{read}",
                permuted + null,
                permutations * _gram.permuted_flops(n, d1, d2),
                permutations * 8 * n * (min(d1, d2) + d1 + d2),
            ),
        ]

        def execute():
            statistic = score.execute()
            with line_of(stages) as line:
                observed, null = _gram_null(X, Y, metric_of(metric).centred, permutations, root, tasks.executor(), line)
            return result(statistic, observed, null)

        choices = {"null": GRAM_NULL, "score": score.choices}
        choices["tasks"] = tasks
        return _plan.Plan("permutation_test", [*stages, *tasks.stages()], needed, what, [_null_advice(needed, null)], work, execute, choices, available)

    needed, null = _pairs_null_bytes(n, permutations, alternative, kernel, method)
    needed += _pairs.loaded_bytes(X, metric, method) + _pairs.loaded_bytes(Y, metric, method)  # (spaces on disk)
    sides = score.choices["sides"]
    pairs = n * (n - 1) // 2
    stages = _pairs.pair_stages(X, Y, metric, sides, method)
    stages += [_correlation.stage(pairs, 8, method, in_place=True), _null_stage(n, permutations, kernel)]
    by_gram = score.choices["route"] == api.GRAM
    if by_gram:
        stages.append(_plan.Stage("statistic", "rsa's own: " + score.stages[0].path, score.memory_bytes, score.flops, score.bytes_moved))

    def execute():
        with line_of(stages) as line:
            a, b = _pairs.condensed_pair(X, Y, metric, sides, method)
            statistic, a, b = _statistic_and_centred(a, b, method, api.PAIR_NAMES, True, metric_of(metric).rounding_floor)
            observed, null = _condensed_null(a, b, permutations, root, kernel, tasks.executor(), line)
        if by_gram:
            # rsa's own score, bit for bit, where it takes the Gram identity rather
            # than these vectors; last, so that its BLAS threads cannot slow
            # the permutations.
            statistic = score.execute()
        return result(statistic, observed, null)

    choices = {"null": kernel, "score": score.choices}
    advice = _pairs_advice(n, needed, _null_advice(needed, null), available)
    choices["tasks"] = tasks
    return _plan.Plan("permutation_test", [*stages, *tasks.stages()], needed, what, advice, work, execute, choices, available)


def _resample_counts(rng, n, size):
    """How often each item is drawn, ``size`` resamples of n draws each from ``rng``."""
    rows = rng.integers(0, n, size=(size, n))
    flat = rows + n * np.arange(size)[:, None]
    return np.bincount(flat.ravel(), minlength=size * n).reshape(size, n).astype(np.float64)


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


def _bootstrap(a, b, layout, counts, floor):
    """One statistic per row of ``counts``; NaN where a resample's pairs do
    not vary (too few distinct items drawn, or, for Pearson, values equal up
    to rounding at the metric's rounding ``floor``).  ``layout`` is None for
    Pearson, or ``_spearman_layout(a, b)``."""
    out = np.empty(len(counts))
    workers = min(numba.get_num_threads(), len(counts))
    if layout is None:
        bootstrap_pearson(a, b, counts, np.empty((workers, a.size)), out, floor)
    else:
        bootstrap_spearman(*layout, counts, np.empty((workers, 2, a.size)), out)
    return out


_REDRAWS = 100


def bootstrap_ci(X, Y, method="pearson", metric="cosine", n_boot=1000, confidence=0.95, seed=None, nan_policy="raise",
                 client=None, interval="percentile", progress=None):
    """Bootstrap interval of ``rsa(X, Y)``, resampling items: percentile, or BCa.

    Each resample draws n items with replacement (the same draws for X and
    Y).  A pair of two different items counts as often as it occurs; the
    pairs of an item with its own copy are left out, as in rsatoolbox's
    bootstrap over patterns.  Ranks (Spearman) are recomputed for every
    resample from one sort of each vector.  A resample with fewer than two
    varying pairs is drawn again.

    Pearson with cosine or correlation runs without pairs, by a weighted
    Gram identity (O(N (D1^2 + D2^2 + D1 D2)) a resample), where that costs
    fewer multiply-adds than the pairs or the pairs do not fit: the same
    draws, and the same interval to about 1e-13.  Spearman and the
    Euclidean metrics resample the pairs.  ``fastrsa.plan`` shows the
    route (``choices["route"]``); docs/statistics.md has both.

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
    client : dask.distributed.Client, optional
        Run the batches of resamples on that Dask cluster, each batch a
        task (docs/distributed.md): the same result, bit for bit.
    interval : {"percentile", "bca"}
        The interval ``low`` and ``high`` hold.  ``"percentile"``: the
        quantiles above.  ``"bca"``: the bias-corrected and accelerated
        interval (Efron 1987), as ``scipy.stats.bootstrap(method="BCa")``
        computes it from the same distribution: its quantiles
        Φ(z0 + (z0 + z)/(1 - a (z0 + z))) at z = Φ⁻¹((1 ∓ confidence)/2),
        with z0 = Φ⁻¹(share of the resampled statistics below the observed
        one, ties counted half) and the acceleration a = Σ d³ / (6 (Σ d²)^(3/2)),
        d the jackknife's deviations θ̄ - θ_i over the items (θ_i: the
        statistic with item i and its n - 1 pairs left out).  The
        jackknife is exact and adds one pass over the pairs (Pearson), an
        O(N (D1² + D2² + D1 D2)) product (the weighted Gram route), or n
        passes over the pairs, as many as n resamples (Spearman: every
        other pair's rank moves; refused past
        ``fastrsa.stats.SPEARMAN_JACKKNIFE_BUDGET`` pair visits).  It needs
        at least 4 items.  Both intervals are then on the result.
    progress : {None, True, False}
        As for :func:`permutation_test`: what the call will do and about
        how long, then a progress line over the resamples.

    Returns
    -------
    BootstrapResult
        ``statistic``, ``confidence_interval`` (``.low``, ``.high``),
        ``bootstrap_distribution`` and ``standard_error``, as SciPy's;
        ``interval``, the kind ``low`` and ``high`` hold;
        ``percentile_interval``, and with ``interval="bca"``
        ``bca_interval`` (None otherwise).

    Examples
    --------
    >>> import numpy as np, fastrsa
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 10))
    >>> Y = X + rng.standard_normal((60, 10))
    >>> result = fastrsa.bootstrap_ci(X, Y, n_boot=500, seed=1)
    >>> bool(result.low < result.statistic < result.high)
    True
    >>> bca = fastrsa.bootstrap_ci(X, Y, n_boot=500, seed=1, interval="bca")
    >>> bca.interval, bca.percentile_interval == result.confidence_interval, bca.bca_interval == bca.confidence_interval
    ('bca', True, True)
    """
    return _plan_bootstrap_ci(X, Y, method, metric, n_boot, confidence, seed, nan_policy, client, interval, progress).execute()


# Bytes a pair of the bootstrap (``_bootstrap_bytes``): the two float64
# vectors; for Spearman their sorted layout (``_spearman_layout``: two
# vectors of values, two of uint32 pair items, b's uint32 positions), and
# while it is built the two int64 sort orders, the pair items and the
# positions in a's order beside it.
_BOOTSTRAP_VECTORS_BYTES = 2 * 8
_SPEARMAN_LAYOUT_BYTES = 2 * 8 + 2 * 8 + 4
_SPEARMAN_LAYOUT_BUILDING_BYTES = _BOOTSTRAP_VECTORS_BYTES + _SPEARMAN_LAYOUT_BYTES + 2 * 8 + 8 + 4 + 4


def _bootstrap_bytes(n, n_boot, method, threads):
    """``(needed, kept, batch)``: the peak memory of the bootstrap of n
    items, and of it what is kept throughout and a batch's share.  Kept:
    the two vectors (and the Spearman layout); then the statistics, 8 bytes
    a resample, and a batch of resamples' counts, drawn or used with
    scratch per thread: the pair weights (Pearson) or two rank vectors
    (Spearman, ``_bootstrap``).  Afterwards as much again while the batches'
    statistics are joined or the quantiles sort a copy, and the mask of
    those drawn again."""
    pairs = n * (n - 1) // 2
    spearman = method == "spearman"
    kept = pairs * (_BOOTSTRAP_VECTORS_BYTES + (_SPEARMAN_LAYOUT_BYTES if spearman else 0))
    per_thread = pairs * 8 * (2 if spearman else 1)
    rows = _batch_rows(n, n_boot)
    workers = min(threads, rows)  # as _bootstrap
    batch = max(_batch_bytes(n, n_boot, _RESAMPLE_ITEM_BYTES), rows * n * 8 + per_thread * workers)
    needed = max(pairs * _SPEARMAN_LAYOUT_BUILDING_BYTES if spearman else 0, kept + n_boot * 8 + max(batch, n_boot * 9))
    return needed, kept, batch


# Routes of bootstrap_ci's resamples (``Plan.choices["route"]``): the pairs'
# weights over the condensed vectors (api.PAIRS), or the weighted Gram identity.
WEIGHTED_GRAM = "weighted gram"


def _bootstrap_route(n, d1, d2, method, metric, n_boot, pairs_needed, available):
    """How ``bootstrap_ci`` resamples: by the weighted Gram identity for
    Pearson of similarities where its multiply-adds (``_weighted_gram.flops``
    and ``_tuning.RESAMPLE_CALL_COST`` a resample) are fewer than the pairs'
    (built once, then ``_tuning.RESAMPLE_PAIR_COST`` a pair and resample), or
    where the pairs' ``pairs_needed`` bytes do not fit; over the pairs
    otherwise."""
    if method != "pearson" or not metric_of(metric).similarity:
        return api.PAIRS
    pairs = n * (n - 1) // 2
    by_pairs = pairs * (d1 + d2) + n_boot * pairs * _tuning.RESAMPLE_PAIR_COST
    by_gram = n * (d1 + d2) + n_boot * (_weighted_gram.flops(n, d1, d2) + _tuning.RESAMPLE_CALL_COST)
    return WEIGHTED_GRAM if by_gram < by_pairs or not available.fit(pairs_needed) else api.PAIRS


def _weighted_bootstrap_bytes(n, d1, d2, n_boot, score_bytes, threads=None):
    """``(needed, held, resampling)``: the peak memory of the bootstrap by
    the weighted Gram identity, what of it the shifted rows hold
    (``_weighted_gram.memory_bytes``) and what the resamples add beside
    them.  While the rows are made, their making's.  While the batches run,
    ``threads`` at once (``_tasks.Local``; None: Numba's): the rows, the
    statistics (8 bytes a resample), and each running batch's counts as
    they are drawn, or in use with the rows' working memory; then as much
    again as the statistics while they are joined, and their mask of those
    drawn again.  Last, with the rows freed: rsa's own statistic
    (``score_bytes``) beside the statistics, and the quantiles' sorted copy."""
    rows = _batch_rows(n, n_boot)
    running = min(threads or numba.get_num_threads(), len(batch_sizes(n, n_boot)))
    held, making, working = _weighted_gram.memory_bytes(n, d1, d2)
    batch = max(_batch_bytes(n, n_boot, _RESAMPLE_ITEM_BYTES), rows * n * 8 + working)
    resampling = n_boot * 8 + max(running * batch, n_boot * 9)
    needed = max(held + making, held + resampling, n_boot * 8 + max(score_bytes, n_boot * 8))
    return needed, held, resampling


@_plan.planner(bootstrap_ci)
def _plan_bootstrap_ci(X, Y, method, metric, n_boot, confidence, seed, nan_policy, client, interval="percentile", progress=None):
    """The plan of ``bootstrap_ci``: its ``choices`` are rsa's (``score``),
    the resamples' ``route`` (``_bootstrap_route``) and the ``interval``.
    Over the pairs: the pairs as rsa's plan takes them, and the statistic
    rsa's where rsa takes the Gram identity.  By the weighted Gram identity:
    the shifted rows, and the statistic rsa's own.  BCa adds the jackknife
    (``_jackknife_stage``) after the resamples."""
    method, n_boot = _check_resampling(method, n_boot, "n_boot")
    confidence = _confidence(confidence)
    if isinstance(interval, str) and interval.lower() in INTERVALS:
        interval = interval.lower()  # ("BCa" too, as SciPy spells it)
    interval = _validate.choice(interval, "interval", INTERVALS)
    metric = _validate.choice(metric, "metric", _validate.DISTANCE_METRICS)
    root = _validate.seed_sequence(seed)
    nan_policy = _missing.policy(nan_policy)
    client = _tasks.check_client(client)
    progress = _progress.check(progress)
    X, Y, omitted = _missing.spaces(X, Y, metric, nan_policy)
    n, d1, d2 = X.shape[0], X.shape[1], Y.shape[1]
    pairs = n * (n - 1) // 2
    available = _plan.Available()
    bca = interval == "bca"

    def shown(run, stages):
        """``run`` (taking the progress line) with its progress over the resamples."""

        def execute():
            # (Spearman's BCa jackknife costs about n resamples: counted as n more draws, done at its end.)
            draws = n_boot + (n if bca and method == "spearman" else 0)
            with _progress.of_draws(progress, work, what, draws, stages, "pass fewer resamples (n_boot)") as line:
                return run(line=line)

        return execute

    if bca:
        _check_jackknife(n, method)
    score = api.rsa_plan(X, Y, method, metric, "bootstrap_ci", available)
    work = _resampling_work(n, d1 + d2, method, n_boot + (n if bca and method == "spearman" else 0))
    threads = _threads.threads_of(work)
    needed, kept, batch = _bootstrap_bytes(n, n_boot, method, threads)
    loaded = _pairs.loaded_bytes(X, metric, method) + _pairs.loaded_bytes(Y, metric, method)  # (spaces on disk)
    needed += loaded
    what = f"bootstrap_ci over {n:,} items with {n_boot:,} resamples" + (" and a BCa interval" if bca else "")
    route = _bootstrap_route(n, d1, d2, method, metric, n_boot, needed, available)
    choices = {"score": score.choices, "route": route, "interval": interval}
    jackknife = [_jackknife_stage(n, d1, d2, method, route, threads)] if bca else []
    if route == WEIGHTED_GRAM:
        needed, held, resampling = _weighted_bootstrap_bytes(n, d1, d2, n_boot, score.memory_bytes)
        if bca:  # (after the resamples, beside the rows and the distribution)
            needed = max(needed, held + n_boot * 8 + jackknife[0].memory_bytes)
        needed += loaded  # (spaces on disk, read whole: the Resampler takes arrays)
        drawn = int(round(_weighted_gram.items_drawn(n)))
        block = min(n, _tuning.GRAM_BLOCK)
        path = (
            f"weighted Gram identity: UᵀCU, VᵀCV, UᵀCV and the first-order sums in one SYRK of the about"
            f" {drawn:,} items each draws, in blocks of {block:,} rows; no pairs"
        )
        stages = [
            _plan.Stage("rows", "unit rows of X and Y less their mean rows, in float64" + _sources.read_whole((X, Y)), held, 2 * n * (d1 + d2), 8 * 3 * n * (d1 + d2)),
            _plan.Stage(
                "distribution",
                f"{n_boot:,} resamples of the items: {path}",
                resampling,
                n_boot * _weighted_gram.flops(n, d1, d2),
                n_boot * _weighted_gram.bytes_moved(n, d1, d2),
            ),
            *jackknife,
            _plan.Stage("statistic", "rsa's own: " + score.stages[0].path, score.memory_bytes, score.flops, score.bytes_moved),
        ]
        advice = "use fewer resamples (n_boot)" if n_boot * 17 > held else "use fewer features, or fewer items"
        run = functools.partial(_weighted_bootstrap_ci, X, Y, metric, n_boot, confidence, root, omitted, score, client, interval)
        choices["tasks"] = tasks = _tasks.Tasks(client, len(batch_sizes(n, n_boot)), 0)
        stages = [*stages, *tasks.stages()]
        return _plan.Plan("bootstrap_ci", stages, needed, what, [advice], work, shown(run, stages), choices, available)
    sides = score.choices["sides"]
    stages = _pairs.pair_stages(X, Y, metric, sides, method)
    by_gram = score.choices["route"] == api.GRAM
    if by_gram:
        stages.append(_plan.Stage("statistic", "rsa's own: " + score.stages[0].path, score.memory_bytes, score.flops, score.bytes_moved))
    else:
        stages.append(_correlation.stage(pairs, 8, method, in_place=False))
    per_pair = 24 if method == "pearson" else 2 * _correlation.RANK_BYTES_MOVED
    path = "pair weights from the draws, weighted Pearson" if method == "pearson" else "ranks of each resample from one sort of each vector"
    stages.append(_plan.Stage("distribution", f"{n_boot:,} resamples of the items: {path}", needed - kept, pairs * n_boot * 3, pairs * n_boot * per_pair))
    stages += jackknife
    if bca:  # (after the resamples, beside the pairs and the distribution)
        needed = max(needed, kept + n_boot * 8 + jackknife[0].memory_bytes + loaded)
    advice = "use fewer resamples (n_boot)" if n_boot * 17 > kept + batch else "use fewer items, or fewer Numba threads (numba.set_num_threads)"
    run = functools.partial(
        _bootstrap_ci, X, Y, method, metric, n_boot, confidence, root, omitted, sides, score if by_gram else None, client, interval
    )
    choices["tasks"] = tasks = _tasks.Tasks(client, len(batch_sizes(n, n_boot)), 0)
    stages += tasks.stages()
    return _plan.Plan("bootstrap_ci", stages, needed, what, _pairs_advice(n, needed, advice, available), work, shown(run, stages), choices, available)


def _resample_task(statistics, shared, n, root, index, size):
    """A task of the bootstrap: batch ``index``'s ``size`` statistics
    (``statistics(*shared, counts)``: one per row of counts), each NaN one
    (a resample whose pairs do not vary) drawn again from the batch's own
    generator, up to ``_REDRAWS`` times."""
    rng = _batch_rng(root, index)
    out = statistics(*shared, _resample_counts(rng, n, size))
    for _ in range(_REDRAWS):
        degenerate = np.flatnonzero(np.isnan(out))
        if degenerate.size == 0:
            return out
        out[degenerate] = statistics(*shared, _resample_counts(rng, n, degenerate.size))
    if np.isnan(out).any():
        raise ValueError(
            f"X and Y have {n} items: too few for a bootstrap, whose resamples keep drawing fewer than "
            f"two varying pairs; use more items"
        )
    return out


def _distribution(n, n_boot, root, statistics, shared, executor, serial, line=_progress.SILENT):
    """``n_boot`` resamples' statistics, batch by batch (``_resample_task``),
    in order: each batch a task on one thread (``serial``), or each using
    every thread in turn; each batch advances the progress ``line``."""
    run = executor.map_serial if serial else executor.map_parallel
    return np.concatenate(list(_progress.advancing(line, run(_resample_task, (statistics, shared, n, root), batch_sizes(n, n_boot)))))


def _weighted_statistics(resampler, counts):
    return resampler.statistics(counts)


def _pairs_statistics(a, b, layout, floor, counts):
    return _bootstrap(a, b, layout, counts, floor)


def _weighted_bootstrap_ci(X, Y, metric, n_boot, confidence, root, omitted, score, client=None, interval="percentile", line=_progress.SILENT):
    """``bootstrap_ci`` of two checked spaces by the weighted Gram identity,
    as planned: the draws of ``_bootstrap_ci``, each resample's Pearson from
    ``_weighted_gram``, each batch a task on one thread; the statistic
    rsa's own (``score``: its plan); for BCa the jackknife of the rows
    (``_gram_item_sums``) before they are freed."""
    executor = _tasks.executor(client)
    resampler = _weighted_gram.Resampler(_pairs._loaded(X, metric), _pairs._loaded(Y, metric), metric_of(metric).centred)
    shared = (executor.share(resampler, whole=True),)
    distribution = _distribution(X.shape[0], n_boot, root, _weighted_statistics, shared, executor, serial=True, line=line)
    jackknife = None
    if interval == "bca":
        jackknife = _pearson_jackknife(_gram_item_sums(resampler), _weighted_statistics, (resampler,))
    del resampler  # (before rsa's score, whose memory the plan counts after it)
    return _interval(score.execute(), distribution, confidence, "pearson", omitted, interval, jackknife)


def _bootstrap_ci(X, Y, method, metric, n_boot, confidence, root, omitted, sides, score, client=None, interval="percentile", line=_progress.SILENT):
    """``bootstrap_ci`` of two checked spaces over their pairs, as planned
    (``omitted``: the items nan_policy left out; ``score``: rsa's plan where
    the statistic is rsa's own, else None; for BCa the jackknife of the
    pairs, ``_pairs_jackknife``)."""
    n = X.shape[0]
    by_gram = score is not None
    a, b = _pairs.condensed_pair(X, Y, metric, sides, method)
    statistic = None
    if not by_gram:
        statistic = _correlation.correlate(a, b, method, api.PAIR_NAMES, floor=metric_of(metric).rounding_floor)
    # Fresh arrays of ours: converted without a copy where already float64.
    a, b = a.astype(np.float64, copy=False), b.astype(np.float64, copy=False)
    if method == "pearson":
        # Neither centred nor scaled first: each resample's two-pass sums
        # centre on its own weighted mean and scale by its own largest value
        # (``bootstrap_pearson``).  A mean over all pairs, where one value
        # dominates (rows of 1e217 beside rows of 1e25), would round the
        # others away, and a scale that brings the largest pairs near 1 would
        # take a resample without them below float64's range.
        layout = None
    else:  # sorted once, uncentred: the order and ties rsa ranks
        layout = _spearman_layout(a, b)
    floor = metric_of(metric).rounding_floor
    executor = _tasks.executor(client)
    shared = (executor.share(a), executor.share(b), executor.share(layout), floor)
    distribution = _distribution(n, n_boot, root, _pairs_statistics, shared, executor, serial=False, line=line)
    jackknife = _pairs_jackknife(a, b, layout, floor) if interval == "bca" else None
    line.advance(n if interval == "bca" and method == "spearman" else 0)
    if by_gram:  # rsa's own score, bit for bit; last, so its BLAS threads cannot slow the resamples
        statistic = score.execute()
    return _interval(statistic, distribution, confidence, method, omitted, interval, jackknife)


def _interval(statistic, distribution, confidence, method, omitted, kind="percentile", jackknife=None):
    """The percentile interval of ``distribution`` around ``statistic``, and
    with ``jackknife`` (the statistics leaving out each item) the BCa one
    (``_bca``); ``low`` and ``high`` those of ``kind``."""
    low, high = np.quantile(distribution, [(1 - confidence) / 2, (1 + confidence) / 2])
    percentile = ConfidenceInterval(float(low), float(high))
    bca = None if jackknife is None else _bca(statistic, distribution, confidence, jackknife)
    return BootstrapResult.with_intervals(statistic, confidence, method, distribution, omitted, percentile, bca, kind)


def _bca(statistic, distribution, confidence, jackknife):
    """The BCa interval, as ``scipy.stats.bootstrap(method="BCa")``'s
    ``_bca_interval`` computes it: the bias z0 from the share of the
    distribution below ``statistic`` (ties counted half), the acceleration
    from the jackknife's deviations U = (n - 1)(θ̄ - θ_i), and the
    distribution's quantiles (linear, as ``np.quantile``) at the levels
    they shift.  NaN, with a RuntimeWarning as SciPy's, where they are not
    defined (every resampled statistic on one side of the observed one, or
    a jackknife statistic NaN)."""
    from scipy.special import ndtr, ndtri

    below = np.count_nonzero(distribution < statistic) + np.count_nonzero(distribution <= statistic)
    z0 = ndtri(below / (2 * distribution.size))
    n = float(jackknife.size)
    deviations = (n - 1) * (jackknife.mean() - jackknife)
    acceleration = 1 / 6 * (np.sum(deviations**3) / n**3) / (np.sum(deviations**2) / n**2) ** (3 / 2)
    z = float(ndtri((1 - confidence) / 2))
    levels = [ndtr(z0 + (z0 + side) / (1 - acceleration * (z0 + side))) for side in (z, -z)]
    if not np.isfinite(levels).all():
        warnings.warn(
            "the BCa interval cannot be computed (every resampled statistic on one side of the observed one, or "
            "an item whose leaving makes the pairs left not vary): it is NaN; percentile_interval holds the "
            "percentile interval",
            RuntimeWarning,
            stacklevel=_progress._outside(),
        )
        return ConfidenceInterval(np.nan, np.nan)
    low, high = np.quantile(distribution, levels)
    return ConfidenceInterval(float(low), float(high))


# --- The jackknife over items, for BCa's acceleration ------------------------------
#
# Item i left out takes its n - 1 pairs with it; the other pairs keep their
# values.  Pearson: the sums the pairs left need are the totals less item
# i's sums over its pairs (``_kernels.jackknife``), one pass over the pairs
# or, by the weighted Gram route, quadratic forms of the rows' Gram matrix.
# Spearman: every other pair's rank moves, so each item left out is a pass
# over the pairs in their sorted order.

INTERVALS = ("percentile", "bca")
# The most pair visits the Spearman jackknife may take: n items left out in
# turn, each one pass over the pairs re-ranking them (about 60 bytes through
# the caches a pair: the sorted values and their items, b's ranks written,
# then read at random), n x n(n - 1)/2 in all: as many as n resamples of
# the bootstrap, growing as n³ (twice the items, eight times the visits).
# 2**36 is reached at n = 5,160, where the jackknife already costs as much
# as 5,160 resamples; past it interval="percentile" is the way (or Pearson,
# whose jackknife is one pass over the pairs).
SPEARMAN_JACKKNIFE_BUDGET = 1 << 36


def _check_jackknife(n, method):
    """Refuse BCa where its jackknife cannot run: fewer than 4 items (one left
    out leaves too few pairs to vary), or Spearman past its budget."""
    if n < 4:
        raise ValueError(
            f"interval='bca' needs at least 4 items (its jackknife leaves one out and correlates the pairs of the "
            f"rest); X and Y have {n}; interval='percentile' works with 3"
        )
    visits = n * (n * (n - 1) // 2)
    if method == "spearman" and visits > SPEARMAN_JACKKNIFE_BUDGET:
        raise ValueError(
            f"interval='bca' with method='spearman' over {n:,} items is refused: its jackknife re-ranks all "
            f"{n * (n - 1) // 2:,} pairs for each item left out, {visits:.3g} pair visits, past "
            f"fastrsa.stats.SPEARMAN_JACKKNIFE_BUDGET = {SPEARMAN_JACKKNIFE_BUDGET:.3g} (as many as {n:,} "
            f"resamples); interval='percentile' works at any N, and so does method='pearson' with interval='bca'"
        )


def _jackknife_stage(n, d1, d2, method, route, threads):
    """The plan's stage of the jackknife, with its memory beside the pairs
    (or rows) and the distribution: every item's five sums (float64), its
    statistic and its flag; for Spearman one vector of b's ranks a worker;
    by the Gram route the rows' Gram matrix, its three blocks of forms and a
    block of rows in two products (``_gram_item_sums``)."""
    pairs = n * (n - 1) // 2
    if route == WEIGHTED_GRAM:
        width, block = d1 + d2 + 3, min(n, _tuning.GRAM_BLOCK)
        memory = 8 * (2 * width * width + 4 * block * width) + 49 * n
        flops = _weighted_gram.flops(n, d1, d2) * 2  # (the Gram matrix, then the forms)
        return _plan.Stage("jackknife", "each item left out: quadratic forms of the rows' Gram matrix", memory, flops, 8 * n * width * 3)
    if method == "spearman":
        memory = 8 * pairs * min(threads, n) + 9 * n
        return _plan.Stage("jackknife", f"each of the {n:,} items left out: the other pairs ranked afresh", memory, 3 * n * pairs, 60 * n * pairs)
    return _plan.Stage("jackknife", "each item left out: the totals less its pairs' sums, one pass", 49 * n, 10 * pairs, 2 * 16 * pairs)


def _pairs_jackknife(a, b, layout, floor):
    """The statistics leaving out each item, from the float64 pair vectors
    of the bootstrap (``layout``: None for Pearson, else the Spearman one)."""
    n = _items_of(a.size)
    out = np.empty(n)
    if layout is not None:
        spearman_leaving_each_out(*layout, np.empty((min(numba.get_num_threads(), n), a.size)), out)
        return out
    # Scaled by a power of two (exact), so that no square leaves float64's
    # range, and centred on the mean, so that no large mean cancels.
    scale_a, scale_b = unit_scale(peak(a)), unit_scale(peak(b))
    sums = np.empty((5, n))
    item_sums(a, b, n, scale_a, scale_b, scaled_mean(a, scale_a), scaled_mean(b, scale_b), sums)
    return _pearson_jackknife(sums, _pairs_statistics, (a, b, None, floor))


def _gram_item_sums(resampler):
    """Each item's sums over its pairs (as ``item_sums``: of t, t', t², t'²,
    t t', the similarities less the shift's constant) by the Gram identity,
    O(N (D1² + D2² + D1 D2)): with r_j the rows [u_j, v_j, 1, a_j, b_j]
    (``_weighted_gram``), P_i = [u_i, 1, a_i] and Q_j = [u_j, a_j, 1],
    t_ij = P_i·Q_j; so Σ_j t_ij = P_i·Σ_j Q_j and Σ_j t_ij t'_ij =
    P_iᵀ (Σ_j Q_j Q'_jᵀ) P'_i, blocks of the rows' Gram matrix Σ_j r_j r_jᵀ;
    less the item's own term t_ii.  Its t are about centred (their mean
    over the pairs is -(1 - |m|²)/(n - 1)).  On one thread, BLAS's too: a
    product's last bits move with BLAS's threads."""
    n, d1, d2 = resampler.rows.shape[0], resampler.d1, resampler.d2
    one, a, b = d1 + d2, d1 + d2 + 1, d1 + d2 + 2
    p, p_ = [*range(d1), one, a], [*range(d1, d1 + d2), one, b]  # the columns of P and P' in the rows
    q, q_ = [*range(d1), a, one], [*range(d1, d1 + d2), b, one]  # of Q and Q'
    width, block = resampler.rows.shape[1], resampler.block_rows
    sums = np.empty((5, n))
    with _threads.one_thread():
        gram = resampler._gram(np.arange(n), np.ones(n), np.empty((block, width)), np.empty((width, width)))
        total = gram[:, one]  # Σ_j r_j
        forms = [gram[np.ix_(q, q)], gram[np.ix_(q_, q_)], gram[np.ix_(q, q_)]]
        for start in range(0, n, block):
            rows = resampler.rows[start : start + block]
            left, right = rows[:, p], rows[:, p_]
            part = slice(start, start + len(rows))
            sums[0, part], sums[1, part] = left @ total[q], right @ total[q_]
            for k, (form, x, y) in enumerate(zip(forms, (left, right, left), (left, right, right)), 2):
                sums[k, part] = np.einsum("ij,ij->i", x @ form, y)
    sums -= resampler.diagonal.T  # t_ii, t'_ii, t_ii², t'_ii², t_ii t'_ii
    return sums


def _pearson_jackknife(sums, statistics, shared):
    """The Pearson statistics leaving out each item, from the items' sums
    (``pearson_leaving_each_out``); those it flags (the pairs left keep too
    little of the spread for totals less sums) computed afresh, as a
    resample without that item: ``statistics(*shared, counts)``."""
    n = sums.shape[1]
    out, flagged = np.empty(n), np.empty(n, np.bool_)
    pearson_leaving_each_out(sums, n, out, flagged)
    for start in range(0, int(np.count_nonzero(flagged)), _FRESH_BATCH):
        items = np.flatnonzero(flagged)[start : start + _FRESH_BATCH]
        counts = np.ones((items.size, n))
        counts[np.arange(items.size), items] = 0.0
        out[items] = statistics(*shared, counts)
    return out


_FRESH_BATCH = 64  # flagged items computed afresh at a time: their counts, n float64 each

