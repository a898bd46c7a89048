"""Many spaces at once: ``rsa_matrix`` compares every space of one collection
with every space of another (or of itself), doing each space's own work once.

A collection of spaces is a list or tuple of arrays, a dict name -> array, a
3-D array (spaces x items x features: a model's stacked hidden states), or
the path of an ``.npz`` file (``labelled``).  The planner picks one route
for the whole matrix (``Plan.choices["route"]``):

- GRAM: Pearson of cosine or correlation similarities.  Each space's shifted
  unit rows and Gram matrix once, then one cross product per cell
  (``_gram.spaces_moments``), in tasks over row ranges: no pairs, memory
  independent of N.
- VECTORS: every other method and metric, where one kept vector per space
  fits: each space's condensed vector made once and kept as what its
  method correlates -- the values (Pearson), twice their average ranks as
  integers (Spearman: a cell is then one pass over two integer vectors),
  or float64 average ranks (Kendall) -- and each cell correlated from them.
  Every cell equals ``rsa`` of its two spaces (Pearson and Kendall bit for
  bit; Spearman to rounding).
- CELLS: where the kept vectors do not fit, each cell is an ``rsa`` call
  of its own (Spearman then by binned ranks where its pairs do not fit).
- CKA: ``method="cka"``, each space's centred feature Gram once (``_cka``).
"""

import os

import numpy as np

from . import _correlation, _gram, _pairs, _plan, _sources, _tasks, _threads, _validate
from ._kernels.correlate import pearson_from_moments
from ._kernels.kendall import counting_bytes, kendall_from_ranks
from ._kernels.rank import PARTS, average_ranks_into, doubled_cross, doubled_dtype, doubled_ranks_into, rank_scratch, rank_scratch_bytes
from ._metrics import of as metric_of
from ._plan import Stage
from ._kernels.resample import permuted_cross_products
from ._results import MatrixPermutationResult, MatrixResult

MATRIX_METHODS = (*_validate.METHODS, "cka")

# Routes of rsa_matrix (``Plan.choices["route"]``).
GRAM, VECTORS, CELLS, CKA = "gram", "vectors", "cells", "cka"


def rsa_matrix(spaces, others=None, method="pearson", metric="cosine", client=None):
    """RSA between every pair of spaces: a layer sweep, model against model.

    Each space's own work is done once: for Pearson of cosine or correlation
    similarities its shifted unit rows and Gram matrix, then one cross
    product per pair of spaces (no pair of items is formed); for the other
    methods and metrics its condensed vector, ranked once, then each pair of
    spaces correlated from the kept ranks (``fastrsa.plan`` shows the route
    and its memory; docs/sweeps.md).

    Parameters
    ----------
    spaces : list, tuple, dict, 3-D array, or str / os.PathLike
        The spaces, each over the same items in the same order: a list or
        tuple of arrays (named ``"0"``, ``"1"``, ...), a dict name -> array,
        an array of shape (n_spaces, n_items, n_features) (a model's stacked
        hidden states), or the path of an ``.npz`` file (each 2-D array a
        space named by its key; a 3-D array one space per entry, named by a
        1-D array of strings of that length in the file, such as ``layers``,
        else ``key[i]``).
    others : same kinds as ``spaces``, optional
        The spaces of the columns.  None: ``spaces`` against themselves (a
        symmetric matrix whose diagonal is exactly 1).
    method : {"pearson", "spearman", "kendall", "tau-a", "cka"}
        As for :func:`rsa`, or linear CKA (:func:`cka`; ``metric`` must then
        stay "cosine": CKA compares the linear kernels of the features).
    metric : {"cosine", "correlation", "euclidean", "sqeuclidean"}
        As for :func:`rsa`.
    client : dask.distributed.Client, optional
        Run the Gram route's tasks on that cluster (Pearson of cosine or
        correlation similarities; bit for bit the matrix without a client),
        or each cell as ``rsa(..., client=client)`` does (Spearman, binned).

    Returns
    -------
    MatrixResult
        ``.matrix`` (float64, rows for ``spaces``, columns for ``others``),
        ``.row_names``, ``.column_names``, ``.to_pandas()``.

    Examples
    --------
    >>> import numpy as np, fastrsa
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 20))
    >>> layers = {"a": X, "b": X + 0.5 * rng.standard_normal((100, 20)), "c": rng.standard_normal((100, 8))}
    >>> result = fastrsa.rsa_matrix(layers)
    >>> result.row_names
    ('a', 'b', 'c')
    >>> print(result)
            a       b       c
    a  1.0000  0.7825  0.0051
    b  0.7825  1.0000 -0.0042
    c  0.0051 -0.0042  1.0000
    """
    return _plan_rsa_matrix(spaces, others, method, metric, client).execute()


def labelled(value, argument):
    """``(names, arrays)`` of a collection of spaces (unchecked arrays), or a
    ValueError naming ``argument`` and what it accepts."""
    if isinstance(value, (str, os.PathLike)):
        return _npz_spaces(value, argument)
    if isinstance(value, dict):
        if not value:
            raise ValueError(f"{argument} is an empty dict; give at least one space (name -> array)")
        return tuple(str(name) for name in value), list(value.values())
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError(f"{argument} is empty; give at least one space")
        return tuple(str(k) for k in range(len(value))), list(value)
    ndim = getattr(value, "ndim", None)
    if ndim == 3 and value.shape[0] == 0:
        raise ValueError(f"{argument} holds no spaces: its first axis has length 0")
    if ndim == 3:
        return tuple(str(k) for k in range(value.shape[0])), [value[k] for k in range(value.shape[0])]
    what = f"a {ndim}-D array (one space? pass [X])" if ndim == 2 else f"{type(value).__name__}" if ndim is None else f"a {ndim}-D array"
    raise ValueError(
        f"{argument} must be a list or tuple of arrays, a dict name -> array, a 3-D array (spaces x items x "
        f"features) or the path of an .npz file; got {what}"
    )


def _npz_spaces(path, argument):
    """The spaces of an ``.npz`` file (see ``rsa_matrix``)."""
    if not os.path.isfile(path):
        raise ValueError(f"{argument}={os.fspath(path)!r}: no such file (an .npz of spaces was expected)")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as error:
        raise ValueError(f"{argument}={os.fspath(path)!r} is not a readable .npz file: {error}") from None
    with archive:
        arrays = {key: archive[key] for key in archive.files}
    labels = {key: array for key, array in arrays.items() if array.ndim == 1 and array.dtype.kind in "US"}
    several = sum(array.ndim == 3 and array.dtype.kind in "fiub" for array in arrays.values()) > 1
    names, spaces = [], []
    for key, array in arrays.items():
        if array.dtype.kind not in "fiub":
            continue
        if array.ndim == 2:
            names.append(key)
            spaces.append(array)
        elif array.ndim == 3:
            fitting = [label for label in labels.values() if label.size == array.shape[0]]
            entry_names = [str(name) for name in fitting[0]] if len(fitting) == 1 else [f"{key}[{k}]" for k in range(array.shape[0])]
            if several and len(fitting) == 1:  # (two models' layers share one array of names: say whose)
                entry_names = [f"{key}:{name}" for name in entry_names]
            names += entry_names
            spaces += [array[k] for k in range(array.shape[0])]
    if not spaces:
        raise ValueError(f"{argument}={os.fspath(path)!r} holds no 2-D or 3-D numeric array (a space is items x features)")
    return tuple(names), spaces


def _checked(value, argument, metric):
    """The names, the spaces as given, and the checked spaces of a collection (``labelled``)."""
    names, arrays = labelled(value, argument)
    keyed = isinstance(value, dict)
    return names, arrays, [
        _validate.items(array, f"{argument}[{name!r}]" if keyed else f"{argument}[{name}]", metric)
        for name, array in zip(names, arrays)
    ]


@_plan.planner(rsa_matrix)
def _plan_rsa_matrix(spaces, others, method, metric, client):
    method = _validate.choice(method, "method", MATRIX_METHODS)
    metric = _validate.choice(metric, "metric", _validate.DISTANCE_METRICS)
    if method == "cka" and metric != "cosine":
        raise ValueError(
            f"metric={metric!r} with method='cka': CKA compares the spaces' linear kernels (their rows' dot products "
            f"after centring), not a metric's; leave metric='cosine'"
        )
    client = _tasks.check_client(client)
    checks = "euclidean" if method == "cka" else metric  # (CKA takes rows of zeros)
    row_names, raw_rows, rows = _checked(spaces, "spaces", checks)
    if others is None:
        column_names, raw_columns, columns = row_names, raw_rows, rows
    else:
        column_names, raw_columns, columns = _checked(others, "others", checks)
    everything = list(rows) if others is None else rows + columns
    raw = raw_rows if others is None else raw_rows + raw_columns
    names = [f"spaces[{name!r}]" for name in row_names] + ([] if others is None else [f"others[{name!r}]" for name in column_names])
    for k in range(1, len(everything)):
        # Labelled rows (pandas, Embeddings) in the first space's order, as rsa matches them.
        everything[k] = _validate.matched_rows(raw[0], raw[k], everything[0], everything[k], names=(names[0], names[k]))
        if everything[k].shape[0] != everything[0].shape[0]:
            raise ValueError(
                f"every space must hold the same items: {names[0]} has {everything[0].shape[0]} rows while {names[k]} has "
                f"{everything[k].shape[0]}"
            )
    offset = 0 if others is None else len(rows)
    if others is None:
        cells = [(i, j) for i in range(len(rows)) for j in range(i + 1, len(rows))]
    else:
        # (A space given on both sides is compared with itself exactly: by the object given, before any copy.)
        same = [[raw_rows[i] is raw_columns[j] for j in range(len(columns))] for i in range(len(rows))]
        cells = [(i, offset + j) for i in range(len(rows)) for j in range(len(columns)) if not same[i][j]]
        for i in range(len(rows)):
            for j in range(len(columns)):
                if same[i][j]:
                    everything[offset + j] = everything[i]  # (one object: the finish sets its cell to 1)
    shape = (len(rows), len(columns))
    return _matrix_plan(everything, names, cells, offset, shape, (row_names, column_names), method, metric, client)


def _matrix_plan(spaces, names, cells, offset, shape, labels, method, metric, client):
    """The plan of ``rsa_matrix`` over checked ``spaces`` (rows first, then
    the columns' from ``offset``), computing the score of each cell (i, j)."""
    n = spaces[0].shape[0]
    widths = [space.shape[1] for space in spaces]
    pairs = n * (n - 1) // 2
    layout = (spaces, names, cells, offset, shape)  # (what matrix_permutation_test reads)
    similarity = metric_of(metric).similarity
    available = _plan.Available()
    used = sorted({k for cell in cells for k in cell})
    kept = _vectors_bytes(spaces, used, method, metric)
    gram_flops = _gram.spaces_flops(n, widths, cells) if cells else 0
    vector_flops = pairs * sum(widths[k] for k in used)
    what = f"rsa_matrix(method={method!r}, metric={metric!r}) of {shape[0]} x {shape[1]} spaces over {n:,} items"

    def finish(scores):
        matrix = np.full(shape, np.nan)
        for (i, j), score in zip(cells, scores):
            matrix[i, j - offset] = score
            if offset == 0:
                matrix[j, i] = score
        for i in range(shape[0]):  # (a space against itself: exactly 1)
            for j in range(shape[1]):
                if spaces[i] is spaces[offset + j]:
                    matrix[i, j] = 1.0
        return MatrixResult(matrix, *labels, method, metric)

    if method == "cka":
        from . import _cka

        if client is not None:
            raise ValueError("client= with method='cka': CKA's products run here (call it without client)")
        products = _cka._with_own(cells, len(spaces))
        float32 = _cka._all_float32(spaces)

        def scores():
            found = _cka._scores(spaces, names, products, False) if cells else {}
            return [found[cell] for cell in cells]

        flops = n * sum(widths[k] * widths[l] for k, l in products)
        return _plan.Plan(
            "rsa_matrix",
            lambda: [Stage("score", f"linear CKA: each space's centred feature Gram once, then {len(cells):,} cross products",
                           _cka._memory_of(n, widths, products, float32, False, spaces), flops, 2 * n * sum(widths) * 8)],
            _cka._memory_of(n, widths, products, float32, False, spaces),
            what, ["use fewer features"], _threads.pair_work(n, sum(widths)),
            lambda: finish(scores()),
            choices={"route": CKA, "layout": layout},
            available=available,
        )
    if method == "pearson" and similarity and (gram_flops <= vector_flops or not available.fit(kept) or client is not None):
        # Only the spaces some cell takes (a space given on both sides is one of them).
        position = {k: p for p, k in enumerate(used)}
        taken, taken_cells = [spaces[k] for k in used], [(position[i], position[j]) for i, j in cells]
        taken_widths = [space.shape[1] for space in taken]
        float32 = all(space.dtype == np.float32 for space in taken)
        tasks = _tasks.Tasks(
            client, len(_gram.task_ranges(n)),
            _gram.spaces_task_memory_bytes(taken_widths, n, float32, taken_cells, taken) if cells else 0,
            sum(space.nbytes for space in taken), _gram.spaces_result_bytes(taken_widths, taken_cells) if cells else 0,
        )
        here = _gram.spaces_memory_bytes(taken_widths, n, float32, taken_cells, taken) if cells else 0
        path = (
            f"Gram identity over {len(used)} spaces: each space's Gram once, {len(cells):,} cross products, in "
            f"{tasks.count:,} row-range tasks, no pairs" + _sources.streamed(taken)
        )
        names_taken = [names[k] for k in used]
        return _plan.Plan(
            "rsa_matrix",
            lambda: [Stage("score", path, here, gram_flops, 4 * n * sum(taken_widths) * 8), *tasks.stages()],
            tasks.memory_bytes(here),
            what, ["use fewer features, or fewer spaces at once"], _threads.pair_work(n, sum(taken_widths)),
            lambda: finish(_gram_scores(taken, names_taken, taken_cells, metric_of(metric).centred, tasks.executor())),
            choices={"route": GRAM, "tasks": tasks, "layout": layout},
            available=available,
        )
    if client is None and available.fit(kept):
        return _plan.Plan(
            "rsa_matrix",
            lambda: _vectors_stages(spaces, used, cells, method, metric, kept),
            kept,
            what,
            lambda: [f"fewer spaces at once: each kept vector takes {kept // max(len(used), 1) / 2**20:,.0f} MiB"],
            _threads.pair_work(n, sum(widths), ranked=method in _validate.RANK_METHODS),
            lambda: finish(_vector_scores(spaces, names, used, cells, method, metric)),
            choices={"route": VECTORS, "layout": layout},
            available=available,
        )
    from . import api  # (each cell as an rsa call of its own)

    plans = [
        api.rsa_plan(spaces[i], spaces[j], method, metric, names=(names[i], names[j]), exact=None, tolerance=None, client=client)
        for i, j in cells
    ] if client is None else [api._plan_rsa(spaces[i], spaces[j], method, metric, "raise", None, 1e-3, False, client) for i, j in cells]
    return _plan.Plan(
        "rsa_matrix",
        lambda: [Stage("cells", f"{len(cells):,} rsa calls, one a cell: {plans[0].path if plans else 'none'}")],
        max((plan.memory_bytes for plan in plans), default=0),
        what,
        lambda: plans[0].alternatives if plans else [],
        _threads.pair_work(n, sum(widths)),
        lambda: finish([plan.execute() for plan in plans]),
        choices={"route": CELLS, "cells": plans, "layout": layout},
        available=available,
    )


def _gram_scores(spaces, names, cells, centre, executor):
    """Each cell's Pearson score by the Gram identity over all the spaces at once."""
    if not cells:
        return []
    moments = _gram.spaces_moments(spaces, centre, cells, executor)
    scores = []
    for i, j in cells:
        count, sum_x, sum_y, sum_xx, sum_yy, sum_xy = moments[(i, j)]
        ss_x, ss_y = sum_xx - sum_x * sum_x / count, sum_yy - sum_y * sum_y / count
        # (as _correlation.gram_pearson checks: cosines are at most 1 in magnitude)
        _validate.varies(ss_x, count, 1.0, np.float64, f"the similarities of {names[i]}")
        _validate.varies(ss_y, count, 1.0, np.float64, f"the similarities of {names[j]}")
        scores.append(float(pearson_from_moments(ss_x, ss_y, sum_xy - sum_x * sum_y / count)))
    return scores


def _kept_dtype(n, method):
    """What VECTORS keeps of a space for ``method``: its float64 values
    (Pearson), twice its ranks as integers (Spearman), float64 ranks (Kendall)."""
    pairs = n * (n - 1) // 2
    return doubled_dtype(pairs) if method == "spearman" else np.dtype(np.float64)


def _making_bytes(spaces, used, method, metric):
    """Peak memory of making one more space's vector beside those kept: its
    condensed values, and for the rank methods the ranking scratch (and
    Kendall's counting while a cell runs)."""
    n = spaces[0].shape[0]
    pairs = n * (n - 1) // 2
    making = 0
    for k in used:
        dtype = _pairs.pairs_dtype(spaces[k], metric, method)
        scratch = rank_scratch_bytes(pairs, dtype) if method in _validate.RANK_METHODS else 0
        making = max(making, _pairs.pairs_bytes(spaces[k], metric, method) + scratch)
    if method in ("kendall", "tau-a"):
        making = max(making, counting_bytes(pairs))
    return making


def _vectors_bytes(spaces, used, method, metric):
    """Peak memory of the VECTORS route: a kept vector per space used, and
    beside them the making of one more (``_making_bytes``)."""
    if not used:
        return 0
    n = spaces[0].shape[0]
    return len(used) * n * (n - 1) // 2 * _kept_dtype(n, method).itemsize + _making_bytes(spaces, used, method, metric)


def _vectors_stages(spaces, used, cells, method, metric, kept):
    """The stages of the VECTORS route."""
    n = spaces[0].shape[0]
    pairs = n * (n - 1) // 2
    making = [_pairs.stage(f"pairs of space {k}", spaces[k], metric, _pairs.tile_side(n, spaces[k].shape[1]), method) for k in used]
    holding = {"pearson": "its values, float64", "spearman": f"twice its ranks, {_kept_dtype(n, method)}"}.get(method, "its ranks, float64")
    moved = len(used) * pairs * _correlation.RANK_BYTES_MOVED if method in _validate.RANK_METHODS else 0
    return [
        Stage(
            "pairs",
            f"each of {len(used)} spaces' condensed vector once ({making[0].path}), kept as {holding}",
            kept, sum(stage.flops for stage in making), sum(stage.bytes_moved for stage in making) + moved,
        ),
        Stage("score", f"{len(cells):,} cells correlated from the kept vectors", 0, len(cells) * pairs, 2 * len(cells) * pairs * 8),
    ]


def _checked_condensed(X, name, method, metric):
    """The condensed vector rsa correlates for space X (``_pairs.condensed``,
    converted as ``condensed_pair`` converts it for ``method``), checked to
    vary as rsa checks it."""
    X = _pairs._loaded(X, metric, method)
    if metric_of(metric).similarity:
        X = X.astype(_pairs.pairs_dtype(X, metric, method), copy=False)
    values = _pairs.condensed(X, metric, _pairs.tile_side(X.shape[0], X.shape[1]), name=name)
    _correlation.check_varies(values, f"the similarities of {name}", metric_of(metric).rounding_floor)
    return values


def _vector_scores(spaces, names, used, cells, method, metric):
    """Each cell's score from one kept vector per space (VECTORS)."""
    n = spaces[0].shape[0]
    pairs = n * (n - 1) // 2
    floor = metric_of(metric).rounding_floor
    kept = {}
    scratch = None
    for k in used:
        values = _checked_condensed(spaces[k], names[k], method, metric)
        if method == "pearson":
            kept[k] = values
            continue
        if scratch is None or scratch[0].dtype != values.dtype:
            scratch = rank_scratch(pairs, values.dtype)
        kept[k] = np.empty(pairs, _kept_dtype(n, method))
        (doubled_ranks_into if method == "spearman" else average_ranks_into)(values, kept[k], *scratch, PARTS)
        del values
    del scratch
    if method == "spearman":
        squares = {k: doubled_cross(kept[k], kept[k]) for k in used}
    scores = []
    for i, j in cells:
        a, b = kept[i], kept[j]
        if method == "pearson":
            names_ij = (f"the similarities of {names[i]}", f"the similarities of {names[j]}")
            scores.append(_correlation.correlate(a, b, "pearson", names_ij, floor=floor))
        elif method == "spearman":
            scores.append(float(pearson_from_moments(squares[i], squares[j], doubled_cross(a, b))))
        else:
            scores.append(float(kendall_from_ranks(a, b, method == "kendall")))
    return scores


def matrix_permutation_test(spaces, others=None, method="pearson", metric="cosine", permutations=999, alternative="greater",
                            seed=None, keep_null=False):
    """Permutation test of a whole :func:`rsa_matrix`, one permutation of the items a draw shared by every cell.

    Each draw permutes the items of the column spaces (``others``, or for a
    matrix of ``spaces`` against themselves the later space of each pair)
    and scores every cell again; so each cell gets its own p-value, and the
    largest statistic of each draw gives the max-statistic null: family-wise
    p-values that answer "is the best-matching pair better than chance,
    given that it was picked as the best?" (Nichols & Holmes 2002).  The
    draws are those :func:`permutation_test` makes from the same seed, so a
    cell's p-value equals ``permutation_test`` of its two spaces.

    Each space's condensed vector is made once and kept standardised (its
    values, or its average ranks for Spearman); a draw then costs one gather
    pass over the pairs per cell.  Memory: a float64 vector per space
    (``fastrsa.plan`` says how much).

    Parameters
    ----------
    spaces, others, metric
        As for :func:`rsa_matrix`.
    method : {"pearson", "spearman"}
    permutations : int
        Draws of the null (at least 1).
    alternative : {"greater", "two-sided", "less"}
        "greater": a cell is significant where its score is higher than the
        permuted ones (the usual question of a layer sweep); "two-sided"
        compares magnitudes (the max-statistic null then takes the largest
        magnitude); "less" the lowest scores.
    seed : None, int, numpy.random.Generator or numpy.random.SeedSequence
        As for :func:`permutation_test`.
    keep_null : bool
        Keep every cell's permuted statistics in the result.

    Returns
    -------
    MatrixPermutationResult
        ``statistic`` (a :class:`MatrixResult`), ``pvalues``,
        ``familywise_pvalues``, ``null_max``.

    Examples
    --------
    >>> import numpy as np, fastrsa
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 10))
    >>> spaces = {"x": X, "x noisy": X + rng.standard_normal((40, 10)), "other": rng.standard_normal((40, 10))}
    >>> result = fastrsa.matrix_permutation_test(spaces, permutations=199, seed=1)
    >>> print(result.familywise_pvalues.round(3))
    [[  nan 0.005 1.   ]
     [0.005   nan 0.925]
     [1.    0.925   nan]]
    """
    return _plan_matrix_permutation_test(spaces, others, method, metric, permutations, alternative, seed, keep_null).execute()


@_plan.planner(matrix_permutation_test)
def _plan_matrix_permutation_test(spaces, others, method, metric, permutations, alternative, seed, keep_null):
    from . import stats

    method, permutations = stats._check_resampling(method, permutations, "permutations")
    alternative = _validate.choice(alternative, "alternative", stats.ALTERNATIVES)
    root = _validate.seed_sequence(seed)
    score = _plan_rsa_matrix(spaces, others, method, metric, None)
    spaces_checked, names, cells, offset, shape = score.choices["layout"]
    n = spaces_checked[0].shape[0]
    pairs = n * (n - 1) // 2
    used = sorted({k for cell in cells for k in cell})
    kept = len(used) * pairs * 8
    making = _making_bytes(spaces_checked, used, method, metric) + (8 * pairs if method == "spearman" else 0)  # (+ float64 ranks)
    batch = max((size for _, size in stats.batch_sizes(n, permutations)), default=0)
    null = 8 * permutations * (len(cells) + 1) + (8 * permutations * shape[0] * shape[1] if keep_null else 0)
    needed = max(score.memory_bytes, kept + max(making, 4 * batch * n + 8 * batch)) + null
    what = f"matrix_permutation_test of {shape[0]} x {shape[1]} spaces over {n:,} items with {permutations:,} permutations"

    def execute():
        statistic = score.execute()
        null_cells = _matrix_null(spaces_checked, names, used, cells, method, metric, n, permutations, root)
        return _matrix_result(statistic, null_cells, cells, offset, shape, permutations, alternative, method, keep_null)

    stages = lambda: [  # noqa: E731
        *score.stages,
        Stage("null", f"{permutations:,} permutations shared by {len(cells):,} cells: each space's standardised "
              f"{'ranks' if method == 'spearman' else 'values'} kept, one gather pass a cell a permutation", kept + null,
              permutations * len(cells) * pairs, permutations * len(cells) * pairs * 16),
    ]
    return _plan.Plan(
        "matrix_permutation_test", stages, needed, what, ["fewer spaces at once, or fewer items"],
        _threads.pair_work(n, sum(space.shape[1] for space in spaces_checked)) * 2 + permutations * len(cells) * pairs,
        execute, choices={"score": score},
    )


def _standardised(spaces, names, used, method, metric, n):
    """Each used space's condensed vector (Spearman: its average ranks) less
    its mean, over its length: their products summed over the pairs are the
    correlations, under any permutation of one of them."""
    pairs = n * (n - 1) // 2
    vectors = {}
    for k in used:
        values = _checked_condensed(spaces[k], names[k], method, metric)
        if method == "spearman":
            ranks = np.empty(pairs)
            average_ranks_into(values, ranks, *rank_scratch(pairs, values.dtype), PARTS)
            values = ranks
        values = values.astype(np.float64, copy=False)  # (our own vector: float64 already, but for float32 similarities)
        values -= values.mean()
        values /= np.sqrt(values @ values)
        vectors[k] = values
    return vectors


def _matrix_null(spaces, names, used, cells, method, metric, n, permutations, root):
    """Every cell's permuted statistics (cells x permutations): the column
    space's items permuted, the same permutations for every cell."""
    from . import stats

    vectors = _standardised(spaces, names, used, method, metric, n)
    null = np.empty((len(cells), permutations))
    done = 0
    for batch in stats._permutations(n, permutations, root):
        for c, (i, j) in enumerate(cells):
            permuted_cross_products(vectors[i], vectors[j], batch, null[c, done : done + len(batch)])
        done += len(batch)
    return np.clip(null, -1.0, 1.0)


def _matrix_result(statistic, null_cells, cells, offset, shape, permutations, alternative, method, keep_null):
    """The p-values of every cell and the max-statistic family-wise ones."""
    from . import stats

    observed = np.array([statistic.matrix[i, j - offset] for i, j in cells])
    signed = {"greater": lambda v: v, "less": lambda v: -v, "two-sided": np.abs}[alternative]
    null_max = signed(null_cells).max(axis=0) if cells else np.empty(0)
    pvalues, familywise = np.full(shape, np.nan), np.full(shape, np.nan)
    full = np.full((permutations, *shape), np.nan) if keep_null else None
    for c, (i, j) in enumerate(cells):
        p = stats._pvalue(null_cells[c], observed[c], alternative)
        fwe = (np.count_nonzero(null_max >= signed(observed[c]) - stats.TIE_TOLERANCE) + 1) / (permutations + 1)
        for row, column in ((i, j - offset), (j, i)) if offset == 0 else ((i, j - offset),):
            pvalues[row, column], familywise[row, column] = p, fwe
            if keep_null:
                full[:, row, column] = null_cells[c]
    return MatrixPermutationResult(statistic, pvalues, familywise, permutations, alternative, method, null_max, full)
