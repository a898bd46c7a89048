"""Input checks, run before any kernel sees the data.

Every failure is a ValueError that names the argument, says what is wrong and
what is accepted.  Nothing here writes to the caller's arrays.
"""

import numpy as np

METHODS = ("pearson", "spearman", "kendall", "tau-a")
RANK_METHODS = ("spearman", "kendall", "tau-a")  # the methods that rank the values first
SIMILARITY_METRICS = ("cosine", "correlation")
DISTANCE_METRICS = SIMILARITY_METRICS + ("euclidean", "sqeuclidean")

_ACCEPTED_DTYPES = "integer or real floating-point (float16, float32, float64)"


def choice(value, name, accepted):
    """``value`` if it is one of ``accepted``, else a ValueError listing them."""
    if not isinstance(value, str) or value not in accepted:
        raise ValueError(f"{name}={value!r} is not supported; use one of {', '.join(map(repr, accepted))}")
    return value


def _float_array(values, name, ndim, finite=True):
    """``values`` as a C-contiguous float32 or float64 array of ``ndim`` dims,
    checked to be finite unless ``finite=False`` (the caller checks).

    float32 stays float32; every other accepted dtype becomes float64.  The
    result shares memory with ``values`` only where no conversion was needed,
    and is then never written to.
    """
    array = np.asarray(values)
    kind = array.dtype.kind
    if kind not in "iuf" or array.dtype.itemsize > 8:
        raise ValueError(f"{name} has dtype {array.dtype}; expected {_ACCEPTED_DTYPES}")
    if array.ndim != ndim:
        shape = "(n_items, n_features)" if ndim == 2 else "(n_values,)"
        raise ValueError(f"{name} must be {ndim}-D with shape {shape}; got shape {array.shape}")
    dtype = np.float32 if array.dtype == np.float32 else np.float64
    array = np.ascontiguousarray(array, dtype=dtype)
    if finite and not np.isfinite(array).all():
        _not_finite(array, name)
    return array


def _not_finite(array, name):
    """Raise the error for an array holding NaN or inf."""
    bad = np.argwhere(~np.isfinite(array))[0]
    where = f"row {bad[0]}, column {bad[1]}" if array.ndim == 2 else f"index {bad[0]}"
    raise ValueError(f"{name} contains NaN or inf (first at {where}); all values must be finite")


def items(X, name, metric):
    """A matrix of items (rows) by features, fit for ``metric``."""
    X = _float_array(X, name, ndim=2, finite=False)
    n, d = X.shape
    if n < 3:
        raise ValueError(f"{name} has {n} rows; RSA needs at least 3 items (rows)")
    if d < 1:
        raise ValueError(f"{name} has no columns; each item needs at least 1 feature")
    if metric not in SIMILARITY_METRICS:
        if not np.isfinite(X).all():
            _not_finite(X, name)
        return X
    if metric == "cosine":
        # The common case in one pass: NaN and inf reach the row sums (and
        # their sum of squares), and a row whose sum is not zero is not all
        # zeros.  An overflowing sum, or a row that sums to zero, takes the
        # exact check below.
        with np.errstate(over="ignore", invalid="ignore"):  # (those go to the exact check, silently)
            sums = X.sum(axis=1)
            if np.isfinite(sums @ sums) and sums.all():
                return X
    # Each row's least and greatest value, in one pass each: NaN and inf
    # show in them, and so do the rows cosine or correlation cannot take.
    low, high = X.min(axis=1), X.max(axis=1)
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        _not_finite(X, name)
    if metric == "cosine":
        zero = (low == 0) & (high == 0)
        if zero.any():
            raise ValueError(
                f"{name} row {int(np.argmax(zero))} is all zeros; cosine similarity needs every row "
                f"to have non-zero length (drop the row, or use metric='euclidean')"
            )
    else:
        constant = low == high
        if constant.any():
            raise ValueError(
                f"{name} row {int(np.argmax(constant))} is constant; correlation between rows needs "
                f"every row to vary (drop the row, or use metric='euclidean')"
            )
    return X


def spaces(X, Y, metric):
    """Two matrices of the same items, each fit for ``metric``."""
    X = items(X, "X", metric)
    Y = items(Y, "Y", metric)
    same_items(X, Y)
    return X, Y


def same_items(X, Y):
    """X and Y describe the same items: the same number of rows."""
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"X and Y must have the same number of rows (items): X.shape[0] == {X.shape[0]} "
            f"while Y.shape[0] == {Y.shape[0]}; columns may differ"
        )


def vectors(a, b):
    """Two equally long 1-D vectors of at least 2 finite values."""
    a = _float_array(a, "a", ndim=1)
    b = _float_array(b, "b", ndim=1)
    if a.size != b.size:
        raise ValueError(f"a and b must have the same length: a.size == {a.size} while b.size == {b.size}")
    if a.size < 2:
        raise ValueError(f"a and b have {a.size} values; a correlation needs at least 2")
    return a, b


_EPS_TINY = {np.dtype(t): (float(np.finfo(t).eps), float(np.finfo(t).tiny)) for t in (np.float32, np.float64)}


def varies(sum_of_squares, count, scale, dtype, name):
    """Raise if a vector's variance is zero up to the rounding of its dtype.

    ``sum_of_squares`` is the centred sum over ``count`` values whose typical
    magnitude is ``scale``.
    """
    eps, tiny = _EPS_TINY[np.dtype(dtype)]
    spread = np.sqrt(max(sum_of_squares, 0.0) / count)
    if spread <= 16 * eps * max(abs(scale), tiny):
        raise ValueError(
            f"{name} has zero variance (all {count} values are equal up to rounding); "
            f"a correlation needs values that vary"
        )
