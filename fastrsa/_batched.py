"""Batched small RSAs: ``rsa(Xs, Ys)`` with a leading batch axis, ``compare``
of rows of condensed vectors -- the searchlight and time-resolved cases.

A batch is B small spaces of one shape (B x N x D); the other side is a
batch of the same B and N, or one space (N x D) that every item is compared
with, whose vector is made once.  The items are computed in chunks of
``_tuning.BATCH_BYTES`` of vectors (``chunk_items``), each chunk one launch
of ``_kernels.batched`` over all threads: the items' vectors (or ranks),
then every item's score.  Returns B scores.

Each item's score equals ``rsa`` of that item to rounding (its pairs are
summed in another order, in float64): Pearson to about 1e-15; the rank
methods exactly where no two of its similarities are within rounding of each
other without being equal, and pairs of bitwise-equal rows tie as in rsa.
"""

import numba
import numpy as np

from . import _plan, _sources, _tuning, _validate
from ._kernels.batched import CORRELATIONS, COSINES, EUCLIDEAN, SQEUCLIDEAN, batch_moments_into, batch_ranks_into, batch_spreads_into, batch_vectors_into
from ._kernels.kendall import counting_bytes, kendall_from_ranks
from ._metrics import of as metric_of
from ._plan import Stage

KINDS = {"cosine": COSINES, "correlation": CORRELATIONS, "euclidean": EUCLIDEAN, "sqeuclidean": SQEUCLIDEAN}


def is_batch(*values):
    """Whether any of ``values`` has a leading batch axis (3-D spaces)."""
    return any(getattr(value, "ndim", None) == 3 or _nested_depth(value) == 3 for value in values)


def rows_of_vectors(*values):
    """Whether any of ``values`` holds several condensed vectors (a 2-D array)."""
    return any(getattr(value, "ndim", None) == 2 or _nested_depth(value) == 2 for value in values)


def _nested_depth(value):
    """How deep lists of lists go (a batch written as nested lists)."""
    depth = 0
    while isinstance(value, (list, tuple)) and value:
        value, depth = value[0], depth + 1
    return depth


def chunk_items(count, pairs):
    """Items per chunk: two float64 vectors an item within ``_tuning.BATCH_BYTES``."""
    return max(1, min(count, _tuning.BATCH_BYTES // (16 * pairs)))


def memory_bytes(count, n, widths, pairs, method, threads):
    """Peak memory of a batched call: a chunk's two vectors (``chunk_items``),
    a shared side's one vector and the chunk's moments; each thread's
    scratch (an item's rows and their transpose, the widest side's, and one
    vector); the B scores; and Kendall's counting for one item."""
    chunk = chunk_items(count, pairs)
    # An item's rows (twice, for distances), their products, and a vector with argsort's order and merge buffer.
    scratch = threads * 8 * (2 * n * max(widths) + n * n + 2 * n + 3 * pairs)
    kendall = counting_bytes(pairs) if method in ("kendall", "tau-a") else 0
    return 8 * (2 * chunk * pairs + pairs + 5 * chunk + count) + scratch + kendall


def rsa_plan(X, Y, method, metric, nan_policy, client, function="rsa"):
    """The plan of ``rsa`` where X or Y is a batch (checked here)."""
    if nan_policy != "raise":
        raise ValueError("nan_policy='omit' is not supported for a batch of spaces: drop the items with a NaN from every space first")
    if client is not None:
        raise ValueError("client= with a batch of spaces: batches run here (a cluster pays for large N, not many small ones)")
    sides = []
    for value, name in ((X, "X"), (Y, "Y")):
        if getattr(value, "ndim", None) == 3 or _nested_depth(value) == 3:
            sides.append(_validate.batch(value, name, metric))
        else:
            single = _sources.whole(_validate.items(value, name, metric))  # (a space on disk: one small space, read whole)
            sides.append(single[None])
    Xs, Ys = sides
    if Xs.shape[1] != Ys.shape[1]:
        raise ValueError(
            f"X and Y must hold the same items: each space of X has {Xs.shape[1]} rows while each of Y has {Ys.shape[1]}"
        )
    if Xs.shape[0] != Ys.shape[0] and 1 not in (Xs.shape[0], Ys.shape[0]):
        raise ValueError(
            f"X and Y must hold batches of the same length (or one be a single space): X has {Xs.shape[0]} spaces while "
            f"Y has {Ys.shape[0]}"
        )
    count, n = max(Xs.shape[0], Ys.shape[0]), Xs.shape[1]
    pairs = n * (n - 1) // 2
    threads = _plan_threads()
    needed = memory_bytes(count, n, (Xs.shape[2], Ys.shape[2]), pairs, method, threads)
    shared = " (Y's vector made once)" if Ys.shape[0] == 1 < count else " (X's vector made once)" if Xs.shape[0] == 1 < count else ""
    stage = Stage(
        "batch",
        f"{count:,} RSAs of {n:,} items, {metric} pairs by rank-one updates, {chunk_items(count, pairs):,} items a launch "
        f"over the threads{shared}; {method} per item",
        needed, count * pairs * (Xs.shape[2] + Ys.shape[2]), count * pairs * 8 * 4,
    )
    return _plan.Plan(
        function,
        [stage],
        needed,
        f"{count:,} RSAs of {n:,} items",
        ["fewer items per space"],
        count * pairs * (Xs.shape[2] + Ys.shape[2]),
        lambda: scores(Xs, Ys, method, metric),
        choices={"route": "batch", "items": count},
    )


def _plan_threads():
    return numba.get_num_threads()


def _check_spreads(spreads, count, floor, dtype, name, first=None):
    """rsa's check that each vector's values vary (``_validate.varies``), for
    the rows of ``spreads`` (mean, centred sum of squares) at once; the
    error names the first that does not, ``name[first + k]`` (or ``name``
    where ``first`` is None)."""
    eps, tiny = _validate._EPS_TINY[np.dtype(dtype)]
    scales = np.maximum(np.abs(spreads[:, 0]), floor)
    flat = np.sqrt(np.maximum(spreads[:, 1], 0.0) / count) <= 16 * eps * np.maximum(scales, tiny)
    if flat.any():
        k = int(np.argmax(flat))
        _validate.varies(spreads[k, 1], count, scales[k], dtype, name if first is None else f"{name}[{first + k}]")


def _pearson(moments):
    """``pearson_from_moments`` of each row (ss_a, ss_b, cross), clipped to [-1, 1]."""
    return np.clip(moments[:, 2] / np.sqrt(moments[:, 0] * moments[:, 1]), -1.0, 1.0)


def _side_vectors(Zs, start, stop, kind, ranked, buffer, spread):
    """The vectors (or ranks) of items start:stop of a side, into ``buffer``;
    a side of one space gives its one vector for every item."""
    if Zs.shape[0] == 1:
        return buffer[:1]
    size = stop - start
    batch_vectors_into(Zs[start:stop], kind, ranked, buffer[:size], spread[:size], numba.get_num_threads())
    return buffer[:size]


def scores(Xs, Ys, method, metric):
    """B scores of the items of checked batches Xs and Ys (either may hold one space)."""
    count, n = max(Xs.shape[0], Ys.shape[0]), Xs.shape[1]
    pairs = n * (n - 1) // 2
    kind, ranked = KINDS[metric], method in _validate.RANK_METHODS
    chunk = chunk_items(count, pairs)
    buffers = [np.empty((1 if Z.shape[0] == 1 else chunk, pairs)) for Z in (Xs, Ys)]  # 8 chunk N(N-1)/2 bytes each
    spreads = [np.empty((1 if Z.shape[0] == 1 else chunk, 2)) for Z in (Xs, Ys)]
    floor = metric_of(metric).rounding_floor
    for Z, buffer, spread, name in zip((Xs, Ys), buffers, spreads, ("X", "Y")):
        if Z.shape[0] == 1:  # (one space: its vector once)
            batch_vectors_into(Z, kind, ranked, buffer, spread, 1)
            _check_spreads(spread, pairs, floor, np.float64, f"the similarities of {name}")
    result = np.empty(count)
    moments = np.empty((chunk, 3))
    for start in range(0, count, chunk):
        stop = min(start + chunk, count)
        a = _side_vectors(Xs, start, stop, kind, ranked, buffers[0], spreads[0])
        b = _side_vectors(Ys, start, stop, kind, ranked, buffers[1], spreads[1])
        for Z, spread, name in zip((Xs, Ys), spreads, ("X", "Y")):
            if Z.shape[0] > 1:
                _check_spreads(spread[: stop - start], pairs, floor, np.float64, f"the similarities of {name}", start)
        if method in ("kendall", "tau-a"):
            for k in range(stop - start):
                result[start + k] = kendall_from_ranks(a[min(k, len(a) - 1)], b[min(k, len(b) - 1)], method == "kendall")
            continue
        if len(a) == 1 and len(b) > 1:  # (the kernel pairs a batch with one row on the right)
            a, b = b, a
        batch_moments_into(a, b, moments[: stop - start])
        result[start:stop] = _pearson(moments[: stop - start])
    return result


def compare_plan(a, b, method, nan_policy):
    """The plan of ``compare`` where a or b holds several vectors (rows)."""
    if nan_policy != "raise":
        raise ValueError("nan_policy='omit' is not supported for rows of vectors: compare them one at a time")
    rows = []
    for value, name in ((a, "a"), (b, "b")):
        if hasattr(value, "index") and hasattr(value, "to_numpy"):  # (pandas: labels a row path would not match)
            raise ValueError(
                f"{name} is a labelled table ({type(value).__name__}); rows of vectors are compared by position: pass "
                f"NumPy arrays (two Series are matched by their index, one pair at a time)"
            )
        array = _validate._float_array(value, name, ndim=2 if getattr(value, "ndim", _nested_depth(value)) == 2 else 1)
        if array.ndim == 2 and array.shape[0] == 0:
            raise ValueError(f"{name} holds no vectors: its first axis (the rows) has length 0")
        if array.ndim == 2 and array.shape[0] == array.shape[1] > 2 and not np.diagonal(array).any() and np.array_equal(array, array.T):
            raise ValueError(
                f"{name} looks like a square RDM ({array.shape[0]} x {array.shape[0]}, symmetric, zero diagonal); compare "
                f"takes condensed vectors (scipy.spatial.distance.squareform(rdm, checks=False)), or 2-D arrays of one "
                f"condensed vector a row"
            )
        rows.append(array if array.ndim == 2 else array[None])
    A, B = rows
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"a and b must hold vectors of one length: a's have {A.shape[1]} values while b's have {B.shape[1]}")
    if A.shape[0] != B.shape[0] and 1 not in (A.shape[0], B.shape[0]):
        raise ValueError(f"a and b must hold the same number of vectors (or one a single vector): {A.shape[0]} and {B.shape[0]}")
    count, size = max(A.shape[0], B.shape[0]), A.shape[1]
    if size < 2:
        raise ValueError(f"a and b hold vectors of {size} value; a correlation needs at least 2")
    return _plan.Plan(
        "compare",
        [Stage("score", f"{count:,} correlations of {size:,} values ({method}), in parallel over the rows", 0, 3 * count * size)],
        compare_bytes(A, B, method),
        f"compare of {count:,} rows of {size:,} values",
        [],
        count * size,
        lambda: compare_rows(A, B, method),
        choices={"route": "batch", "items": count},
    )


def compare_bytes(A, B, method):
    """Peak memory of ``compare_rows``: float64 copies of float32 rows, the
    spreads and moments (a few values a row), and for the rank methods the
    float64 ranks of both (with each row's sort order and merge buffer)."""
    copies = sum(8 * Z.size for Z in (A, B) if Z.dtype != np.float64)
    ranks = 8 * (A.size + B.size) + 16 * A.shape[1] * _plan_threads() if method != "pearson" else 0
    return copies + ranks + 8 * 5 * (A.shape[0] + B.shape[0])


def compare_rows(A, B, method):
    """The correlation of each row of A with B's (B's only row, where it has one)."""
    count, size = max(A.shape[0], B.shape[0]), A.shape[1]
    dtypes = A.dtype, B.dtype
    A, B = A.astype(np.float64, copy=False), B.astype(np.float64, copy=False)
    for Z, name, dtype in ((A, "a", dtypes[0]), (B, "b", dtypes[1])):
        spreads = np.empty((Z.shape[0], 2))
        batch_spreads_into(Z, spreads)
        _check_spreads(spreads, size, 0.0, dtype, name, None if Z.shape[0] == 1 else 0)
    if method != "pearson":
        ranked = []
        for Z in (A, B):
            ranks = np.empty(Z.shape)
            batch_ranks_into(Z, ranks)
            ranked.append(ranks)
        A, B = ranked
    if method in ("kendall", "tau-a"):
        return np.array([kendall_from_ranks(A[min(k, len(A) - 1)], B[min(k, len(B) - 1)], method == "kendall") for k in range(count)])
    if A.shape[0] == 1 and count > 1:
        A, B = B, A
    moments = np.empty((count, 3))
    batch_moments_into(A, B, moments)
    return _pearson(moments)
