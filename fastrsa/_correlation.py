"""The correlation engine: moments, ranks, Kendall's counting, and the Gram
identity's Pearson.

Every score fastrsa returns comes from here: ``correlate`` for two condensed
vectors (Pearson from checked moments, Spearman from the ranks' moments,
Kendall from the ranks' pair counts), ``gram_pearson`` for Pearson without
pairs.  Each checks that what it correlates varies, naming it, before it
divides.  ``rank_bytes`` is the memory the rank methods add.
"""

import numpy as np

from . import _gram, _validate
from ._kernels.correlate import pearson_from_moments, safe_moments
from ._kernels.kendall import counting_bytes, kendall_from_ranks
from ._kernels.rank import PARTS, average_ranks_into, rank_scratch, rank_scratch_bytes, spearman_moments_into
from ._plan import Stage


def rank_bytes(size, itemsize, in_place, method):
    """Memory a rank method adds to two vectors of ``size`` values: the shared
    scratch, float64 ranks unless they overwrite float64 vectors (one vector
    of them for Spearman, two for Kendall's tau), and for Kendall's tau the
    three integer vectors of its counting (while the sorting scratch is
    already free)."""
    scratch = rank_scratch_bytes(size, np.float64 if itemsize == 8 else np.float32)
    if method != "spearman":
        scratch = max(scratch, counting_bytes(size))
    rank_vectors = 1 if method == "spearman" else 2
    return scratch + (0 if in_place and itemsize == 8 else rank_vectors * size * 8)


def checked_moments(a, b, names=("a", "b"), floor=0.0):
    """``((ss_a, ss_b, cross), (scale_a, scale_b))`` of two checked vectors,
    after checking that each varies: the sums of a * scale_a and b * scale_b,
    powers of two that are 1.0 unless the vector's sums of squares would
    leave float64's range (see ``safe_moments``).  The check looks at the
    values even for the rank methods: values equal up to rounding would
    otherwise rank as noise.  Rounding is measured against the vectors'
    means, or ``floor`` where that is larger (``Metric.rounding_floor``)."""
    mean_a, mean_b, ss_a, ss_b, cross, scale_a, scale_b = safe_moments(a, b)
    _validate.varies(ss_a, a.size, max(abs(mean_a), floor * scale_a), a.dtype, names[0])
    _validate.varies(ss_b, b.size, max(abs(mean_b), floor * scale_b), b.dtype, names[1])
    return (ss_a, ss_b, cross), (scale_a, scale_b)


def _rank_inputs(a, b):
    """Two checked vectors in one dtype for ranking, and the shared scratch."""
    if a.dtype != b.dtype:
        a, b = a.astype(np.float64, copy=False), b.astype(np.float64, copy=False)
    return a, b, rank_scratch(a.size, a.dtype)


def _rank_vector(values, own):
    """Where the float64 ranks of ``values`` go: over them when ``own`` (the
    caller's scratch) and float64, or a new vector."""
    return values if own and values.dtype == np.float64 else np.empty(values.size)


def ranked(a, b, own=False):
    """The float64 average ranks of two checked vectors.  With ``own=True``
    the vectors are the caller's scratch, and float64 ones are overwritten."""
    a, b, scratch = _rank_inputs(a, b)
    ranks = []
    for values in (a, b):
        ranks_of = _rank_vector(values, own)
        average_ranks_into(values, ranks_of, *scratch, PARTS)
        ranks.append(ranks_of)
    return ranks


def spearman_moments(a, b, own=False, keep_ranks=False):
    """``((ss_a, ss_b, cross), ranks_a, ranks_b)`` for two checked vectors:
    the centred sums of squares and products of their average ranks (b's
    ranks are summed as they are found, not stored, unless ``keep_ranks``;
    ``ranks_b`` is then None).  ``own`` as for ``ranked``."""
    a, b, scratch = _rank_inputs(a, b)
    ranks_a = _rank_vector(a, own)
    ranks_b = _rank_vector(b, own) if keep_ranks else np.empty(0)
    sums = spearman_moments_into(a, b, ranks_a, ranks_b, *scratch, PARTS)
    return sums, ranks_a, ranks_b if keep_ranks else None


def correlate(a, b, method, names=("a", "b"), own=False, floor=0.0):
    """Pearson, Spearman or Kendall correlation of two checked vectors
    (``own`` as for ``ranked``, ``floor`` for ``checked_moments``)."""
    (ss_a, ss_b, cross), _ = checked_moments(a, b, names, floor)
    if method == "spearman":
        (ss_a, ss_b, cross), _, _ = spearman_moments(a, b, own)
    elif method in _validate.RANK_METHODS:
        ranks = ranked(a, b, own)
        return float(kendall_from_ranks(ranks[0], ranks[1], method == "kendall"))
    return float(pearson_from_moments(ss_a, ss_b, cross))


def check_varies(values, name, floor):
    """``checked_moments``'s check of one vector (the same sums, bit for bit)."""
    mean, _, sum_of_squares, _, _, scale, _ = safe_moments(values, values)
    _validate.varies(sum_of_squares, values.size, max(abs(mean), floor * scale), values.dtype, name)


def pearson_of_moments(count, sum_x, sum_y, sum_xx, sum_yy, sum_xy):
    """Pearson from the pair sums of ``_gram.pair_moments`` (no check)."""
    ss_x = sum_xx - sum_x * sum_x / count
    ss_y = sum_yy - sum_y * sum_y / count
    return float(pearson_from_moments(ss_x, ss_y, sum_xy - sum_x * sum_y / count))


def gram_pearson(X, Y, centre, names=("the similarities of X", "the similarities of Y"), check=True, executor=None,
                 pending=None):
    """Pearson correlation of the pairs' cosines (of centred rows with
    ``centre``) of two checked spaces, by the Gram identity (``_gram``):
    no pair is formed.  Checks that each space's pairs vary, naming them
    ``names``, unless ``check`` is False (a permutation of Y's rows, whose
    pairs' spread is Y's, already checked); clipped to [-1, 1] against
    rounding.  ``executor``: where the tasks run (``_tasks``; None: here);
    ``pending``: the metric spaces on disk are still to be checked for
    (``_gram.pair_moments``)."""
    count, sum_x, sum_y, sum_xx, sum_yy, sum_xy = _gram.pair_moments(X, Y, centre, executor, pending)
    ss_x = sum_xx - sum_x * sum_x / count
    ss_y = sum_yy - sum_y * sum_y / count
    if check:
        # Cosines are at most 1 in magnitude: that is the scale rounding is measured against.
        _validate.varies(ss_x, count, 1.0, np.float64, names[0])
        _validate.varies(ss_y, count, 1.0, np.float64, names[1])
    return float(pearson_from_moments(ss_x, ss_y, sum_xy - sum_x * sum_y / count))


# What each method's score is, as the plan says it.
_SCORES = {
    "pearson": "Pearson from the pairs' moments",
    "spearman": "Spearman: both ranked by bucket sort, Pearson of the ranks",
    "kendall": "Kendall's tau-b: both ranked, then pair counts by merge sort",
    "tau-a": "Kendall's tau-a: both ranked, then pair counts by merge sort",
}
# Bytes moved per value (docs/performance.md): a pass of the moments reads
# it; ranking it streams about 64 bytes; Kendall's merge sort reads and
# writes its ranks and counts once per level.
_MOMENT_BYTES = 8
RANK_BYTES_MOVED = 64


def stage(size, itemsize, method, in_place):
    """The plan's stage of correlating two vectors of ``size`` values of
    ``itemsize`` bytes (``in_place``: float64 ones may take their ranks)."""
    memory = rank_bytes(size, itemsize, in_place, method) if method in _validate.RANK_METHODS else 0
    moved = 2 * size * _MOMENT_BYTES
    if method in _validate.RANK_METHODS:
        moved += 2 * size * RANK_BYTES_MOVED
    if method in ("kendall", "tau-a"):
        moved += 2 * size * 16 * max(1, int(np.log2(max(size, 2))))
    return Stage("score", _SCORES[method], memory, 3 * size, moved)
