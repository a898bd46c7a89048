"""Spaces on disk: ``numpy.memmap`` arrays and paths to ``.npy`` files.

A path is opened with ``numpy.load(path, mmap_mode="r")``: nothing is read
until rows are asked for.  Once checked (``_validate.items``) a space on
disk is a ``Rows``: the memmap, the dtype the space is computed in (float32
stays float32, anything else is float64) and its shape.  The checks and the
Gram path read it a block of ``_tuning.GRAM_BLOCK`` rows at a time
(``block``), each copied into one reused buffer in that dtype; the pairs
paths need every row at once and read it whole into memory (``whole``),
which their plans count.

Rows that lie in the file as they lie in memory (C order, the dtype they are
computed in, native byte order) are read from the file into the buffer
(``_read``: a system call a block, no page of the mapping touched); other
rows are copied from the mapping, and the pages a read touches are then
released from this process (``madvise`` ``MADV_DONTNEED``) where the mapping
is read-only.  Either way the page cache keeps the file, so a second pass
reads it from memory, while the process's resident set holds one block of
it, not the file.  Nothing here writes to the file or to the caller's
memmap.

A ``Rows`` pickles (for a cluster's workers) as where its values lie in its
file -- the first value's byte position and the strides, so a view of a
memmap (``memmap[1000:2000]``, every other column) is that view again --
and is mapped again where it is unpickled.
"""

import mmap
import os

import numpy as np

from . import _tasks, _tuning


def is_path(value):
    """Whether ``value`` is a path (str or os.PathLike), which fastrsa reads as a .npy file."""
    return isinstance(value, (str, os.PathLike))


def on_disk(value):
    """Whether ``value`` is a space on disk: a memmap, a path, or a ``Rows``."""
    return isinstance(value, (np.memmap, Rows)) or is_path(value)


def open_npy(path, name, ndim):
    """The read-only memmap of the .npy file at ``path``, given as argument
    ``name``, checked to hold an ``ndim``-D array of numbers; any other file
    or content is a ValueError naming the argument and the file."""
    shown = os.fsdecode(os.fspath(path))
    expected = "an array of shape (n_values,)" if ndim == 1 else "an array of shape (n_items, n_features)"
    if not shown.endswith(".npy"):
        raise ValueError(
            f"{name}={shown!r} is a path, but not to a .npy file; {name} takes {expected}, a numpy.memmap, or "
            f"the path of a .npy file (numpy.save)"
        )
    if not os.path.isfile(shown):
        raise ValueError(f"{name}={shown!r}: no such file (a path given for {name} must be a .npy file)")
    try:
        array = np.load(shown, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:  # object arrays, a bad or truncated header
        raise ValueError(f"{name}={shown!r} cannot be read as a .npy array of numbers ({error})") from None
    if array.dtype.kind not in "iuf" or array.dtype.itemsize > 8:
        raise ValueError(
            f"{name}={shown!r} holds an array of dtype {array.dtype}; expected integer or real floating-point "
            f"(float16, float32, float64)"
        )
    if array.ndim != ndim:
        raise ValueError(f"{name}={shown!r} holds an array of shape {array.shape}; expected {expected}")
    return array


class Rows:
    """A space on disk, read a block of rows at a time: ``array`` (a
    memmap) taken in ``dtype`` (float32 or float64), called ``name`` in
    errors.  ``shape``, ``dtype``, ``itemsize`` and ``nbytes`` are those of
    the space in memory, as the plans read them; ``rows[indices]`` gathers
    rows (a new array: a permutation of the rows, or rows matched by
    label)."""

    ndim = 2

    def __init__(self, array, dtype, name):
        self.array = array
        self.dtype = np.dtype(dtype)
        self.name = name
        self.shape = array.shape
        self.itemsize = self.dtype.itemsize
        self.nbytes = self.shape[0] * self.shape[1] * self.itemsize
        self.file = getattr(array, "filename", None)
        self.position = _position(array)  # (None where not known: the rows are pickled as values)
        # The byte position of row 0 where rows are read from the file straight into a buffer.
        same = array.dtype == self.dtype and array.flags.c_contiguous
        self.read_at = self.position if same and self.position is not None else None

    def __len__(self):
        return self.shape[0]

    def __reduce__(self):
        """Pickled (for a cluster's workers, ``fastrsa._dask``) as its
        file's name and where its values lie there, mapped again where it
        is unpickled; a memmap whose values the file may not hold (no file,
        copy-on-write), as its values."""
        array = self.array
        if self.position is None:
            return Rows, (np.asarray(array), self.dtype, self.name)
        return _mapped, (self.file, array.dtype.str, self.position, array.shape, array.strides, self.dtype, self.name)

    def __getitem__(self, indices):
        indices = np.asarray(indices)
        out = np.empty((indices.size, self.shape[1]), self.dtype)
        block = _tuning.GRAM_BLOCK
        for start in range(0, indices.size, block):
            out[start : start + block] = self.array[indices[start : start + block]]
            _release(self.array)
        return out

    def __repr__(self):
        return f"<{self.name}: {self.shape[0]:,} x {self.shape[1]:,} rows of {self.where()} read as {self.dtype}>"

    def where(self):
        """The file, as the plans' paths name it."""
        return repr(os.path.basename(self.file)) if self.file else "a memmap"


def _position(array):
    """The byte position in its file of a memmap's first value (a view's
    too: the memmap that maps the file, plus the view's distance from it),
    or None where the file may not hold its values (no file behind it, or
    a copy-on-write mapping, whose changes stay in this process)."""
    root = array
    while isinstance(root, np.ndarray) and not isinstance(root.base, mmap.mmap):
        root = root.base
    if not isinstance(root, np.memmap) or root.filename is None or getattr(array, "mode", None) == "c" or array.size == 0:
        return None
    return root.offset + array.__array_interface__["data"][0] - root.__array_interface__["data"][0]


def _mapped(file, file_dtype, position, shape, strides, dtype, name):
    """A pickled ``Rows``: its values mapped read-only again from ``file``,
    the first at byte ``position``, laid out by ``strides``."""
    file_dtype = np.dtype(file_dtype)
    low = position + sum((n - 1) * step for n, step in zip(shape, strides) if step < 0)
    high = position + sum((n - 1) * step for n, step in zip(shape, strides) if step > 0) + file_dtype.itemsize
    start = low - low % mmap.ALLOCATIONGRANULARITY
    with open(file, "rb") as f:
        mapping = mmap.mmap(f.fileno(), high - start, access=mmap.ACCESS_READ, offset=start)
    # (As numpy.memmap builds itself: an array over the mapping, then the memmap's attributes.)
    array = np.ndarray.__new__(np.memmap, shape, file_dtype, buffer=mapping, offset=position - start, strides=strides)
    array._mmap, array.filename, array.offset, array.mode = mapping, file, position, "r"
    return Rows(array, dtype, name)


def _read(X, start, stop, out):
    """Rows start:stop of a ``Rows`` with ``read_at`` read from its file
    into ``out`` (C-contiguous, those rows' shape), a system call at a time."""
    into = memoryview(out).cast("B")
    with open(X.file, "rb", buffering=0) as f:
        f.seek(X.read_at + start * X.shape[1] * X.itemsize)
        done = 0
        while done < len(into):  # (a read may return fewer bytes than asked)
            got = f.readinto(into[done:])
            if not got:
                raise ValueError(f"{X.name}: the file {X.file!r} ended before row {stop} (was it changed during the call?)")
            done += got


def _release(array):
    """Drop the pages of a read-only memmap's mapping from this process's
    resident set: the data stays in the page cache and is read again from
    there.  Only for mode "r": a copy-on-write mapping (mode "c") would lose
    the caller's changes, and a writable one is left as it is."""
    mapping = getattr(array, "_mmap", None)
    if getattr(array, "mode", None) == "r" and mapping is not None and hasattr(mmap, "MADV_DONTNEED"):
        try:
            mapping.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError, AttributeError):  # (closed, or no madvise here: the pages stay)
            pass


def block_buffer(X, rows, name=None):
    """The buffer ``block`` copies rows of a ``Rows`` into (None for an
    array in memory, read in place); with a ``name``, a task's buffer
    (``_tasks.buffer``)."""
    if not isinstance(X, Rows):
        return None
    return np.empty((rows, X.shape[1]), X.dtype) if name is None else _tasks.buffer(name, (rows, X.shape[1]), X.dtype)


def block_bytes(X, rows):
    """Memory ``block`` adds for blocks of ``rows`` rows: the buffer, and
    where rows are copied from the mapping one block of the file's pages
    resident until released (0 in memory)."""
    if not isinstance(X, Rows):
        return 0
    return rows * X.shape[1] * (X.itemsize + (0 if X.read_at is not None else X.array.itemsize))


def gather_bytes(X):
    """Memory ``X[indices]`` adds beside its result: a block of rows in the
    file's dtype and the pages they sit on (any rows: a page each, or more)."""
    if not isinstance(X, Rows):
        return 0
    row = X.shape[1] * X.array.itemsize
    return _tuning.GRAM_BLOCK * (2 * row + mmap.PAGESIZE)


def block(X, start, stop, buffer):
    """Rows start:stop of a checked space: a view of an array in memory,
    or for a ``Rows`` a copy in the first rows of ``buffer``
    (``block_buffer``), converted to its dtype, the file's pages released."""
    if not isinstance(X, Rows):
        return X[start:stop]
    stop = min(stop, X.shape[0])
    out = buffer[: stop - start]
    _rows_into(X, start, stop, out)
    return out


def _rows_into(X, start, stop, out):
    """Rows start:stop of a ``Rows`` into ``out``: read from the file where
    they lie there as ``out`` holds them, else copied from the mapping (and
    converted), its pages then released."""
    if X.read_at is not None and out.dtype == X.dtype:
        _read(X, start, stop, out)
    else:
        np.copyto(out, X.array[start:stop])
        _release(X.array)


def blocks(X, rows=None):
    """``(start, block)`` over the rows of a ``Rows`` (``block``), ``rows`` at a time."""
    rows = min(X.shape[0], rows or _tuning.GRAM_BLOCK)
    buffer = block_buffer(X, max(rows, 1))
    for start in range(0, X.shape[0], max(rows, 1)):
        yield start, block(X, start, start + rows, buffer)


def whole(X, dtype=None):
    """Every row of a checked space in memory: an array as it is; a
    ``Rows`` read into a new C-contiguous array of ``dtype`` (its own by
    default), a block at a time."""
    if not isinstance(X, Rows):
        return X
    out = np.empty(X.shape, dtype or X.dtype)
    rows = _tuning.GRAM_BLOCK
    for start in range(0, X.shape[0], rows):
        _rows_into(X, start, min(start + rows, X.shape[0]), out[start : start + rows])
    return out


def columns(X, columns):
    """``X[:, columns]`` of a checked space, a new array (read a block of rows at a time for a ``Rows``)."""
    if not isinstance(X, Rows):
        return X[:, columns]
    out = np.empty((X.shape[0], len(columns)), X.dtype)
    rows = _tuning.GRAM_BLOCK
    for start in range(0, X.shape[0], rows):
        out[start : start + rows] = X.array[start : start + rows][:, columns]
        _release(X.array)
    return out


def nan_rows(X):
    """Which rows of a ``Rows`` hold a NaN (a boolean mask), read a block at a time."""
    missing = np.zeros(X.shape[0], bool)
    for start, values in blocks(X):
        missing[start : start + len(values)] = np.isnan(values).any(axis=1)
    return missing


def streamed(spaces):
    """The plan's words for the spaces on disk among ``spaces`` that a
    path reads a block at a time ("" where none is)."""
    named = [f"{X.name} from {X.where()}" for X in spaces if isinstance(X, Rows)]
    return f"; reading {' and '.join(named)} a block of rows at a time" if named else ""


def read_whole(spaces):
    """The plan's words for the spaces on disk among ``spaces`` that a
    path reads whole into memory ("" where none is)."""
    named = [f"{X.name} from {X.where()}" for X in spaces if isinstance(X, Rows)]
    return f"; reading {' and '.join(named)} whole into memory (the pairs need every row)" if named else ""


def read_whole_for_rows(spaces):
    """``read_whole``'s words for a path that needs every row but no pair (binned Spearman, the weighted bootstrap)."""
    return read_whole(spaces).replace("the pairs need every row", "every row at once")
