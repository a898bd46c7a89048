"""The public functions: each checks its arguments, plans its paths
(``fastrsa._plan``), and runs the plan.

A planner (``_plan_<function>``) takes the public function's arguments,
checks them, and decides everything: the Gram identity or the pairs, tiles or
row blocks per space (``_pairs.tile_side``), which correlation, how many
threads, and the memory the call adds.  Its plan's ``execute`` then runs
the stages it names.  ``fastrsa.plan(function, ...)`` returns the plan alone.
"""

import math

import numpy as np

from . import _batched, _binned, _correlation, _gram, _memory, _missing, _pairs, _plan, _progress, _sources, _tasks, _threads, _tuning, _validate, _written
from ._kernels.correlate import pearson_from_moments
from ._kernels.normalize import normalize_rows_into
from ._kernels.rank import PARTS, doubled_dtype, doubled_ranks_into, rank_scratch, spearman_moments_of_doubled
from ._kernels.summary import affines_into, count_sampled_higher, unit_sums
from ._kernels.summary import memory_bytes as summary_memory_bytes
from ._kernels.tiles import count_pairs_higher
from ._metrics import of as metric_of
from ._plan import Stage


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
    X = _sources.whole(_validate.items(X, "X", "cosine"))
    out = np.empty_like(X)
    normalize_rows_into(X, out, False)
    return out


def rsm(X, metric="cosine", out=None, client=None):
    """Condensed representational similarity matrix: every pair's similarity.

    Parameters
    ----------
    X : array_like, shape (n_items, n_features)
        At least 3 items; finite numbers of any integer or float dtype.
    metric : {"cosine", "correlation"}
        Cosine similarity of the rows, or Pearson correlation between rows
        (the cosine of the row-centred rows).
    out : str, os.PathLike or zarr.Array, optional
        Write the vector to this ``.npy`` file, row range by row range,
        instead of holding it in memory (its folder must have room), and
        return it memory-mapped read-only; or to a zarr array: a path
        ending in ``.zarr`` (created, in chunks of ``_tuning.ZARR_CHUNK``
        values; returned opened read-only) or a 1-D ``zarr.Array`` of the
        vector's length and dtype (written in place; needs zarr).  Equal
        to the vector in memory to rounding (about 1e-16), and bit for bit
        with or without ``client`` and between the two kinds of file.
    client : dask.distributed.Client, optional
        Compute the row ranges on that Dask cluster (docs/distributed.md):
        with ``out``, each worker writes its slices to the file (every
        worker must see its folder at the same path); without, they come
        back here.

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
    return _plan_rsm(X, metric, out, client).execute()


def rdm(X, metric="cosine", out=None, client=None):
    """Condensed representational dissimilarity matrix, as ``pdist(X, metric)``.

    Parameters
    ----------
    X : array_like, shape (n_items, n_features)
        At least 3 items; finite numbers of any integer or float dtype.
    metric : {"cosine", "correlation", "euclidean", "sqeuclidean"}
        ``1 - rsm(X, metric)`` for cosine and correlation; Euclidean or
        squared Euclidean distance between rows otherwise.
    out, client
        As for :func:`rsm`.

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
    return _plan_rdm(X, metric, out, client).execute()


_FEWER_PAIRS = "use fewer items, or float32 input (half the memory for cosine and correlation)"


def pair_names(names):
    """How errors name the condensed vectors of spaces called ``names``."""
    return PAIR_NAMES if names == ("X", "Y") else tuple(f"the similarities of {name}" for name in names)


# How errors name the two condensed vectors rsa correlates.
PAIR_NAMES = ("the similarities of X", "the similarities of Y")


@_plan.planner(rsm)
def _plan_rsm(X, metric, out, client):
    metric = _validate.choice(metric, "metric", _validate.SIMILARITY_METRICS)
    client = _tasks.check_client(client)
    X = _validate.items(X, "X", metric)
    return _pairs_plan("rsm", X, metric, False, out, client)


@_plan.planner(rdm)
def _plan_rdm(X, metric, out, client):
    metric = _validate.choice(metric, "metric", _validate.DISTANCE_METRICS)
    client = _tasks.check_client(client)
    X = _validate.items(X, "X", metric)
    return _pairs_plan("rdm", X, metric, True, out, client)


def _pairs_plan(function, X, metric, distances, out=None, client=None):
    """The plan of ``rsm``/``rdm`` of checked rows: one condensed vector,
    at the true scale of the distances; with ``out`` or ``client``, written
    by row-range tasks (``_written``)."""
    n, d = X.shape
    if out is not None or client is not None:
        target = _written.check_out(out, n, _pairs.pairs_dtype(X, metric))
        if client is not None and target is not None and target.in_memory():
            raise ValueError(
                "out: the zarr array is held in this process's memory, where a cluster's workers cannot write; "
                "give one on a store every worker reaches (a folder they all see, an object store), or leave client out"
            )
        ranges = len(_binned.row_ranges(n))
        kept = _pairs.pairs_bytes(X, metric) if target is None else _written.assembly_bytes(X, metric, target)
        tasks = _tasks.Tasks(
            client, ranges, _written.task_bytes(X, metric, target), _binned._rows_bytes(X, metric),
            _written.slice_bytes(X, metric) if target is None else _written.pieces_bytes(X, metric, target),
        )
        where = f"written to {target!r}" if target else "returned"
        stage = Stage(
            "pairs", f"{metric} pairs of {ranges:,} row ranges in blocks of {_tuning.ROWS} x {_tuning.COLUMNS}, {where}"
            + _sources.read_whole_for_rows((X,)), 0, n * (n - 1) // 2 * d, n * d * 8 * ranges,
        )
        return _plan.Plan(
            function,
            lambda: [stage, *tasks.stages()],
            tasks.memory_bytes(_written.memory_bytes(X, metric, target) + (0 if target else kept),
                               _binned._rows_bytes(X, metric) + kept),
            f"{function} of {n:,} items",
            ["use fewer items"] if target else ["write it to a file: out='rsm.npy'", _FEWER_PAIRS],
            _threads.pair_work(n, d),
            lambda: _written.write(X, metric, distances, target, tasks.executor()),
            choices={"tasks": tasks},
        )
    side = _pairs.tile_side(n, d)
    return _plan.Plan(
        function,
        lambda: [_pairs.stage("pairs", X, metric, side)],
        _pairs.pairs_bytes(X, metric),
        f"{function} of {n:,} items",
        [_FEWER_PAIRS],
        _threads.pair_work(n, d),
        lambda: _pairs.condensed_values(X, metric, distances, side, true_scale=distances),
    )


def compare(a, b, method="pearson", nan_policy="raise"):
    """Correlate two condensed similarity (or dissimilarity) vectors.

    Parameters
    ----------
    a, b : array_like, shape (n_pairs,)
        Equally long vectors of finite numbers, each with non-zero variance;
        or objects holding one RDM each (rsatoolbox's ``RDMs``).  2-D arrays
        hold one vector a row: each row of a is correlated with the same
        row of b (or with b's one vector), giving an array of scores.  Two pandas
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
    return _plan_compare(a, b, method, nan_policy).execute()


@_plan.planner(compare)
def _plan_compare(a, b, method, nan_policy):
    method = _validate.choice(method, "method", _validate.METHODS)
    nan_policy = _missing.policy(nan_policy)
    if _batched.rows_of_vectors(a, b):
        return _batched.compare_plan(a, b, method, nan_policy)
    a, b, missing = _missing.vectors(a, b, nan_policy)
    names = ("a", "b")
    if missing is not None:
        a, b, names = _missing.kept_pairs(a, b, missing)
    ranked = method in _validate.RANK_METHODS
    itemsize = max(a.itemsize, b.itemsize)
    return _plan.Plan(
        "compare",
        lambda: [_correlation.stage(a.size, itemsize, method, in_place=False)],
        _correlation.rank_bytes(a.size, itemsize, False, method) if ranked else 0,
        f"ranking two vectors of {a.size:,} values" if ranked else f"compare of {a.size:,} values",
        ["use method='pearson', which needs no extra memory"],
        a.size * (1 + (_tuning.RANK_WORK if ranked else 0)),
        lambda: _correlation.correlate(a, b, method, names),
    )


def rsa(X, Y, method="pearson", metric="cosine", nan_policy="raise", exact=None, tolerance=1e-3, progress=None, client=None):
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
        bfloat16 as float32).  A batch of small spaces, shape (n_spaces,
        n_items, n_features), against a batch of the same length or one
        space (either side) gives one score per space, computed in one
        parallel launch (searchlights, time points; docs/sweeps.md).
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
    exact : {None, True, False}
        Spearman only.  ``None``: the exact score where its pairs fit in
        memory, else binned ranks (two passes over the pairs, none stored:
        memory independent of N; see docs/algorithms.md); ``True``: exact or
        :class:`fastrsa.InsufficientMemoryError`; ``False``: binned ranks.
        Pearson is exact at any N (``False`` changes nothing); Kendall has no
        binned path.
    tolerance : float
        For binned ranks: the largest error bound wanted.  The bins are sized
        for it, and counted again finer where the first count's bound
        exceeds it; a warning says so where even the finest bins allowed
        cannot reach it.
    progress : {None, True, False}
        True: for a long call (past ``_tuning.PROGRESS_WORK`` multiply-adds)
        say on stderr about how long it will take (the plan's cost model)
        before it starts; for binned ranks, draw a progress line (pairs
        done, time left).  None: so where stderr is a terminal
        and the call is long; elsewhere a call the cost model expects to
        take over a minute warns how long (``LongCallWarning``).  False:
        silent.
        None: where stderr is a terminal and the work is large.  The other
        paths are fast at any size they fit.
    client : dask.distributed.Client, optional
        Run the call's tasks on that Dask cluster (docs/distributed.md):
        Pearson of cosine or correlation similarities (the Gram identity's
        row ranges; spaces small enough that their pairs cost less run
        here) and Spearman (binned ranks' row ranges; ``exact=None`` means
        binned there), the same score bit for bit as without a client
        (``exact=False`` for Spearman).  X and Y may then be dask arrays,
        read in row chunks on the workers.  The other methods and metrics
        rank or visit every pair in one process: they refuse a client.

    Returns
    -------
    float
        An array of one score per space for a batch.
        Binned ranks give a :class:`fastrsa.ApproximateScore`: a float whose
        ``error_bound`` is the most it can be from the exact score
        (guaranteed; measured errors are far smaller).

    Examples
    --------
    >>> import numpy as np, fastrsa
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 30))
    >>> Y = np.hstack([X, rng.standard_normal((100, 20))])  # same items, 50 features
    >>> round(fastrsa.rsa(X, Y), 4), round(fastrsa.rsa(X, Y, method="spearman"), 4)
    (0.7734, 0.7578)
    """
    plan = _plan_rsa(X, Y, method, metric, nan_policy, exact, tolerance, progress, client)
    gram = plan.choices.get("route") == GRAM  # (no pairs already: fewer items is what shortens it)
    _progress.announce(progress, plan, "use fewer items" if gram else "use fewer items, or method='pearson' (no pairs)")
    return plan.execute()


@_plan.planner(rsa)
def _plan_rsa(X, Y, method, metric, nan_policy, exact, tolerance, progress, client):
    method = _validate.choice(method, "method", _validate.METHODS)
    metric = _validate.choice(metric, "metric", _validate.DISTANCE_METRICS)
    nan_policy = _missing.policy(nan_policy)
    exact, tolerance = _validate.exactness(exact, tolerance, method)
    progress = _progress.check(progress)
    if _batched.is_batch(X, Y):
        return _batched.rsa_plan(X, Y, method, metric, nan_policy, client)
    client = _tasks.check_client(client)
    if client is not None:
        exact = _on_cluster(method, metric, exact)
        X, Y = _tasks.dask_inputs(client, X, Y, metric, gram=method == "pearson", nan_policy=nan_policy)
    if _tasks.chunked(X):
        return rsa_plan(X, Y, method, metric, client=client)
    if _checked_as_read(X, Y, method, metric, nan_policy):
        # (Two files: their values are checked by the Gram path's first pass,
        # which reads them anyway, rather than in a read of their own.)
        rows = [_validate.disk_shape(Z, name) for Z, name in ((X, "X"), (Y, "Y"))]
        _validate.same_items(*rows)
        plan = rsa_plan(*rows, method, metric, exact=exact, tolerance=tolerance, progress=progress, client=client,
                        pending=metric)
        if plan.choices["route"] == GRAM:
            return plan
    X, Y, _ = _missing.spaces(X, Y, metric, nan_policy)
    return rsa_plan(X, Y, method, metric, exact=exact, tolerance=tolerance, progress=progress, client=client)


def _checked_as_read(X, Y, method, metric, nan_policy):
    """Whether rsa may leave the values of X and Y to the Gram path's first
    pass to check: both are files (.npy paths or memmaps of a file), for
    Pearson of similarities, NaN refused.  (Where the plan takes another
    path, they are checked first as ever.)"""
    on_file = all(_sources.is_path(Z) or isinstance(Z, np.memmap) for Z in (X, Y))
    return on_file and method == "pearson" and metric_of(metric).similarity and nan_policy == "raise"


def _on_cluster(method, metric, exact):
    """rsa's ``exact`` on a cluster (``client=``), where only the paths made
    of tasks run: Pearson of similarities (the Gram identity) and binned
    Spearman; anything else a ValueError saying what does."""
    if method == "spearman" and exact is not True:
        return False
    if method == "pearson" and metric_of(metric).similarity:
        return exact
    what = "exact=True: Spearman's exact ranks" if method == "spearman" else f"method={method!r} with metric={metric!r}"
    raise ValueError(
        f"client= runs rsa on a cluster as tasks over row ranges: method='pearson' with metric='cosine' or "
        f"'correlation', and method='spearman' by binned ranks; {what} needs every pair in one process -- call it "
        f"without client"
    )


# Routes of rsa (``Plan.choices["route"]``).
GRAM, PAIRS, SPEARMAN_IN_TURN, BINNED = "gram", "pairs", "spearman in turn", "binned spearman"


def rsa_plan(X, Y, method, metric, function="rsa", available=None, names=("X", "Y"), held=0, exact=True, tolerance=None,
             progress=False, client=None, pending=None):
    """The plan of ``rsa`` for two checked spaces and checked arguments.

    Its ``choices``: ``route`` (GRAM: Pearson of similarities by the Gram
    identity, where that costs fewer flops than the pairs or the pairs would
    not fit; SPEARMAN_IN_TURN: one condensed vector at a time, where the two
    are computed apart anyway and share a dtype; BINNED: Spearman from
    binned ranks, where ``exact`` is False, or None and the exact path
    would not fit; PAIRS otherwise) and ``sides`` (each space's square tile
    side, 0 for row blocks).  ``available``: the call's ``_plan.Available``,
    where it has one; ``names``: what errors call the two spaces; ``held``:
    memory the caller's planner made for the call that it holds throughout
    (copies of its input), added to the plan's; ``exact`` and ``tolerance``
    as rsa takes them (the inference functions' statistic is always exact),
    ``progress`` for the binned path, and ``client`` the Dask client its
    tasks run on (None: here).  ``pending``: the metric two spaces on disk
    are still to be checked for, by the Gram path's first pass (only that
    path takes it: the caller checks them for any other)."""
    n, d1, d2 = X.shape[0], X.shape[1], Y.shape[1]
    sides = (_pairs.tile_side(n, d1), _pairs.tile_side(n, d2))
    similarity = metric_of(metric).similarity
    in_turn = method == "spearman" and not (sides[0] and sides[1]) and _pairs.pairs_dtype(X, metric) == _pairs.pairs_dtype(Y, metric)
    pairs_needed = _rsa_pairs_bytes(X, Y, method, metric, in_turn) + held
    available = available or _plan.Available()
    chunked = _tasks.chunked(X)  # (a space in chunks on a cluster: the Gram path's tasks only)
    gram = method == "pearson" and similarity and (_prefer_gram(n, d1, d2) or not available.fit(pairs_needed) or chunked)
    work = _threads.pair_work(n, d1 + d2, ranked=method in _validate.RANK_METHODS)
    float32 = X.dtype == Y.dtype == np.float32  # (the Gram products then run in float32)
    if gram:
        centre = metric_of(metric).centred
        tasks = _tasks.Tasks(
            client, len(_gram.task_ranges(n)), _gram.task_memory_bytes(d1, d2, n, float32, (X, Y)),
            X.nbytes + Y.nbytes, _gram.result_bytes(d1, d2),
        )
        return _plan.Plan(
            function,
            lambda: [_gram.stage(n, d1, d2, float32, (X, Y), pending), *tasks.stages()],
            tasks.memory_bytes(_gram.memory_bytes(d1, d2, n, float32, (X, Y))) + held,
            f"rsa over {n:,} items by the Gram matrices of {d1:,} and {d2:,} features",
            ["use fewer features"],
            work,
            lambda: _correlation.gram_pearson(X, Y, centre, pair_names(names), executor=tasks.executor(), pending=pending),
            choices={"route": GRAM, "sides": sides, "tasks": tasks},
            available=available,
        )
    if method == "spearman" and (exact is False or exact is None and not available.fit(pairs_needed)):
        return _binned_plan(X, Y, metric, function, available, held, tolerance, pairs_needed, names, progress, client)
    floor = metric_of(metric).rounding_floor
    if in_turn:

        def stages():
            return _spearman_in_turn_stages(X, Y, metric, sides)

        def execute():
            return _spearman_in_turn(X, Y, metric, sides, names)

    else:

        def stages():
            pairs = n * (n - 1) // 2
            score = _correlation.stage(pairs, max(X.itemsize, Y.itemsize), method, in_place=True)
            return [*_pairs.pair_stages(X, Y, metric, sides, method), score]

        def execute():
            a, b = _pairs.condensed_pair(X, Y, metric, sides, method, names)
            return _correlation.correlate(a, b, method, names=pair_names(names), own=True, floor=floor)

    def alternatives():
        pearson = (
            "method='pearson' with metric='cosine' or 'correlation' needs no pairs and fits"
            f" (about {_gram.memory_bytes(d1, d2, n, float32) / 2**20:.0f} MiB)"
        )
        if method == "spearman" and function == "rsa":
            binned = _binned.memory_bytes(X, Y, metric, _binned.DEFAULT_TOLERANCE) + held
            return [f"exact=False: binned ranks in about {binned / 2**20:.0f} MiB, within a stated error bound", pearson]
        if method in _validate.RANK_METHODS and function == "rsa":
            return ["method='spearman' (binned ranks at any N)", pearson]
        return [pearson]

    if client is not None:  # (fewer items than the Gram path's tasks would pay for: here, the same score as without a client)
        stages = (lambda stages: lambda: [*stages(), Stage("cluster", "none: the pairs cost less than the Gram path's tasks, and run here")])(stages)
    return _plan.Plan(
        function,
        stages,
        pairs_needed,
        f"rsa(method={method!r}, metric={metric!r}) over {n:,} items",
        alternatives,
        work,
        execute,
        choices={"route": SPEARMAN_IN_TURN if in_turn else PAIRS, "sides": sides},
        available=available,
    )


def _binned_plan(X, Y, metric, function, available, held, tolerance, exact_bytes, names, progress, client=None):
    """The plan of binned Spearman rsa (``_binned``)."""
    n = X.shape[0]
    tolerance = _binned.DEFAULT_TOLERANCE if tolerance is None else tolerance
    fine = _binned.fine_bins_for(tolerance)
    work = _threads.pair_work(n, X.shape[1] + Y.shape[1], ranked=True) * 2  # (two passes)
    tasks = _tasks.Tasks(
        client, len(_binned.row_ranges(n)), _binned.task_memory_bytes(X, Y, tolerance),
        _binned.shared_bytes(X, Y, metric, tolerance), _binned.result_bytes(tolerance),
    )
    needed = tasks.memory_bytes(
        _binned.memory_bytes(X, Y, metric, tolerance), _binned.memory_bytes(X, Y, metric, tolerance, runs=1),
    ) + held
    available = available or _plan.Available()

    def room():
        """Memory beyond the plan's, for a second count (the figure the plan read)."""
        known = available()
        return None if known is None else max(known - _memory._OVERHEAD - needed, 0)

    return _plan.Plan(
        function,
        lambda: [*_binned.stages(X, Y, metric, tolerance), *tasks.stages()],
        needed,
        f"binned Spearman rsa(metric={metric!r}) over {n:,} items",
        lambda: [
            f"tolerance={100 * tolerance:g} (fewer bins): about "
            f"{(_binned.memory_bytes(X, Y, metric, min(0.5, 100 * tolerance)) + held) / 2**20:.0f} MiB",
            "method='pearson' with metric='cosine' or 'correlation' needs no pairs and fits"
            f" (about {_gram.memory_bytes(X.shape[1], Y.shape[1], n, X.dtype == Y.dtype == np.float32) / 2**20:.0f} MiB)",
        ],
        work,
        lambda: _binned.spearman(
            X, Y, metric, tolerance, pair_names(names), progress=_progress.wanted(progress, work), room=room(),
            executor=tasks.executor(),
        ),
        choices={"route": BINNED, "fine_bins": fine, "tolerance": tolerance, "exact_bytes": exact_bytes, "tasks": tasks},
        available=available,
    )


def _prefer_gram(n, d1, d2):
    """Whether the Gram identity costs fewer flops than visiting every pair."""
    return _gram.flops(n, d1, d2) < n * (n - 1) // 2 * (d1 + d2)


def _rsa_pairs_bytes(X, Y, method, metric, in_turn):
    """Memory rsa needs when it visits the pairs."""
    n = X.shape[0]
    pairs = n * (n - 1) // 2
    if in_turn:
        # One vector (X's unit rows, then Y's), the scratch, integer ranks.
        itemsize = _pairs.pairs_dtype(X, metric).itemsize
        integer = doubled_dtype(pairs).itemsize
        loaded = max(_pairs.loaded_bytes(X, metric), _pairs.loaded_bytes(Y, metric))  # (a space on disk, read whole)
        return pairs * (2 * itemsize + 2 * integer) + n * max(X.shape[1], Y.shape[1]) * itemsize + loaded
    # Both vectors, then the ranking beside them once the rows' copies are freed.
    ranking = 0
    if method in _validate.RANK_METHODS:
        ranking = _correlation.rank_bytes(pairs, max(X.itemsize, Y.itemsize), in_place=True, method=method)
    return _pairs.pair_bytes(X, Y, metric, method, beside=ranking)


def _spearman_in_turn_stages(X, Y, metric, sides):
    """The stages of ``_spearman_in_turn``."""
    n = X.shape[0]
    pairs = n * (n - 1) // 2
    x, y = _pairs.stage("pairs of X", X, metric, sides[0]), _pairs.stage("pairs of Y", Y, metric, sides[1])
    integer = doubled_dtype(pairs)
    ranks = _correlation.stage(pairs, _pairs.pairs_dtype(X, metric).itemsize, "spearman", in_place=True)
    return [
        x,
        Stage("ranks of X", f"bucket sort; twice the ranks kept as {integer}", 0, 0, ranks.bytes_moved // 2),
        Stage(y.name, y.path + ", over X's", 0, y.flops, y.bytes_moved),
        Stage("score", "Spearman: Y's values ranked, summed with X's ranks", 0, 0, ranks.bytes_moved // 2),
    ]


def _spearman_in_turn(X, Y, metric, sides, names):
    """Spearman rsa with one condensed vector in memory at a time: X's
    values are ranked and twice their ranks kept as integers, then Y's
    values are written over X's, ranked, and summed with X's ranks on the
    way.  Peak: one vector, the ranking scratch and the integer ranks, 24
    bytes a pair in float64 (two vectors, scratch and no kept ranks took 28),
    and Y's values land in memory already in use, which is faster to write
    than a large fresh allocation (docs/performance.md).  The score is
    ``compare(rsm(X), rsm(Y), "spearman")``'s, bit for bit."""
    floor = metric_of(metric).rounding_floor
    values = _pairs.condensed(X, metric, sides[0], name=names[0])
    _correlation.check_varies(values, pair_names(names)[0], floor)
    sorted_values, doubled = rank_scratch(values.size, values.dtype)
    doubled_ranks_x = np.empty(values.size, doubled.dtype)
    doubled_ranks_into(values, doubled_ranks_x, sorted_values, doubled, PARTS)
    values = _pairs.condensed(Y, metric, sides[1], out=values, name=names[1])
    _correlation.check_varies(values, pair_names(names)[1], floor)
    sums = spearman_moments_of_doubled(doubled_ranks_x, values, sorted_values, doubled, PARTS)
    return float(pearson_from_moments(*sums))


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
    return _plan_split_half(X, split, method, metric, seed, nan_policy).execute()


@_plan.planner(split_half)
def _plan_split_half(X, split, method, metric, seed, nan_policy):
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
    halves = [_validate.items(_sources.columns(X, columns), name, metric) for columns, name in zip((first, second), names)]
    held = sum(half.nbytes for half in halves)  # (the columns of each half, copied)
    return rsa_plan(*halves, method, metric, function="split_half", names=names, held=held)  # errors name the halves


def similarity_summary(X, Y, metric="cosine", seed=0):
    """How the pairs' similarities differ between two spaces, without storing them.

    The means come from each space's unit rows alone (the sum over pairs is
    half of ``|sum of rows|^2 - sum of |row|^2``), exactly, in O(N D).  The
    share of pairs more similar in ``Y`` is counted over every pair up to
    ``_tuning.SUMMARY_PAIRS`` pairs, and past that estimated from
    ``_tuning.SUMMARY_SAMPLE`` random pairs (drawn from ``seed``), with its
    0.95 confidence (Wilson) interval.

    Returns
    -------
    dict
        ``mean_sim_a`` and ``mean_sim_b``, the mean similarity over all pairs
        in ``X`` and in ``Y``; ``share_b_higher``, the share of pairs whose
        similarity is higher in ``Y`` than in ``X``, and its 0.95 confidence interval
        ``share_b_higher_low``, ``share_b_higher_high`` (the share itself
        where every pair was counted); ``share_pairs``, how many pairs were
        counted, and ``share_sampled``, whether they were a random sample.
    """
    metric = _validate.choice(metric, "metric", _validate.SIMILARITY_METRICS)
    X, Y = (_sources.whole(space) for space in _validate.spaces(X, Y, metric))
    n = X.shape[0]
    pairs = n * (n - 1) // 2
    centre = metric_of(metric).centred
    what = f"similarity_summary over {n:,} items"
    if pairs <= _tuning.SUMMARY_PAIRS:
        # Every pair, in tiles of the two spaces' float64 unit rows.
        _memory.require(8 * n * (X.shape[1] + Y.shape[1]), what, "use fewer items")
        units = []
        for space in (X, Y):
            unit = np.empty(space.shape, np.float64)
            normalize_rows_into(space, unit, centre)
            units.append(unit)
        sums = [(unit.sum(axis=0), np.einsum("ij,ij->", unit, unit)) for unit in units]
        counted = pairs
        higher = count_pairs_higher(units[0], units[1], _tuning.ROWS, _tuning.COLUMNS)
        low = high = higher / pairs
    else:
        # The rows as they are, each through its affine (_kernels/summary.py), and the sample's pairs.
        counted = _tuning.SUMMARY_SAMPLE
        needed = summary_memory_bytes(n, X.shape[1], counted) + summary_memory_bytes(n, Y.shape[1], 0)
        _memory.require(needed, what, "use fewer items")
        affines = []
        for space in (X, Y):
            affines.append(np.empty((n, 3)))
            affines_into(space, centre, affines[-1])
        sums = [unit_sums(space, affine) for space, affine in zip((X, Y), affines)]
        rng = np.random.default_rng(seed)  # (uniform over pairs: i uniform, j uniform among the others)
        first = rng.integers(0, n, counted)
        second = rng.integers(0, n - 1, counted)
        second += second >= first
        higher = count_sampled_higher(X, Y, *affines, first, second)
        low, high = _wilson(higher, counted)
    # The sum over pairs is half of (|sum of unit rows|^2 - sum of their squared lengths).
    means = [float((total @ total - squares) / 2 / pairs) for total, squares in sums]
    return {
        "mean_sim_a": means[0], "mean_sim_b": means[1], "share_b_higher": float(higher / counted),
        "share_b_higher_low": float(low), "share_b_higher_high": float(high), "share_pairs": int(counted),
        "share_sampled": pairs > _tuning.SUMMARY_PAIRS,
    }  # fmt: skip


def _wilson(successes, trials, z=1.959963984540054):
    """The Wilson score interval of a binomial share (a 0.95 confidence interval for the default ``z``)."""
    share = successes / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    return max(0.0, centre - half), min(1.0, centre + half)
