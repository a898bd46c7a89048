"""Which threads a call runs on.

A parallel kernel wakes Numba's thread pool; for a small call that costs more
than the work, and where the cores are busy (another process, a second loop
of small calls, OpenBLAS's threads spinning after their last call) the woken
threads wait for a core, and a loop of small calls then took many times its
one-thread time.  So a call whose work is below ``_tuning.SERIAL_WORK`` runs on the
calling thread alone: Numba is asked for a team of one thread for the call
(thread-local, so other host threads keep theirs), and the small paths'
products are the square tiles of ``_kernels/tiles.py``, which call no BLAS,
so no BLAS thread wakes either.

Work is counted in multiply-adds of the pairs a call visits (pairs times
features), plus ``_tuning.RANK_WORK`` per pair a rank method ranks; what a call's path
costs is worked out by the call's plan (``fastrsa._plan``).  docs/performance.md says how to control threads.
"""

import contextlib
import ctypes
import glob
import os
import threading

import numba

from . import _tuning


@contextlib.contextmanager
def threads_for(work):
    """Run the block on the calling thread alone when ``work`` is small;
    Numba's thread count is restored afterwards, whatever happens."""
    if work >= _tuning.SERIAL_WORK:
        yield
        return
    previous = numba.get_num_threads()
    if previous == 1:
        yield
        return
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def threads_of(work):
    """The threads a call of ``work`` runs on (``threads_for``)."""
    return 1 if work < _tuning.SERIAL_WORK else numba.get_num_threads()


def pair_work(n, features, ranked=False):
    """Multiply-adds of visiting the pairs of n items with ``features``
    features in all (the spaces' columns added up), ranked or not."""
    return n * (n - 1) // 2 * (features + (_tuning.RANK_WORK if ranked else 0))


# --- BLAS on one thread for a call's duration ---------------------------------

# Paths made of tasks (``fastrsa._tasks``: the Gram identity, binned
# Spearman, the Gram null, the weighted bootstrap) run each task's BLAS
# products on one thread: OpenBLAS's products depend on its thread count in
# their last bits (its threads split a product differently), so a task
# computed on one thread gives the same bits wherever it runs, here or on a
# cluster's worker; and a product inside a parallel region would nest
# OpenBLAS's threads in Numba's, its spinning threads taking the cores the
# other tasks need.  OpenBLAS's thread count is process-wide (its
# "thread-local" setting, tried, sets it for every thread), so it is lowered
# for NumPy's and SciPy's bundled OpenBLAS while any such call runs (a count
# of the calls, under a lock) and restored after the last: another host
# thread's BLAS calls meanwhile run on one thread.
_BLAS_LOCK = threading.Lock()
_blas_users = 0
_blas_previous = []


def _bundled_openblas():
    """``{name: (get, set)}`` of the thread counts of NumPy's and SciPy's
    bundled OpenBLAS, those found (none where they use another BLAS: then
    products stay as they are, the same answer to rounding, not bit for bit)."""
    import numpy
    import scipy

    found = {}
    for package, suffix in ((numpy, "64_"), (scipy, "")):
        folder = os.path.join(os.path.dirname(package.__file__), os.pardir, f"{package.__name__}.libs")
        for path in sorted(glob.glob(os.path.join(folder, "libscipy_openblas*.so*"))):
            try:
                library = ctypes.CDLL(path)
                get = getattr(library, f"scipy_openblas_get_num_threads{suffix}")
                set_ = getattr(library, f"scipy_openblas_set_num_threads{suffix}")
            except (OSError, AttributeError):
                continue
            get.restype, set_.argtypes = ctypes.c_int, [ctypes.c_int]
            found[package.__name__] = (get, set_)
            break
    return found


_OPENBLAS = []  # found once: [{name: (get, set)}]


@contextlib.contextmanager
def blas_on_one_thread():
    """Run the block with NumPy's and SciPy's OpenBLAS on one thread;
    yields whether SciPy's could be (Numba's products call SciPy's: where it
    is not its bundled OpenBLAS the caller keeps them on the calling thread)."""
    global _blas_users, _blas_previous
    if not _OPENBLAS:
        _OPENBLAS.append(_bundled_openblas())
    libraries = list(_OPENBLAS[0].values())
    with _BLAS_LOCK:
        if _blas_users == 0:
            _blas_previous = [get() for get, _ in libraries]
            for _, set_ in libraries:
                set_(1)
        _blas_users += 1
    try:
        yield "scipy" in _OPENBLAS[0]
    finally:
        with _BLAS_LOCK:
            _blas_users -= 1
            if _blas_users == 0:
                for (_, set_), count in zip(libraries, _blas_previous):
                    set_(count)


@contextlib.contextmanager
def one_thread():
    """Run the block on the calling thread alone: Numba's team of one
    (thread-local), and BLAS on one thread (``blas_on_one_thread``)."""
    previous = numba.get_num_threads()
    if previous != 1:
        numba.set_num_threads(1)
    try:
        with blas_on_one_thread():
            yield
    finally:
        if previous != 1:
            numba.set_num_threads(previous)
