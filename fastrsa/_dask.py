"""fastrsa's tasks on a ``dask.distributed`` cluster (``client=``).

Imported only when a call is given a client: ``import fastrsa`` never
imports dask.  The tasks are the same functions the call runs here
(``fastrsa._tasks``): each is submitted as a future, runs on one of a
worker's threads (``_threads.one_thread``: one Numba thread, one BLAS
thread), and its result comes back to the client, where the call adds the
results in task order.  So the answer is the local one bit for bit, whatever
the workers, their threads or the order the tasks finish in.

- **Inputs.**  NumPy arrays are scattered to every worker once per call
  (``share``: ``Client.scatter(broadcast=True)``), so a task takes a
  reference, not a copy; a space on disk (a ``.npy`` path or memmap) travels
  as its file's name and is memory-mapped again on the worker (every worker
  must see the file at that path); small values go with the task.
- **Memory.**  At most ``window`` tasks are in flight (four times the
  cluster's threads: a worker that finishes early finds the next one
  queued), so the client holds at most that many partial results, and a
  worker those of the tasks it runs; each task's memory is the plan's
  ``memory per task``.
- **Faults.**  A worker that dies takes its running tasks with it; Dask
  runs them again elsewhere, and since a task is a pure function of its
  inputs the result is the same.  Dask's memory manager drops the copies of
  a scattered input that no pending task takes (between passes, say), so a
  worker that dies may hold the last one: the tasks that take it then fail
  ("lost dependencies"), and the call sends the input again and submits
  them again (``_alive``, ``_lost``).
- **Ctrl-C** (or any error) cancels the call's futures.
"""

import uuid

import numpy as np
from distributed import Future

from . import _tasks, _threads

# Arrays at least this large are scattered once per call; smaller ones go
# with each task (a scatter costs a round trip; a few KB per task cost less).
_SCATTER_BYTES = 1 << 16


def _run(function, *arguments):
    """A task on a worker: on the worker's thread alone, its buffers kept
    for the thread's next task (``_tasks.buffer``)."""
    _tasks.keep_buffers()
    with _threads.one_thread():
        return function(*arguments)


class Dask:
    """Tasks on a ``dask.distributed`` cluster through ``client``."""

    distributed = True

    def __init__(self, client):
        self.client = client
        self.name = f"fastrsa-{uuid.uuid4().hex[:12]}"
        self._count = 0
        threads = sum(client.nthreads().values()) or 1
        self.threads = threads
        self.window = _tasks.cluster_window(threads)
        self._shared = {}  # id -> (value, future): an input is sent once per call, however many passes take it
        self._ids = {}  # a shared future's key -> its value's id (an input sent again gets a new key)
        self._resent = False  # whether an input was lost and sent again (tasks still out may take the lost copy)

    def share(self, value, whole=False, later=False):
        """A shared input as the tasks take it: a large array, or with
        ``whole`` any object, scattered to every worker once (a future);
        anything else as it is (a space on disk pickles as its file's name).
        With ``later``, a ``_Later`` in a task's item: scattered when the
        first task taking it is submitted, so the workers run the tasks
        before it meanwhile, instead of waiting for every input."""
        if later:
            return _Later(value, whole)
        if isinstance(value, tuple) and not whole:  # (a tuple of inputs: each shared; futures inside are resolved on the worker)
            return tuple(self.share(item) for item in value)
        large = isinstance(value, np.ndarray) and not isinstance(value, np.memmap) and value.nbytes >= _SCATTER_BYTES
        if not (whole or large):
            return value
        if id(value) not in self._shared:
            self._send(value)
        return self._shared[id(value)][1]

    def _send(self, value):
        future = self.client.scatter(value, broadcast=True, hash=False)
        self._shared[id(value)] = (value, future)
        self._ids[future.key] = id(value)
        return future

    def _alive(self, value):
        """A task's argument as it is submitted now: a ``_Later`` input
        shared, a shared input the cluster lost sent again (a tuple's
        items each)."""
        if isinstance(value, _Later):
            return self.share(value.value, value.whole)
        if isinstance(value, tuple):
            return tuple(self._alive(v) for v in value)
        if isinstance(value, Future) and value.key in self._ids and value.status != "finished":
            shared, current = self._shared[self._ids[value.key]]
            if current.status == "finished":
                return current
            self._resent = True
            return self._send(shared)
        return value

    def _lost(self, error):
        """Whether a task failed because the cluster lost a shared input
        (its future cancelled: every copy was on a worker that died) -- one
        not sent again yet, or one sent again after this task was submitted
        with the lost copy."""
        if "Cancelled" not in type(error).__name__:
            return False
        return self._resent or any(future.status != "finished" for _, future in self._shared.values())

    def map_serial(self, function, shared, items):
        """``function(*shared, *item)`` for each item as a task on the
        cluster; results in task order."""
        items = list(items)
        prefix = f"{self.name}-{function.__name__}-{self._count}"
        self._count += 1

        tries = [0] * len(items)

        def submit(index, item):
            arguments = self._alive((*shared, *item))
            again = f"-again-{tries[index]}" if tries[index] else ""  # (a task submitted again needs a new key)
            tries[index] += 1
            return self.client.submit(_run, function, *arguments, key=f"{prefix}-{index}{again}", pure=False)

        # (A future dropped once its result is read is released by Dask.)
        yield from _tasks.in_order(submit, items, self.window, self.client.cancel, retry=self._lost)

    # On a worker every task takes one thread: the parallel tasks too.
    map_parallel = map_serial


class _Later:
    """An input to share when the first task taking it is submitted."""

    def __init__(self, value, whole):
        self.value, self.whole = value, whole


# --- Dask arrays as input -------------------------------------------------------


def is_dask_array(value):
    """Whether ``value`` is a dask array (checked without importing dask)."""
    return type(value).__module__.split(".")[0] == "dask" and hasattr(value, "__dask_graph__") and hasattr(value, "chunks")


class Chunked:
    """A space as row chunks on the cluster: a dask array (or a NumPy array,
    sent chunk by chunk) rechunked by rows to the Gram path's task ranges,
    each chunk computed into a worker's memory once (``chunks``: a future a
    range, in order), converted to the dtype the space is computed in
    (float32 stays float32, anything else is float64).  ``shape``,
    ``dtype``, ``itemsize`` and ``nbytes`` are those of the space, as the
    plans read them; no row comes to the client."""

    ndim = 2

    def __init__(self, client, array, name, ranges):
        if array.ndim != 2:
            raise ValueError(f"{name} is a dask array of shape {array.shape}; expected (n_items, n_features)")
        if np.dtype(array.dtype).kind not in "iuf" or np.dtype(array.dtype).itemsize > 8:
            raise ValueError(f"{name} is a dask array of dtype {array.dtype}; expected integer or real floating-point")
        self.dtype = np.dtype(np.float32 if array.dtype == np.float32 else np.float64)
        self.shape, self.name = tuple(int(size) for size in array.shape), name
        self.itemsize = self.dtype.itemsize
        self.nbytes = self.shape[0] * self.shape[1] * self.itemsize
        if isinstance(array, np.ndarray):
            self.chunks = client.scatter([np.ascontiguousarray(array[r0:r1], self.dtype) for r0, r1 in ranges], hash=False)
        else:
            rows = tuple(r1 - r0 for r0, r1 in ranges)
            rechunked = array.astype(self.dtype).rechunk((rows, (self.shape[1],)))
            self.chunks = client.compute(list(rechunked.to_delayed().ravel()))
        self.ranges = ranges

    def check(self, client, metric):
        """``_validate.items``'s checks, chunk by chunk on the workers (the
        same errors, rows numbered in the whole space)."""
        from . import _validate

        _validate._check_shape(self.shape, self.name)
        found = client.gather([
            client.submit(_validate._unusable_row, chunk, self.name, metric, r0, pure=False)
            for chunk, (r0, _) in zip(self.chunks, self.ranges)
        ])
        first = next((row for row in found if row is not None), None)
        _validate._refuse_row(self.name, first, metric)
        return self

    def __len__(self):
        return self.shape[0]

    def __repr__(self):
        return f"<{self.name}: {self.shape[0]:,} x {self.shape[1]:,} rows in {len(self.chunks)} chunks on a Dask cluster>"
