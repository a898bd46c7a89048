"""Building condensed vectors: the pairs of one space, tile by tile.

Given checked rows, ``condensed_values`` writes every pair's similarity or
dissimilarity in ``pdist`` order through the tiles or the row blocks of
``_kernels/tiles.py`` (which one the plan says: ``side``), then gives the
pairs of copied rows their copies' values (``_kernels/duplicates.py``) and
finishes the metric (square roots for euclidean).  ``condensed`` and
``condensed_pair`` give what rsa and the inference functions correlate.
The memory each needs is ``pairs_bytes``, beside them.
"""

import numpy as np

from . import _sources, _tuning
from ._kernels.duplicates import representatives, self_cosines, unify_copies
from ._kernels.normalize import norms_into, normalize_rows_into, power_of_two_rows_into, small_integer_rows
from ._kernels.scale import peak
from ._kernels.tiles import (
    COSINE_DISTANCES,
    COSINES,
    INTEGER_CORRELATION_DISTANCES,
    INTEGER_CORRELATIONS,
    SQUARED_DISTANCES,
    condensed_into,
    fault_in,
    tiles_into,
    tiles_of_two_into,
)
from ._kernels.tiles import tile_side as _square_tile_side
from ._metrics import of as metric_of
from ._plan import Stage


def tile_side(n, d):
    """Side of the square tiles for n rows of d features, or 0 for row
    blocks: tiles up to ``_tuning.SMALL_PRODUCT`` multiply-adds (N^2 D).
    The plan asks once per space and passes the answer on."""
    return _square_tile_side(n, d) if n * n * d <= _tuning.SMALL_PRODUCT else 0


def pairs_dtype(X, metric, method=None):
    """The dtype of the condensed vector of checked rows: float64 for the
    Euclidean metrics, and for rsa's Pearson score (float32 similarities
    that crowd near their mean, as in anisotropic spaces, keep too few
    digits of their spread for its 1e-5); X's dtype otherwise."""
    if metric_of(metric).float64_pairs or method == "pearson":
        return np.dtype(np.float64)
    return X.dtype


def _bytes(X, metric, method):
    """``(kept, working)``: the memory of X's condensed vector that stays
    while the call holds it (the vector, and for cosine and correlation X
    converted to the pairs' dtype: ``condensed_pair``) and what making it
    needs beside, freed once it is made: the centred rows (correlation; rows
    of extreme magnitude take a copy scaled by powers of two more); for the Euclidean
    metrics the float64 rows (where X is not float64) and the mask of
    underflowed distances (``_finish_pairs``).  A space on disk is read
    whole into memory first (``loaded_bytes``), and kept as X would be."""
    n, d = X.shape
    dtype = pairs_dtype(X, metric, method)
    pairs, rows = n * (n - 1) // 2, n * d * dtype.itemsize
    if metric_of(metric).similarity:
        # (A space on disk is read straight into the pairs' dtype: the copy is the conversion.)
        converted = rows if X.dtype != dtype or isinstance(X, _sources.Rows) else 0
        return pairs * dtype.itemsize + converted, rows if metric_of(metric).centred else 0
    loaded = loaded_bytes(X, metric, method)
    return pairs * dtype.itemsize + loaded, (rows if X.dtype != dtype else 0) + pairs * np.dtype(np.bool_).itemsize


def loaded_dtype(X, metric, method=None):
    """The dtype a pairs path reads a space on disk into: the pairs' for
    cosine and correlation (``condensed_pair`` converts to it anyway), its
    own for the Euclidean metrics."""
    return pairs_dtype(X, metric, method) if metric_of(metric).similarity else X.dtype


def loaded_bytes(X, metric, method=None):
    """Memory of the copy a pairs path reads a space on disk into (``_sources.whole``; 0 in memory)."""
    if not isinstance(X, _sources.Rows):
        return 0
    return X.shape[0] * X.shape[1] * np.dtype(loaded_dtype(X, metric, method)).itemsize


def _loaded(X, metric, method=None):
    """Checked rows in memory: a space on disk read whole (``loaded_dtype``)."""
    return _sources.whole(X, loaded_dtype(X, metric, method)) if isinstance(X, _sources.Rows) else X


def pairs_bytes(X, metric, method=None):
    """Memory ``condensed_values`` adds for checked rows X (``_bytes``)."""
    kept, working = _bytes(X, metric, method)
    return kept + working


def pair_bytes(X, Y, metric, method=None, beside=0):
    """Memory ``condensed_pair`` adds, with ``beside`` bytes more once both
    vectors are made (the ranking's): both vectors, and the larger of the
    two spaces' working memory (one space's pairs are made at a time) and
    ``beside``."""
    (kept_x, working_x), (kept_y, working_y) = _bytes(X, metric, method), _bytes(Y, metric, method)
    return kept_x + kept_y + max(working_x, working_y, beside)


def _unit_rows(X, metric):
    """Checked rows at unit length (centred first for correlation)."""
    unit = np.empty_like(X)
    normalize_rows_into(X, unit, metric_of(metric).centred)
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
    extreme magnitude: ``with_squared_norms``).

    No normalised copy: a product of unit rows rounds each pair its own way,
    and pairs that tie (equal products and lengths, as binary or count
    features give) would not tie any more.  Rows whose products could
    overflow or underflow (see ``norms_into``) are first scaled by a power of
    two each, exactly; 1-d rows are normalised to exactly +-1."""
    if not metric_of(metric).similarity:
        rows, squared_norms, exponent = with_squared_norms(X)
        return (rows, squared_norms, SQUARED_DISTANCES), exponent
    return _similarity_rows(X, metric, COSINE_DISTANCES if distances else COSINES), 0


def _similarity_rows(X, metric, kind):
    """``_tile_rows`` for cosine and correlation."""
    if metric_of(metric).centred and X.shape[1] == 2:
        # Centred 2-d rows are +-(x0 - x1)/2 (1, -1): their correlations are
        # exactly +-1, the signs of the differences'.  (Correlation refuses
        # 1-d rows: they are constant.)
        X, metric = np.where(X[:, :1] > X[:, 1:], 1.0, -1.0).astype(X.dtype), "cosine"
    if X.shape[1] == 1:  # exactly +-1
        return _unit_rows(X, metric), np.ones(X.shape[0]), kind
    if metric_of(metric).centred and small_integer_rows(X, _SMALL_INTEGERS):
        return X, _integer_correlation_terms(X), INTEGER_CORRELATION_DISTANCES if kind == COSINE_DISTANCES else INTEGER_CORRELATIONS
    rows = X
    if metric_of(metric).centred:
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


def copies_of(rows, kind, row_values=None):
    """``(representative, copies, self_values)`` of rows as the tiles take
    them (``kind``), or None where no row copies another: each row's first
    copy (itself if first), the rows that copy an earlier one, and for each
    copied row the value of a pair of two of its copies -- its cosine with
    itself, computed as SciPy would (its sum of squares over its length
    squared, clipped to 1), exactly 1 for the correlations of small
    integers, or distance 0 (in the kind's own terms: 1 - cosine for cosine
    distances).  For cosines, rows that are power-of-two multiples of each
    other are copies too (``representatives(..., scaled=True)``): SciPy's
    per-pair loops scale exactly, so their cosines with any row are equal there.

    With the tiles' ``row_values`` only rows whose values another row
    shares are searched (``_copy_keys``)."""
    cosines = kind in (COSINES, COSINE_DISTANCES)
    found = representatives(rows, scaled=cosines, keys=_copy_keys(rows, kind, row_values))
    if found is None:
        return None
    representative, copies = found
    self_values = np.zeros(rows.shape[0])
    if kind in (INTEGER_CORRELATIONS, INTEGER_CORRELATION_DISTANCES):  # exact: a row correlates 1 with its copy
        self_values[:] = 0.0 if kind == INTEGER_CORRELATION_DISTANCES else 1.0
    if cosines:
        copied = np.unique(representative[copies])
        self_values[copied] = self_cosines(rows, copied)
        if kind == COSINE_DISTANCES:
            self_values = 1.0 - self_values
    return representative, copies, self_values


def _copy_keys(rows, kind, row_values):
    """A key per row from the tiles' row values, equal for rows that
    ``copies_of`` finds to be copies (None where there is none to take):
    the mantissas of cosine rows' lengths (a power-of-two multiple of a row
    has its length times that power, exactly, but where a square underflows
    -- values below 1e-154 in float64 -- when rounding may make it differ
    in the last bit, and such multiples may then not be tied), the integer
    correlations' two sums, the squared lengths of Euclidean rows (the
    rows as compared: equal bits give equal sums)."""
    n = rows.shape[0]
    if row_values is None or n < 2:
        return None
    if kind in (COSINES, COSINE_DISTANCES):
        return np.frexp(row_values)[0]
    if kind in (INTEGER_CORRELATIONS, INTEGER_CORRELATION_DISTANCES):
        return row_values.reshape(2, n).T
    if kind == SQUARED_DISTANCES:
        return row_values
    return None


def _pairs_of_copies(rows, kind, out, row_values=None):
    """Give the pairs of bitwise-equal rows bitwise-equal values in ``out``
    (see ``_kernels/duplicates.py``): every pair involving a copy takes the
    value of the pair of the rows it copies, and a pair of two copies of a
    row that row's value with itself (``copies_of``).  Returns how many
    pairs are of two copies of one row."""
    found = copies_of(rows, kind, row_values)
    if found is None:
        return 0
    representative, copies, self_values = found
    unify_copies(out, representative, copies, self_values)
    copies_of_row = np.bincount(representative)
    return int((copies_of_row * (copies_of_row - 1) // 2).sum())  # pairs of two copies of one row


def _finish_pairs(rows, kind, metric, out, name, source, row_values=None):
    """What every condensed vector gets once its tiles or blocks are
    written: copies' pairs made equal, square roots for euclidean.  Squared
    distances that underflowed (rows so far apart in magnitude that no
    float64 scale holds both their distances: 1e-6 and 1e308 rows, say)
    are refused, naming ``name`` and the range, where ranks would see
    false ties; distances of 0 between rows of ``source`` (the input) equal
    in value are not underflow."""
    copy_pairs = _pairs_of_copies(rows, kind, out, row_values)
    tiny = np.count_nonzero(out < _TINY) if kind == SQUARED_DISTANCES else 0
    if tiny > copy_pairs and tiny > _equal_pairs(source):
        raise ValueError(
            f"{name}'s {metric} distances span more than float64's range can hold (from below {_TINY:.3g} to "
            f"{out.max():.3g} at the scale they were computed at): its rows' magnitudes run from "
            f"{np.abs(rows).max(axis=1).min():.3g} to {peak(rows):.3g} (times a power of two); bring them "
            f"closer, e.g. drop or rescale the outlying rows"
        )
    if metric_of(metric).root:
        np.sqrt(out, out=out)
    return out


_TINY = float(np.finfo(np.float64).tiny)


def _equal_pairs(X):
    """Pairs of rows of the input X equal in value, which may be more than
    the pairs of bitwise-equal rows: rows that differ only in the sign of a
    zero (as ``np.round`` leaves them) are at distance 0 without being
    copies.  Counted on the input, not the scaled rows (where rows too small
    for the scale have become zeros), and only on the way to the refusal
    above (a float64 copy of X with every -0.0 made +0.0)."""
    found = representatives(np.asarray(X, np.float64) + 0.0)
    if found is None:
        return 0
    copies_of_row = np.bincount(found[0])
    return int((copies_of_row * (copies_of_row - 1) // 2).sum())


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


def with_squared_norms(X):
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


def condensed_values(X, metric, distances, side, out=None, true_scale=False, name="X"):
    """Condensed similarities (cosine and correlation) or, with
    ``distances``, pdist's dissimilarities (every metric) of checked rows,
    into ``out`` if given (of the dtype ``pairs_dtype`` says).  Distances of
    rows of extreme magnitude come times a power of two that no score sees,
    unless ``true_scale``.  Errors call the rows ``name``."""
    X = _loaded(X, metric)
    (rows, row_values, kind), exponent = _tile_rows(X, metric, distances)
    dtype = pairs_dtype(X, metric)
    if side:
        out = _empty_pairs(X.shape[0], dtype) if out is None else out
        tiles_into(rows, row_values, kind, out, side)
    else:
        out = _new_block_output(X, dtype) if out is None else out
        condensed_into(rows, row_values, kind, out, _tuning.ROWS, _tuning.COLUMNS)
    _finish_pairs(rows, kind, metric, out, name, X, row_values)
    if true_scale and exponent:
        with np.errstate(over="ignore"):
            np.ldexp(out, -exponent if metric_of(metric).root else -2 * exponent, out=out)
        if np.isinf(out).any():
            raise ValueError(
                f"{name}'s {metric} distances reach past float64's range (above {np.finfo(np.float64).max:.3g}): its values "
                f"run up to {peak(X):.3g}; scale X down (a common factor changes no RSA score)"
                + (", or use metric='euclidean'" if not metric_of(metric).root else "")
            )
    return out


def condensed(X, metric, side, out=None, name="X"):
    """What rsa correlates for checked rows (into ``out`` if given, of the
    dtype ``pairs_dtype`` says): pdist's dissimilarities, the values whose
    ties SciPy's rank correlations see; for float32 cosines and correlations
    the similarities negated (ordered as the dissimilarities are): float32
    cannot hold SciPy's float64 ties anyway, and 1 - similarity, rounded near
    1 where most similarities sit near 0, would tie far more pairs."""
    distances = as_distances(X, metric)
    values = condensed_values(X, metric, distances, side, out, name=name)
    return values if distances else np.negative(values, out=values)


def as_distances(X, metric):
    """Whether ``condensed`` takes X's dissimilarities (else its negated similarities)."""
    return not metric_of(metric).similarity or X.dtype == np.float64


def condensed_pair(X, Y, metric, sides, method=None, names=("X", "Y")):
    """``(condensed(X, metric), condensed(Y, metric))`` for two checked
    spaces over the same items, bit for bit, each first converted to the
    dtype ``pairs_dtype`` gives for ``method``.  Where both spaces take
    tiles, their tiles run in one parallel launch (a small call's threads are
    then woken once, and the two spaces' tiles share them evenly).  Errors
    call the spaces ``names``."""
    X, Y = _loaded(X, metric, method), _loaded(Y, metric, method)
    if metric_of(metric).similarity:
        X, Y = (space.astype(pairs_dtype(space, metric, method), copy=False) for space in (X, Y))
    side_x, side_y = sides
    if not (side_x and side_y):
        return condensed(X, metric, side_x, name=names[0]), condensed(Y, metric, side_y, name=names[1])
    n = X.shape[0]
    # (Each space's distances times its own power of two: no score sees it.)
    (pairs_x, _), (pairs_y, _) = _tile_rows(X, metric, as_distances(X, metric)), _tile_rows(Y, metric, as_distances(Y, metric))
    a, b = _empty_pairs(n, pairs_dtype(X, metric)), _empty_pairs(n, pairs_dtype(Y, metric))
    tiles_of_two_into(*pairs_x, a, side_x, *pairs_y, b, side_y)
    pairs = []
    for (rows, row_values, kind), values, name, Z in ((pairs_x, a, names[0], X), (pairs_y, b, names[1], Y)):
        _finish_pairs(rows, kind, metric, values, name, Z, row_values)
        pairs.append(values if as_distances(Z, metric) else np.negative(values, out=values))
    return tuple(pairs)



def stage(name, X, metric, side, method=None):
    """The plan's stage of one condensed vector of checked rows X: its path,
    memory (``pairs_bytes``) and cost: N^2 D / 2 multiply-adds (the upper
    half), the pairs written once and the rows read."""
    n, d = X.shape
    itemsize = pairs_dtype(X, metric, method).itemsize
    pairs = n * (n - 1) // 2
    if side:
        path = f"{metric} pairs in square tiles of {side} rows (BLAS on one thread each)"
    else:
        path = f"{metric} pairs in row blocks of {_tuning.ROWS} x {_tuning.COLUMNS} (BLAS on its threads)"
    path += _sources.read_whole([X])
    return Stage(name, path, pairs_bytes(X, metric, method), pairs * d, pairs * itemsize + n * d * X.itemsize)


def pair_stages(X, Y, metric, sides, method):
    """The stages of ``condensed_pair``: one launch of tiles for both
    spaces where both take tiles, else one vector after the other."""
    x, y = stage("pairs of X", X, metric, sides[0], method), stage("pairs of Y", Y, metric, sides[1], method)
    if sides[0] and sides[1]:
        path = f"{metric} pairs in square tiles of {sides[0]} and {sides[1]} rows, both spaces in one launch"
        path += _sources.read_whole([X, Y])
        return [Stage("pairs of X and Y", path, x.memory_bytes + y.memory_bytes, x.flops + y.flops, x.bytes_moved + y.bytes_moved)]
    return [x, y]
