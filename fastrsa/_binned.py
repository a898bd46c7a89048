"""Spearman rsa at any N in bounded memory: binned ranks over recomputed pairs.

The exact path ranks every pair in memory (about 24 bytes a pair).  This
one keeps no pair.  It computes each space's pairs block by block, as the
condensed vectors' row blocks do (``_kernels/binned.py``), in passes:

1. **Count** (a pass for each space).  The bins are placed by a sample of
   the space's pairs (``_placed``: about as many values fall in each), and
   each value is counted into its bin; a bin keeps its least and largest
   value and how many values equal each.  Where the bound below would
   exceed the tolerance, a space is counted once more with each bin that has
   values between its extremes split over them in proportion to its count
   (``_refined``), as memory allows.
2. **Rank** (one pass over both).  Values equal to their bin's least or
   largest value take their exact average rank; those between, the bin's
   first middle rank plus their place between the two, by value.  The ranks'
   Pearson sums are accumulated pair by pair.

**The bound.**  Only a bin's k middle values can be off, each by at most
k - 1 ranks: so the rank errors e of each space have |e| <= eps = sqrt(sum
of k (k - 1)^2).  Centring does not lengthen e, and a vector a moved by e
turns by at most asin(|e| / |a|); the correlation is the cosine of the angle
between the two spaces' centred ranks, and a cosine moves no more than its
angle, so

    |rho_binned - rho_exact| <= asin(eps_x / |a_x|) + asin(eps_y / |a_y|) + rounding,

with |a| bounded below from the counts (bins' groups counted as ties) and
by |a_binned| - eps.  Every term but the last is known after the count;
docs/algorithms.md has the derivation.  It is a worst case: rank errors
that all push one way.  Measured errors are far smaller (docs/benchmarks-scale.md
has both).

**Tasks.**  Every pass is a map over the same row ranges of about
``_tuning.BINNED_TASK_PAIRS`` pairs each (``row_ranges``: fixed by N); a
task is a pure function of (rows, range) adding counts into its bins (added
exactly, in any order) or returning five sums (added in task order), so the
result does not depend on threads or workers.  Memory (``memory_bytes``):
the bins, each thread's bins and block buffers, and the rows as the blocks
take them -- independent of N but for a few vectors of N.
"""

import math
import warnings
from dataclasses import dataclass

import numba
import numpy as np

from . import _progress, _sources, _tasks, _threads, _tuning, _validate
from ._kernels.binned import (
    AT_LARGEST, AT_LEAST, COLUMNS, COUNT, LARGEST, LEAST, histogram_task, merge_bins, rank_sums_task, sample_values, to_rank_table,
)
from ._kernels.tiles import SQUARED_DISTANCES
from ._metrics import of as metric_of
from ._pairs import _loaded, _tile_rows, as_distances, copies_of, loaded_bytes, pairs_dtype
from ._plan import Stage

_EPSILON = 2.0**-53


class ApproximateScore(float):
    """A score computed from binned ranks: a float, with ``error_bound``,
    the most it can be from the exact score (guaranteed, see
    docs/algorithms.md), ``bins`` the fine bins of each space and
    ``passes`` the passes over the pairs."""

    def __new__(cls, value, error_bound, bins, passes):
        score = super().__new__(cls, value)
        score.error_bound, score.bins, score.passes = error_bound, bins, passes
        return score

    def __repr__(self):
        return f"{float(self)!r} (binned: within {self.error_bound:.2g} of the exact score)"

    def __reduce__(self):
        return ApproximateScore, (float(self), self.error_bound, self.bins, self.passes)


def row_ranges(n, task_pairs=None):
    """The tasks' row ranges ``[(r0, r1), ...]``: consecutive rows whose
    pairs with later rows add up to about ``task_pairs`` each (row i has
    n - 1 - i; default ``_tuning.BINNED_TASK_PAIRS``, or more where that
    would make over ``_tuning.BINNED_MAX_TASKS`` tasks), fixed by n alone."""
    task_pairs = task_pairs or max(_tuning.BINNED_TASK_PAIRS, -(-n * (n - 1) // 2 // _tuning.BINNED_MAX_TASKS))
    ranges, start, pairs = [], 0, 0
    for i in range(n - 1):
        pairs += n - 1 - i
        if pairs >= task_pairs:
            ranges.append((start, i + 1))
            start, pairs = i + 1, 0
    if start < n - 1:
        ranges.append((start, n - 1))
    return ranges


@dataclass
class _Space:
    """One space as the tasks take it (``_pairs._tile_rows``), its bins'
    placement (``binning``: see ``_kernels.binned.bin_of``) and, once
    counted, its bins."""

    rows: np.ndarray
    row_values: np.ndarray
    kind: int
    root: bool
    single: bool
    copies: tuple  # (representative, copied, self values, rows copied): pair_value's
    binning: tuple
    bins: np.ndarray = None  # (fine bins, 6): the columns of _kernels.binned.add_to_bin

    @property
    def fine_bins(self):
        segments, sub_bins = self.binning[2], self.binning[3]
        last = sub_bins[-1] if sub_bins.shape[0] else segments[-1]
        return int(last[0] + last[1])

    def task_arguments(self):
        return (self.rows, self.row_values, self.kind, self.root, self.single, self.copies)

    @property
    def counts(self):
        return self.bins[:, COUNT]

    @property
    def least(self):
        return self.bins[:, LEAST]

    @property
    def largest(self):
        return self.bins[:, LARGEST]

    def middle(self):
        """Each fine bin's values strictly between its least and largest."""
        b = self.bins
        return np.where(b[:, LEAST] < b[:, LARGEST], b[:, COUNT] - b[:, AT_LEAST] - b[:, AT_LARGEST], 0.0)


def value_range(rows, kind, root, distances):
    """``(lo, hi)``, the range the values of rows taken by the tiles can
    take: [-1, 1] for negated similarities, [0, 2] for 1 - similarity, and
    for distances [0, 2R] (squared: [0, 4R^2]), R the largest distance of a
    row from the rows' mean."""
    if kind != SQUARED_DISTANCES:
        return (0.0, 2.0) if distances else (-1.0, 1.0)
    centred = rows - rows.mean(axis=0)
    radius = float(np.sqrt(np.einsum("ij,ij->i", centred, centred).max()))
    hi = 2.0 * radius if root else 4.0 * radius * radius
    return 0.0, max(hi, np.finfo(np.float64).tiny) * (1.0 + 1e-9)


def space(X, metric, fine_bins):
    """A checked space ready for the tasks, with about ``fine_bins`` fine
    bins placed where a sample of its pairs lies (``_placed``)."""
    X = _loaded(X, metric)  # (a space on disk, read whole: the rows are O(N D), the pairs never held)
    distances = as_distances(X, metric)
    (rows, row_values, kind), _ = _tile_rows(X, metric, distances)
    root = metric_of(metric).root
    single = pairs_dtype(X, metric) == np.float32
    arguments = (rows, row_values, kind, root, single, _copies(rows, kind, row_values))
    return _Space(*arguments, _placed(arguments, value_range(rows, kind, root, distances), fine_bins))


def _copies(rows, kind, row_values):
    """``pair_value``'s copies: each row's representative, whether its row
    has copies, the values of pairs of two copies (``copies_of``), and the
    rows with copies, ascending."""
    n = rows.shape[0]
    found = copies_of(rows, kind, row_values)
    if found is None:
        return np.arange(n), np.zeros(n, np.bool_), np.zeros(n), np.zeros(0, np.int64)
    representative, copies, self_values = found
    copied = np.zeros(n, np.bool_)
    copied[copies] = True
    copied[representative[copies]] = True
    return representative, copied, self_values, np.flatnonzero(copied)


_UNSPLIT = np.zeros((0, 4))  # the sub-bins of a binning whose bins are not split again


def _placed(arguments, value_range_, fine_bins):
    """The binning of a space's values placed by a sample of its pairs (the
    same sample for the same rows, whatever the call):
    ``_tuning.BINNED_SEGMENTS`` equal segments over the sample's range
    (widened a little, inside ``value_range_``; values outside fall in the
    end segments, and are counted there like any other), each split into
    bins in proportion to the sample's values in it, about ``fine_bins`` in
    all, so each bin receives about as many values.  The counts, and so the
    bound, are exact whatever the sample: it only places the bins."""
    rows = arguments[0]
    n = rows.shape[0]
    rng = np.random.default_rng(_SAMPLE_SEED)
    size = min(_tuning.BINNED_SAMPLE, n * (n - 1) // 2)
    first = rng.integers(0, n - 1, size)
    second = first + 1 + (rng.random(size) * (n - 1 - first)).astype(np.int64)
    sample = sample_values(*arguments, first, second)
    low, high = float(sample.min()), float(sample.max())
    margin = (high - low) * 1e-3 or max(abs(low), 1.0) * 1e-3
    lo, hi = max(value_range_[0], low - margin), min(value_range_[1], high + margin)
    segments = _tuning.BINNED_SEGMENTS
    with np.errstate(over="ignore", divide="ignore"):
        scale = segments / (hi - lo)
    if not np.isfinite(scale):  # (a range too narrow to divide: one segment, split by the count where it asks)
        segments, scale = 1, 0.0
    where = np.minimum(((sample - lo) * scale).astype(np.int64).clip(0), segments - 1)
    splits = np.maximum(1, np.round(np.bincount(where, minlength=segments) * (fine_bins / size))).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(splits)[:-1]]).astype(np.int64)
    return (lo, scale, np.stack([offsets, splits], axis=1), _UNSPLIT)


_SAMPLE_SEED = 0x5EED


def _empty_bins(shape):
    """Bins that have counted nothing, of ``shape`` (..., fine bins): 48 bytes a bin."""
    bins = np.zeros((*shape, COLUMNS))
    bins[..., LEAST], bins[..., LARGEST] = np.inf, -np.inf
    return bins


def pairs_of(n, r0, r1):
    """The pairs (i, j), i in r0:r1, j > i, of n items."""
    return (r1 - r0) * (2 * n - r0 - r1 - 1) // 2


def count(spaces, tasks, runs, progress=_progress.SILENT, executor=None):
    """Pass 1 over each of ``spaces``' pairs: its fine bins' counts and
    extremes, each task's blocks on ``runs`` threads, the threads' bins
    merged.  On a cluster (``executor``) every space's tasks are submitted
    at once (no worker waits between the spaces), each returning its own
    bins, merged in task order; the merge is exact, so the bins are the same."""
    n = spaces[0].rows.shape[0]
    if executor is not None and executor.distributed:
        shared = (tuple(s.binning for s in spaces), tuple(s.fine_bins for s in spaces), _tuning.ROWS, _tuning.COLUMNS)
        # Each space's rows go to the workers as its first task is submitted, while they run the tasks
        # before it; a task takes the rows of the spaces before its own too, so that a cluster keeps them
        # on every worker for pass 2 (Dask's memory manager drops the copies no pending task takes).
        arguments = [executor.share(s.task_arguments(), later=True) for s in spaces]
        items = [(tuple(arguments[: k + 1]), k, r0, r1) for k in range(len(spaces)) for r0, r1 in tasks]
        for s in spaces:
            s.bins = None
        for (_, k, r0, r1), part in zip(items, executor.map_parallel(count_task, shared, items)):
            if spaces[k].bins is None:
                spaces[k].bins = part
            else:
                merge_bins(spaces[k].bins, part)
            progress.advance(pairs_of(n, r0, r1))
        return
    for space_ in spaces:
        parts = _empty_bins((runs, space_.fine_bins))  # the threads' own
        for r0, r1 in tasks:
            histogram_task(*space_.task_arguments(), r0, r1, space_.binning, parts, _tuning.ROWS, _tuning.COLUMNS)
            progress.advance(pairs_of(n, r0, r1))
        for run in range(1, runs):
            merge_bins(parts[0], parts[run])
        space_.bins = parts[0].copy() if runs > 1 else parts[0]  # (the rank table is made in their place)
        del parts  # (before the next space's: bins_bytes counts one space's threads' bins at a time)


def count_task(binnings, fine_bins, rows, columns, arguments, k, r0, r1):
    """A task of pass 1 on a cluster: the bins of space k's pairs of rows
    r0:r1 (``arguments[k]``: its ``task_arguments``) in blocks of ``rows``
    x ``columns``, on one thread.  (Every size that fixes the result is an
    argument: a worker's tunables are its own.)"""
    parts = _empty_bins((1, fine_bins[k]))
    histogram_task(*arguments[k], r0, r1, binnings[k], parts, rows, columns)
    return parts[0]


def rank_task(arguments_x, arguments_y, binning_x, table_x, binning_y, table_y, runs, rows, columns, r0, r1):
    """A task of pass 2: the five sums of the pairs of rows r0:r1, each
    block of ``rows`` x ``columns`` on one of ``runs`` threads (None: the
    thread count it runs on), added in block order -- the same sums
    whatever ``runs``."""
    runs = runs or numba.get_num_threads()
    return rank_sums_task(*arguments_x, *arguments_y, r0, r1, binning_x, table_x, binning_y, table_y, runs, rows, columns)


def rank_error(space_):
    """``(eps, spread)``: the bound on the length of the space's rank errors
    and a lower bound on the length of its exact centred ranks.  Only a
    bin's middle values (between its least and largest) can be off, each by
    at most their count less one: eps = sqrt(sum of c (c - 1)^2) over the
    bins' middle counts c.  The spread counts every bin's middle values, and
    its values at the least and at the largest, as ties (fewer distinct
    values only shrink it)."""
    middle = space_.middle()
    eps = math.sqrt(float(np.sum(middle * (middle - 1.0) ** 2)))
    b = space_.bins
    at_least = b[:, AT_LEAST]
    at_largest = np.where(b[:, LEAST] < b[:, LARGEST], b[:, AT_LARGEST], 0.0)  # (one group where all are equal)
    ties = float(np.sum(middle**3 - middle) + np.sum(at_least**3 - at_least) + np.sum(at_largest**3 - at_largest))
    m = float(b[:, COUNT].sum())
    return eps, math.sqrt(max(m**3 - m - ties, 0.0) / 12.0)


def _angle(eps, spread):
    return math.pi / 2 if eps >= spread else math.asin(eps / spread)


def bound(errors, tasks, n, spreads=None):
    """The guaranteed bound on |binned - exact| (module docstring) from
    each space's ``rank_error`` and, once the ranks are summed, the binned
    ranks' spreads; at most 2."""
    (eps_x, low_x), (eps_y, low_y) = errors
    if spreads is not None:
        low_x, low_y = max(low_x, spreads[0] - eps_x), max(low_y, spreads[1] - eps_y)
    # Each sum runs over at most n values a row, then the rows of a block,
    # the blocks of a task and the tasks: 8 times that many roundings
    # covers the correlation's few operations on them.
    rounding = 8.0 * (n + _tuning.ROWS + n // _tuning.ROWS + len(tasks)) * _EPSILON
    return min(2.0, _angle(eps_x, low_x) + _angle(eps_y, low_y) + rounding)


def _refined(space_, fine_bins):
    """``space_`` with each bin that has middle values (between its least
    and largest) split again, over its own least to largest value, in
    proportion to its count (about ``fine_bins`` sub-bins in all, and at
    least as many as its values up to ``_REFINE_AT_LEAST``, so values a few
    ulps apart separate): each sub-bin then receives about m /
    ``fine_bins`` values, and the bins the first count found crowded, or
    holding near-ties, are resolved."""
    b = space_.bins
    counts, least, largest = b[:, COUNT], b[:, LEAST], b[:, LARGEST]
    per_bin = counts.sum() / fine_bins
    split = space_.middle() > 1
    sub_splits = np.ones(len(b), np.int64)
    sub_splits[split] = np.maximum(np.ceil(counts[split] / per_bin), np.minimum(counts[split], _REFINE_AT_LEAST))
    sub_lo = np.where(split, least, 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        sub_scale = np.where(split, sub_splits / np.where(split, largest - least, 1.0), 0.0)
    unsplittable = ~np.isfinite(sub_scale)  # (bins too narrow to divide stay whole)
    sub_splits[unsplittable], sub_scale[unsplittable] = 1, 0.0
    sub_offsets = np.concatenate([[0], np.cumsum(sub_splits)[:-1]]).astype(np.int64)
    sub_bins = np.stack([sub_offsets, sub_splits, sub_lo, sub_scale], axis=1).astype(np.float64)  # 32 bytes a bin
    return _Space(*space_.task_arguments(), (*space_.binning[:3], sub_bins))


_REFINE_AT_LEAST = 64


def fine_bins_for(tolerance):
    """The fine bins of the first count for ``tolerance``: the bound of
    equally filled bins is about 2 sqrt(12) / bins (module docstring), so
    16 / tolerance, as a power of two, within the tunables' limits."""
    wanted = 1 << max(0, math.ceil(math.log2(16.0 / tolerance)))
    return int(min(max(wanted, _tuning.BINNED_SEGMENTS), _tuning.BINNED_MAX_FINE_BINS))


def refined_bins_for(tolerance):
    """The most fine bins a second count may take: ``_tuning.BINNED_REFINE``
    times the first's, within ``_tuning.BINNED_MAX_FINE_BINS``."""
    return min(_tuning.BINNED_REFINE * fine_bins_for(tolerance), _tuning.BINNED_MAX_FINE_BINS)


def _counted(X, Y, metric, tolerance, names, tasks, runs, progress, room, executor):
    """Both spaces counted (refined where the bound asks): ``(spaces,
    their rank_error, passes so far)``."""
    n = X.shape[0]
    m = n * (n - 1) // 2
    fine_bins = fine_bins_for(tolerance)
    spaces = [space(X, metric, fine_bins), space(Y, metric, fine_bins)]
    count(spaces, tasks, runs, progress, executor)
    for s, name, Z in zip(spaces, names, (X, Y)):
        low, high = float(s.least.min()), float(s.largest.max())
        _validate.varies((high - low) ** 2 * float(m), int(m), max(abs(low), abs(high)), pairs_dtype(Z, metric), name)
    passes = 2
    errors = [rank_error(s) for s in spaces]
    if bound(errors, tasks, n) > tolerance:
        for k, s in enumerate(spaces):
            share = _angle(*errors[k])
            if share > tolerance / 2:  # (two spaces at most half each: within the tolerance)
                wanted = s.fine_bins * 2.0 * share / tolerance
                allowed = refinable_bins(tolerance, room, runs)
                if allowed <= s.fine_bins:
                    continue  # (no room to count finer)
                refined = _refined(s, min(wanted, allowed))
                progress.total += m
                count([refined], tasks, runs, progress, executor)
                if _angle(*rank_error(refined)) < share:  # (kept only where it tightens the bound)
                    spaces[k], errors[k] = refined, rank_error(refined)
                del refined
        passes = 3
    return spaces, errors, passes


def _rank_sums(spaces, n, tasks, runs, progress, executor):
    """Pass 2: the five sums of the ranks' Pearson, the tasks' added in order."""
    m = n * (n - 1) // 2
    centre = (m + 1) / 2.0
    for s in spaces:
        to_rank_table(s.bins, centre)
    x, y = spaces
    shared = (
        executor.share(x.task_arguments()), executor.share(y.task_arguments()),
        x.binning, executor.share(x.bins), y.binning, executor.share(y.bins), None if executor.distributed else runs,
        _tuning.ROWS, _tuning.COLUMNS,
    )
    sums = np.zeros(5)
    for (r0, r1), part in zip(tasks, executor.map_parallel(rank_task, shared, tasks)):
        sums += part
        progress.advance(pairs_of(n, r0, r1))
    return sums


def spearman(X, Y, metric, tolerance, names=("the similarities of X", "the similarities of Y"), tasks=None, progress=False,
             room=None, executor=None):
    """Binned Spearman rsa of two checked spaces: an ApproximateScore whose
    ``error_bound`` is at most ``tolerance`` where the fine bins allowed
    (``refined_bins_for``, within ``room`` bytes beyond the plan's memory:
    ``refinable_bins``) can reach it; above it, a warning says so.
    A space whose values are all equal (up to rounding) is refused, naming
    it ``names``, as the exact path refuses it.  ``executor``: where the
    tasks run (``_tasks``; None: here)."""
    n = X.shape[0]
    executor = executor or _tasks.Local()
    tasks = tasks or row_ranges(n)
    m = n * (n - 1) // 2
    # Each space counted, then both ranked: three passes over the pairs (a fourth where one is refined).
    progress = _progress.Progress(f"binned Spearman rsa over {m:,} pairs", 3 * m) if progress else _progress.SILENT
    try:
        with _threads.blas_on_one_thread() as one_thread:
            # Each task's blocks on all of Numba's threads, each block's BLAS
            # product on its own thread; where BLAS cannot be kept on one
            # thread, on one run (its products then take BLAS's threads).
            # Between tasks (well under a second each) Ctrl-C is seen.
            runs = numba.get_num_threads() if one_thread else 1
            spaces, errors, passes = _counted(X, Y, metric, tolerance, names, tasks, runs, progress, room, executor)
            sums = _rank_sums(spaces, n, tasks, runs, progress, executor)
    finally:
        progress.close()
    s_r, s_s, s_rr, s_ss, s_rs = sums
    var_r, var_s = s_rr - s_r * s_r / m, s_ss - s_s * s_s / m
    rho = max(-1.0, min(1.0, (s_rs - s_r * s_s / m) / math.sqrt(var_r * var_s)))
    error = bound(errors, tasks, n, (math.sqrt(var_r), math.sqrt(var_s)))
    if error > tolerance:
        warnings.warn(
            f"binned Spearman: the error bound {error:.2g} exceeds tolerance={tolerance:.2g} with the finest bins "
            f"allowed ({refinable_bins(tolerance, room, runs):,} a space, for {m:,} pairs); use exact=True where it fits, "
            f"or a larger tolerance",
            RuntimeWarning,
            stacklevel=4,
        )
    return ApproximateScore(rho, error, (spaces[0].fine_bins, spaces[1].fine_bins), passes)


DEFAULT_TOLERANCE = 1e-3  # rsa's default (its signature says it too)


def _rows_bytes(X, metric):
    """Memory of the rows the tasks take beside X (``_pairs._tile_rows``):
    for correlation the centred rows (made in float64, kept in X's dtype),
    for the Euclidean metrics the float64 rows where X is not float64, and
    the rows less their mean while the range is found (``value_range``);
    the hashes copies are found by; a space on disk read whole first
    (``loaded_bytes``)."""
    n, d = X.shape
    itemsize = np.dtype(X.dtype).itemsize
    loaded = loaded_bytes(X, metric)
    # Copies are found (``copies_of``) from each row's hash: a few vectors of N.
    if metric_of(metric).similarity:
        kept = n * d * (8 + itemsize) if metric_of(metric).centred else n * 8
        return loaded + kept + 3 * n * 8
    return loaded + n * d * 8 * (2 if X.dtype != np.float64 else 1) + 4 * n * 8


def bins_bytes(fine_bins, runs=1):
    """Memory of both spaces' bins counted in ``fine_bins`` bins, 48 bytes
    a bin (the rank table is made in their place): a space is counted by
    ``runs`` threads, each into its own bins, then merged and copied out --
    ``runs + 1`` sets beside the other space's."""
    return 48 * fine_bins * (runs + 2)


def refinable_bins(tolerance, room, runs=1):
    """The fine bins a second count may take for ``tolerance`` within
    ``room`` bytes beyond the plan's memory (None: unknown, no limit but
    the tunables'): at least the first count's (else no refinement)."""
    fine, wanted = fine_bins_for(tolerance), refined_bins_for(tolerance)
    if room is None:
        return wanted
    fits = (room + 48 * fine * runs - 32 * fine) // (48 * (runs + 1))
    return int(max(min(wanted, fits), 0))


def _block_bytes(X, Y):
    """Memory of one thread's block buffers (one per space: ``ROWS x COLUMNS`` values)."""
    return _tuning.ROWS * _tuning.COLUMNS * (np.dtype(X.dtype).itemsize + np.dtype(Y.dtype).itemsize)


def memory_bytes(X, Y, metric, tolerance, runs=None):
    """The memory binned Spearman adds: each space's rows as the tasks
    take them, the bins of both spaces, and the block buffers of each of
    ``runs`` threads (None: Numba's thread count).  A second count, where
    the bound asks for one, takes only memory left beyond this
    (``refinable_bins``)."""
    runs = runs or numba.get_num_threads()
    return _rows_bytes(X, metric) + _rows_bytes(Y, metric) + bins_bytes(fine_bins_for(tolerance), runs) + runs * _block_bytes(X, Y)


def shared_bytes(X, Y, metric, tolerance):
    """What a cluster's worker holds of a call's shared inputs: both spaces'
    rows as the tasks take them and, in pass 2, their rank tables (the
    bins' size)."""
    return _rows_bytes(X, metric) + _rows_bytes(Y, metric) - loaded_bytes(X, metric) - loaded_bytes(Y, metric) + 2 * result_bytes(tolerance)


def result_bytes(tolerance):
    """A pass-1 task's result on a cluster: one space's bins, 48 bytes a bin
    (at most ``refined_bins_for`` where a second count runs)."""
    return 48 * refined_bins_for(tolerance)


def task_memory_bytes(X, Y, tolerance):
    """What one task adds on a cluster's worker: its bins (``result_bytes``)
    and one thread's block buffers."""
    return result_bytes(tolerance) + _block_bytes(X, Y)


def stages(X, Y, metric, tolerance):
    """The plan's stages: the count, a possible second count, the ranks."""
    fine_bins, refined = fine_bins_for(tolerance), refined_bins_for(tolerance)
    n, d1, d2 = X.shape[0], X.shape[1], Y.shape[1]
    pairs = n * (n - 1) // 2
    flops = pairs * (d1 + d2)
    moved = n * (d1 * np.dtype(X.dtype).itemsize + d2 * np.dtype(Y.dtype).itemsize) * len(row_ranges(n))
    return [
        Stage("count", f"{metric} pairs in row blocks of {_tuning.ROWS} x {_tuning.COLUMNS}, never stored; "
              f"each space's values counted in {fine_bins:,} bins" + _sources.read_whole_for_rows((X, Y)), 0, flops, moved),
        Stage("refine", f"where the bound asks: counted again, in up to {refined:,} bins as memory allows", 0, 0, 0),
        Stage("ranks", "each pair's ranks read from the bins; the ranks' Pearson summed", 0, flops, moved),
    ]
