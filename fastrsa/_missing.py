"""``nan_policy``: NaN as a missing value, as SciPy's ``nan_policy`` has it.

With ``nan_policy="raise"`` (the default) NaN is refused like inf.  With
``"omit"`` a NaN marks a missing value: condensed vectors leave out the pairs
where either vector is NaN, spaces leave out the items (rows) with a NaN in
either space.  An :class:`OmittedWarning` says what was left out; inf is still
refused (only NaN means missing), and what is left gets the usual checks.
Where nothing is NaN a call takes the same path as with ``"raise"``, bit for
bit.
"""

import os
import sys
import warnings

import numpy as np

from . import _sources, _validate

NAN_POLICIES = ("raise", "omit")
# How many of the omitted items a warning names.
_NAMED_ITEMS = 5
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


class OmittedWarning(UserWarning):
    """``nan_policy="omit"`` left out pairs or items with a NaN.

    The message says how many, of how many, and which items; result objects
    carry the same as ``omitted_pairs`` or ``omitted_items``.  Silence it with
    ``warnings.simplefilter("ignore", fastrsa.OmittedWarning)``.
    """


def policy(value):
    """``value`` if it is a known nan_policy, else the ValueError listing them."""
    return _validate.choice(value, "nan_policy", NAN_POLICIES)


def _warn(message):
    """Warn at the first caller outside fastrsa (public functions call each other)."""
    frame, level = sys._getframe(0), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, OmittedWarning, stacklevel=level)


def _refuse_inf(array, name):
    """The error for inf, which "omit" does not take for missing."""
    inf = np.isinf(array)
    if inf.any():
        bad = np.argwhere(inf)[0]
        where = f"row {bad[0]}, column {bad[1]}" if array.ndim == 2 else f"index {bad[0]}"
        raise ValueError(
            f"{name} contains inf (first at {where}); nan_policy='omit' leaves out NaN only, "
            f"every other value must be finite"
        )


def vectors(a, b, nan_policy):
    """``(a, b, missing)``: two checked vectors as ``_validate.vectors`` gives
    them, and where ``nan_policy="omit"`` found a NaN, the boolean mask of the
    positions where a or b is NaN (else None, and a and b have no NaN).  The
    vectors keep their NaN: see ``kept_pairs``."""
    if nan_policy == "raise":
        return (*_validate.vectors(a, b), None)
    a = _validate._float_array(a, "a", ndim=1, finite=False)
    b = _validate._float_array(b, "b", ndim=1, finite=False)
    if a.size != b.size:
        raise ValueError(f"a and b must have the same length: a.size == {a.size} while b.size == {b.size}")
    missing = np.isnan(a) | np.isnan(b)
    if not missing.any():
        return (*_validate.vectors(a, b), None)  # today's checks and path
    _refuse_inf(a, "a")
    _refuse_inf(b, "b")
    return a, b, missing


def kept_pairs(a, b, missing):
    """``(a, b, names)``: the values of ``vectors``' a and b where neither is
    NaN (new arrays), checked to be at least 2, and the names under which
    their variance is checked; warns what was omitted."""
    kept = ~missing
    count = int(np.count_nonzero(kept))
    if count < 2:
        raise ValueError(
            f"a and b have {count} pair{'' if count == 1 else 's'} where neither is NaN (of {a.size:,}); "
            f"a correlation needs at least 2"
        )
    _warn(f"omitted {a.size - count:,} of {a.size:,} pairs where a or b is NaN")
    where = f"over the {count:,} pairs where neither a nor b is NaN"
    return a[kept], b[kept], (f"a ({where})", f"b ({where})")


_NO_ITEMS = np.empty(0, np.int64)


def no_items():
    """The ``omitted_items`` of a call that left none out (a new array)."""
    return _NO_ITEMS.copy()


def _item_list(omitted):
    """"row 4" or "rows 0, 2, 4, 8, 9, …": the first few of the omitted items."""
    named = ", ".join(str(i) for i in omitted[:_NAMED_ITEMS])
    return ("row " if omitted.size == 1 else "rows ") + named + (", …" if omitted.size > _NAMED_ITEMS else "")


def _checked(arrays, names, metric):
    """The usual checks: ``_validate.spaces`` for two spaces, ``_validate.items`` for one."""
    if len(arrays) == 2:
        return list(_validate.spaces(*arrays, metric))
    return [_validate.items(arrays[0], names[0], metric)]


def items(arrays, names, metric, nan_policy):
    """``(arrays, omitted)``: one or two spaces of the same items checked for
    ``metric`` (as ``_validate.items``/``spaces``), with the items that have
    a NaN in any of them left out where ``nan_policy="omit"``; ``omitted``
    holds those items' indices (int64, empty when none).  Warns what was
    omitted.  Error messages name rows by the caller's numbering."""
    if nan_policy == "raise":
        return _checked(arrays, names, metric), no_items()
    # (Spaces on disk are scanned for NaN a block at a time, and read whole
    # only where some item is left out: the rows left are a new array.)
    arrays = [
        _validate.disk_rows(X, name) if _sources.on_disk(X) else _validate._float_array(X, name, ndim=2, finite=False)
        for X, name in zip(arrays, names)
    ]
    if len(arrays) == 2 and arrays[0].shape[0] != arrays[1].shape[0]:
        _validate.same_items(*arrays)
    missing = np.zeros(arrays[0].shape[0], bool)
    for X in arrays:
        missing |= _sources.nan_rows(X) if isinstance(X, _sources.Rows) else np.isnan(X).any(axis=1)
    if not missing.any():
        return _checked(arrays, names, metric), no_items()  # today's checks and path
    arrays = [_sources.whole(X) for X in arrays]
    for X, name in zip(arrays, names):
        _refuse_inf(X, name)
    n = missing.size
    omitted = np.flatnonzero(missing).astype(np.int64)
    left = n - omitted.size
    subject, either = ("X and Y have", "X or Y has") if len(arrays) == 2 else (f"{names[0]} has", f"{names[0]} has")
    if left < 3:
        raise ValueError(
            f"{subject} {left} item{'' if left == 1 else 's'} left of {n:,} after omitting those where "
            f"{either} a NaN ({_item_list(omitted)}); RSA needs at least 3 items"
        )
    # The usual checks, on copies whose omitted rows are replaced by 1, 2,
    # ..., d (finite, non-zero, not constant where d > 1), so that a row they
    # refuse is named by its index in the caller's array.
    filled = []
    for X in arrays:
        X = X.copy()
        X[omitted] = np.arange(1, X.shape[1] + 1, dtype=X.dtype)
        filled.append(X)
    checked = [X[~missing] for X in _checked(filled, names, metric)]
    _warn(f"omitted {omitted.size:,} of {n:,} items where {either} a NaN ({_item_list(omitted)})")
    return checked, omitted


def spaces(X, Y, metric, nan_policy):
    """``(X, Y, omitted)``: ``_validate.spaces`` under ``nan_policy`` (see ``items``)."""
    (X, Y), omitted = items((X, Y), ("X", "Y"), metric, nan_policy)
    return X, Y, omitted
