"""Where a call's tasks run: on this process's threads, or on a Dask cluster.

Every path that scales is written as a map over tasks -- each a pure
function of the call's shared inputs and one item (a row range, a batch
index) returning a small partial result -- and a reduction that adds the
partial results in task order.  The partition is fixed by the inputs alone
(N, the count of draws), never by the threads or workers, so whoever runs
the tasks the answer is the same bit for bit (docs/distributed.md).

An executor runs them:

- ``Local()``: here.  ``map_serial`` runs tasks that each take one thread
  (their BLAS products on one thread, ``_threads.one_thread``) side by side
  on Numba's thread count of threads; ``map_parallel`` runs tasks that use
  every thread themselves (parallel kernels inside) one after another.
- ``fastrsa._dask.Dask(client)``: on a ``dask.distributed`` cluster, each
  task on one of a worker's threads, the shared inputs sent to the workers
  once per call (``share``).

Both yield the results in task order, with at most ``window`` tasks'
results held at once, so a reduction holds a bounded number of partial
results however many tasks there are.  Ctrl-C between tasks stops the call
(and cancels a cluster's futures).
"""

import concurrent.futures
import threading

import numba
import numpy as np

from . import _threads


class Local:
    """Tasks on this process's threads."""

    distributed = False

    def __init__(self, threads=None):
        self.threads = threads or numba.get_num_threads()
        self.window = 2 * self.threads if self.threads > 1 else 1  # tasks whose results are held at once

    def share(self, value, whole=False, later=False):
        """A shared input (an array, a tuple of them, or with ``whole`` any
        object) as the tasks take it: here, the value itself.  (``later``:
        on a cluster, sent when the first task taking it is submitted.)"""
        return value

    def map_serial(self, function, shared, items):
        """``function(*shared, *item)`` for each item, each on one thread
        (``_threads.one_thread``), ``threads`` at a time; results in order."""
        items = list(items)
        if self.threads == 1 or len(items) == 1:
            for item in items:
                with _threads.one_thread():
                    yield function(*shared, *item)
            return

        def run(item):
            with _threads.one_thread():
                return function(*shared, *item)

        # (BLAS on one thread for the whole call, not task by task: its count is process-wide.)
        with _threads.blas_on_one_thread(), concurrent.futures.ThreadPoolExecutor(self.threads, thread_name_prefix="fastrsa-task") as pool:
            yield from in_order(lambda index, item: pool.submit(run, item), items, self.window,
                                lambda futures: [future.cancel() for future in futures])

    def map_parallel(self, function, shared, items):
        """``function(*shared, *item)`` for each item in turn, on every thread."""
        for item in items:
            yield function(*shared, *item)


# A task whose inputs a cluster lost is submitted again at most this many times.
RETRIES = 3


def in_order(submit, items, window, cancel, retry=None):
    """The results of ``submit(index, item)`` (a future) for each item, in
    item order, with at most ``window`` submitted ahead of the one awaited;
    a task that fails with an error ``retry(error)`` accepts (a cluster
    that lost its inputs) is submitted again, up to ``RETRIES`` times;
    where the loop stops early (Ctrl-C, an error, a closed generator) the
    futures still pending go to ``cancel``."""
    pending = {}
    try:
        for k in range(len(items)):
            while len(pending) < window and k + len(pending) < len(items):
                index = k + len(pending)
                pending[index] = submit(index, items[index])
            for tries in range(RETRIES + 1):
                try:
                    result = pending[k].result()
                    break
                except Exception as error:
                    if tries == RETRIES or retry is None or not retry(error):
                        raise
                    pending[k] = submit(k, items[k])
            del pending[k]
            yield result
    finally:
        if pending:
            cancel(list(pending.values()))


def cluster_window(threads):
    """Tasks in flight on a cluster of ``threads`` threads: four a thread
    (a worker that finishes early finds the next one queued), at least 8."""
    return max(4 * threads, 8)


def executor(client):
    """The executor of a call given ``client=`` (None: this process)."""
    if client is None:
        return Local()
    from . import _dask  # (dask is imported only here: `import fastrsa` never imports it)

    return _dask.Dask(client)


def chunked(X):
    """Whether X is a space in chunks on a cluster (``_dask.Chunked``)."""
    return type(X).__name__ == "Chunked" and type(X).__module__ == "fastrsa._dask"


def dask_inputs(client, X, Y, metric, gram, nan_policy):
    """X and Y as a call with ``client`` takes them where either is a dask
    array: for the Gram path (``gram``), both as row chunks on the cluster,
    checked there (``_dask.Chunked``: no row comes here); for the others,
    which need every row in one place, computed here.  Anything else as it is."""
    from . import _dask, _gram, _sources

    if not (_dask.is_dask_array(X) or _dask.is_dask_array(Y)):
        return X, Y
    if not gram:
        return [Z.compute() if _dask.is_dask_array(Z) else Z for Z in (X, Y)]
    if nan_policy != "raise":
        raise ValueError("nan_policy='omit' with a dask array is not supported: drop the rows with a NaN first (or use nan_policy='raise')")
    for Z, name in ((X, "X"), (Y, "Y")):
        if not (_dask.is_dask_array(Z) or isinstance(Z, np.ndarray)) or _sources.on_disk(Z):
            raise ValueError(f"{name}: a dask array goes with a NumPy or dask array, not {type(Z).__name__}")
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"X and Y must have the same number of rows (items): X.shape[0] == {X.shape[0]} while Y.shape[0] == {Y.shape[0]}"
        )
    ranges = _gram.task_ranges(int(X.shape[0]))
    return [_dask.Chunked(client, Z, name, ranges).check(client, metric) for Z, name in ((X, "X"), (Y, "Y"))]


def check_client(client, name="client"):
    """``client`` if None or a ``dask.distributed.Client``; else a ValueError
    naming the argument and what it takes (checked before any work)."""
    if client is None:
        return None
    cls = type(client)
    if not any(c.__name__ == "Client" and c.__module__.startswith("distributed") for c in cls.__mro__):
        raise ValueError(
            f"{name}={client!r} is not a dask.distributed.Client; pass None (run here) or a Client "
            f"(pip install 'fastrsa[dask]'; see docs/distributed.md)"
        )
    return client


class Tasks:
    """A plan's tasks (``Plan.choices["tasks"]``): ``count`` tasks, each
    adding ``task_bytes`` on the worker that runs it beside the call's
    shared inputs (``shared_bytes`` on every worker), each returning a
    result of ``result_bytes``; run here, or on the cluster of ``client``."""

    def __init__(self, client, count, task_bytes, shared_bytes=0, result_bytes=0):
        self.client, self.count = client, count
        self.task_bytes, self.shared_bytes, self.result_bytes = int(task_bytes), int(shared_bytes), int(result_bytes)

    def executor(self):
        return executor(self.client)

    def memory_bytes(self, here, prepared=0):
        """The memory the call adds in this process: ``here`` where it runs
        its tasks itself; on a cluster, ``prepared`` (what it makes before
        submitting: the inputs it sends) and the results of a window of
        tasks."""
        if self.client is None:
            return here
        threads = sum(self.client.nthreads().values()) or 1
        return prepared + min(self.count, cluster_window(threads)) * self.result_bytes

    def stages(self):
        """The plan's words for the cluster (none where the call runs here)."""
        if self.client is None:
            return []
        from ._plan import Stage

        workers = self.client.nthreads()
        threads = sum(workers.values())
        address = getattr(self.client.scheduler, "address", "") or "the client's scheduler"
        return [
            Stage(
                "cluster",
                f"{self.count:,} tasks a pass on {len(workers)} Dask worker{'s' * (len(workers) != 1)} ({threads} "
                f"thread{'s' * (threads != 1)}) at {address}, one thread a task; each worker holds the shared inputs "
                f"({self.shared_bytes / 2**20:,.1f} MiB) and each task adds {self.task_bytes / 2**20:,.1f} MiB; "
                f"results added here in task order",
            )
        ]


# --- Task buffers a worker's thread keeps ----------------------------------------

# Dask's nanny starts its workers with MALLOC_TRIM_THRESHOLD_=65536: glibc
# gives freed memory back to the system at once, so a task's new buffers
# would be fresh pages, faulted in (and zeroed) anew each task -- on the
# Gram path, tens of MB a task.  Inside ``keeping()`` (a cluster's worker
# threads, ``_dask._run``) a thread keeps its last task's buffers for the
# next; here (where glibc reuses freed memory itself) every task gets new
# ones, so nothing outlives a call.
_KEPT = threading.local()


def buffer(name, shape, dtype=np.float64):
    """``np.empty(shape, dtype)`` for a task; on a worker thread inside
    ``keeping()``, the buffer of that ``name`` its last task used where the
    shape and dtype are the same.  Only for scratch no result refers to."""
    kept = getattr(_KEPT, "buffers", None)
    if kept is None:
        return np.empty(shape, dtype)
    old = kept.pop(name, None)
    if old is not None and old.shape == tuple(shape) and old.dtype == np.dtype(dtype):
        kept[name] = old
        return old
    del old  # (freed before the new one is made)
    kept[name] = new = np.empty(shape, dtype)
    return new


def keep_buffers():
    """From now on, this thread keeps its tasks' buffers (``buffer``):
    one task's worth, for as long as the thread lives."""
    if getattr(_KEPT, "buffers", None) is None:
        _KEPT.buffers = {}
