"""The one place that decides how fastrsa's kernels are compiled.

Every kernel is compiled ahead of its first call into Numba's on-disk cache
(``cache=True``), releases the GIL (``nogil=True``) so host applications can
call fastrsa from several threads at once, and never uses ``fastmath``: the
kernels' accuracy guarantees rest on IEEE arithmetic in a fixed order.  The
one exception is ``product_kernel``: dot products of rows, which BLAS too
sums in an order of its own choosing (see there).
"""

import ctypes
import os
import sys
import types

import numba

# Numba's default "workqueue" threading layer aborts the process when two host
# threads launch parallel kernels at the same time.  Unless the user chose a
# layer, ask for one that is safe to call concurrently (OpenMP or TBB).
if "NUMBA_THREADING_LAYER" not in os.environ and numba.config.THREADING_LAYER == "default":
    try:
        from numba.np.ufunc import omppool  # noqa: F401  (only probes for an OpenMP runtime)
    except ImportError:
        try:
            from numba.np.ufunc import tbbpool  # noqa: F401
        except ImportError:
            pass
        else:
            numba.config.THREADING_LAYER = "threadsafe"
    else:
        numba.config.THREADING_LAYER = "threadsafe"


# Start Numba's parallel backend now.  A parallel kernel compiled in this
# process starts it before its first run, but one loaded from the on-disk cache
# inside a serial caller (rsa -> moments -> the parallel chunk sums, or a
# user's cached function -> fastrsa.jit.pearson) does not, and then crashes
# (segfault; numba/numba#8578 has the same shape).  get_num_threads starts it.
numba.get_num_threads()


def _one_thread_after_fork():
    """In a child forked from this process, run every parallel kernel on the
    calling thread alone.

    GNU OpenMP cannot run a parallel region in a forked child: its worker
    threads did not survive the fork, and Numba's OpenMP layer therefore
    ends any child that launches one ("fork() called from a process already
    using GNU OpenMP") -- every worker of a ``fork`` pool (Python's default
    on Linux before 3.14, and joblib's and multiprocessing's) died, and the
    pool waited for ever.  A team of one thread needs no worker: Numba's own
    start-up call records this child as the owner of the layer, and one
    thread per region is asked for in this thread (a forked child has only
    the thread that forked) and in any the child starts.  Spawned processes
    start afresh with all threads."""
    from numba.np.ufunc import omppool

    ctypes.CFUNCTYPE(None, ctypes.c_int)(omppool.launch_threads)(1)
    numba.set_num_threads(1)


if numba.threading_layer() == "omp" and getattr(sys.modules.get("numba.np.ufunc.omppool"), "openmp_vendor", "") == "GNU":
    os.register_at_fork(after_in_child=_one_thread_after_fork)


def kernel(function):
    """Compile a serial kernel (which may call parallel ones)."""
    return numba.njit(cache=True, nogil=True)(function)


# The fast-math flags of ``product_kernel``: the sums may be reassociated
# (split into vector lanes and added up at the end) and a multiply and an add
# fused; no assumption about NaN, inf or the sign of zero.
PRODUCT_FLAGS = {"reassoc", "contract"}


def product_kernel(function):
    """Compile a kernel of dot products of rows, whose sums the compiler may
    split into vector lanes (``PRODUCT_FLAGS``), as BLAS splits them.  Each
    product is then the same function of its two rows wherever it is
    computed in the kernel, and the same on every run on one CPU; its last
    bits may differ between CPUs with different vector units, as BLAS's do.
    Products of small integers stay exact in any order."""
    return numba.njit(cache=True, nogil=True, fastmath=PRODUCT_FLAGS)(function)


def inline_kernel(function):
    """Compile a small serial kernel that its callers take inline (Numba's
    own inlining: a call inside a hot loop then passes no tuple of arrays)."""
    return numba.njit(cache=True, nogil=True, inline="always")(function)


def parallel_kernel(function):
    """Compile a kernel whose ``prange`` loops run on all of Numba's threads."""
    return numba.njit(cache=True, nogil=True, parallel=True)(function)


def serial_and_parallel(function):
    """Compile a kernel twice: serial (``prange`` runs as ``range``) and
    parallel.  Small inputs take the serial one, since waking the thread pool
    costs more than the work, and waking it between BLAS calls makes Numba's
    and BLAS's threads contend for the same cores.

    The parallel one is compiled from a copy of the function under another
    name: Numba names its cache files after the function and keys them by
    signature, not by the ``parallel`` option, so two compilations of one
    function would share one cache entry, and whichever was compiled first
    would then run for both."""
    copy = types.FunctionType(
        function.__code__, function.__globals__, function.__name__ + "_parallel", function.__defaults__, function.__closure__
    )
    copy.__qualname__ = function.__qualname__ + "_parallel"
    copy.__module__ = function.__module__
    return kernel(function), parallel_kernel(copy)
