"""``rsm``/``rdm`` written to a ``.npy`` file or a zarr array, row range by row range (``out=``).

The condensed vector of n items holds each row's pairs with the later rows
in one run: rows r0:r1 fill positions ``condensed_index(r0, r0 + 1)`` up to
that of r1, so a task of a row range writes one contiguous slice of the
file.  A zarr array is stored in chunks, which two writers must never
share: a task writes the chunks its slice covers whole, and hands the
pieces at its slice's ends to the caller, which writes each chunk that
two slices share once both pieces are in (``Assembly``).  The tasks are binned Spearman's (``_binned.row_ranges``: about
``_tuning.BINNED_TASK_PAIRS`` pairs each, fixed by n), their values
``pair_value``'s (copies of a row tie as in ``condensed``), each block's
BLAS product on one thread -- so the file is the same bit for bit written
here or by a cluster's workers (``client=``: every worker must see the
file's folder at the same path), and equal to ``rsm(X)`` in memory to
rounding (its blocks take BLAS's threads, whose products differ in their
last bits).  Memory: the rows as the tasks take them and each thread's
block buffers (``memory_bytes``); the vector itself is on disk (for zarr,
a task's slice and about two chunks beside it).
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
    """``out`` as the target a vector of ``n`` items' pairs is written to
    (None: none, it is returned): the path of a ``.npy`` file or of a
    ``.zarr`` folder (its parent must exist and have room for the vector),
    or a 1-D ``zarr.Array`` of the vector's length and ``dtype``; a
    ValueError naming ``name`` otherwise."""
    if out is None:
        return None
    total = n * (n - 1) // 2
    if _is_zarr_array(out):
        shape, given = tuple(out.shape), np.dtype(out.dtype)
        if shape != (total,) or given != np.dtype(dtype):
            raise ValueError(
                f"{name}: a zarr array of shape {shape} and dtype {given} cannot hold the vector of {n:,} items; "
                f"it takes shape ({total},) and dtype {np.dtype(dtype)}"
            )
        if getattr(out, "read_only", False):
            raise ValueError(f"{name}: the zarr array is read-only; open it with mode='r+' or 'a'")
        return Target("zarr", out, _zarr_unit(out))
    if not _sources.is_path(out):
        raise ValueError(
            f"{name}={out!r} is not supported; use None (return the vector), the path of a .npy file or of a "
            f".zarr folder to write, or a 1-D zarr array"
        )
    path = os.fsdecode(os.fspath(out))
    if path.endswith(".zarr") or path.endswith(".zarr" + os.sep):
        _zarr(name)
        kind = "zarr"
    elif path.endswith(".npy"):
        kind = "npy"
    else:
        raise ValueError(
            f"{name}={path!r} ends in neither .npy nor .zarr; the vector is written as a .npy file (numpy.load "
            f"reads it) or a zarr array (zarr.open_array reads it)"
        )
    folder = os.path.dirname(os.path.abspath(path.rstrip(os.sep)))
    if not os.path.isdir(folder):
        raise ValueError(f"{name}={path!r}: no folder {folder!r} to write it in")
    needed = total * np.dtype(dtype).itemsize  # (uncompressed: a zarr array of these values compresses little)
    free = shutil.disk_usage(folder).free + (os.path.getsize(path) if os.path.isfile(path) else 0)
    if needed > free:
        raise ValueError(
            f"{name}={path!r}: the vector of {total:,} pairs takes {needed / 2**30:.2f} GiB, but its folder "
            f"has {free / 2**30:.2f} GiB free; write it elsewhere, or use fewer items"
        )
    return Target(kind, path, _tuning.ZARR_CHUNK if kind == "zarr" else None)


class Target:
    """Where the vector goes: ``kind`` "npy" (``where``: the file's path)
    or "zarr" (``where``: a folder's path or a zarr array), written in
    ``unit``-value pieces (zarr: its chunks, or shards where it has them)."""

    def __init__(self, kind, where, unit=None):
        self.kind, self.where, self.unit = kind, where, unit

    def __repr__(self):
        if self.kind == "npy":
            return repr(self.where)
        shown = repr(self.where) if isinstance(self.where, str) else "the zarr array"
        return f"{shown} (zarr, {self.unit:,} values a chunk)"

    def create(self, total, dtype):
        """The empty target of ``total`` values (a zarr array given is written in place)."""
        if self.kind == "npy":
            np.lib.format.open_memmap(self.where, mode="w+", dtype=dtype, shape=(total,)).flush()
        elif isinstance(self.where, str):
            _zarr().open_array(self.where, mode="w", shape=(total,), chunks=(self.unit,), dtype=dtype)

    def in_memory(self):
        """Whether the target is a zarr array held in this process's memory
        (a memory store), which a cluster's workers cannot write to."""
        store = getattr(self.where, "store", None) if self.kind == "zarr" and not isinstance(self.where, str) else None
        store = getattr(store, "_mutable_mapping", store)  # (zarr 2 wraps a dict in a KVStore)
        return isinstance(store, dict) or "Memory" in type(store).__name__

    def opened(self, mode):
        """The target as an array (``mode`` "r" or "r+")."""
        if self.kind == "npy":
            return np.load(self.where, mmap_mode=mode)
        return _zarr().open_array(self.where, mode=mode) if isinstance(self.where, str) else self.where


def _zarr(name="out"):
    try:
        import zarr
    except ImportError:
        raise ValueError(f"{name}: writing a zarr array needs zarr (pip install 'fastrsa[zarr]'), or write a .npy file") from None
    return zarr


def _is_zarr_array(value):
    return any(c.__name__ == "Array" and c.__module__.split(".")[0] == "zarr" for c in type(value).__mro__)


def _zarr_unit(array):
    """The values a write must cover whole so that no two writers share a
    stored object: the array's shards where it has them, else its chunks."""
    shards = getattr(array, "shards", None)
    return int((shards or array.chunks)[0])


def _start(n, r):
    """The condensed position of row r's first pair (n items)."""
    return r * n - r * (r + 1) // 2


def rows_task(arguments, target, similarity, exponent, dtype, runs, rows, columns, r0, r1):
    """A task: the values of rows r0:r1's pairs written to their slice of
    ``target`` (None: returned), as ``rsm`` (``similarity``) or ``rdm``
    gives them at their true scale (``exponent``: the power of two the
    Euclidean rows were scaled by), in blocks on ``runs`` threads (None: the
    thread count it runs on).  Returns ``(values, squared distances that
    underflowed, whether a distance overflowed)``, ``values`` being the
    slice without a target, nothing for a .npy file, and for a zarr array
    the pieces of the slice in chunks it shares with other tasks
    (``_Pieces``: the task writes the chunks it covers whole)."""
    n = arguments[0].shape[0]
    first, last = _start(n, r0), _start(n, r1)
    if target is not None and target.kind == "npy":
        mapped = target.opened("r+")
        out = mapped[first:last]
    else:
        out = np.empty(last - first, dtype)  # (a slice: _tuning.BINNED_TASK_PAIRS values, slice_bytes)
    kind, root = arguments[2], arguments[3]
    tiny = _TINY if kind == SQUARED_DISTANCES else -np.inf  # (only squared distances can underflow)
    below = values_task(*arguments, r0, r1, out, first, runs or numba.get_num_threads(), rows, columns, tiny)
    if similarity:
        np.negative(out, out=out)  # (pair_value's similarities come negated, as condensed orders them)
    if kind == SQUARED_DISTANCES and exponent:
        with np.errstate(over="ignore"):
            np.ldexp(out, -exponent if root else -2 * exponent, out=out)
    infinite = bool(np.isinf(out).any())
    if target is None:
        return out, below, infinite
    if target.kind == "npy":
        mapped.flush()
        del mapped, out
        return None, below, infinite
    return _Pieces.written(target, out, first), below, infinite


class _Pieces:
    """What a task leaves of its slice [first, last) in a zarr array whose
    chunks are ``unit`` values: the chunks inside the slice it writes
    itself; ``head`` (up to the first chunk boundary at or after first)
    and, where the slice reaches a boundary (``crossed``), ``tail`` (from
    the last boundary at or before last) go to the caller (``Assembly``)."""

    def __init__(self, head, crossed, tail, boundary):
        self.head, self.crossed, self.tail, self.boundary = head, crossed, tail, boundary

    @classmethod
    def written(cls, target, values, first):
        unit, last = target.unit, first + len(values)
        b0 = -(-first // unit) * unit  # (the first chunk boundary at or after first)
        b1 = last // unit * unit  # (the last at or before last)
        if b0 > last:  # (the slice lies inside one chunk)
            return cls(values.copy(), False, None, None)
        if b1 > b0:
            _store(target, b0, values[b0 - first : b1 - first])
        # (Copies, not views, which would keep the whole slice alive beside the next task's.)
        return cls(values[: b0 - first].copy(), True, values[b1 - first :].copy(), b1)


def _store(target, start, values):
    """``values`` written to the zarr ``target`` from ``start`` (a chunk
    boundary), a chunk at a time: zarr encodes the chunks of one write side
    by side, each beside its encoded copy, where one at a time holds one
    encoded chunk (``encoding_bytes``)."""
    array, unit = target.opened("r+"), target.unit
    for offset in range(0, len(values), unit):
        array[start + offset : start + offset + min(unit, len(values) - offset)] = values[offset : offset + unit]


class Assembly:
    """The chunks of a zarr array that tasks share, put together from the
    tasks' ``_Pieces`` in task order and written when whole: at most a
    chunk and a task's tail held at once (``assembly_bytes``)."""

    def __init__(self, target):
        self.target, self.start, self.held = target, 0, []

    def add(self, pieces):
        self.held.append(pieces.head)
        if pieces.crossed:
            self._write()
            self.start, self.held = pieces.boundary, [pieces.tail]

    def finish(self):
        self._write()

    def _write(self):
        values = np.concatenate(self.held) if len(self.held) > 1 else self.held[0]
        if len(values):
            _store(self.target, self.start, values)


def _chunk_bytes(X, metric, target):
    """One chunk of a zarr ``target`` (0 for another target)."""
    if target is None or target.kind != "zarr":
        return 0
    return target.unit * pairs_dtype(X, metric).itemsize


def encoding_bytes(X, metric, target):
    """What a write to a zarr ``target`` holds beside the values: a chunk's
    encoded copy (about a chunk: these values compress little)."""
    return _chunk_bytes(X, metric, target)


def pieces_bytes(X, metric, target):
    """A task's ``_Pieces`` as they come back: a head and a tail, under a chunk each."""
    return 2 * _chunk_bytes(X, metric, target)


def assembly_bytes(X, metric, target):
    """What ``Assembly`` holds for a zarr ``target`` (nothing for another):
    the pieces as they come back, the chunk put together from them, and its
    encoding."""
    return pieces_bytes(X, metric, target) + _chunk_bytes(X, metric, target) + encoding_bytes(X, metric, target)


def write(X, metric, distances, target, executor, name="X"):
    """``rsm`` (``distances`` False) or ``rdm`` of checked rows X written to
    ``target`` (``check_out``'s; None: into a new array, returned), the row
    ranges as tasks of ``executor``.  Returns the vector (a file opened
    read-only, or the zarr array)."""
    X = _loaded(X, metric)
    (rows, row_values, kind), exponent = _tile_rows(X, metric, distances)
    n = X.shape[0]
    total = n * (n - 1) // 2
    dtype = pairs_dtype(X, metric)
    arguments = (rows, row_values, kind, metric_of(metric).root, dtype == np.float32, _binned._copies(rows, kind, row_values))
    tasks = _binned.row_ranges(n)
    vector = np.empty(total, dtype) if target is None else None
    if target is not None:
        target.create(total, dtype)
    assembly = Assembly(target) if target is not None and target.kind == "zarr" else None
    below = infinite = 0
    with _threads.blas_on_one_thread() as one_thread:  # (each block's product on its own thread)
        runs = None if executor.distributed else numba.get_num_threads() if one_thread else 1
        shared = (executor.share(arguments), target, not distances, exponent, dtype, runs, _tuning.ROWS, _tuning.COLUMNS)
        for (r0, r1), (values, low, high) in zip(tasks, executor.map_parallel(rows_task, shared, tasks)):
            if vector is not None:
                vector[_start(n, r0) : _start(n, r1)] = values
            elif assembly is not None:
                assembly.add(values)
            below, infinite = below + low, infinite or high
    if assembly is not None:
        assembly.finish()
    if below:
        raise ValueError(
            f"{name}'s {metric} distances span more than float64's range can hold (some below {_TINY:.3g} at the "
            f"scale they were computed at); bring the rows' magnitudes closer, e.g. drop or rescale the outlying rows"
        )
    if infinite:
        raise ValueError(f"{name}'s {metric} distances reach past float64's range; scale X down")
    return vector if target is None else target.opened("r")


def _block_bytes(X):
    """One thread's block buffers in ``values_task``: the products and one row's values."""
    return _tuning.ROWS * _tuning.COLUMNS * np.dtype(X.dtype).itemsize + _tuning.COLUMNS * 8


def memory_bytes(X, metric, target, runs=None):
    """Memory ``write`` adds here, running the tasks itself: the rows as the
    tasks take them (``_binned._rows_bytes``), each of ``runs`` threads'
    block buffers (None: Numba's thread count) and, for a zarr array, a
    task's slice and the chunks being put together; the vector is on disk
    (or, without a target, the result: ``_pairs.pairs_bytes``)."""
    # (A zarr array: while a task writes its chunks, its slice, a chunk's
    # encoding and the tail of the task before it (under a chunk); while the
    # caller writes a shared chunk, no task's slice.)
    here = _binned._rows_bytes(X, metric) + (runs or numba.get_num_threads()) * _block_bytes(X)
    if target is None or target.kind != "zarr":
        return here
    held = _chunk_bytes(X, metric, target) if len(_binned.row_ranges(X.shape[0])) > 1 else 0
    task = slice_bytes(X, metric) + encoding_bytes(X, metric, target) + held
    return here + max(task, assembly_bytes(X, metric, target))


def slice_bytes(X, metric):
    """The largest task's slice of the vector (what it returns without a file)."""
    n = X.shape[0]
    return max(_start(n, r1) - _start(n, r0) for r0, r1 in _binned.row_ranges(n)) * pairs_dtype(X, metric).itemsize


def task_bytes(X, metric, target):
    """What one task adds on a cluster's worker: its block buffers and,
    unless it writes a .npy file in place (``target``), its slice."""
    held = target is None or target.kind != "npy"
    return _block_bytes(X) + (slice_bytes(X, metric) if held else 0) + encoding_bytes(X, metric, target)
