"""Input checks, run before any kernel sees the data.

Every failure is a ValueError that names the argument, says what is wrong and
what is accepted.  Nothing here writes to the caller's arrays.
"""

import operator

import numpy as np

from . import _metrics, _sources, _tuning
from ._kernels.normalize import every_row_has_length
from ._metrics import of as metric_of
from .embeddings import Embeddings

SIMILARITY_METRICS, DISTANCE_METRICS = _metrics.SIMILARITY_METRICS, _metrics.DISTANCE_METRICS  # the accepted names

METHODS = ("pearson", "spearman", "kendall", "tau-a")
RANK_METHODS = ("spearman", "kendall", "tau-a")  # the methods that rank the values first

_ACCEPTED_DTYPES = "integer or real floating-point (float16, float32, float64)"


def choice(value, name, accepted):
    """``value`` if it is one of ``accepted``, else a ValueError listing them."""
    if not isinstance(value, str) or value not in accepted:
        raise ValueError(f"{name}={value!r} is not supported; use one of {', '.join(map(repr, accepted))}")
    return value


def exactness(exact, tolerance, method):
    """``(exact, tolerance)`` checked: ``exact`` None (exact where it fits),
    True or False; ``tolerance`` a number in (0, 1).  ``exact=False`` is
    for the methods with an approximate path (Spearman; Pearson is exact at
    any N, so it is allowed and changes nothing)."""
    if exact is not None and not isinstance(exact, (bool, np.bool_)):
        raise ValueError(f"exact={exact!r} is not supported; use None (exact where it fits in memory), True or False")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 < tolerance < 1:
        raise ValueError(f"tolerance={tolerance!r} is not allowed; use a number strictly between 0 and 1, like 1e-4")
    if exact is False and method in ("kendall", "tau-a"):
        raise ValueError(
            f"exact=False is not available for method={method!r}: Kendall's tau has no binned path; "
            f"use method='spearman' (binned ranks at any N) or fewer items"
        )
    return (None if exact is None else bool(exact)), float(tolerance)


def _float_array(values, name, ndim, finite=True):
    """``values`` as a C-contiguous float32 or float64 array of ``ndim`` dims,
    checked to be finite unless ``finite=False`` (the caller checks).

    float32 stays float32; every other accepted dtype becomes float64.  The
    result shares memory with ``values`` only where no conversion was needed,
    and is then never written to.
    """
    array = _as_array(values, name, ndim)
    kind = array.dtype.kind
    if kind not in "iuf" or array.dtype.itemsize > 8:
        raise ValueError(f"{name} has dtype {array.dtype}; expected {_ACCEPTED_DTYPES}")
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D with shape {_SHAPES[ndim]}; got shape {array.shape}")
    # Any byte order: big-endian float32 ('>f4') is float32 too.
    dtype = np.float32 if kind == "f" and array.itemsize == 4 else np.float64
    array = np.ascontiguousarray(array, dtype=dtype)
    if finite and not np.isfinite(array).all():
        _not_finite(array, name)
    return array


_SHAPES = {1: "(n_values,)", 2: "(n_items, n_features)", 3: "(n_spaces, n_items, n_features)"}


def _as_array(values, name, ndim):
    """``values`` as a NumPy array, by duck typing (nothing is imported):
    a tensor (torch: ``.detach()``, ``.cpu()``; bfloat16, which NumPy lacks,
    becomes float32), an object holding one RDM (rsatoolbox's ``RDMs``:
    ``.dissimilarities`` of shape (1, n_pairs)) where a vector is expected,
    ``Embeddings`` (their ``.vectors``), a table (pandas: ``.to_numpy()``),
    or anything ``numpy.asarray`` takes; a path is opened as the memmap of
    a .npy file (``_sources.open_npy``)."""
    if isinstance(values, np.ndarray):
        return values
    if _sources.is_path(values):
        return _sources.open_npy(values, name, ndim)
    if ndim == 1 and hasattr(values, "dissimilarities"):
        values = _one_rdm(values, name)
    elif all(hasattr(values, method) for method in ("detach", "cpu", "numpy")):
        values = values.detach().cpu()
        if str(values.dtype).endswith("bfloat16"):
            values = values.float()
        values = values.numpy()
    elif _is_embeddings(values):
        values = values.vectors
    elif hasattr(values, "to_numpy"):
        values = values.to_numpy()
    try:
        return np.asarray(values)
    except (ValueError, TypeError) as error:
        if isinstance(values, (list, tuple)):  # NumPy's "inhomogeneous shape"
            raise ValueError(
                f"{name} is not an array of numbers: a ragged sequence (rows of different lengths) or one "
                f"holding values that are not numbers; expected an array of shape {_SHAPES[ndim]}"
            ) from None
        raise ValueError(
            f"{name} is a {type(values).__name__}, which NumPy cannot make an array of ({error}); expected an "
            f"array of shape {_SHAPES[ndim]}"
        ) from None


def _one_rdm(rdms, name):
    """The condensed vector of an object holding exactly one RDM."""
    dissimilarities = np.asarray(rdms.dissimilarities)
    if dissimilarities.ndim == 2 and dissimilarities.shape[0] == 1:
        return dissimilarities[0]
    if dissimilarities.ndim == 2:
        raise ValueError(
            f"{name} holds {dissimilarities.shape[0]} RDMs; pass one at a time (for rsatoolbox's RDMs, "
            f"{name}[i] or {name}.dissimilarities[i])"
        )
    return dissimilarities


def _is_embeddings(values):
    """Whether ``values`` is a ``fastrsa.Embeddings`` (words and their vectors)."""
    return isinstance(values, Embeddings)


def _labels(values):
    """The labels of the rows of a labelled input: a pandas index (a
    non-callable ``.index`` beside ``.to_numpy``) or Embeddings' words;
    None for anything else."""
    if isinstance(values, np.ndarray):
        return None
    if _is_embeddings(values):
        return list(values.words)
    index = getattr(values, "index", None)
    if index is not None and not callable(index) and hasattr(values, "to_numpy"):
        return list(index)
    return None


def matched_rows(raw_x, raw_y, X, Y, names=("X", "Y")):
    """Checked ``Y`` with its rows in the order of ``X``'s labels.

    Inputs (``raw_x``, ``raw_y``, as the caller passed them) that both
    carry labels (``_labels``) are matched by label, not by position: equal
    labels in the same order leave Y as it is, the same labels in another
    order reorder Y's rows (a new array), and labels that differ are
    refused.  Anything unlabelled is matched by position.
    """
    labels_x, labels_y = _labels(raw_x), _labels(raw_y)
    if labels_x is None or labels_y is None or labels_x == labels_y:
        return Y
    x, y = names
    for labels, name in ((labels_x, x), (labels_y, y)):
        if len(set(labels)) != len(labels):
            raise ValueError(
                f"{x} and {y} are labelled (a pandas index, or Embeddings' words) in different orders, and "
                f"{name}'s labels repeat, so its rows cannot be matched by label; make the labels unique, "
                f"or pass arrays (.to_numpy()) to match rows by position"
            )
    row_of = {label: row for row, label in enumerate(labels_y)}
    only_x = [label for label in labels_x if label not in row_of]
    if only_x or len(labels_x) != len(labels_y):
        in_x = set(labels_x)
        only_y = [label for label in labels_y if label not in in_x]
        first = f"first of {x}'s: {only_x[0]!r}" if only_x else f"first of {y}'s: {only_y[0]!r}"
        if _is_embeddings(raw_x) and _is_embeddings(raw_y):
            instead = "fastrsa.rsa_words(a, b) compares two Embeddings over the words they share, or pass .vectors"
        else:
            instead = (
                f"select the shared labels first (for pandas: shared = {x}.index.intersection({y}.index), then "
                f"{x}.loc[shared] and {y}.loc[shared]), or pass .to_numpy()"
            )
        raise ValueError(
            f"{x} and {y} are labelled (a pandas index, or Embeddings' words), so their rows are matched by "
            f"label, but the labels differ: {len(only_x)} of {x}'s {len(labels_x)} labels are not among {y}'s and "
            f"{len(only_y)} of {y}'s {len(labels_y)} are not among {x}'s ({first}); "
            f"{instead} to match rows by position"
        )
    return Y[[row_of[label] for label in labels_x]]


def rng(seed):
    """``numpy.random.default_rng(seed)`` for the seeds it is documented to
    take: None, a non-negative integer, a Generator, a SeedSequence or a
    BitGenerator; anything else a ValueError naming ``seed``."""
    if seed is None or isinstance(seed, (np.random.Generator, np.random.SeedSequence, np.random.BitGenerator)):
        return np.random.default_rng(seed)
    try:
        number = None if isinstance(seed, bool) else operator.index(seed)
    except TypeError:
        number = None
    if number is None or number < 0:
        raise ValueError(
            f"seed={seed!r} is not allowed; use None, a non-negative integer, a numpy.random.Generator or a "
            f"numpy.random.SeedSequence"
        )
    return np.random.default_rng(number)


def seed_sequence(seed):
    """The call's root ``numpy.random.SeedSequence`` for the seeds ``rng``
    takes: a SeedSequence as it is; None or an integer, ``SeedSequence(seed)``;
    a Generator or BitGenerator, a SeedSequence of four numbers drawn from
    it (so it advances, and two calls with one generator draw differently).
    Batches of draws take its children (``stats._batch_rng``)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, (np.random.Generator, np.random.BitGenerator)):
        generator = seed if isinstance(seed, np.random.Generator) else np.random.Generator(seed)
        return np.random.SeedSequence([int(word) for word in generator.integers(0, 2**63, size=4)])
    rng(seed)  # (the checks, and their error)
    return np.random.SeedSequence(None if seed is None else operator.index(seed))


def _not_finite(array, name, first_row=0):
    """Raise the error for an array holding NaN or inf (a block of rows
    from row ``first_row`` on, for the rows' numbering)."""
    bad = np.argwhere(~np.isfinite(array))[0]
    where = f"row {first_row + bad[0]}, column {bad[1]}" if array.ndim == 2 else f"index {bad[0]}"
    raise ValueError(f"{name} contains NaN or inf (first at {where}); all values must be finite")


def items(X, name, metric):
    """A matrix of items (rows) by features, fit for ``metric``.  A space
    on disk (a memmap, the path of a .npy file, Embeddings of memory-mapped
    vectors) is checked a block of rows at a time and comes back as a
    ``_sources.Rows`` (``_rows_on_disk``)."""
    vectors = X.vectors if _is_embeddings(X) else X
    if _sources.on_disk(vectors):
        return _rows_on_disk(vectors, name, metric)
    X = _float_array(X, name, ndim=2, finite=False)
    _check_shape(X.shape, name)
    _refuse_row(name, _unusable_row(X, name, metric), metric)
    return X


def batch(X, name, metric):
    """A batch of spaces of one shape (B x N x D, in memory), fit for
    ``metric``: values finite, each space's rows usable (``items``'s rules)."""
    X = _float_array(X, name, ndim=3, finite=False)
    count, n, d = X.shape
    if count < 1:
        raise ValueError(f"{name} holds no spaces: its first axis (the batch) has length 0")
    _check_shape((n, d), f"each space of {name} ({name}[k])")
    from ._kernels.batched import FINE, NOT_FINITE, problems_into

    found = np.empty((count, 3), np.int64)
    problems_into(X, metric_of(metric).similarity, metric_of(metric).centred, found)
    bad = np.flatnonzero(found[:, 0] != FINE)
    if bad.size:
        item = int(bad[0])
        what, row, column = found[item]
        if what == NOT_FINITE:
            raise ValueError(
                f"{name} contains NaN or inf (first at {name}[{item}] row {row}, column {column}); all values must be finite"
            )
        _refuse_row(f"{name}[{item}]", int(row), metric)
    return X


def _check_shape(shape, name):
    n, d = shape
    if n < 3:
        raise ValueError(f"{name} has {n} rows; RSA needs at least 3 items (rows)")
    if d < 1:
        raise ValueError(f"{name} has no columns; each item needs at least 1 feature")


def _unusable_row(X, name, metric, first_row=0):
    """The first row of converted rows X (a block from row ``first_row``
    on) that ``metric`` cannot take (all zeros for cosine, constant for
    correlation), or None; raises at once for NaN or inf."""
    centred = metric_of(metric).centred
    if not metric_of(metric).similarity:
        if not np.isfinite(X).all():
            _not_finite(X, name, first_row)
        return None
    if not centred and X.flags.c_contiguous and X.dtype in (np.float32, np.float64):
        # The common case in one pass: NaN and inf reach the rows' sums of
        # squares, and a row whose sum of squares is not zero is not all
        # zeros.  An overflowing or underflowing sum takes the exact check below.
        if every_row_has_length(X):
            return None
    # Each row's least and greatest value, in one pass each: NaN and inf
    # show in them, and so do the rows cosine or correlation cannot take.
    low, high = X.min(axis=1), X.max(axis=1)
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        _not_finite(X, name, first_row)
    unusable = (low == 0) & (high == 0) if not centred else low == high
    return first_row + int(np.argmax(unusable)) if unusable.any() else None


def _refuse_row(name, row, metric):
    """The error for row ``row`` (``_unusable_row``), if there is one."""
    if row is None:
        return
    if not metric_of(metric).centred:
        raise ValueError(
            f"{name} row {row} is all zeros; cosine similarity needs every row "
            f"to have non-zero length (drop the row, or use metric='euclidean')"
        )
    raise ValueError(
        f"{name} row {row} is constant; correlation between rows needs "
        f"every row to vary (drop the row, or use metric='euclidean')"
    )


def disk_rows(X, name):
    """A space on disk (a memmap, a .npy path, or ``Rows``) as ``Rows``,
    its dtype and shape checked as ``_float_array`` checks them (its values
    not yet)."""
    if isinstance(X, _sources.Rows):
        return X
    array = _sources.open_npy(X, name, 2) if _sources.is_path(X) else X
    kind = array.dtype.kind
    if kind not in "iuf" or array.dtype.itemsize > 8:
        raise ValueError(f"{name} has dtype {array.dtype}; expected {_ACCEPTED_DTYPES}")
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D with shape {_SHAPES[2]}; got shape {array.shape}")
    return _sources.Rows(array, np.float32 if kind == "f" and array.itemsize == 4 else np.float64, name)


def _rows_on_disk(X, name, metric):
    """``items`` for a space on disk: the same checks and errors, in the
    same order (NaN or inf anywhere before an unusable row), a block of
    ``_tuning.GRAM_BLOCK`` rows at a time; the file is named in the errors
    about its values.  Returns the ``Rows``, read into memory nowhere."""
    rows = disk_shape(X, name)
    findings = []
    for start, values in _sources.blocks(rows, _tuning.GRAM_BLOCK):
        findings.append(block_findings(values, rows, metric, start))
        if findings[-1][0]:
            break  # (a NaN or inf: no need to read on)
    refuse_findings(findings, rows, metric)
    return rows


def disk_shape(X, name):
    """A space on disk as ``Rows``, its dtype and shape checked, its values
    not yet: those are checked block by block, here (``_rows_on_disk``) or
    as the Gram path's first pass reads them (``_gram.checked_mean_task``)."""
    rows = disk_rows(X, name)
    _check_shape(rows.shape, name)
    return rows


def block_findings(values, rows, metric, start):
    """What the checks find in one block of ``rows`` (a ``Rows``), its rows
    from ``start`` on: ``(message, row)``, the message of the error for a
    NaN or inf (or None) and the first row ``metric`` cannot take (or None)."""
    try:
        return None, _unusable_row(values, _disk_name(rows), metric, start)
    except ValueError as error:
        return str(error), None


def refuse_findings(findings, rows, metric):
    """Raise what ``block_findings`` found in the blocks of ``rows``, in row
    order: the first NaN or inf anywhere, else the first unusable row."""
    for message, _ in findings:
        if message:
            raise ValueError(message)
    unusable = [row for _, row in findings if row is not None]
    _refuse_row(_disk_name(rows), unusable[0] if unusable else None, metric)


def _disk_name(rows):
    return f"{rows.name} (in {rows.where()})"


def spaces(X, Y, metric):
    """Two matrices of the same items, each fit for ``metric``; labelled
    rows (pandas, Embeddings) matched by label (``matched_rows``)."""
    checked_x, checked_y = items(X, "X", metric), items(Y, "Y", metric)
    checked_y = matched_rows(X, Y, checked_x, checked_y)
    same_items(checked_x, checked_y)
    return checked_x, checked_y


def same_items(X, Y):
    """X and Y describe the same items: the same number of rows."""
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"X and Y must have the same number of rows (items): X.shape[0] == {X.shape[0]} "
            f"while Y.shape[0] == {Y.shape[0]}; columns may differ"
        )


def vectors(a, b):
    """Two equally long 1-D vectors of at least 2 finite values."""
    checked_a, checked_b = _float_array(a, "a", ndim=1), _float_array(b, "b", ndim=1)
    a, b = checked_a, matched_rows(a, b, checked_a, checked_b, names=("a", "b"))
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
