"""Which threads a call runs on.

A parallel kernel wakes Numba's thread pool; for a small call that costs more
than the work, and where the cores are busy (another process, a second loop
of small calls, OpenBLAS's threads spinning after their last call) the woken
threads wait for a core, and a loop of small calls then took many times its
one-thread time.  So a call whose work is below ``_tuning.SERIAL_WORK`` runs on the
calling thread alone: Numba is asked for a team of one thread for the call
(thread-local, so other host threads keep theirs), and the small paths keep
their BLAS products below OpenBLAS's threading threshold (the square tiles of
``_kernels/tiles.py``), so BLAS stays on that thread too.

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

# Numba's np.dot calls SciPy's BLAS.  A kernel that runs its own BLAS
# products on each of Numba's threads (binned Spearman's tasks) needs those
# products on one thread each: a threaded product inside a parallel region
# nests OpenBLAS's threads in Numba's, and its spinning threads take the
# cores the other products need.  OpenBLAS's thread count is process-wide,
# so it is lowered while any such call runs (a count of the calls, under a
# lock) and restored after the last: another host thread's BLAS calls meanwhile
# run on one thread -- slower, never different.
_BLAS_LOCK = threading.Lock()
_blas_users = 0
_blas_previous = None


def _scipy_openblas():
    """``(get, set)`` of SciPy's bundled OpenBLAS's thread count, or None
    where SciPy uses another BLAS (then products stay as they are)."""
    import scipy

    folder = os.path.join(os.path.dirname(scipy.__file__), os.pardir, "scipy.libs")
    for path in sorted(glob.glob(os.path.join(folder, "libscipy_openblas*.so*"))):
        try:
            library = ctypes.CDLL(path)
            return library.scipy_openblas_get_num_threads, library.scipy_openblas_set_num_threads
        except (OSError, AttributeError):
            continue
    return None


_OPENBLAS = []  # found once: [(get, set) or None]


@contextlib.contextmanager
def blas_on_one_thread():
    """Run the block with SciPy's OpenBLAS on one thread; yields whether it
    could (False where SciPy's BLAS is not its bundled OpenBLAS: the caller
    then keeps its BLAS products on the calling thread alone)."""
    global _blas_users, _blas_previous
    if not _OPENBLAS:
        _OPENBLAS.append(_scipy_openblas())
    if _OPENBLAS[0] is None:
        yield False
        return
    get, set_ = _OPENBLAS[0]
    with _BLAS_LOCK:
        if _blas_users == 0:
            _blas_previous = get()
            set_(1)
        _blas_users += 1
    try:
        yield True
    finally:
        with _BLAS_LOCK:
            _blas_users -= 1
            if _blas_users == 0:
                set_(_blas_previous)
