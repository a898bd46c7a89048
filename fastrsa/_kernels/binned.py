"""Binned ranks: Spearman's sums over every pair without storing a pair.

The pairs of rows r0:r1 (each row i with every later row j) are computed
block by block, as the condensed vectors' row blocks compute them
(``tiles._block_product``: one BLAS product of ``rows`` rows by up to
``columns`` later rows, into one reused buffer), and each pair's value is
the one ``condensed`` would give it (``pair_value``).  Nothing is kept but:

- pass 1 (``histogram_task``): each value's bin, counted, and the least and
  largest value each bin received;
- pass 2 (``rank_sums_task``): each value's rank read from the bins
  (``rank_of``) and the five sums of the ranks' Pearson.

The bins: ``bins`` equal steps of [lo, lo + bins / scale) (values outside
go to the end bins), each split into ``splits[b]`` equal fine bins numbered
from ``offsets[b]`` -- one fine bin each, or more where a first count found
a bin crowded (``fastrsa._binned``).  A value's position in its bin is
computed the same way in every pass, so it lands in the same fine bin each
time.

A task is a pure function of (rows, row range): its counts, extremes and
sums depend on nothing else, and the caller adds the tasks' results in task
order.  Counts and extremes add exactly; the sums are summed per row, then
per task, in a fixed order, so the result does not depend on the threads.

Assumes checked input: the rows, row values and kinds of
``fastrsa._pairs._tile_rows``, the copies of ``fastrsa._pairs.copies_of``.
"""

import numpy as np

from numba import prange

from ._jit import inline_kernel, kernel, parallel_kernel
from .tiles import (
    COSINE_DISTANCES,
    COSINES,
    INTEGER_CORRELATION_DISTANCES,
    SQUARED_DISTANCES,
    _block_product,
    condensed_index,
    cosine_of,
    integer_correlation_of,
    squared_distance_of,
)


@inline_kernel
def _finished(kind, root, single, value):
    """A pair's value in its kind's terms (a cosine or correlation, 1 less
    it for the distance kinds, a squared distance) as ``condensed`` gives
    it: the square root for euclidean (``root``), rounded to float32 where
    the condensed vector is float32 (``single``), similarities negated."""
    if kind == SQUARED_DISTANCES:
        return np.sqrt(value) if root else value
    if single:
        value = np.float64(np.float32(value))
    return value if kind == COSINE_DISTANCES or kind == INTEGER_CORRELATION_DISTANCES else -value


@inline_kernel
def _from_product(X, row_values, kind, product, i, j):
    """The value of the pair (i, j) in its kind's terms from its product."""
    if kind == SQUARED_DISTANCES:
        return squared_distance_of(X, row_values, product, i, j)
    if kind == COSINES or kind == COSINE_DISTANCES:
        value = cosine_of(product, row_values[i], row_values[j])
    else:
        value = integer_correlation_of(product, row_values, X.shape[1], X.shape[0], i, j)
    return 1.0 - value if kind == COSINE_DISTANCES or kind == INTEGER_CORRELATION_DISTANCES else value


@kernel
def _copies_pair_value(X, row_values, kind, root, single, copies, i, j):
    """``pair_value`` of a pair whose rows have copies: the pair of the two
    rows they copy, its product one dot product (or, for two copies of one
    row, its ``self_values``).  Out of line: the common case then stays small."""
    representative, self_values = copies[0], copies[2]
    a, b = min(representative[i], representative[j]), max(representative[i], representative[j])
    if a == b:
        return _finished(kind, root, single, self_values[a])
    return _finished(kind, root, single, _from_product(X, row_values, kind, np.dot(X[a], X[b]), a, b))


@inline_kernel
def pair_value(X, row_values, kind, root, single, copies, product, i, j):
    """The value ``condensed`` gives the pair (i, j) of X (``_finished``),
    from ``product``, its entry in a block product -- unless i or j has a
    copy (``copies = (representative, copied, self_values)``, as
    ``_pairs.copies_of`` gives them): then that of the pair of the two rows
    they copy (``_copies_pair_value``), so every pair those two rows stand
    for gets the same value, as ``condensed`` gives them."""
    copied = copies[1]
    if copied[i] or copied[j]:
        return _copies_pair_value(X, row_values, kind, root, single, copies, i, j)
    return _finished(kind, root, single, _from_product(X, row_values, kind, product, i, j))


@kernel
def row_values_into(X, row_values, kind, root, single, copies, products, i, start, stop, c0, out):
    """``pair_value`` of the pairs (i, j), j in start:stop, into ``out[:stop
    - start]``, from ``products`` (row i of a block whose columns start at
    c0): first every pair from its product, in a loop without a branch on
    copies (the common case, which then runs several times faster), then
    the pairs with a copied row rewritten."""
    for j in range(start, stop):
        out[j - start] = _finished(kind, root, single, _from_product(X, row_values, kind, products[j - c0], i, j))
    copied, sorted_copied = copies[1], copies[3]
    if sorted_copied.size == 0:
        return
    if copied[i]:
        for j in range(start, stop):
            out[j - start] = _copies_pair_value(X, row_values, kind, root, single, copies, i, j)
        return
    for k in range(np.searchsorted(sorted_copied, start), sorted_copied.size):
        j = sorted_copied[k]
        if j >= stop:
            break
        out[j - start] = _copies_pair_value(X, row_values, kind, root, single, copies, i, j)


@kernel
def sample_values(X, row_values, kind, root, single, copies, first, second):
    """The values of the pairs (first[k], second[k]) (first < second), as
    ``pair_value`` gives them, each product one dot product."""
    out = np.empty(first.size)
    for k in range(first.size):
        i, j = first[k], second[k]
        out[k] = pair_value(X, row_values, kind, root, single, copies, np.dot(X[i], X[j]), i, j)
    return out


@inline_kernel
def bin_of(value, binning):
    """The fine bin of ``value``.  ``binning = (lo, scale, segments,
    sub_bins)``: the value's segment from ``lo`` and ``scale`` (segments per
    unit of value), then the bin of its place in the segment (``segments[s]
    = (first bin, bins)``), then, where the bins were split again (a second
    count; ``sub_bins`` is empty otherwise), the sub-bin of its place in the
    bin (``sub_bins[f] = (first sub-bin, sub-bins, least value, sub-bins per
    unit of value)``).  Two small tables, one row of each read a value."""
    lo, scale, segments, sub_bins = binning
    # (No branch on the splits: a segment or bin of one split adds 0.)
    position = max((value - lo) * scale, 0.0)
    segment = min(int(position), segments.shape[0] - 1)
    split = segments[segment, 1]
    fine = segments[segment, 0] + min(int((position - segment) * split), split - 1)
    if sub_bins.shape[0] == 0:
        return fine
    place = max((value - sub_bins[fine, 2]) * sub_bins[fine, 3], 0.0)
    return int(sub_bins[fine, 0]) + min(int(place), int(sub_bins[fine, 1]) - 1)


# The columns of a bin in pass 1 (``histogram_task``), six for the rank
# table made in their place (``to_rank_table``).
COUNT, LEAST, LARGEST, AT_LEAST, AT_LARGEST = range(5)
COLUMNS = 6
# The columns of a fine bin's rank table (``rank_of``).
TABLE_LEAST, TABLE_LARGEST, FIRST_MIDDLE, SLOPE, RANK_AT_LEAST, RANK_AT_LARGEST = range(6)


@inline_kernel
def add_to_bin(bins, fine, value):
    """Count ``value`` into fine bin ``fine``: its count, its least and
    largest value and how many values equal each."""
    bins[fine, COUNT] += 1.0
    if value < bins[fine, LEAST]:
        bins[fine, LEAST] = value
        bins[fine, AT_LEAST] = 1.0
    elif value == bins[fine, LEAST]:
        bins[fine, AT_LEAST] += 1.0
    if value > bins[fine, LARGEST]:
        bins[fine, LARGEST] = value
        bins[fine, AT_LARGEST] = 1.0
    elif value == bins[fine, LARGEST]:
        bins[fine, AT_LARGEST] += 1.0


@kernel
def merge_bins(into, bins):
    """Add counted ``bins`` to ``into``: counts added, extremes the lesser
    and the greater with the counts at them (added where they are equal).
    Exact, and the same in any order: what the tasks' and the threads'
    counts are reduced by."""
    for f in range(bins.shape[0]):
        into[f, COUNT] += bins[f, COUNT]
        if bins[f, LEAST] < into[f, LEAST]:
            into[f, LEAST], into[f, AT_LEAST] = bins[f, LEAST], bins[f, AT_LEAST]
        elif bins[f, LEAST] == into[f, LEAST]:
            into[f, AT_LEAST] += bins[f, AT_LEAST]
        if bins[f, LARGEST] > into[f, LARGEST]:
            into[f, LARGEST], into[f, AT_LARGEST] = bins[f, LARGEST], bins[f, AT_LARGEST]
        elif bins[f, LARGEST] == into[f, LARGEST]:
            into[f, AT_LARGEST] += bins[f, AT_LARGEST]


@kernel
def task_tiles(n, r0, r1, rows, columns):
    """The tiles of a task over rows r0:r1 of n: each (b0, b1, c0, c1), a
    block of up to ``rows`` rows and ``columns`` later columns, row block
    by row block, in the order their sums are added."""
    count = 0
    for b0 in range(r0, r1, rows):
        count += -(-(n - b0 - 1) // columns)
    tiles = np.empty((count, 4), np.int64)
    t = 0
    for b0 in range(r0, r1, rows):
        for c0 in range(b0 + 1, n, columns):
            tiles[t, 0], tiles[t, 1], tiles[t, 2], tiles[t, 3] = b0, min(b0 + rows, r1), c0, min(c0 + columns, n)
            t += 1
    return tiles


@parallel_kernel
def histogram_task(X, row_values, kind, root, single, copies, r0, r1, binning, parts, rows, columns):
    """Pass 1 over the pairs of rows r0:r1: each value counted into its
    fine bin f, ``bins[f] = (count, least value, largest value, values at
    the least, values at the largest)`` (``add_to_bin``; one row a bin, so a
    value touches one cache line or two).

    The task's tiles (``task_tiles``) are dealt to ``parts.shape[0]`` runs
    in turn (tile t to run t mod runs), each run on a thread of its own
    adding to its own set of bins in ``parts``; ``merge_bins`` reduces them,
    and the counts do not depend on the runs.  With more than one run,
    SciPy's BLAS must be on one thread (``_threads.blas_on_one_thread``)."""
    n = X.shape[0]
    runs = parts.shape[0]
    tiles = task_tiles(n, r0, r1, rows, columns)
    for run in prange(runs):
        buffer = np.empty(min(rows, n) * min(columns, n), X.dtype)
        values = np.empty(min(columns, n))
        own = parts[run]
        for t in range(run, tiles.shape[0], runs):
            b0, b1, c0, c1 = tiles[t, 0], tiles[t, 1], tiles[t, 2], tiles[t, 3]
            products = _block_product(X, X, b0, b1, c0, c1, buffer)
            for i in range(b0, b1):
                start = max(c0, i + 1)
                row_values_into(X, row_values, kind, root, single, copies, products[i - b0], i, start, c1, c0, values)
                for j in range(c1 - start):
                    add_to_bin(own, bin_of(values[j], binning), values[j])


@parallel_kernel
def values_task(X, row_values, kind, root, single, copies, r0, r1, out, first, runs, rows, columns, tiny):
    """The values of the pairs of rows r0:r1, as ``pair_value`` gives them,
    written to ``out[condensed_index(i, j) - first]`` (``out`` holding the
    condensed positions from ``first``): the task's tiles dealt to ``runs``
    threads as ``histogram_task`` deals them, each block's BLAS product on
    its thread (SciPy's BLAS then on one thread).  Returns how many values
    are below ``tiny`` in pairs that are not two copies of one row (squared
    distances that underflowed: ``_pairs._finish_pairs`` refuses them)."""
    n = X.shape[0]
    tiles = task_tiles(n, r0, r1, rows, columns)
    representative = copies[0]
    below = np.zeros(runs, np.int64)
    for run in prange(runs):
        buffer = np.empty(min(rows, n) * min(columns, n), X.dtype)
        values = np.empty(min(columns, n))
        for t in range(run, tiles.shape[0], runs):
            b0, b1, c0, c1 = tiles[t, 0], tiles[t, 1], tiles[t, 2], tiles[t, 3]
            products = _block_product(X, X, b0, b1, c0, c1, buffer)
            for i in range(b0, b1):
                start = max(c0, i + 1)
                row_values_into(X, row_values, kind, root, single, copies, products[i - b0], i, start, c1, c0, values)
                base = condensed_index(i, start, n) - first
                for j in range(c1 - start):
                    out[base + j] = values[j]
                    if values[j] < tiny and representative[i] != representative[start + j]:
                        below[run] += 1
    return below.sum()


@kernel
def to_rank_table(bins, centre):
    """Turn counted ``bins`` into their rank table, in place, row by row
    (no temporary): each bin's (least value, largest value, first middle
    rank, slope, rank at the least, rank at the largest) for ``rank_of``.
    Ranks are 1-based average ranks less ``centre`` (the mean rank), which
    keeps the sums of their squares far from cancelling."""
    before = -centre
    for f in range(bins.shape[0]):
        count, least, largest = bins[f, COUNT], bins[f, LEAST], bins[f, LARGEST]
        at_least, at_largest = bins[f, AT_LEAST], bins[f, AT_LARGEST]
        if count == 0.0:
            least = largest = 0.0
        if least < largest:
            middle = count - at_least - at_largest
            rank_at_least = before + (at_least + 1.0) / 2.0
            slope = (middle - 1.0) / (largest - least) if middle > 1.0 else 0.0
        else:  # (all equal, or empty)
            rank_at_least = before + (count + 1.0) / 2.0
            slope = 0.0
        bins[f, TABLE_LEAST], bins[f, TABLE_LARGEST] = least, largest
        bins[f, FIRST_MIDDLE], bins[f, SLOPE] = before + at_least + 1.0, slope
        bins[f, RANK_AT_LEAST] = rank_at_least
        bins[f, RANK_AT_LARGEST] = before + count - at_largest + (at_largest + 1.0) / 2.0
        before += count


@inline_kernel
def rank_of(value, fine, table):
    """The rank of ``value`` in fine bin f, ``table[f] = (least value,
    largest value, first middle rank, slope, rank at the least, rank at the
    largest)``: the values equal to the bin's least or largest value take
    their average rank, exactly; those between, the first middle rank plus
    their place between the two, by value."""
    if value == table[fine, TABLE_LEAST]:
        return table[fine, RANK_AT_LEAST]
    if value == table[fine, TABLE_LARGEST]:
        return table[fine, RANK_AT_LARGEST]
    return table[fine, FIRST_MIDDLE] + table[fine, SLOPE] * (value - table[fine, TABLE_LEAST])


@parallel_kernel
def rank_sums_task(
    X, values_x_, kind_x, root_x, single_x, copies_x, Y, values_y_, kind_y, root_y, single_y, copies_y, r0, r1,
    binning_x, table_x, binning_y, table_y, runs, rows, columns,
):
    """Pass 2 over the pairs of rows r0:r1: each pair's two ranks (``rank_of``
    with each space's ``binning`` and rank table), and returns the five sums
    (sum r, sum s, sum r^2, sum s^2, sum r s) as float64.  Each row's are
    summed over its columns of a tile, the rows' added in order into their
    tile's, and the tiles' in order: the task's tiles are dealt to ``runs``
    threads as ``histogram_task`` deals them, and the sums do not depend on
    the runs."""
    n = X.shape[0]
    tiles = task_tiles(n, r0, r1, rows, columns)
    tile_sums = np.zeros((tiles.shape[0], 5))
    for run in prange(runs):
        buffer_x = np.empty(min(rows, n) * min(columns, n), X.dtype)
        buffer_y = np.empty(min(rows, n) * min(columns, n), Y.dtype)
        values_x, values_y = np.empty(min(columns, n)), np.empty(min(columns, n))
        for t in range(run, tiles.shape[0], runs):
            b0, b1, c0, c1 = tiles[t, 0], tiles[t, 1], tiles[t, 2], tiles[t, 3]
            products_x = _block_product(X, X, b0, b1, c0, c1, buffer_x)
            products_y = _block_product(Y, Y, b0, b1, c0, c1, buffer_y)
            for i in range(b0, b1):
                start = max(c0, i + 1)
                row_values_into(X, values_x_, kind_x, root_x, single_x, copies_x, products_x[i - b0], i, start, c1, c0, values_x)
                row_values_into(Y, values_y_, kind_y, root_y, single_y, copies_y, products_y[i - b0], i, start, c1, c0, values_y)
                s_r = s_s = s_rr = s_ss = s_rs = 0.0
                for j in range(c1 - start):
                    r = rank_of(values_x[j], bin_of(values_x[j], binning_x), table_x)
                    s = rank_of(values_y[j], bin_of(values_y[j], binning_y), table_y)
                    s_r += r
                    s_s += s
                    s_rr += r * r
                    s_ss += s * s
                    s_rs += r * s
                tile_sums[t, 0] += s_r
                tile_sums[t, 1] += s_s
                tile_sums[t, 2] += s_rr
                tile_sums[t, 3] += s_ss
                tile_sums[t, 4] += s_rs
    sums = np.zeros(5)
    for t in range(tiles.shape[0]):
        sums += tile_sums[t]
    return sums
