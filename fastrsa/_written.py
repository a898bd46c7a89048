"""``rsm``/``rdm`` written to a ``.npy`` file, row range by row range (``out=``).

The condensed vector of n items holds each row's pairs with the later rows
in one run: rows r0:r1 fill positions ``condensed_index(r0, r0 + 1)`` up to
that of r1, so a task of a row range writes one contiguous slice of the
file.  The tasks are binned Spearman's (``_binned.row_ranges``: about
``_tuning.BINNED_TASK_PAIRS`` pairs each, fixed by n), their values
``pair_value``'s (copies of a row tie as in ``condensed``), each block's
BLAS product on one thread -- so the file is the same bit for bit written
here or by a cluster's workers (``client=``: every worker must see the
file's folder at the same path), and equal to ``rsm(X)`` in memory to
rounding (its blocks take BLAS's threads, whose products differ in their
last bits).  Memory: the rows as the tasks take them and each thread's
block buffers (``memory_bytes``); the vector itself is on disk.
"""

import os
import shutil

import numba
import numpy as np

from . import _binned, _sources, _threads, _tuning
from ._kernels.binned import values_task
from ._kernels.tiles import SQUARED_DISTANCES
from ._metrics import of as metric_of
from ._pairs import _loaded, _tile_rows, pairs_dtype

_TINY = float(np.finfo(np.float64).tiny)


def check_out(out, n, dtype, name="out"):
    """``out`` as a path of a .npy file to write (None: none): its folder
    must exist and have room for the vector; a ValueError naming ``name``
    otherwise."""
    if out is None:
        return None
    if not _sources.is_path(out):
        raise ValueError(f"{name}={out!r} is not supported; use None (return the vector) or the path of a .npy file to write")
    path = os.fsdecode(os.fspath(out))
    if not path.endswith(".npy"):
        raise ValueError(f"{name}={path!r} does not end in .npy; the vector is written as a .npy file (numpy.load reads it)")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{name}={path!r}: no folder {folder!r} to write it in")
    needed = n * (n - 1) // 2 * np.dtype(dtype).itemsize
    free = shutil.disk_usage(folder).free + (os.path.getsize(path) if os.path.isfile(path) else 0)
    if needed > free:
        raise ValueError(
            f"{name}={path!r}: the vector of {n * (n - 1) // 2:,} pairs takes {needed / 2**30:.2f} GiB, but its folder "
            f"has {free / 2**30:.2f} GiB free; write it elsewhere, or use fewer items"
        )
    return path


def _start(n, r):
    """The condensed position of row r's first pair (n items)."""
    return r * n - r * (r + 1) // 2


def rows_task(arguments, path, similarity, exponent, dtype, runs, rows, columns, r0, r1):
    """A task: the values of rows r0:r1's pairs written to their slice of
    the .npy file at ``path`` (or, with ``path`` None, returned), as
    ``rsm`` (``similarity``) or ``rdm`` gives them at their true scale
    (``exponent``: the power of two the Euclidean rows were scaled by), in
    blocks on ``runs`` threads (None: the thread count it runs on).
    Returns ``(values or None, squared distances that underflowed, whether
    a distance overflowed)``."""
    n = arguments[0].shape[0]
    first, last = _start(n, r0), _start(n, r1)
    if path is None:
        out = np.empty(last - first, dtype)
    else:
        mapped = np.load(path, mmap_mode="r+")
        out = mapped[first:last]
    kind, root = arguments[2], arguments[3]
    tiny = _TINY if kind == SQUARED_DISTANCES else -np.inf  # (only squared distances can underflow)
    below = values_task(*arguments, r0, r1, out, first, runs or numba.get_num_threads(), rows, columns, tiny)
    if similarity:
        np.negative(out, out=out)  # (pair_value's similarities come negated, as condensed orders them)
    if kind == SQUARED_DISTANCES and exponent:
        with np.errstate(over="ignore"):
            np.ldexp(out, -exponent if root else -2 * exponent, out=out)
    infinite = bool(np.isinf(out).any())
    if path is not None:
        mapped.flush()
        del mapped, out
        return None, below, infinite
    return out, below, infinite


def write(X, metric, distances, path, executor, name="X"):
    """``rsm`` (``distances`` False) or ``rdm`` of checked rows X into the
    .npy file at ``path`` (None: into a new array, returned), the row
    ranges as tasks of ``executor``.  Returns the vector (the file
    memory-mapped read-only)."""
    X = _loaded(X, metric)
    (rows, row_values, kind), exponent = _tile_rows(X, metric, distances)
    n = X.shape[0]
    dtype = pairs_dtype(X, metric)
    arguments = (rows, row_values, kind, metric_of(metric).root, dtype == np.float32, _binned._copies(rows, kind, row_values))
    tasks = _binned.row_ranges(n)
    if path is not None:
        np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(n * (n - 1) // 2,)).flush()
        vector = None
    else:
        vector = np.empty(n * (n - 1) // 2, dtype)
    below = infinite = 0
    with _threads.blas_on_one_thread() as one_thread:  # (each block's product on its own thread)
        runs = None if executor.distributed else numba.get_num_threads() if one_thread else 1
        shared = (executor.share(arguments), path, not distances, exponent, dtype, runs, _tuning.ROWS, _tuning.COLUMNS)
        for (r0, r1), (values, low, high) in zip(tasks, executor.map_parallel(rows_task, shared, tasks)):
            if values is not None:
                vector[_start(n, r0) : _start(n, r1)] = values
            below, infinite = below + low, infinite or high
    if below:
        raise ValueError(
            f"{name}'s {metric} distances span more than float64's range can hold (some below {_TINY:.3g} at the "
            f"scale they were computed at); bring the rows' magnitudes closer, e.g. drop or rescale the outlying rows"
        )
    if infinite:
        raise ValueError(f"{name}'s {metric} distances reach past float64's range; scale X down")
    return np.load(path, mmap_mode="r") if path is not None else vector


def _block_bytes(X):
    """One thread's block buffers in ``values_task``: the products and one row's values."""
    return _tuning.ROWS * _tuning.COLUMNS * np.dtype(X.dtype).itemsize + _tuning.COLUMNS * 8


def memory_bytes(X, metric, runs=None):
    """Memory ``write`` adds here: the rows as the tasks take them
    (``_binned._rows_bytes``) and each of ``runs`` threads' block buffers
    (None: Numba's thread count); the vector is on disk (or, without a
    file, the result: ``_pairs.pairs_bytes``)."""
    return _binned._rows_bytes(X, metric) + (runs or numba.get_num_threads()) * _block_bytes(X)


def slice_bytes(X, metric):
    """The largest task's slice of the vector (what it returns without a file)."""
    n = X.shape[0]
    return max(_start(n, r1) - _start(n, r0) for r0, r1 in _binned.row_ranges(n)) * pairs_dtype(X, metric).itemsize


def task_bytes(X, metric, returned):
    """What one task adds on a cluster's worker: its block buffers and,
    where the slices come back (``returned``), its slice."""
    return _block_bytes(X) + (slice_bytes(X, metric) if returned else 0)
