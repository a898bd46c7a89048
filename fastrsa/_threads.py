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
